"""Name -> implementation registries: the one vocabulary of YAML spaces, config values and Parquet cells.

The pipeline registries live here, below :mod:`autodistiller.config`, so the config validates against them
without importing the stages; each stage package registers its options into them when it is imported. A
pipeline registry knows its providers (the stage packages, :data:`PIPELINE_PROVIDERS`) and imports them on its
first lookup, so every registry is full whenever anything reads it, while ``import autodistiller`` (and
``autodistiller --help``) stays free of torch.

A registry that ``selects`` a config field (``loss.kind``) makes the other parameters of that field's section
conditional: each registered option declares the section parameters it reads, in ``uses`` (its constructor
keywords) and ``reads`` (read on its behalf by the engine). A parameter that some option declares is active
only when an option that declares it is chosen (see :func:`autodistiller.config.active_parameters`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

from autodistiller.errors import UnknownOptionError

T = TypeVar("T")

__all__ = [
    "AUGMENTERS",
    "AUGMENT_POLICIES",
    "INTERMEDIATE_OBJECTIVES",
    "LAYER_MAPPINGS",
    "MI_CRITICS",
    "PIPELINE_PROVIDERS",
    "PIPELINE_REGISTRIES",
    "PREDICTION_LOSSES",
    "PROCEDURES",
    "Registry",
    "option_parameters",
    "picks_any",
    "unusable_choices",
    "unusable_options",
]


class Registry(Generic[T]):
    """Maps option names to implementations, filled with the :meth:`register` decorator.

    ``selects`` names the config field whose value picks an option (``"loss.kind"``); ``separator`` lets that
    value name an ordered sequence of options (``augment.pipeline = "random+contextual"``). ``providers``
    name the modules that register into it: the first lookup imports them.

    >>> LOSSES = Registry("prediction loss")
    >>> @LOSSES.register("kl")
    ... class KLLoss: ...
    """

    def __init__(self, kind: str, *, selects: str | None = None, separator: str | None = None,
                 providers: Sequence[str] = ()) -> None:
        self.kind = kind
        self.selects = selects
        self.separator = separator
        self._entries: dict[str, T] = {}
        self._providers = tuple(providers)

    def _load_providers(self) -> None:
        """Import the modules that register into this registry (once). A lookup made while they import sees
        what is registered so far, as it did when the package imported every stage eagerly."""
        if not self._providers:
            return
        providers, self._providers = self._providers, ()
        try:
            for module in providers:
                importlib.import_module(module)
        except BaseException:
            self._providers = providers  # not filled: the next lookup tries again (and fails the same way)
            raise

    def register(self, name: str) -> Callable[[T], T]:
        if not name or name != name.strip() or (self.separator and self.separator in name):
            raise ValueError(f"A {self.kind} name must be a non-empty word, got {name=!r}.")

        def decorator(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered.")
            self._entries[name] = obj
            return obj

        return decorator

    def get(self, name: str, *, key: str | None = None) -> T:
        self._load_providers()
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownOptionError(self.kind, name, self.names(), key=key) from None

    def chosen(self, value: Any) -> list[str]:
        """The option names a config value picks: ``"random+contextual"`` -> ``["random", "contextual"]``."""
        if value is None:
            return []
        text = str(value)
        names = text.split(self.separator) if self.separator else [text]
        return [name.strip() for name in names]

    def names(self) -> list[str]:
        self._load_providers()
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        self._load_providers()
        return sorted(self._entries.items())

    def __contains__(self, name: object) -> bool:
        self._load_providers()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._load_providers()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


def option_parameters(option: Any) -> tuple[str, ...]:
    """The section parameters an option reads: its ``uses`` (constructor keywords) and ``reads`` (read by the
    engine on its behalf), without repeats."""
    return tuple(dict.fromkeys((*getattr(option, "uses", ()), *getattr(option, "reads", ()))))


#: the stage packages that register the pipeline options, in the order ``import autodistiller`` used to import
#: them (importlib names: a registry imports its providers lazily, the stages import the registries)
PIPELINE_PROVIDERS = ("autodistiller.augment", "autodistiller.intermediate", "autodistiller.prediction",
                      "autodistiller.procedures")

PREDICTION_LOSSES: Registry[Any] = Registry("prediction loss", selects="loss.kind", providers=PIPELINE_PROVIDERS)
INTERMEDIATE_OBJECTIVES: Registry[Any] = Registry("intermediate objective", selects="intermediate.objective",
                                                  providers=PIPELINE_PROVIDERS)
LAYER_MAPPINGS: Registry[Any] = Registry("layer mapping", providers=PIPELINE_PROVIDERS)
MI_CRITICS: Registry[Any] = Registry("mi critic", providers=PIPELINE_PROVIDERS)
AUGMENTERS: Registry[Any] = Registry("augmenter", selects="augment.pipeline", separator="+",
                                     providers=PIPELINE_PROVIDERS)
AUGMENT_POLICIES: Registry[Any] = Registry("augment policy", selects="augment.policy", providers=PIPELINE_PROVIDERS)
PROCEDURES: Registry[Any] = Registry("procedure", selects="procedure.kind", providers=PIPELINE_PROVIDERS)

#: every registry of a KD pipeline's options, in stage order
PIPELINE_REGISTRIES: tuple[Registry[Any], ...] = (
    PROCEDURES, AUGMENTERS, AUGMENT_POLICIES, PREDICTION_LOSSES, INTERMEDIATE_OBJECTIVES, LAYER_MAPPINGS,
    MI_CRITICS,
)


def unusable_options(*, is_regression: bool, is_pair: bool = False) -> dict[str, dict[str, str | None]]:
    """What a kind of task cannot use: for each flat key a registry selects, ``{option: counterpart}``, the
    counterpart being the option that does the same job on that task (``None`` when none does). A regression
    task (one output, no class probabilities) cannot use options declaring ``supports_regression = False``;
    their ``regression_counterpart`` names the counterpart (``kl`` -> ``mse``). A pair task (two texts an
    example) cannot use options declaring ``supports_pair = False`` (``minimax_knn`` retrieves single
    sentences); their ``pair_counterpart``, if any, names the counterpart."""
    out: dict[str, dict[str, str | None]] = {}
    for registry in PIPELINE_REGISTRIES:
        if registry.selects is None:
            continue
        for name, option in registry.items():
            if is_regression and not getattr(option, "supports_regression", True):
                out.setdefault(registry.selects, {})[name] = getattr(option, "regression_counterpart", None)
            elif is_pair and not getattr(option, "supports_pair", True):
                out.setdefault(registry.selects, {})[name] = getattr(option, "pair_counterpart", None)
    return out


def picks_any(key: str, value: Any, names: Iterable[str]) -> bool:
    """Whether ``value`` of the flat ``key`` picks one of the options ``names`` (any part of a ``+`` sequence)."""
    registry = next((r for r in PIPELINE_REGISTRIES if r.selects == key), None)
    chosen = registry.chosen(value) if registry is not None else [str(value)]
    return bool(set(chosen) & set(names))


def unusable_choices(pipeline: Mapping[str, Any], *, is_regression: bool, is_pair: bool = False) -> list[str]:
    """The ``key=value`` choices of a flat ``pipeline`` that its task cannot use (empty: it can run)."""
    return [f"{key}={pipeline[key]}" for key, bad in unusable_options(is_regression=is_regression,
                                                                      is_pair=is_pair).items()
            if key in pipeline and pipeline[key] is not None and picks_any(key, pipeline[key], bad)]

