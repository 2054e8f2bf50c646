"""The registry of latent teachers and what turns a ``latent`` source config into its teacher.

A teacher is one module with a class that has ``from_seed(k, seed=..., **defaults)`` and the
:class:`idscaling.latent.base.Teacher` interface, and a dict of its config keys with their
defaults (which schemas/config.schema.yaml repeats); :data:`TEACHERS` names the pair for
``teacher:`` in a source (the README's recipe: one file, one entry here, its keys in the schema).
"""

from __future__ import annotations

from typing import Any

from idscaling.latent.base import Teacher
from idscaling.latent.features import FEATURES_DEFAULTS, FeaturesTeacher
from idscaling.latent.holder import HOLDER_DEFAULTS, HolderTeacher

__all__ = [
    "TEACHERS",
    "DOCUMENT_DEFAULTS",
    "source_defaults",
    "latent_settings",
    "make_teacher",
    "teacher_from_settings",
    "teacher_for_source",
    "LatentSourceError",
]

# The teachers a latent source can name (``teacher:``), with their config keys and defaults.
TEACHERS: dict[str, tuple[type, dict[str, Any]]] = {
    "features": (FeaturesTeacher, FEATURES_DEFAULTS),
    "holder": (HolderTeacher, HOLDER_DEFAULTS),
}

# Keys of the documents, not the teacher (schemas/config.schema.yaml repeats them).
DOCUMENT_DEFAULTS = {"n_documents": 2000, "document_tokens": 128, "seed": 0}


class LatentSourceError(ValueError):
    """A latent source config that names an unknown teacher or another teacher's key."""


def source_defaults(teacher: str = "features") -> dict[str, Any]:
    """Every key of a latent source with that ``teacher`` (besides ``k`` and ``teacher``), with
    its default: the documents' keys and the teacher's own."""
    if teacher not in TEACHERS:
        raise ValueError(f"teacher must be one of {tuple(TEACHERS)}, got {teacher!r}")
    return DOCUMENT_DEFAULTS | TEACHERS[teacher][1]


def latent_settings(source: dict) -> dict:
    """The generator settings of a ``latent`` source, defaults filled in: ``k``, ``teacher``
    (default ``"features"``) and the keys of that teacher; a key that only another teacher uses is
    an error, not silently ignored."""
    if "k" not in source:
        raise LatentSourceError("latent source: 'k' (the number of latent dimensions) is required")
    teacher = source.get("teacher", "features")
    if teacher not in TEACHERS:
        raise LatentSourceError(f"latent source: teacher must be one of {', '.join(TEACHERS)}, got {teacher!r}")
    defaults = source_defaults(teacher)
    others = set().union(*(source_defaults(t) for t in TEACHERS if t != teacher)) - set(defaults)
    if foreign := sorted(set(source) & others):
        raise LatentSourceError(
            f"latent source: {', '.join(map(repr, foreign))} is not a key of the {teacher!r} teacher"
        )
    return {"k": source["k"], "teacher": teacher} | {key: source.get(key, default) for key, default in defaults.items()}


def make_teacher(
    k: int, *, teacher: str = "features", seed: int = DOCUMENT_DEFAULTS["seed"], **settings: Any
) -> Teacher:
    """The teacher of :data:`TEACHERS` named ``teacher``, drawn from ``seed``; ``settings`` are
    its keyword arguments (keys of its defaults), unknown ones an error."""
    if teacher not in TEACHERS:
        raise ValueError(f"teacher must be one of {tuple(TEACHERS)}, got {teacher!r}")
    return TEACHERS[teacher][0].from_seed(k, seed=seed, **settings)


def teacher_from_settings(settings: dict[str, Any]) -> Teacher:
    """The teacher of a latent source's settings (:func:`latent_settings`: ``k``, ``teacher``,
    the documents' keys, the teacher's keys), whichever teacher it names."""
    knobs = {key: value for key, value in settings.items() if key not in ("n_documents", "document_tokens")}
    return make_teacher(**knobs)


def teacher_for_source(source: dict) -> Teacher:
    """The teacher of a ``latent`` corpus source (its config entry), defaults filled in."""
    return teacher_from_settings(latent_settings(source))
