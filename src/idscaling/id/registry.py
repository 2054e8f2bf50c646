"""The intrinsic-dimension estimators and the ID protocols by name (``id.estimator`` in the config, ``--estimator`` of
the CLI): name -> "module:class", imported when used, so that reading the names (the CLI's choices,
the schema check) loads no numerical library.

A new estimator (the README's recipe): one module with a subclass of
:class:`idscaling.id.estimator.Estimator` (its hooks), one entry here, its name in the schema's
``id.estimator`` enum and its settings, if any, in the schema and in
:func:`idscaling.id.batching.settings_for_estimator`'s keys (``PROTOCOL_KEYS`` of the class).
"""

from __future__ import annotations

import importlib

__all__ = ["ESTIMATORS", "estimator_class", "PROTOCOLS", "ORACLE_PROTOCOLS", "MODEL_PROTOCOLS", "DEFAULT_PROTOCOLS"]

# The ID protocols: which points an ID is estimated on (builders: idscaling.id.protocols.POINT_SETS).
PROTOCOLS = ("token", "token_centred", "sequence_mean", "sequence_last", "oracle", "oracle_window")
ORACLE_PROTOCOLS = ("oracle", "oracle_window")  # latent corpora only: computed from the teacher
DEFAULT_PROTOCOLS = ("token",)
MODEL_PROTOCOLS = PROTOCOLS[:4]  # the ones computed from a model's hidden states

ESTIMATORS: dict[str, str] = {
    "mle": "idscaling.id.mle:MLE",
    "twonn": "idscaling.id.twonn:TwoNN",
    "tle": "idscaling.id.tle:TLE",
    "gride": "idscaling.id.gride:GRIDE",
}


def estimator_class(name: str) -> type:
    """The estimator class registered as ``name``."""
    if name not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {tuple(ESTIMATORS)}, got {name!r}")
    module, cls = ESTIMATORS[name].split(":")
    return getattr(importlib.import_module(module), cls)
