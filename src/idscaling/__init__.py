"""idscaling: scaling laws vs. the intrinsic dimension of the data.

One subpackage per stage of the pipeline: :mod:`.corpus` (sources, split, tokenization, subsets),
:mod:`.lm` (model, training, evaluation, embedding, pretrained suites), :mod:`.id` (intrinsic-
dimension estimators, batching, point sets), :mod:`.fit` (scaling laws and predicted exponents),
:mod:`.latent` (corpora of known dimension and their oracle), :mod:`.report` (tables, figures) and
:mod:`.workflow` (what the Snakemake rules need). The scripts in ``scripts/`` only read
``snakemake.input/output/params`` and call them.
"""

__version__ = "0.1.0"
