rule train_tokenizer:
    input:
        train=f"{RESULTS}/{{dataset}}/corpus/train.jsonl",
    output:
        meta=f"{RESULTS}/{{dataset}}/tokenizer/meta.json",
    log:
        "logs/train_tokenizer/{dataset}.log",
    benchmark:
        "benchmarks/train_tokenizer/{dataset}.tsv"
    conda:
        "../envs/data.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        tokenizer=config["tokenizer"],
    script:
        "../scripts/train_tokenizer.py"


rule tokenize:
    input:
        docs=f"{RESULTS}/{{dataset}}/corpus/{{split}}.jsonl",
        tokenizer=f"{RESULTS}/{{dataset}}/tokenizer/meta.json",
    output:
        **targets.token_outputs(),
    log:
        "logs/tokenize/{dataset}_{split}.log",
    benchmark:
        "benchmarks/tokenize/{dataset}_{split}.tsv"
    conda:
        "../envs/data.yaml"
    # tokenize.shards > 1: the training split in that many byte ranges, one process each
    threads: lambda w: max(2, config["tokenize"]["shards"]) if w.split == "train" else 2
    resources:
        mem_mb=4000,
        runtime=240,
    script:
        "../scripts/tokenize.py"


# A pretrained suite's tokenizer on a dataset's splits (config pretrained.models).
use rule tokenize as tokenize_pretrained with:
    input:
        docs=f"{RESULTS}/{{dataset}}/corpus/{{split}}.jsonl",
        tokenizer=f"{RESULTS}/pretrained/{{pretrained}}/tokenizer/meta.json",
    output:
        **targets.token_outputs(pretrained=True),
    log:
        "logs/tokenize_pretrained/{dataset}_{pretrained}_{split}.log",
    benchmark:
        "benchmarks/tokenize_pretrained/{dataset}_{pretrained}_{split}.tsv"
