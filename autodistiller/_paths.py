"""Where AutoDistiller keeps its caches (offline assets, fine-tuned teachers, ...)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV_VAR", "cache_root"]

CACHE_ENV_VAR = "AUTODISTILLER_CACHE"


def cache_root(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache directory: ``override``, else ``$AUTODISTILLER_CACHE``, else ``~/.cache/autodistiller``."""
    if override is not None:
        return Path(override).expanduser().resolve()
    env = os.environ.get(CACHE_ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return (base / "autodistiller").resolve()
