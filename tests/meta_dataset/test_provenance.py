"""The code commit a row records: "-dirty" only when code differs, not when rows were written."""

import shutil
import subprocess
from pathlib import Path

import pytest

from autodistiller.meta_dataset._provenance import commit_of

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_commit_is_dirty_for_code_changes_only(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "meta_dataset" / "_build").mkdir(parents=True)
    (tmp_path / "pkg" / "code.py").write_text("x = 1\n")
    (tmp_path / "meta_dataset" / "_build" / "commands.log").write_text("first\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True,
                          check=True).stdout.strip()

    assert commit_of(tmp_path / "pkg") == head
    (tmp_path / "meta_dataset" / "_build" / "commands.log").write_text("first\nsecond\n")
    assert commit_of(tmp_path / "pkg") == head  # a search logging its rows and commands
    (tmp_path / "pkg" / "code.py").write_text("x = 2\n")
    assert commit_of(tmp_path / "pkg") == f"{head}-dirty"


def test_outside_a_checkout_there_is_no_commit(tmp_path: Path) -> None:
    assert commit_of(tmp_path) == ""
