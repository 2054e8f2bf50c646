rule archive:
    """snakemake archive: the results bundle for a paper (see idscaling.archive)"""
    input:
        results=targets.all_outputs(),
        envs=ENV_FILES,
    output:
        f"{RESULTS}/archive/idscaling-results.tar.gz",
    log:
        "logs/archive.log",
    benchmark:
        "benchmarks/archive.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        config=result_config(config),
        snakefile=workflow.main_snakefile,
    script:
        "../scripts/archive.py"
