rule embed:
    input:
        config=f"{RESULTS}/{{dataset}}/models/{{model}}/n{{n}}/seed{{seed}}/config.json",
        weights=f"{RESULTS}/{{dataset}}/models/{{model}}/n{{n}}/seed{{seed}}/model.safetensors",
        val=f"{RESULTS}/{{dataset}}/tokens/val.bin",
        val_meta=f"{RESULTS}/{{dataset}}/tokens/val.json",
    output:
        **targets.embed_outputs(),
    log:
        "logs/embed/{dataset}_{model}_n{n}_seed{seed}.log",
    benchmark:
        "benchmarks/embed/{dataset}_{model}_n{n}_seed{seed}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=embed_mem_mb,
        runtime=60,
    params:
        settings=embed_params(config),
        layers=LAYERS,
        pool_layer=FINAL_LAYER,
    script:
        "../scripts/embed.py"


# A pretrained model's points on a dataset's validation split: the same script and outputs.
use rule embed as embed_pretrained with:
    input:
        config=f"{RESULTS}/pretrained/{{pretrained}}/model/config.json",
        source=f"{RESULTS}/pretrained/{{pretrained}}/source.json",
        val=f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/tokens/val.bin",
        val_meta=f"{RESULTS}/{{dataset}}/pretrained/{{pretrained}}/tokens/val.json",
    output:
        **targets.embed_outputs(pretrained=True),
    log:
        "logs/embed_pretrained/{dataset}_{pretrained}.log",
    benchmark:
        "benchmarks/embed_pretrained/{dataset}_{pretrained}.tsv"
    resources:
        mem_mb=config["pretrained"]["mem_mb"],
        runtime=config["pretrained"]["runtime"],
    params:
        settings=embed_params(config, pretrained=True),
        layers=LAYERS,
        pool_layer=FINAL_LAYER,
