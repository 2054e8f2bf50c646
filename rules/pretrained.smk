# Pretrained suites (config pretrained.models): fetched once, then tokenized, evaluated, embedded
# and ID-estimated per dataset by the same rules (and scripts) as trained checkpoints.


rule pretrained:
    """Only the pretrained-suite results (no training): snakemake pretrained"""
    localrule: True
    input:
        targets.pretrained_outputs(),


rule fetch_pretrained:
    output:
        source=f"{RESULTS}/pretrained/{{pretrained}}/source.json",
        tokenizer=f"{RESULTS}/pretrained/{{pretrained}}/tokenizer/meta.json",
        config=f"{RESULTS}/pretrained/{{pretrained}}/model/config.json",
    params:
        spec=lambda w: config["pretrained"]["models"][w.pretrained],
    log:
        "logs/fetch_pretrained/{pretrained}.log",
    benchmark:
        "benchmarks/fetch_pretrained/{pretrained}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/fetch_pretrained.py"


use rule tokenize as tokenize_pretrained with:
    input:
        docs=f"{RESULTS}/{{dataset}}/corpus/{{split}}.jsonl",
        tokenizer=f"{RESULTS}/pretrained/{{pretrained}}/tokenizer/meta.json",
    output:
        bin=f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/tokens/{{split}}.bin",
        docs=f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/tokens/{{split}}.docs.npy",
        meta=f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/tokens/{{split}}.json",
    log:
        "logs/tokenize_pretrained/{dataset}_{pretrained}_{split}.log",
    benchmark:
        "benchmarks/tokenize_pretrained/{dataset}_{pretrained}_{split}.tsv"


rule evaluate_pretrained:
    input:
        config=f"{RESULTS}/pretrained/{{pretrained}}/model/config.json",
        source=f"{RESULTS}/pretrained/{{pretrained}}/source.json",
        val=f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/tokens/val.bin",
        val_meta=f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/tokens/val.json",
    output:
        f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/eval.json",
    params:
        settings=evaluate_params(config, pretrained=True),
    log:
        "logs/evaluate_pretrained/{dataset}_{pretrained}.log",
    benchmark:
        "benchmarks/evaluate_pretrained/{dataset}_{pretrained}.tsv"
    threads: 1
    resources:
        mem_mb=config["pretrained"]["mem_mb"],
        runtime=config["pretrained"]["runtime"],
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/evaluate_pretrained.py"


use rule embed as embed_pretrained with:
    input:
        config=f"{RESULTS}/pretrained/{{pretrained}}/model/config.json",
        source=f"{RESULTS}/pretrained/{{pretrained}}/source.json",
        val=f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/tokens/val.bin",
        val_meta=f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/tokens/val.json",
    output:
        arrays=expand(
            f"{RESULTS}/{{{{dataset}}}}/pretrained/{{{{pretrained}}}}/embeddings/layer_{{layer}}.npy",
            layer=LAYERS,
        ),
        positions=f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/embeddings/positions.npy",
        window_mean=f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/embeddings/window_mean.npy",
        window_last=f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/embeddings/window_last.npy",
        windows=f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/embeddings/windows.npy",
        meta=f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/embeddings/meta.json",
    params:
        settings=embed_params(config, pretrained=True),
        layers=LAYERS,
        pool_layer=FINAL_LAYER,
    log:
        "logs/embed_pretrained/{dataset}_{pretrained}.log",
    benchmark:
        "benchmarks/embed_pretrained/{dataset}_{pretrained}.tsv"
    resources:
        mem_mb=config["pretrained"]["mem_mb"],
        runtime=config["pretrained"]["runtime"],


use rule estimate_id as estimate_id_pretrained with:
    input:
        f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/embeddings/layer_{{layer}}.npy",
    output:
        f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/id/layer_{{layer}}.json",
    log:
        "logs/estimate_id_pretrained/{dataset}_{pretrained}_layer_{layer}.log",
    benchmark:
        "benchmarks/estimate_id_pretrained/{dataset}_{pretrained}_layer_{layer}.tsv"


rule pretrained_tables:
    input:
        sources=targets.pretrained_files("source"),
        evals=targets.pretrained_files("eval"),
        ids=targets.pretrained_files("id"),
    output:
        points=report(
            f"{RESULTS}/summary/pretrained.csv",
            caption="../report/pretrained_table.rst",
            category="Pretrained suites",
        ),
        exponents=report(
            f"{RESULTS}/summary/pretrained_exponents.csv",
            caption="../report/pretrained_exponents.rst",
            category="Pretrained suites",
        ),
    params:
        fit=fit_params(config, "pretrained_tables"),
    log:
        "logs/pretrained_tables.log",
    benchmark:
        "benchmarks/pretrained_tables.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/pretrained_tables.py"


rule plot_pretrained:
    input:
        points=f"{RESULTS}/summary/pretrained.csv",
        exponents=f"{RESULTS}/summary/pretrained_exponents.csv",
    output:
        report(
            f"{RESULTS}/figures/pretrained_scaling.png",
            caption="../report/pretrained_scaling.rst",
            category="Pretrained suites",
        ),
    params:
        params_column=config["fit"]["params"],
    log:
        "logs/plot_pretrained.log",
    benchmark:
        "benchmarks/plot_pretrained.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/plot_pretrained.py"


use rule id_protocols as id_protocols_pretrained with:
    input:
        unpack(targets.pretrained_protocol_inputs),
    output:
        f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/id/protocols.json",
    params:
        protocols=lambda w: dataset_protocols(config, w.dataset),
        metrics=config["id"]["protocol_metrics"],
        settings=id_protocol_params(config),
        source=lambda w: config["datasets"][w.dataset]["source"],
    log:
        "logs/id_protocols_pretrained/{dataset}_{pretrained}.log",
    benchmark:
        "benchmarks/id_protocols_pretrained/{dataset}_{pretrained}.tsv"


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
