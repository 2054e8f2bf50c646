"""The results archive: manifest with sha256 of every file, deterministic, tamper-evident."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from idscaling.archive import MANIFEST, build_archive, verify_archive


def test_manifest_lists_every_file_and_verifies(tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n1,2\n")
    (tmp_path / "b.png").write_bytes(bytes(range(256)) * 10)
    files = {"summary/a.csv": tmp_path / "a.csv", "figures/b.png": tmp_path / "b.png"}
    manifest = build_archive(files, tmp_path / "out.tar.gz", {"config_hash": "abc", "code_version": "v1"})
    assert [f["path"] for f in manifest["files"]] == ["figures/b.png", "summary/a.csv"]
    assert manifest["config_hash"] == "abc"
    assert verify_archive(tmp_path / "out.tar.gz") == []
    with tarfile.open(tmp_path / "out.tar.gz") as tar:
        assert sorted(tar.getnames()) == sorted([MANIFEST, "summary/a.csv", "figures/b.png"])
        assert json.loads(tar.extractfile(MANIFEST).read()) == manifest
    # same inputs, same bytes
    build_archive(files, tmp_path / "again.tar.gz", {"config_hash": "abc", "code_version": "v1"})
    assert (tmp_path / "again.tar.gz").read_bytes() == (tmp_path / "out.tar.gz").read_bytes()


def test_tampering_is_detected(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    build_archive({"a.csv": tmp_path / "a.csv"}, tmp_path / "ok.tar.gz", {})
    with tarfile.open(tmp_path / "ok.tar.gz") as src, tarfile.open(tmp_path / "bad.tar.gz", "w:gz") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read()
            if m.name == "a.csv":
                data = b"x\n2\n"
            m.size = len(data)
            dst.addfile(m, io.BytesIO(data))
        extra = tarfile.TarInfo("sneaked.txt")
        extra.size = 1
        dst.addfile(extra, io.BytesIO(b"!"))
    problems = verify_archive(tmp_path / "bad.tar.gz")
    assert problems == [
        "a.csv: sha256 or size differs from the manifest",
        "sneaked.txt: in the archive but not in the manifest",
    ]
    with pytest.raises(ValueError, match="written by the archive"):
        build_archive({MANIFEST: tmp_path / "a.csv"}, tmp_path / "x.tar.gz", {})


def test_cli_verify_archive(tmp_path, capsys):
    from idscaling.cli import main

    (tmp_path / "a.csv").write_text("x\n1\n")
    build_archive({"a.csv": tmp_path / "a.csv"}, tmp_path / "ok.tar.gz", {})
    assert main(["verify-archive", str(tmp_path / "ok.tar.gz")]) == 0
    assert json.loads(capsys.readouterr().out)["intact"] is True
    assert main(["verify-archive", str(tmp_path / "missing.tar.gz")]) == 2
    assert "no such file" in capsys.readouterr().err
