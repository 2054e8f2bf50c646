rule prepare_corpus:
    output:
        train=f"{RESULTS}/{{dataset}}/corpus/train.jsonl",
        select=f"{RESULTS}/{{dataset}}/corpus/select.jsonl",
        val=f"{RESULTS}/{{dataset}}/corpus/val.jsonl",
        meta=f"{RESULTS}/{{dataset}}/corpus/meta.json",
    log:
        "logs/prepare_corpus/{dataset}.log",
    benchmark:
        "benchmarks/prepare_corpus/{dataset}.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        source=lambda w: config["datasets"][w.dataset]["source"],
        split=lambda w: config["datasets"][w.dataset]["split"],
    script:
        "../scripts/prepare_corpus.py"
