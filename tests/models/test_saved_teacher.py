"""Saved teachers carry the sha256 of their weights: damaged weights are found on load (once per process),
rebuilt when they are the cache's, refused with the fix when they are the user's, and caches derived from a
teacher are keyed by its weights."""

from __future__ import annotations

import json
import shutil

import pytest

from autodistiller.engine import distill, fine_tune_teacher
from autodistiller.models import TeacherIntegrityError, load_teacher
from autodistiller.models import _teacher as teacher_module
from autodistiller.testing import one_torch_thread


@pytest.fixture
def saved(tmp_path, tiny_teacher):
    """A copy of the tiny teacher's directory, safe to damage."""
    return shutil.copytree(tiny_teacher.path, tmp_path / "teacher")


def _flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the tensors, past the header: the file still loads
    path.write_bytes(bytes(data))


def test_the_weights_checksum_is_recorded_and_keys_derived_caches(saved, tiny_teacher):
    meta = json.loads((saved / "teacher.json").read_text())
    weights = saved / "model.safetensors"
    assert meta["weights_bytes"] == {"model.safetensors": weights.stat().st_size}
    assert meta["weights_sha256"] == {"model.safetensors": teacher_module._file_sha256(weights)}
    teacher = load_teacher(saved)
    assert teacher.weights_sha256 == meta["weights_sha256"]["model.safetensors"] == tiny_teacher.weights_sha256
    assert teacher.cache_key == f"{teacher.key}-{teacher.weights_sha256[:16]}"


@pytest.mark.parametrize("damage", ["same-size byte flip", "truncated"])
def test_damaged_weights_are_refused_with_the_folder_and_the_fix(saved, damage):
    weights = saved / "model.safetensors"
    if damage == "truncated":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 3])
        problem = r"model.safetensors has \d+ bytes, \d+ when it was saved \(truncated\?\)"
    else:
        _flip_a_byte(weights)
        problem = "the sha256 of model.safetensors differs from the one recorded in teacher.json"
    with pytest.raises(TeacherIntegrityError, match=rf"the teacher in {saved} is damaged: {problem}.*Fix: delete "
                                                    rf"{saved} and fine-tune the teacher again"):
        load_teacher(saved)


def test_a_teacher_saved_without_checksums_that_does_not_load_is_the_same_clear_error(saved):
    meta = json.loads((saved / "teacher.json").read_text())
    del meta["weights_sha256"], meta["weights_bytes"]  # as an older AutoDistiller saved it
    (saved / "teacher.json").write_text(json.dumps(meta))
    assert load_teacher(saved).weights_sha256  # hashed as it is
    weights = saved / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(TeacherIntegrityError, match=rf"the teacher in {saved} is damaged: its weights do not load"):
        load_teacher(saved)


def test_weights_are_hashed_once_per_process_until_they_change(saved, monkeypatch):
    hashed = []
    real = teacher_module._file_sha256
    monkeypatch.setattr(teacher_module, "_file_sha256", lambda path: hashed.append(path.name) or real(path))
    load_teacher(saved)
    load_teacher(saved)
    assert hashed == ["model.safetensors"]
    _flip_a_byte(saved / "model.safetensors")  # a new mtime: checked again, and found
    with pytest.raises(TeacherIntegrityError):
        load_teacher(saved)
    assert hashed == ["model.safetensors"] * 2


def test_a_damaged_cached_teacher_is_fine_tuned_again(tmp_path, tiny_task, tiny_teacher):
    cache = tmp_path / "cache"
    directory = cache / "teachers" / tiny_teacher.path.name
    shutil.copytree(tiny_teacher.path, directory)
    _flip_a_byte(directory / "model.safetensors")
    lines = []
    with one_torch_thread():
        teacher = fine_tune_teacher(tiny_task, backbone=tiny_teacher.backbone, training=tiny_teacher.training,
                                    cache_dir=cache, log=lines.append)
    assert any(line.startswith(f"teacher: cached {directory} is damaged (the sha256 of model.safetensors")
               and line.endswith("fine-tuning it again") for line in lines)
    assert teacher.path == directory and load_teacher(directory).weights_sha256 == teacher.weights_sha256


def test_the_teacher_output_cache_is_keyed_by_the_weights(tmp_path, tiny_task, tiny_teacher):
    from autodistiller import PipelineConfig

    config = PipelineConfig.from_flat({"student.layers": 1, "training.epochs": 1, "training.batch_size": 16,
                                       "training.max_length": 32})
    with one_torch_thread():
        distill(config, tiny_task, tiny_teacher, cache_dir=tmp_path, log=lambda _: None)
    (entry,) = (tmp_path / "teacher_outputs").iterdir()
    assert json.loads((entry / "meta.json").read_text())["key"]["teacher"] == tiny_teacher.cache_key
    assert tiny_teacher.weights_sha256[:16] in tiny_teacher.cache_key


def test_a_damaged_teacher_dir_given_by_the_user_fails_with_the_fix(saved, tiny_dir, capsys):
    from autodistiller.cli import main

    _flip_a_byte(saved / "model.safetensors")
    before = sorted(p.name for p in saved.iterdir())
    assert main(["teacher", "--task", str(tiny_dir / "tiny.csv"), "--teacher-dir", str(saved)]) == 2
    err = capsys.readouterr().err
    assert f"error: the teacher in {saved} is damaged" in err and "fine-tune the teacher again" in err
    assert sorted(p.name for p in saved.iterdir()) == before  # the user's folder is left as it is, not rebuilt
