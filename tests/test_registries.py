"""Every extension point's registry names exactly what the schema, the CLI and the rules offer, so
adding one (an estimator, a corpus source kind, a teacher, a point set, a figure) is one file and
one entry, and nothing else can go out of step."""

from __future__ import annotations

import re

import yaml
from conftest import REPO

from idscaling.cli import build_parser
from idscaling.corpus.sources import SOURCES
from idscaling.id.estimator import Estimator
from idscaling.id.registry import ESTIMATORS, PROTOCOLS, estimator_class
from idscaling.latent.teachers import TEACHERS
from idscaling.report.figures import FIGURES

SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
ID = SCHEMA["properties"]["id"]["properties"]


def test_estimators_match_the_schema_and_the_cli():
    assert list(ESTIMATORS) == ID["estimator"]["enum"]
    est = next(
        a
        for a in build_parser()._subparsers._group_actions[0].choices["estimate-id"]._actions
        if "--estimator" in a.option_strings
    )
    assert list(est.choices) == list(ESTIMATORS)
    for name in ESTIMATORS:
        cls = estimator_class(name)
        assert issubclass(cls, Estimator) and cls.name == name
        assert set(cls.PROTOCOL_KEYS) <= set(ID), name  # its settings are config keys


def test_corpus_source_kinds_and_teachers_match_the_schema():
    source = SCHEMA["$defs"]["source"]
    assert list(SOURCES) == source["properties"]["kind"]["enum"]
    latent = next(b for b in source["oneOf"] if b["properties"]["kind"].get("const") == "latent")
    assert list(TEACHERS) == latent["properties"]["teacher"]["enum"]
    keys = set(latent["properties"]) - {"kind", "k", "teacher", "max_documents"}
    assert keys == set().union(*(defaults for _, defaults in TEACHERS.values())) | {
        "n_documents",
        "document_tokens",
        "seed",
    }


def test_point_sets_match_the_schema():
    assert list(PROTOCOLS) == ID["protocols"]["items"]["enum"]


def test_every_figure_a_rule_writes_is_registered_and_importable():
    import importlib

    written = set()
    for smk in (REPO / "rules").glob("*.smk"):
        written |= set(re.findall(r"figures/(\w+)\.png", smk.read_text()))
    assert written == set(FIGURES)
    for name, (module, function) in FIGURES.items():
        assert callable(getattr(importlib.import_module(f"idscaling.report.figures.{module}"), function)), name
