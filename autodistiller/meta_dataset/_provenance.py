"""Provenance columns: package version, git commit, and the hardware a trial ran on."""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
from pathlib import Path
from typing import Any

from autodistiller._version import __version__

__all__ = ["commit_of", "git_commit", "hardware_info", "package_version"]


def package_version() -> str:
    return __version__


@functools.cache
def git_commit() -> str:
    """The commit of the checkout AutoDistiller runs from ("" for an installed release); see :func:`commit_of`."""
    return commit_of(Path(__file__).resolve().parent)


def commit_of(directory: Path) -> str:
    """The commit of the git checkout holding ``directory`` ("" outside one), "-dirty" when tracked files other
    than the meta-dataset's own rows and build log differ from it (a search writing into the shipped
    ``meta_dataset/`` does not make the code that wrote it dirty)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    commit = out.stdout.strip() if out.returncode == 0 else ""
    if commit:
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ":(top)", ":(top,exclude)meta_dataset"], cwd=directory,
                               capture_output=True, text=True, timeout=5, check=False).stdout.strip()
        commit += "-dirty" if dirty else ""
    return commit


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware_info() -> dict[str, Any]:
    """The machine of the calling process (a trial's node inside a Ray worker)."""
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return {
        "hostname": socket.gethostname(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count() or 1,
        "gpu_model": torch.cuda.get_device_name(0) if gpus else "",
        "gpu_count": gpus,
    }
