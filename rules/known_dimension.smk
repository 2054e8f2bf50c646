# The controlled test (only when some dataset's source is a latent teacher of known dimension k).


rule latent_diagnostics:
    input:
        unpack(targets.latent_diagnostic_inputs),
    output:
        f"{RESULTS}/{{dataset}}/diagnostics/{{model}}/n{{n}}/seed{{seed}}.json",
    log:
        "logs/latent_diagnostics/{dataset}_{model}_n{n}_seed{seed}.log",
    benchmark:
        "benchmarks/latent_diagnostics/{dataset}_{model}_n{n}_seed{seed}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=embed_mem_mb,
        runtime=60,
    params:
        source=lambda w: config["datasets"][w.dataset]["source"],
        block_size=config["train"]["block_size"],
        latent=latent_params(config, "latent_diagnostics"),
    script:
        "../scripts/latent_diagnostics.py"


rule known_dimension_table:
    input:
        exponents=f"{RESULTS}/summary/exponents.csv",
        protocols=f"{RESULTS}/summary/id_protocols.csv",
        diagnostics=targets.latent_diagnostic_jsons(),
    output:
        table=report(
            f"{RESULTS}/summary/known_dimension.csv",
            caption="../report/known_dimension_table.rst",
            category="Known latent dimension",
        ),
        by_position=report(
            f"{RESULTS}/summary/latent_diagnostics.csv",
            caption="../report/latent_diagnostics_table.rst",
            category="Known latent dimension",
        ),
    log:
        "logs/known_dimension_table.log",
    benchmark:
        "benchmarks/known_dimension_table.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        sources={d: config["datasets"][d]["source"] for d in targets.latent_datasets},
        id_settings=id_params(config),
        beta=config["fit"]["beta"],
        latent=latent_params(config, "known_dimension_table"),
    script:
        "../scripts/known_dimension_table.py"


rule plot_known_dimension:
    input:
        table=f"{RESULTS}/summary/known_dimension.csv",
        by_position=f"{RESULTS}/summary/latent_diagnostics.csv",
    output:
        report(
            f"{RESULTS}/figures/known_dimension.png",
            caption="../report/known_dimension.rst",
            category="Known latent dimension",
        ),
    log:
        "logs/plot_known_dimension.log",
    benchmark:
        "benchmarks/plot_known_dimension.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/plot_known_dimension.py"


# ID against model quality (id_analyses.quality): every shape x data size of the first seed.
rule id_quality:
    input:
        unpack(targets.quality_inputs),
    output:
        table=report(
            f"{RESULTS}/summary/id_quality.csv",
            caption="../report/id_quality_table.rst",
            category="Known latent dimension",
        ),
        extrapolated=report(
            f"{RESULTS}/summary/id_extrapolated.csv",
            caption="../report/id_extrapolated_table.rst",
            category="Known latent dimension",
        ),
    log:
        "logs/id_quality.log",
    benchmark:
        "benchmarks/id_quality.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        ci_level=config["id"]["ci_level"],
    script:
        "../scripts/id_quality.py"


rule plot_id_quality:
    input:
        table=f"{RESULTS}/summary/id_quality.csv",
        extrapolated=f"{RESULTS}/summary/id_extrapolated.csv",
    output:
        report(
            f"{RESULTS}/figures/id_quality.png",
            caption="../report/id_quality.rst",
            category="Known latent dimension",
        ),
    log:
        "logs/plot_id_quality.log",
    benchmark:
        "benchmarks/plot_id_quality.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/plot_id_quality.py"
