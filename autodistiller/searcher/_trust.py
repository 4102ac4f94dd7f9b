"""Resuming unpickles the experiment (``tuner.pkl``, trial state): only from a location no other user can write.

``Tuner.restore`` loads pickles from ``<storage>/<name>``; whoever can write there can run code as the user who
resumes. For local paths this is checked before anything is loaded; a URI (s3://, gs://) cannot be checked here
and must be as trusted as the code (bucket policies).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from autodistiller.errors import ConfigError

__all__ = ["check_private_storage"]

_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


def _problem(path: Path, info: os.stat_result, *, inside: bool) -> str | None:
    """Why ``path`` could be changed by another user, or None. Inside the experiment every entry must be ours
    and not group/other-writable; the directories above it must belong to us or root and not be writable by
    others unless sticky (like /tmp, where nobody may rename another user's entries)."""
    uid = os.getuid()
    if info.st_uid not in ((uid,) if inside else (uid, 0)):
        return f"is owned by uid {info.st_uid}, not by you (uid {uid})"
    if stat.S_ISLNK(info.st_mode):  # a link's own mode means nothing; only its owner can repoint it
        return None
    if info.st_mode & _OTHERS_WRITE and (inside or not (stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX)):
        who = "group and others" if info.st_mode & stat.S_IWGRP and info.st_mode & stat.S_IWOTH else (
            "its group" if info.st_mode & stat.S_IWGRP else "other users")
        return f"is writable by {who} (mode {stat.filemode(info.st_mode)})"
    return None


def check_private_storage(experiment_path: str | os.PathLike[str]) -> None:
    """Refuse to resume from ``experiment_path`` when another local user could have written what gets
    unpickled: any file or directory in it, or a directory above it, writable by others or owned by another
    user. Raises a ConfigError naming the path and the fix."""
    if os.name != "posix":  # pragma: no cover - no POSIX ownership to check
        return
    root = Path(experiment_path).resolve()
    entries = [root]
    for directory, dirnames, filenames in os.walk(root):
        entries += [Path(directory, name) for name in (*dirnames, *filenames)]
    checked = [(path, True) for path in entries] + [(parent, False) for parent in root.parents]
    for path, inside in checked:
        info = path.lstat()
        problem = _problem(path, info, inside=inside)
        if problem:
            fix = (f"chmod go-w {path}" if "writable" in problem
                   else f"copy the experiment into a directory of yours (cp -r {root} ...) and resume from there")
            raise ConfigError(
                f"refusing to resume from {root}: {path} {problem}. Resuming unpickles the experiment's files "
                f"(tuner.pkl, trial state), so whoever can change them can run code as you. Fix: {fix}, "
                "after checking nobody else wrote there."
            )
