"""Cleaning up after a test's own Ray cluster: every process started for it, found by its temp dir."""

from __future__ import annotations

import contextlib
import shutil

__all__ = ["end_processes_of"]


def end_processes_of(temp_dir: str) -> int:
    """Kill every process whose command line names ``temp_dir`` (a test cluster's nodes and workers, even those
    re-parented away from their process group), wait for them, and remove the directory. Returns how many."""
    import psutil

    leftovers = [p for p in psutil.process_iter(["pid", "cmdline"])
                 if any(temp_dir in part for part in (p.info["cmdline"] or []))]
    for process in leftovers:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(leftovers, timeout=30)
    shutil.rmtree(temp_dir, ignore_errors=True)
    return len(leftovers)
