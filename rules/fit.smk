rule scaling_points:
    input:
        train=targets.train_summaries(),
        evals=targets.eval_jsons(),
    output:
        report(
            f"{RESULTS}/summary/scaling_points.csv",
            caption="../report/scaling_points.rst",
            category="Tables",
        ),
    log:
        "logs/scaling_points.log",
    benchmark:
        "benchmarks/scaling_points.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/scaling_points.py"


rule id_table:
    input:
        targets.id_jsons(),
    output:
        report(
            f"{RESULTS}/summary/intrinsic_dim.csv",
            caption="../report/intrinsic_dim_table.rst",
            category="Tables",
        ),
    log:
        "logs/id_table.log",
    benchmark:
        "benchmarks/id_table.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/id_table.py"


rule exponents:
    input:
        unpack(targets.exponents_inputs),
    output:
        report(
            f"{RESULTS}/summary/exponents.csv",
            caption="../report/exponents_table.rst",
            category="Tables",
        ),
    log:
        "logs/exponents.log",
    benchmark:
        "benchmarks/exponents.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        fit=fit_params(config, "exponents"),
        id_metric=config["id"]["metric"],
    script:
        "../scripts/exponents.py"


rule joint_fit:
    input:
        points=f"{RESULTS}/summary/scaling_points.csv",
        ids=f"{RESULTS}/summary/intrinsic_dim.csv",
    output:
        report(
            f"{RESULTS}/summary/joint_fit.csv",
            caption="../report/joint_fit.rst",
            category="Tables",
        ),
    log:
        "logs/joint_fit.log",
    benchmark:
        "benchmarks/joint_fit.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 2  # the bootstrap refits in parallel (the same numbers with any count)
    resources:
        mem_mb=1000,
        runtime=20,
    params:
        fit=fit_params(config, "joint_fit"),
    script:
        "../scripts/joint_fit.py"
