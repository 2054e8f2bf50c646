rule train_tokenizer:
    input:
        train=f"{RESULTS}/{{dataset}}/corpus/train.jsonl",
    output:
        meta=f"{RESULTS}/{{dataset}}/tokenizer/meta.json",
    params:
        tokenizer=config["tokenizer"],
    log:
        "logs/train_tokenizer/{dataset}.log",
    benchmark:
        "benchmarks/train_tokenizer/{dataset}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/train_tokenizer.py"


rule tokenize:
    input:
        docs=f"{RESULTS}/{{dataset}}/corpus/{{split}}.jsonl",
        tokenizer=f"{RESULTS}/{{dataset}}/tokenizer/meta.json",
    output:
        bin=f"{RESULTS}/{{dataset}}/tokens/{{split}}.bin",
        docs=f"{RESULTS}/{{dataset}}/tokens/{{split}}.docs.npy",
        meta=f"{RESULTS}/{{dataset}}/tokens/{{split}}.json",
    log:
        "logs/tokenize/{dataset}_{split}.log",
    benchmark:
        "benchmarks/tokenize/{dataset}_{split}.tsv"
    # tokenize.shards > 1: the training split in that many byte ranges, one process each
    threads: lambda w: max(2, config["tokenize"]["shards"]) if w.split == "train" else 2
    resources:
        mem_mb=4000,
        runtime=240,
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/tokenize.py"
