rule embed:
    input:
        config=f"{RESULTS}/{{dataset}}/models/{{model}}/n{{n}}/seed{{seed}}/config.json",
        weights=f"{RESULTS}/{{dataset}}/models/{{model}}/n{{n}}/seed{{seed}}/model.safetensors",
        val=f"{RESULTS}/{{dataset}}/tokens/val.bin",
        val_meta=f"{RESULTS}/{{dataset}}/tokens/val.json",
    output:
        arrays=expand(
            f"{RESULTS}/{{{{dataset}}}}/embeddings/{{{{model}}}}/n{{{{n}}}}/seed{{{{seed}}}}/layer_{{layer}}.npy",
            layer=LAYERS,
        ),
        positions=f"{RESULTS}/{{dataset}}/embeddings/{{model}}/n{{n}}/seed{{seed}}/positions.npy",
        meta=f"{RESULTS}/{{dataset}}/embeddings/{{model}}/n{{n}}/seed{{seed}}/meta.json",
    params:
        settings=config["embed"],
        block_size=config["train"]["block_size"],
        device=config["train"]["device"],
        layers=LAYERS,
    log:
        "logs/embed/{dataset}_{model}_n{n}_seed{seed}.log",
    benchmark:
        "benchmarks/embed/{dataset}_{model}_n{n}_seed{seed}.tsv"
    threads: 1
    resources:
        mem_mb=lambda w: 2000 + config["embed"]["max_points"] * 4096 * len(LAYERS) * 4 // 2**20,
        runtime=60,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/embed.py"
