rule estimate_id:
    input:
        f"{RESULTS}/{{dataset}}/embeddings/{{model}}/n{{n}}/seed{{seed}}/layer_{{layer}}.npy",
    output:
        f"{RESULTS}/{{dataset}}/id/{{model}}/n{{n}}/seed{{seed}}/layer_{{layer}}.json",
    params:
        settings=id_params(config),
    log:
        "logs/estimate_id/{dataset}_{model}_n{n}_seed{seed}_layer_{layer}.log",
    benchmark:
        "benchmarks/estimate_id/{dataset}_{model}_n{n}_seed{seed}_layer_{layer}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/estimate_id.py"


# The ID of other point sets of the same checkpoint (idscaling.id_protocols), with every metric.
rule id_protocols:
    input:
        unpack(targets.id_protocol_inputs),
    output:
        f"{RESULTS}/{{dataset}}/id/{{model}}/n{{n}}/seed{{seed}}/protocols.json",
    params:
        protocols=targets.checkpoint_protocols,
        metrics=config["id"]["protocol_metrics"],
        settings=id_protocol_params(config),
        source=lambda w: config["datasets"][w.dataset]["source"],
    log:
        "logs/id_protocols/{dataset}_{model}_n{n}_seed{seed}.log",
    benchmark:
        "benchmarks/id_protocols/{dataset}_{model}_n{n}_seed{seed}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/id_protocols.py"


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
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/id_protocols_table.py"


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
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/plot_id_scale.py"
