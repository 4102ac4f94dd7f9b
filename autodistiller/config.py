"""``PipelineConfig``: one typed, validated description of a whole KD pipeline.

A config is a tree of frozen section dataclasses (``student``, ``loss``, ``intermediate``, ``training``; later
stages add their own sections). It round-trips to a flat dict whose keys (``loss.kind``, ``student.layers``, ...) are at the
same time the Optuna parameter names, the YAML keys and the Parquet columns of the meta-dataset:

>>> cfg = PipelineConfig.from_flat({"loss.kind": "kl", "loss.temperature": 4.0})
>>> PipelineConfig.from_flat(cfg.to_flat()) == cfg
True

Each field declares its constraints in ``metadata``: ``help``, ``range=(low, high)`` (inclusive, ``None`` for
open) and ``choices`` (a tuple, or a :class:`~autodistiller._registry.Registry` whose names are the choices).
``__post_init__`` checks them, so an invalid config cannot exist.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from autodistiller._yaml import read_yaml
from autodistiller.errors import ConfigError, UnknownOptionError
from autodistiller.registries import (
    AUGMENT_POLICIES,
    AUGMENTERS,
    INTERMEDIATE_OBJECTIVES,
    LAYER_MAPPINGS,
    MI_CRITICS,
    PIPELINE_REGISTRIES,
    PREDICTION_LOSSES,
    PROCEDURES,
    Registry,
    option_parameters,
)

__all__ = [
    "PipelineConfig",
    "StudentConfig",
    "LossConfig",
    "TrainingConfig",
    "IntermediateConfig",
    "AugmentConfig",
    "ProcedureConfig",
    "FieldSpec",
    "section_fields",
    "active_parameters",
    "parameter_active",
    "deciding_parameters",
    "default_value",
    "procedure_settings",
    "registered_options",
]

def registered_options() -> list[tuple[str, str, tuple[str, ...] | None]]:
    """``(field key, option name, parameters the option reads)`` for every registry-backed config field
    (``None`` for fields whose registry selects no other parameters)."""
    out = []
    for section in _SECTIONS.values():
        for f in dataclasses.fields(section):  # type: ignore[arg-type]
            registry = f.metadata.get("choices")
            if isinstance(registry, Registry):
                for option, impl in registry.items():
                    out.append((f"{section.prefix}.{f.name}", option,
                                option_parameters(impl) if registry.selects else None))
    return out


def _opt(default: Any, help: str, *, range: tuple[float | None, float | None] | None = None,
         choices: tuple[Any, ...] | Registry[Any] | None = None) -> Any:
    return field(default=default, metadata={"help": help, "range": range, "choices": choices})


@dataclass(frozen=True)
class FieldSpec:
    """What a config field accepts: used by validation, ``autodistiller options`` and the search spaces."""

    key: str
    type: type
    default: Any
    help: str
    range: tuple[float | None, float | None] | None
    choices: tuple[Any, ...] | None


@functools.cache
def _field_type(section: type, name: str) -> type:
    hint = typing.get_type_hints(section)[name]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = args[0]
    return hint


def _choices(meta_choices: tuple[Any, ...] | Registry[Any] | None) -> tuple[Any, ...] | None:
    if meta_choices is None:
        return None
    if isinstance(meta_choices, Registry):
        return tuple(meta_choices.names())
    return tuple(meta_choices)


class _Section:
    """Shared validation of a config section: type coercion, ranges and choices from field metadata."""

    prefix: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            key = f"{self.prefix}.{f.name}"
            value = _coerce(key, getattr(self, f.name), _field_type(type(self), f.name), f.default)
            object.__setattr__(self, f.name, value)
            _check(key, value, f.metadata)

    @classmethod
    def specs(cls) -> list[FieldSpec]:
        return [
            FieldSpec(
                key=f"{cls.prefix}.{f.name}",
                type=_field_type(cls, f.name),
                default=f.default,
                help=f.metadata.get("help", ""),
                range=f.metadata.get("range"),
                choices=_choices(f.metadata.get("choices")),
            )
            for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        ]


def _coerce(key: str, value: Any, typ: type, default: Any) -> Any:
    if value is None and default is None:
        return None
    if typ is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}={value!r} must be true or false.")
    if typ in (int, float) and isinstance(value, str):
        # YAML 1.1 reads "1e-4" (no dot) as a string: accept any numeric string for a number field
        try:
            value = float(value) if typ is float or any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise ConfigError(f"{key}={value!r} must be a number.") from None
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
            raise ConfigError(f"{key}={value!r} must be an integer.")
        return int(value)
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}={value!r} must be a number.")
        if not math.isfinite(value):
            raise ConfigError(f"{key}={value!r} must be finite.")
        return float(value)
    if typ is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}={value!r} must be a string.")
        return value
    return value


def _check(key: str, value: Any, meta: Mapping[str, Any]) -> None:
    if value is None:
        return
    meta_choices = meta.get("choices")
    if meta_choices is not None:
        choices = _choices(meta_choices)
        assert choices is not None
        if value not in choices:
            kind = meta_choices.kind if isinstance(meta_choices, Registry) else "option"
            raise UnknownOptionError(kind, value, [str(c) for c in choices], key=key)
    bounds = meta.get("range")
    if bounds is not None:
        low, high = bounds
        if (low is not None and value < low) or (high is not None and value > high):
            lo = "-inf" if low is None else low
            hi = "inf" if high is None else high
            raise ConfigError(f"{key}={value!r} is out of range; it must be in [{lo}, {hi}].")


@dataclass(frozen=True)
class StudentConfig(_Section):
    """The student network."""

    prefix: ClassVar[str] = "student"
    layers: int = _opt(2, "Number of transformer layers of the student (taken from the teacher's).", range=(1, 48))
    init: str = _opt(
        "uniform",
        "Which teacher layers initialise the student's: first-k, uniform skip (PKD) or last-k.",
        choices=("first", "uniform", "last"),
    )
    hidden_size: int = _opt(
        0,
        "Hidden width of the student; 0 keeps the teacher's width (weights copied), a smaller value gives a "
        "randomly initialised narrower student.",
        range=(0, 4096),
    )
    model: str = _opt(
        "",
        "Another model to use as the student (local dir or Hub id); empty builds the student from the teacher.",
    )
    freeze_embeddings: bool = _opt(
        False,
        "Keep the student's word embeddings (copied from the teacher) fixed: they hold most of a small student's "
        "parameters, so the optimizer step gets much cheaper; position and type embeddings still train.",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.hidden_size and self.hidden_size % 8:
            raise ConfigError(f"student.hidden_size={self.hidden_size} must be a multiple of 8 (attention heads).")


@dataclass(frozen=True)
class LossConfig(_Section):
    """The prediction-layer loss (registry ``prediction loss``)."""

    prefix: ClassVar[str] = "loss"
    kind: str = _opt("kl", "Prediction-layer loss.", choices=PREDICTION_LOSSES)
    temperature: float = _opt(2.0, "Softmax temperature T of the KL loss (the soft term is scaled by T^2).",
                              range=(0.05, 100.0))
    alpha: float = _opt(0.5, "Weight of the hard-label loss; the soft (teacher) term gets 1 - alpha.",
                        range=(0.0, 1.0))
    tau_max: float = _opt(10.0, "Annealing KD: the starting (maximum) temperature.", range=(1.0, 100.0))


@dataclass(frozen=True)
class TrainingConfig(_Section):
    """Optimisation of the student (AdamW + linear warmup/decay)."""

    prefix: ClassVar[str] = "training"
    epochs: int = _opt(3, "Training epochs (upper bound when early stopping is on).", range=(1, 1000))
    batch_size: int = _opt(32, "Training batch size.", range=(1, 8192))
    learning_rate: float = _opt(5e-5, "Peak learning rate of AdamW.", range=(1e-7, 1.0))
    weight_decay: float = _opt(0.01, "AdamW weight decay (not applied to biases and LayerNorm).", range=(0.0, 1.0))
    warmup_ratio: float = _opt(0.1, "Fraction of steps of linear learning-rate warmup.", range=(0.0, 0.5))
    max_grad_norm: float = _opt(1.0, "Gradient clipping norm; 0 disables clipping.", range=(0.0, 1e6))
    max_length: int = _opt(128, "Maximum tokens per example (longer inputs are truncated).", range=(8, 8192))
    seed: int = _opt(42, "Random seed (weights of new layers, data order, dropout).", range=(0, 2**31 - 1))
    early_stopping_patience: int = _opt(
        0, "Stop after this many epochs without a better dev score; 0 disables early stopping.", range=(0, 1000)
    )
    max_train_examples: int = _opt(
        0, "Use a seeded stratified subset of this many training examples; 0 uses all.", range=(0, 10**9)
    )
    precision: str = _opt(
        "auto", "Mixed precision: auto (fp16 autocast on CUDA, fp32 on CPU), fp32, fp16 or bf16.",
        choices=("auto", "fp32", "fp16", "bf16"),
    )
    compile: bool = _opt(False, "Train through torch.compile(model, dynamic=True). Off by default: on CPU the "
                         "compile time exceeds the gain for short trials (benchmarks/compile.py).")


@dataclass(frozen=True)
class IntermediateConfig(_Section):
    """Intermediate-layer distillation (registries ``intermediate objective``, ``layer mapping``, ``mi critic``).

    The default objective ``none`` turns the stage off (prediction-layer KD only).
    """

    prefix: ClassVar[str] = "intermediate"
    objective: str = _opt("none", "Intermediate-layer objective; none turns the stage off.",
                          choices=INTERMEDIATE_OBJECTIVES)
    mapping: str = _opt("uniform", "Which teacher layer(s) each student layer learns from.", choices=LAYER_MAPPINGS)
    beta: float = _opt(1.0, "Weight of the intermediate term: loss = prediction loss + beta * intermediate loss.",
                       range=(0.0, 1000.0))
    include_embeddings: bool = _opt(
        True, "Also pair the embedding outputs (layer 0 <-> 0), as the Distiller code's skip mapping does.",
    )
    mi_alpha: float = _opt(0.9, "Objective mi_alpha: weight of InfoNCE's leave-one-out baseline against "
                           "TUBA's learned one (1 = InfoNCE-like, 0 = TUBA).", range=(0.0, 1.0))
    critic: str = _opt("mlp", "Critic of the mutual-information objectives.", choices=MI_CRITICS)
    critic_hidden: int = _opt(128, "Hidden width of the MI critic (MLP layers, transformer model width).",
                              range=(8, 4096))
    critic_dim: int = _opt(32, "Output dimension of the separable MI critics' embeddings.", range=(1, 4096))


@dataclass(frozen=True)
class AugmentConfig(_Section):
    """Data augmentation (registries ``augmenter`` and ``augment policy``).

    Two independent choices: ``pipeline``, an ordered sequence of text augmenters whose outputs are generated
    once per (task, parameters, seed), cached, and added to each epoch as fresh copies; and ``policy``, a
    training-time policy that builds its samples from the student and teacher as training goes on (mixup of
    embeddings, text smoothing, MATE-KD's adversarial generator, Minimax-kNN's hardest neighbours). Any pipeline
    combines with any policy. The defaults (``none``, ``none``) turn the stage off.
    """

    prefix: ClassVar[str] = "augment"
    pipeline: str = _opt("none", "Ordered text augmenters joined by '+', e.g. 'random+contextual' (registry "
                         "augmenter: none, random, eda, contextual, back_translation).")
    aug_p: float = _opt(0.1, "Replacement probability of each augmenter of the pipeline (share of words changed).",
                        range=(0.0, 1.0))
    eda_sr: float | None = _opt(None, "EDA synonym-replacement rate (empty: aug_p).", range=(0.0, 1.0))
    eda_ri: float | None = _opt(None, "EDA random-insertion rate (empty: aug_p).", range=(0.0, 1.0))
    eda_rs: float | None = _opt(None, "EDA random-swap rate (empty: aug_p).", range=(0.0, 1.0))
    eda_rd: float | None = _opt(None, "EDA random-deletion rate (empty: aug_p).", range=(0.0, 1.0))
    contextual_top_k: int = _opt(15, "Contextual augmenter: candidates per word (MLM top-k / GloVe neighbours).",
                                 range=(1, 1000))
    copies: int = _opt(1, "Fresh augmented copies of every training example added to each epoch (1 = the "
                       "Distiller study's 1:1).", range=(1, 100))
    repeated_aug: int = _opt(1, "Repeated augmentation: k > 1 gives each example k augmented versions per copy, "
                             "placed in the same batch as the example.", range=(1, 32))
    policy: str = _opt("none", "Training-time augmentation policy.", choices=AUGMENT_POLICIES)
    weight: float = _opt(1.0, "Weight of the loss on the policy's samples (mixkd, text_smoothing, minimax_knn): "
                         "loss = loss on the batch + weight * loss on its augmented samples.", range=(0.0, 100.0))
    mix_alpha: float = _opt(0.4, "MixKD: lambda ~ Beta(mix_alpha, mix_alpha), one per batch.", range=(0.01, 100.0))
    smoothing_lambda: float = _opt(0.5, "Text smoothing: weight of the one-hot input against the MLM's "
                                   "distribution (1 = plain input).", range=(0.0, 1.0))
    smoothing_temperature: float = _opt(1.0, "Text smoothing: temperature of the MLM's softmax.", range=(0.05, 100.0))
    mate_mask_p: float = _opt(0.3, "MATE-KD: share of tokens the generator rewrites.", range=(0.0, 1.0))
    mate_generator_steps: int = _opt(10, "MATE-KD: generator (max) steps per cycle.", range=(0, 10_000))
    mate_student_steps: int = _opt(100, "MATE-KD: student (min) steps per cycle.", range=(1, 10_000))
    mate_generator_lr: float = _opt(5e-7, "MATE-KD: learning rate of the generator.", range=(1e-10, 1.0))
    mate_gumbel_tau: float = _opt(1.0, "MATE-KD: Gumbel-softmax temperature.", range=(0.01, 100.0))
    knn_k: int = _opt(8, "Minimax-kNN: neighbours retrieved per example (K).", range=(1, 1000))
    knn_keep: int = _opt(4, "Minimax-kNN: neighbours kept per example each epoch, those the student gets most "
                         "wrong (k1 <= K).", range=(1, 1000))
    knn_method: str = _opt("tfidf", "Minimax-kNN retrieval: TF-IDF cosine, or cosine of the teacher's mean-pooled "
                           "embeddings.", choices=("tfidf", "embedding"))
    mlm: str = _opt("", "Masked LM of contextual, text_smoothing and mate (same vocabulary as the student): a "
                    "local directory or Hub id; empty uses the built MiniLM MLM asset.")
    translators: str = _opt("", "back_translation's model pair 'to_pivot,from_pivot' (directories or Hub ids); "
                            "empty uses Helsinki-NLP/opus-mt-en-fr and opus-mt-fr-en.")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.pipeline.strip():
            raise ConfigError("augment.pipeline is empty; use 'none' for no augmentation.")
        for name in AUGMENTERS.chosen(self.pipeline):
            if name not in AUGMENTERS:
                raise UnknownOptionError("augmenter", name, AUGMENTERS.names(), key="augment.pipeline")
        if self.translators and len(self.translators.split(",")) != 2:
            raise ConfigError(f"augment.translators={self.translators!r} must be two models 'to_pivot,from_pivot'.")
        if self.knn_keep > self.knn_k:
            raise ConfigError(f"augment.knn_keep={self.knn_keep} must be <= augment.knn_k={self.knn_k}.")

    @property
    def augments_inputs(self) -> bool:
        """Whether the pipeline adds augmented copies (anything but ``none``)."""
        return any(name != "none" for name in AUGMENTERS.chosen(self.pipeline))


@dataclass(frozen=True)
class ProcedureConfig(_Section):
    """How the student is trained around the other stages (registry ``procedure``): one teacher -> student run,
    a teacher assistant, Born-Again generations, teacher-free targets, self-distillation, Annealing + MATE."""

    prefix: ClassVar[str] = "procedure"
    kind: str = _opt("standard", "Training procedure.", choices=PROCEDURES)
    assistant_layers: int = _opt(4, "TAKD: layers of the teacher assistant (between the student's and the "
                                 "teacher's).", range=(1, 48))
    generations: int = _opt(2, "Born-Again: student generations, each taught by the one before.", range=(1, 10))
    ensemble: bool = _opt(True, "Born-Again: also score the ensemble of all generations (reported separately).")
    target: str = _opt("virtual", "teacher_free: label smoothing (epsilon) or Yuan et al.'s virtual teacher "
                       "(correct-class probability correct_prob).", choices=("label_smoothing", "virtual"))
    epsilon: float = _opt(0.1, "teacher_free label smoothing: mass spread uniformly over all classes.",
                          range=(0.0, 1.0))
    correct_prob: float = _opt(0.9, "teacher_free virtual teacher: probability of the correct class (the rest is "
                               "shared by the others).", range=(0.0, 1.0))


_SECTIONS: dict[str, type[_Section]] = {
    "student": StudentConfig,
    "loss": LossConfig,
    "intermediate": IntermediateConfig,
    "augment": AugmentConfig,
    "procedure": ProcedureConfig,
    "training": TrainingConfig,
}


def section_fields() -> list[FieldSpec]:
    """Every flat key of a pipeline config with its type, default, help, range and choices."""
    return [spec for section in _SECTIONS.values() for spec in section.specs()]


@dataclass(frozen=True)
class PipelineConfig:
    """A whole KD pipeline: which student, which losses, how to train it."""

    student: StudentConfig = field(default_factory=StudentConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    intermediate: IntermediateConfig = field(default_factory=IntermediateConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    procedure: ProcedureConfig = field(default_factory=ProcedureConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    def __post_init__(self) -> None:
        for name, section in _SECTIONS.items():
            if not isinstance(getattr(self, name), section):
                raise ConfigError(f"PipelineConfig.{name} must be a {section.__name__}.")

    def to_flat(self) -> dict[str, Any]:
        """``{"student.layers": 2, "loss.kind": "kl", ...}``: every parameter, one key each."""
        out: dict[str, Any] = {}
        for name in _SECTIONS:
            for key, value in dataclasses.asdict(getattr(self, name)).items():
                out[f"{name}.{key}"] = value
        return out

    def to_nested(self) -> dict[str, dict[str, Any]]:
        return {name: dataclasses.asdict(getattr(self, name)) for name in _SECTIONS}

    @classmethod
    def from_flat(cls, flat: Mapping[str, Any]) -> PipelineConfig:
        """Build from flat keys; missing keys take their defaults, an unknown key is an error.

        ``None`` means "not given" (a trial row's inactive parameter), so ``from_flat(resolved_row)`` works.
        """
        grouped: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
        known = _known_keys()
        for key, value in flat.items():
            if key not in known:
                raise UnknownOptionError("pipeline parameter", key, sorted(known))
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            section, _, name = key.partition(".")
            grouped[section][name] = value
        return cls(**{name: _SECTIONS[name](**kwargs) for name, kwargs in grouped.items()})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PipelineConfig:
        """Accept a nested ``{"loss": {"kind": ...}}`` or a flat ``{"loss.kind": ...}`` mapping (or both)."""
        flat: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, Mapping):
                if key not in _SECTIONS:
                    raise UnknownOptionError("pipeline section", key, list(_SECTIONS))
                flat.update({f"{key}.{k}": v for k, v in value.items()})
            else:
                flat[key] = value
        return cls.from_flat(flat)

    def replace(self, **flat_updates: Any) -> PipelineConfig:
        """A copy with some flat keys changed: ``cfg.replace(**{"loss.kind": "mse"})``."""
        return PipelineConfig.from_flat({**self.to_flat(), **flat_updates})

    @classmethod
    def from_yaml(cls, path: str | Path) -> PipelineConfig:
        path = Path(path)
        data = read_yaml(path, "pipeline file")
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path} must hold a mapping of pipeline parameters, got {type(data).__name__}.")
        data = data.get("pipeline", data)
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from exc

    def to_yaml(self, path: str | Path | None = None) -> str:
        text = yaml.safe_dump(self.to_nested(), sort_keys=False)
        if path is not None:
            Path(path).write_text(text)
        return text


@functools.cache
def _known_keys() -> frozenset[str]:
    return frozenset(spec.key for spec in section_fields())


@functools.cache
def _defaults() -> dict[str, Any]:
    return PipelineConfig().to_flat()


def _deciders() -> dict[str, list[tuple[str, str]]]:
    """``parameter key -> [(selector key, option)]``: the options that read each conditional parameter
    (recomputed only when an option is registered)."""
    return _deciders_for(tuple(len(registry) for registry in PIPELINE_REGISTRIES))


@functools.cache
def _deciders_for(sizes: tuple[int, ...]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for registry in PIPELINE_REGISTRIES:
        if registry.selects is None:
            continue
        section = registry.selects.partition(".")[0]
        for option, impl in registry.items():
            for name in option_parameters(impl):
                out.setdefault(f"{section}.{name}", []).append((registry.selects, option))
    return out


def default_value(key: str) -> Any:
    """The config default of flat key ``key``."""
    return _defaults()[key]


def procedure_settings(kind: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    """What procedure ``kind`` fixes: ``({flat key: value}, keys set from the teacher at run time)``.

    ``annealing_mate`` fixes ``loss.kind=annealing`` and ``augment.policy=mate``; ``born_again`` sets
    ``student.layers`` to the teacher's depth. A search never samples these keys under that procedure.
    """
    procedure = PROCEDURES.get(kind, key="procedure.kind")
    return dict(getattr(procedure, "sets", {})), tuple(getattr(procedure, "sets_from_teacher", ()))


def active_parameters(values: Mapping[str, Any]) -> frozenset[str]:
    """The flat keys that matter for a pipeline (the others are inactive: no chosen option reads them).

    ``values`` are flat keys (missing ones take their defaults). A parameter that some registered option
    declares (``uses`` / ``reads``) is active only when an active selector picks such an option:
    ``loss.temperature`` under ``loss.kind=kl``, ``augment.eda_sr`` when ``eda`` is in ``augment.pipeline``,
    ``intermediate.critic_dim`` under an MI objective. The others (``training.*``, ``student.*``, the top-level
    selectors) are always active.
    """
    active = _activity(values)
    return frozenset(key for key in _defaults() if active(key))


def parameter_active(key: str, values: Mapping[str, Any]) -> bool:
    """Whether ``key`` is active for ``values`` (:func:`active_parameters`, for one key)."""
    return _activity(values)(key)


def _activity(values: Mapping[str, Any]) -> Callable[[str], bool]:
    flat = {**_defaults(), **{k: v for k, v in values.items() if v is not None}}
    flat.update(procedure_settings(flat["procedure.kind"])[0])
    deciders = _deciders()
    registries = {r.selects: r for r in PIPELINE_REGISTRIES if r.selects}
    memo: dict[str, bool] = {}

    def active(key: str) -> bool:
        if key not in memo:
            memo[key] = not deciders.get(key) or any(
                active(selector) and option in registries[selector].chosen(flat.get(selector))
                for selector, option in deciders[key])
        return memo[key]

    return active


def deciding_parameters(key: str) -> frozenset[str]:
    """The selector keys whose values decide whether ``key`` is active or fixed (a space samples them first)."""
    out = {selector for selector, _ in _deciders().get(key, ())}
    for kind in PROCEDURES.names():
        sets, from_teacher = procedure_settings(kind)
        if key in sets or key in from_teacher:
            out.add("procedure.kind")
    out.discard(key)
    return frozenset(out)
