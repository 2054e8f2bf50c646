rule archive:
    """snakemake archive: the results bundle for a paper (see idscaling.archive)"""
    input:
        results=targets.all_outputs(),
        envs=ENV_FILES,
    output:
        f"{RESULTS}/archive/idscaling-results.tar.gz",
    params:
        config=result_config(config),
        snakefile=workflow.main_snakefile,
    log:
        "logs/archive.log",
    benchmark:
        "benchmarks/archive.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/archive.py"
