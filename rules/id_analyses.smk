# The paper's Fig. 4: estimated ID vs parameters, embedding width, layer and context position.


rule id_by_position:
    input:
        points=f"{RESULTS}/{{dataset}}/embeddings/{{model}}/n{{n}}/seed{{seed}}/layer_{FINAL_LAYER}.npy",
        positions=f"{RESULTS}/{{dataset}}/embeddings/{{model}}/n{{n}}/seed{{seed}}/positions.npy",
    output:
        f"{RESULTS}/{{dataset}}/id/{{model}}/n{{n}}/seed{{seed}}/by_position.json",
    log:
        "logs/id_by_position/{dataset}_{model}_n{n}_seed{seed}.log",
    benchmark:
        "benchmarks/id_by_position/{dataset}_{model}_n{n}_seed{seed}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        settings=id_params(config),
        bins=config["id_analyses"]["position_bins"],
    script:
        "../scripts/id_by_position.py"


rule id_analyses:
    input:
        ids=targets.analysis_id_jsons(),
        train=targets.analysis_train_summaries(),
        positions=targets.by_position_jsons(),
    output:
        report(
            f"{RESULTS}/summary/id_analyses.csv",
            caption="../report/id_analyses_table.rst",
            category="Intrinsic dimension",
        ),
    log:
        "logs/id_analyses.log",
    benchmark:
        "benchmarks/id_analyses.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        embedding_model=targets.embedding_model,
    script:
        "../scripts/id_analyses.py"


rule plot_id_analyses:
    input:
        f"{RESULTS}/summary/id_analyses.csv",
    output:
        report(
            f"{RESULTS}/figures/id_analyses.png",
            caption="../report/id_analyses.rst",
            category="Intrinsic dimension",
        ),
    log:
        "logs/plot_id_analyses.log",
    benchmark:
        "benchmarks/plot_id_analyses.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/plot_id_analyses.py"
