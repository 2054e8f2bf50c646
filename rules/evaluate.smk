# The validation loss and its bootstrap CI from the per-token losses each training job wrote:
# no model to load, so a change of the bootstrap reruns seconds of numpy, not a forward pass.
rule evaluate:
    input:
        losses=f"{RESULTS}/{{dataset}}/models/{{model}}/n{{n}}/seed{{seed}}/val_losses.npz",
        val=f"{RESULTS}/{{dataset}}/tokens/val.bin",
        val_meta=f"{RESULTS}/{{dataset}}/tokens/val.json",
    output:
        f"{RESULTS}/{{dataset}}/eval/{{model}}/n{{n}}/seed{{seed}}.json",
    log:
        "logs/evaluate/{dataset}_{model}_n{n}_seed{seed}.log",
    benchmark:
        "benchmarks/evaluate/{dataset}_{model}_n{n}_seed{seed}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        settings=evaluate_params(config),
    script:
        "../scripts/evaluate.py"
