"""What the Snakemake rules need, importable and tested: each rule's params (only what changes its
outputs, :mod:`.params`), the paths of its inputs and targets (:mod:`.targets`) and its memory and
runtime models (:mod:`.resources`). ``rules/*.smk`` only declare rules on top of these.

Kept free of torch and pandas: every ``snakemake`` call imports it while building the DAG.
"""
