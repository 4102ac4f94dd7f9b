"""The cache location, and the suite's own: a temporary cache for the whole run (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from autodistiller._paths import CACHE_ENV_VAR, cache_root


def test_cache_root_order(tmp_path, monkeypatch):
    assert cache_root(tmp_path / "x") == (tmp_path / "x").resolve()
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / "env"))
    assert cache_root() == (tmp_path / "env").resolve()
    monkeypatch.delenv(CACHE_ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == (tmp_path / "xdg" / "autodistiller").resolve()


def test_the_suite_writes_into_a_temporary_cache(test_cache, tmp_path_factory, monkeypatch):
    """Teachers, teacher outputs, augmented copies and MLM builds of a test run never reach the user's cache;
    the built offline assets are reused through links, and subprocesses (Ray workers too) inherit the cache."""
    assert cache_root() == test_cache.resolve()
    assert test_cache.is_relative_to(tmp_path_factory.getbasetemp())
    with monkeypatch.context() as patch:
        patch.delenv(CACHE_ENV_VAR)
        real = cache_root()
    # an asset the user's cache holds is linked, not built again; one it lacked was built in the temporary
    # cache and must not have reached the user's (whatever the machine had before the run)
    for name in ("models", "tasks"):
        for entry in (test_cache / name).iterdir():
            if not entry.name.startswith(".") and (real / name / entry.name).exists():
                assert entry.is_symlink(), f"{entry} was built again (or leaked into {real / name})"
    child = subprocess.run([sys.executable, "-c", "from autodistiller._paths import cache_root; print(cache_root())"],
                           capture_output=True, text=True, env=dict(os.environ), check=True)
    assert Path(child.stdout.strip()) == test_cache.resolve()
