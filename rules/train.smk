rule train:
    input:
        subset=f"{RESULTS}/{{dataset}}/subsets/seed{{seed}}/n{{n}}.bin",
        subset_meta=f"{RESULTS}/{{dataset}}/subsets/seed{{seed}}/n{{n}}.json",
        selection=f"{RESULTS}/{{dataset}}/tokens/select.bin",
        selection_meta=f"{RESULTS}/{{dataset}}/tokens/select.json",
        val=f"{RESULTS}/{{dataset}}/tokens/val.bin",
        val_meta=f"{RESULTS}/{{dataset}}/tokens/val.json",
    output:
        config=f"{RESULTS}/{{dataset}}/models/{{model}}/n{{n}}/seed{{seed}}/config.json",
        weights=f"{RESULTS}/{{dataset}}/models/{{model}}/n{{n}}/seed{{seed}}/model.safetensors",
        log_csv=f"{RESULTS}/{{dataset}}/models/{{model}}/n{{n}}/seed{{seed}}/train_log.csv",
        summary=f"{RESULTS}/{{dataset}}/models/{{model}}/n{{n}}/seed{{seed}}/train_summary.json",
        # per-token validation losses of the selected checkpoint (the model is loaded here already)
        val_losses=f"{RESULTS}/{{dataset}}/models/{{model}}/n{{n}}/seed{{seed}}/val_losses.npz",
    log:
        "logs/train/{dataset}_{model}_n{n}_seed{seed}.log",
    benchmark:
        "benchmarks/train/{dataset}_{model}_n{n}_seed{seed}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: config["train"]["threads"]
    resources:
        mem_mb=train_mem_mb,
        runtime=train_runtime,
    params:
        shape=lambda w: model_shape(config, w.model),
        settings=lambda w: train_params(config, w.model),
    script:
        "../scripts/train.py"
