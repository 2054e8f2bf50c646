# Pretrained suites (config pretrained.models): fetched once, then tokenized, embedded and
# ID-estimated per dataset by the trained checkpoints' rules (the `use rule ... as *_pretrained`
# beside each of them: tokenize.smk, embed.smk, intrinsic_dim.smk); here only what is theirs alone.


# Only the pretrained-suite results (no training): snakemake pretrained
rule pretrained:
    input:
        targets.pretrained_outputs(),
    localrule: True


rule fetch_pretrained:
    output:
        source=f"{RESULTS}/pretrained/{{pretrained}}/source.json",
        tokenizer=f"{RESULTS}/pretrained/{{pretrained}}/tokenizer/meta.json",
        config=f"{RESULTS}/pretrained/{{pretrained}}/model/config.json",
    log:
        "logs/fetch_pretrained/{pretrained}.log",
    benchmark:
        "benchmarks/fetch_pretrained/{pretrained}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        spec=lambda w: config["pretrained"]["models"][w.pretrained],
    script:
        "../scripts/fetch_pretrained.py"


rule evaluate_pretrained:
    input:
        config=f"{RESULTS}/pretrained/{{pretrained}}/model/config.json",
        source=f"{RESULTS}/pretrained/{{pretrained}}/source.json",
        val=f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/tokens/val.bin",
        val_meta=f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/tokens/val.json",
    output:
        f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/eval.json",
    log:
        "logs/evaluate_pretrained/{dataset}_{pretrained}.log",
    benchmark:
        "benchmarks/evaluate_pretrained/{dataset}_{pretrained}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=config["pretrained"]["mem_mb"],
        runtime=config["pretrained"]["runtime"],
    params:
        settings=evaluate_params(config, pretrained=True),
    script:
        "../scripts/evaluate_pretrained.py"


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
    log:
        "logs/pretrained_tables.log",
    benchmark:
        "benchmarks/pretrained_tables.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        fit=fit_params(config, "pretrained_tables"),
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
    log:
        "logs/plot_pretrained.log",
    benchmark:
        "benchmarks/plot_pretrained.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        params_column=config["fit"]["params"],
    script:
        "../scripts/plot_pretrained.py"
