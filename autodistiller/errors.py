"""Exceptions raised for bad input, before any expensive work starts."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AutoDistillerError",
    "ConfigError",
    "UnknownOptionError",
    "TaskError",
    "AssetError",
]


class AutoDistillerError(Exception):
    """Base class of every error AutoDistiller raises on purpose."""


class ConfigError(AutoDistillerError, ValueError):
    """A pipeline config, search space or option value is invalid."""


class UnknownOptionError(ConfigError, KeyError):
    """A name is not registered; the message lists the valid names."""

    def __init__(self, kind: str, name: object, choices: Sequence[str], *, key: str | None = None) -> None:
        self.kind = kind
        self.name = name
        self.choices = list(choices)
        where = f"{key}={name!r}" if key else repr(name)
        super().__init__(f"{where} is not a registered {kind}; choose one of: {', '.join(self.choices)}")

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0])


class TaskError(AutoDistillerError, ValueError):
    """A task (dataset) cannot be used: missing column, empty split, bad labels, ..."""


class AssetError(AutoDistillerError, RuntimeError):
    """An offline asset (package, model or dataset) could not be fetched or converted."""
