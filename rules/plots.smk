rule plot_scaling:
    input:
        points=f"{RESULTS}/summary/scaling_points.csv",
        exponents=f"{RESULTS}/summary/exponents.csv",
    output:
        data=report(
            f"{RESULTS}/figures/data_scaling.png",
            caption="../report/data_scaling.rst",
            category="Scaling",
        ),
        model=report(
            f"{RESULTS}/figures/model_scaling.png",
            caption="../report/model_scaling.rst",
            category="Scaling",
        ),
        exponents=report(
            f"{RESULTS}/figures/exponents.png",
            caption="../report/exponents.rst",
            category="Scaling",
        ),
    log:
        "logs/plot_scaling.log",
    benchmark:
        "benchmarks/plot_scaling.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        params_column=config["fit"]["params"],
    script:
        "../scripts/plot_scaling.py"


rule plot_intrinsic_dim:
    input:
        f"{RESULTS}/summary/intrinsic_dim.csv",
    output:
        report(
            f"{RESULTS}/figures/intrinsic_dim.png",
            caption="../report/intrinsic_dim.rst",
            category="Intrinsic dimension",
        ),
    log:
        "logs/plot_intrinsic_dim.log",
    benchmark:
        "benchmarks/plot_intrinsic_dim.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/plot_intrinsic_dim.py"
