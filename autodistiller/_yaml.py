"""Reading YAML files: ``yaml.safe_load`` only (a config never runs code), with errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from autodistiller.errors import ConfigError

__all__ = ["read_yaml"]


def read_yaml(path: str | Path, what: str) -> Any:
    """Parse ``path``; a missing file or a syntax error is a :class:`ConfigError` naming ``what`` and the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist.")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
