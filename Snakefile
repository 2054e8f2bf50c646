# idscaling: scaling laws vs. the intrinsic dimension of the data (Havrilla & Liao 2024).
from snakemake.utils import min_version

min_version("9.0")


# The embedded default, unless a config with datasets came from the command line: Snakemake
# merges --configfile into configfile dicts, which would add the default corpora to the user's.
if "datasets" not in config:

    configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/prepare.smk"
include: "rules/tokenize.smk"
include: "rules/subsample.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/embed.smk"
include: "rules/intrinsic_dim.smk"
include: "rules/fit.smk"
include: "rules/plots.smk"
include: "rules/id_analyses.smk"
include: "rules/known_dimension.smk"
include: "rules/pretrained.smk"
include: "rules/archive.smk"


rule all:
    default_target: True
    input:
        targets.all_outputs(),
