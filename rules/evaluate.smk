rule evaluate:
    input:
        config=f"{RESULTS}/{{dataset}}/models/{{model}}/n{{n}}/seed{{seed}}/config.json",
        weights=f"{RESULTS}/{{dataset}}/models/{{model}}/n{{n}}/seed{{seed}}/model.safetensors",
        val=f"{RESULTS}/{{dataset}}/tokens/val.bin",
        val_meta=f"{RESULTS}/{{dataset}}/tokens/val.json",
    output:
        f"{RESULTS}/{{dataset}}/eval/{{model}}/n{{n}}/seed{{seed}}.json",
    params:
        settings=evaluate_params(config),
    log:
        "logs/evaluate/{dataset}_{model}_n{n}_seed{seed}.log",
    benchmark:
        "benchmarks/evaluate/{dataset}_{model}_n{n}_seed{seed}.tsv"
    threads: 1
    resources:
        mem_mb=evaluate_mem_mb,
        runtime=evaluate_runtime,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/evaluate.py"
