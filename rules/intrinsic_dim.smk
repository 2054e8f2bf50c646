rule estimate_id:
    input:
        f"{RESULTS}/{{dataset}}/embeddings/{{model}}/n{{n}}/seed{{seed}}/layer_{{layer}}.npy",
    output:
        f"{RESULTS}/{{dataset}}/id/{{model}}/n{{n}}/seed{{seed}}/layer_{{layer}}.json",
    params:
        settings=config["id"],
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
