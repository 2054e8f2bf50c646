rule subsample:
    input:
        bin=f"{RESULTS}/{{dataset}}/tokens/train.bin",
        docs=f"{RESULTS}/{{dataset}}/tokens/train.docs.npy",
        meta=f"{RESULTS}/{{dataset}}/tokens/train.json",
    output:
        bin=f"{RESULTS}/{{dataset}}/subsets/seed{{seed}}/n{{n}}.bin",
        docs=f"{RESULTS}/{{dataset}}/subsets/seed{{seed}}/n{{n}}.docs.npy",
        meta=f"{RESULTS}/{{dataset}}/subsets/seed{{seed}}/n{{n}}.json",
    log:
        "logs/subsample/{dataset}_seed{seed}_n{n}.log",
    benchmark:
        "benchmarks/subsample/{dataset}_seed{seed}_n{n}.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda w: 1000 + int(w.n) * 24 // 2**20,
        runtime=30,
    script:
        "../scripts/subsample.py"
