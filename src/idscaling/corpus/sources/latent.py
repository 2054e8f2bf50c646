"""Corpus source ``latent``: SYNTHETIC documents from a teacher with exactly k latent degrees of
freedom (:mod:`idscaling.latent`; keys of :func:`idscaling.latent.teachers.source_defaults`)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from idscaling.corpus.sources.common import CorpusError, CorpusStats
from idscaling.latent.teachers import LatentSourceError, latent_settings

__all__ = ["iter_documents"]

SYNTHETIC = True


def iter_documents(source: dict, stats: CorpusStats) -> Iterator[str]:
    """The teacher's documents; the teacher is built (and checked) before this returns."""
    from idscaling.latent.documents import (
        generate_documents,  # (numpy's generator: data env only)
    )

    try:
        raw = generate_documents(**latent_settings(source))
        return itertools.chain([next(raw)], raw)
    except LatentSourceError as err:
        raise CorpusError(str(err)) from None
    except ValueError as err:
        raise CorpusError(f"latent source: {err}") from None
