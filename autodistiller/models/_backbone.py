"""Resolve a model name: an offline asset name, a local directory, or a Hugging Face Hub id."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from autodistiller._defaults import DEFAULT_BACKBONE
from autodistiller.errors import ConfigError

__all__ = ["DEFAULT_BACKBONE", "resolve_model_path", "model_identity", "quiet_transformers"]


def quiet_transformers() -> None:
    """Silence transformers' 'newly initialized weights' notes: a new classifier head is what we want."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    logging.getLogger("transformers.modeling_utils").setLevel(logging.ERROR)


def resolve_model_path(name_or_path: str, cache_dir: str | os.PathLike[str] | None = None) -> str:
    """An offline asset name -> its built directory; a local dir -> itself; anything else -> a Hub id."""
    from autodistiller.assets import model_dir, offline_model_names

    if name_or_path in offline_model_names():
        return str(model_dir(name_or_path, cache_dir))
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(f"model directory {path} has no config.json: not a Hugging Face model directory.")
        return str(path.resolve())
    if name_or_path.startswith((".", "/", "~")) or path.suffix:
        raise ConfigError(
            f"model {name_or_path!r} is neither a directory nor a Hub id; offline models are: "
            f"{', '.join(offline_model_names())}."
        )
    return name_or_path


def model_identity(name_or_path: str, resolved: str) -> str:
    """A stable identity for cache keys: the name, plus the config and weight sizes of a local directory."""
    digest = hashlib.sha256(name_or_path.encode())
    path = Path(resolved)
    if path.is_dir():
        for file in sorted(path.iterdir()):
            if file.suffix in (".json", ".safetensors", ".bin", ".txt"):
                digest.update(f"{file.name}:{file.stat().st_size}".encode())
        config = path / "config.json"
        if config.is_file():
            digest.update(config.read_bytes())
    return digest.hexdigest()[:16]


def load_tokenizer(path: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)
