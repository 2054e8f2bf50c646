from __future__ import annotations

import hashlib
import json

import numpy as np

from idscaling.atomic import file_sha256, save_npy, write_json


def test_writes_land_whole_and_leave_no_temporaries(tmp_path):
    save_npy(tmp_path / "sub" / "a.npy", np.arange(5))
    write_json(tmp_path / "m.json", {"x": [1, 2]})
    np.testing.assert_array_equal(np.load(tmp_path / "sub" / "a.npy"), np.arange(5))
    assert json.loads((tmp_path / "m.json").read_text()) == {"x": [1, 2]}
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["a.npy", "m.json"]


def test_file_sha256(tmp_path):
    data = bytes(range(256)) * 5000  # more than one read block
    (tmp_path / "f").write_bytes(data)
    assert file_sha256(tmp_path / "f") == hashlib.sha256(data).hexdigest()
