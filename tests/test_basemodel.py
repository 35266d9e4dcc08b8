"""One base-model identity for every cache key (features and probe)."""

from __future__ import annotations

import os

from tuneahead_lint.basemodel import model_id


def test_local_folder_id_follows_its_files(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"x" * 10)
    first = model_id(str(tmp_path))
    assert first == model_id(str(tmp_path)) and first.startswith(f"{tmp_path}@")
    (tmp_path / "model.safetensors").write_bytes(b"y" * 11)  # re-saved in place
    assert model_id(str(tmp_path)) != first


def test_gguf_id_stamps_only_its_file(tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"g" * 5)
    first = model_id(str(gguf))
    (tmp_path / "other.bin").write_bytes(b"o")
    assert model_id(str(gguf)) == first
    os.utime(gguf, ns=(1, 1))
    assert model_id(str(gguf)) != first


def test_hub_id_is_its_name():
    assert model_id("org/some-model") == "org/some-model"
