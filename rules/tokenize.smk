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
    wildcard_constraints:
        split="select|val" if TOKENIZE_SHARDS > 1 else "train|select|val",
    log:
        "logs/tokenize/{dataset}_{split}.log",
    benchmark:
        "benchmarks/tokenize/{dataset}_{split}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=240,
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/tokenize.py"


# tokenize.shards > 1: the training split is tokenized in that many parallel jobs (byte ranges
# of its JSON lines), then merged -- identical to one serial job (tests/test_tokens.py).
rule tokenize_shard:
    input:
        docs=f"{RESULTS}/{{dataset}}/corpus/train.jsonl",
        tokenizer=f"{RESULTS}/{{dataset}}/tokenizer/meta.json",
    output:
        bin=temp(f"{RESULTS}/{{dataset}}/tokens/shards/train.{{shard}}.bin"),
        docs=temp(f"{RESULTS}/{{dataset}}/tokens/shards/train.{{shard}}.docs.npy"),
        meta=temp(f"{RESULTS}/{{dataset}}/tokens/shards/train.{{shard}}.json"),
    params:
        shards=TOKENIZE_SHARDS,
    wildcard_constraints:
        shard=r"\d+",
    log:
        "logs/tokenize_shard/{dataset}_{shard}.log",
    benchmark:
        "benchmarks/tokenize_shard/{dataset}_{shard}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/tokenize_shard.py"


if TOKENIZE_SHARDS > 1:

    rule merge_token_shards:
        input:
            shards=expand(
                f"{RESULTS}/{{{{dataset}}}}/tokens/shards/train.{{shard}}.bin", shard=range(TOKENIZE_SHARDS)
            ),
            shard_docs=expand(
                f"{RESULTS}/{{{{dataset}}}}/tokens/shards/train.{{shard}}.docs.npy", shard=range(TOKENIZE_SHARDS)
            ),
            shard_meta=expand(
                f"{RESULTS}/{{{{dataset}}}}/tokens/shards/train.{{shard}}.json", shard=range(TOKENIZE_SHARDS)
            ),
            docs=f"{RESULTS}/{{dataset}}/corpus/train.jsonl",
        output:
            bin=f"{RESULTS}/{{dataset}}/tokens/train.bin",
            docs=f"{RESULTS}/{{dataset}}/tokens/train.docs.npy",
            meta=f"{RESULTS}/{{dataset}}/tokens/train.json",
        log:
            "logs/merge_token_shards/{dataset}.log",
        benchmark:
            "benchmarks/merge_token_shards/{dataset}.tsv"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=120,
        conda:
            "../envs/data.yaml"
        script:
            "../scripts/merge_token_shards.py"
