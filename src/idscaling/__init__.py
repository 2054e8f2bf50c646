"""idscaling: scaling laws vs. the intrinsic dimension of the data.

Every pipeline stage is a function in one of the small modules of this package;
the Snakemake scripts in ``scripts/`` only read ``snakemake.input/output/params``
and call them.
"""

__version__ = "0.1.0"
