rule estimate_id:
    input:
        f"{RESULTS}/{{dataset}}/embeddings/{{model}}/n{{n}}/seed{{seed}}/layer_{{layer}}.npy",
    output:
        f"{RESULTS}/{{dataset}}/id/{{model}}/n{{n}}/seed{{seed}}/layer_{{layer}}.json",
    log:
        "logs/estimate_id/{dataset}_{model}_n{n}_seed{seed}_layer_{layer}.log",
    benchmark:
        "benchmarks/estimate_id/{dataset}_{model}_n{n}_seed{seed}_layer_{layer}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        settings=id_params(config),
    script:
        "../scripts/estimate_id.py"


use rule estimate_id as estimate_id_pretrained with:
    input:
        f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/embeddings/layer_{{layer}}.npy",
    output:
        f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/id/layer_{{layer}}.json",
    log:
        "logs/estimate_id_pretrained/{dataset}_{pretrained}_layer_{layer}.log",
    benchmark:
        "benchmarks/estimate_id_pretrained/{dataset}_{pretrained}_layer_{layer}.tsv"


# The ID of other point sets of the same checkpoint (idscaling.id.protocols), with every metric.
rule id_protocols:
    input:
        unpack(targets.id_protocol_inputs),
    output:
        f"{RESULTS}/{{dataset}}/id/{{model}}/n{{n}}/seed{{seed}}/protocols.json",
    log:
        "logs/id_protocols/{dataset}_{model}_n{n}_seed{seed}.log",
    benchmark:
        "benchmarks/id_protocols/{dataset}_{model}_n{n}_seed{seed}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        protocols=targets.checkpoint_protocols,
        metrics=config["id"]["protocol_metrics"],
        settings=id_protocol_params(config),
        source=lambda w: config["datasets"][w.dataset]["source"],
    script:
        "../scripts/id_protocols.py"


use rule id_protocols as id_protocols_pretrained with:
    input:
        unpack(targets.pretrained_protocol_inputs),
    output:
        f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/id/protocols.json",
    log:
        "logs/id_protocols_pretrained/{dataset}_{pretrained}.log",
    benchmark:
        "benchmarks/id_protocols_pretrained/{dataset}_{pretrained}.tsv"
    params:
        protocols=lambda w: dataset_protocols(config, w.dataset),
        metrics=config["id"]["protocol_metrics"],
        settings=id_protocol_params(config),
        source=lambda w: config["datasets"][w.dataset]["source"],


rule id_protocols_table:
    input:
        targets.protocol_jsons(),
    output:
        ids=report(
            f"{RESULTS}/summary/id_protocols.csv",
            caption="../report/id_protocols_table.rst",
            category="Tables",
        ),
        scale=report(
            f"{RESULTS}/summary/id_scale.csv",
            caption="../report/id_scale_table.rst",
            category="Tables",
        ),
    log:
        "logs/id_protocols_table.log",
    benchmark:
        "benchmarks/id_protocols_table.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/id_protocols_table.py"


use rule id_protocols_table as pretrained_protocols_table with:
    input:
        targets.pretrained_protocol_jsons(),
    output:
        ids=report(
            f"{RESULTS}/summary/pretrained_id_protocols.csv",
            caption="../report/id_protocols_table.rst",
            category="Pretrained suites",
        ),
        scale=report(
            f"{RESULTS}/summary/pretrained_id_scale.csv",
            caption="../report/id_scale_table.rst",
            category="Pretrained suites",
        ),
    log:
        "logs/pretrained_protocols_table.log",
    benchmark:
        "benchmarks/pretrained_protocols_table.tsv"


rule plot_id_scale:
    input:
        f"{RESULTS}/summary/id_scale.csv",
    output:
        report(
            f"{RESULTS}/figures/id_scale.png",
            caption="../report/id_scale.rst",
            category="Intrinsic dimension",
        ),
    log:
        "logs/plot_id_scale.log",
    benchmark:
        "benchmarks/plot_id_scale.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/plot_id_scale.py"


use rule plot_id_scale as plot_pretrained_id_scale with:
    input:
        f"{RESULTS}/summary/pretrained_id_scale.csv",
    output:
        report(
            f"{RESULTS}/figures/pretrained_id_scale.png",
            caption="../report/id_scale.rst",
            category="Pretrained suites",
        ),
    log:
        "logs/plot_pretrained_id_scale.log",
    benchmark:
        "benchmarks/plot_pretrained_id_scale.tsv"
