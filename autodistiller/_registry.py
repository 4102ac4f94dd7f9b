"""A name -> implementation registry shared by every pipeline stage.

One vocabulary: the registered name is also the YAML word, the config value and the Parquet cell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from autodistiller.errors import UnknownOptionError

T = TypeVar("T")

__all__ = ["Registry"]


class Registry(Generic[T]):
    """Maps option names to implementations, filled with the :meth:`register` decorator.

    >>> LOSSES = Registry("prediction loss")
    >>> @LOSSES.register("kl")
    ... class KLLoss: ...
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        if not name or name != name.strip():
            raise ValueError(f"A {self.kind} name must be a non-empty word, got {name=!r}.")

        def decorator(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered.")
            self._entries[name] = obj
            return obj

        return decorator

    def get(self, name: str, *, key: str | None = None) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownOptionError(self.kind, name, self.names(), key=key) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._entries.items())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
