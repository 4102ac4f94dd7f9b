"""YAML search spaces over KD pipelines, compiled to an Optuna define-by-run function.

Format (``search_spaces/README.md`` documents it with examples)::

    version: 1
    description: what this space is for
    parameters:
      loss.kind: {choices: [kl, mse, annealing]}        # categorical (`choices: all`: every registered one)
      loss.temperature: {low: 1.0, high: 8.0, log: true} # float: the config field's type decides int/float
      student.layers: {low: 1, high: 4}                  # int
      training.epochs: 3                                  # fixed value
      training.batch_size: {choices: [16, 32]}
      loss.tau_max: {low: 4, high: 14, when: {loss.kind: annealing}}
    constraints:
      - "student.layers <= 3 or loss.kind != 'annealing'"

Parameter keys are the flat ``PipelineConfig`` keys; option names come from the registries, so an unknown
stage or option is an error that lists the valid names. A parameter is sampled only when the options chosen
so far read it (``loss.temperature`` for ``loss.kind: kl``, ``augment.eda_sr`` when ``eda`` is in
``augment.pipeline``; see :func:`autodistiller.config.active_parameters`) and the chosen procedure does not fix
it (``annealing_mate`` fixes ``loss.kind``); the parameters that decide are sampled first. ``when`` adds
explicit conditions. A constraint is a boolean expression over parameter keys.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autodistiller._yaml import read_yaml
from autodistiller.config import (
    FieldSpec,
    PipelineConfig,
    deciding_parameters,
    default_value,
    parameter_active,
    procedure_settings,
    section_fields,
)
from autodistiller.errors import ConfigError, UnknownOptionError
from autodistiller.registries import picks_any, unusable_options

__all__ = ["Parameter", "SearchSpace", "load_points", "load_space", "shipped_space"]

SPACE_FORMAT_VERSION = 1
_PARAM_KEYS = {"type", "choices", "low", "high", "log", "step", "value", "when"}
_TYPES = {"categorical", "int", "float", "fixed"}


@dataclass(frozen=True)
class Parameter:
    """One searchable (or fixed) pipeline parameter."""

    key: str
    kind: str  # categorical | int | float | fixed
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    value: Any = None
    when: tuple[tuple[str, frozenset[Any]], ...] = ()

    def active(self, values: Mapping[str, Any]) -> bool:
        """Whether every condition holds for the values chosen so far."""
        return all(values.get(key) in allowed for key, allowed in self.when)

    def suggest(self, trial: Any) -> Any:
        if self.kind == "fixed":
            return self.value
        if self.kind == "categorical":
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.key, float(self.low), float(self.high), step=self.step, log=self.log)


@dataclass(frozen=True)
class SearchSpace:
    """A validated search space: ordered parameters (conditions after what they depend on) + constraints."""

    parameters: tuple[Parameter, ...]
    constraints: tuple[str, ...] = ()
    description: str = ""
    source: str = "<dict>"
    _compiled: tuple[Any, ...] = field(default=(), repr=False, compare=False)

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.parameters]

    def max_value(self, key: str, default: Any) -> Any:
        for p in self.parameters:
            if p.key == key:
                return p.value if p.kind == "fixed" else (max(p.choices) if p.choices else p.high)
        return default

    def define_by_run(self, trial: Any) -> dict[str, Any]:
        """The Optuna define-by-run function: only ``trial.suggest_*`` calls, no computation.

        Returns the fixed values that apply (Ray's OptunaSearch merges them with the suggested ones).
        """
        return {p.key: p.value for p in self._walk(trial) if p.kind == "fixed"}

    def sample(self, trial: Any) -> dict[str, Any]:
        """Every applicable parameter's value (suggested or fixed) for ``trial``."""
        values: dict[str, Any] = {}
        self._walk(trial, values)
        return values

    def _walk(self, trial: Any, values: dict[str, Any] | None = None) -> list[Parameter]:
        """Suggest each parameter that applies, in order; returns those that applied."""
        values = {} if values is None else values
        applied = []
        for param in self.parameters:
            if param.active(values) and applies(param.key, values):
                values[param.key] = param.suggest(trial)
                applied.append(param)
        return applied

    def check_point(self, point: Mapping[str, Any]) -> None:
        """Raise unless ``point`` (a warm-start pipeline) lies inside the space."""
        by_key = {p.key: p for p in self.parameters}
        for key, value in point.items():
            param = by_key.get(key)
            if param is None:
                raise ConfigError(f"{self.source}: {key!r} is not a parameter of this space; it has {self.keys}")
            inside = (value == param.value if param.kind == "fixed" else value in param.choices
                      if param.kind == "categorical" else param.low <= value <= param.high)
            if not inside:
                raise ConfigError(f"{self.source}: {key}={value!r} lies outside the space's "
                                  f"{'choices ' + str(list(param.choices)) if param.choices else 'range'}")

    def complete_point(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """A warm-start pipeline as the exact trial it names: checked to lie inside the space, and every
        parameter of the space that applies to it but that it does not give set to the config default (a
        sampler would otherwise draw it, and the same point would be another pipeline on every task)."""
        self.check_point(point)
        defaults = PipelineConfig().to_flat()
        values: dict[str, Any] = {}
        for param in self.parameters:
            if not (param.active(values) and applies(param.key, {**values, **point})):
                continue
            if param.key in point:
                values[param.key] = point[param.key]
            else:
                values[param.key] = param.value if param.kind == "fixed" else defaults[param.key]
                try:
                    self.check_point({param.key: values[param.key]})
                except ConfigError:
                    raise ConfigError(f"{self.source}: a warm-start pipeline must give {param.key}: its default "
                                      f"{defaults[param.key]!r} lies outside the space ({dict(point)})") from None
        unread = sorted(set(point) - set(values))
        if unread:
            raise ConfigError(f"{self.source}: the warm-start pipeline {dict(point)} gives {unread}, which its own "
                              "options do not read (or its procedure fixes); drop them.")
        return values

    def random_points(self, count: int, *, seed: int = 0) -> list[dict[str, Any]]:
        """``count`` pipelines drawn at random from the space (Optuna's RandomSampler), each satisfying the
        constraints: fresh candidates for a recommender to rank."""
        import optuna

        level = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "study created" line for a throwaway study
        try:
            study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        finally:
            optuna.logging.set_verbosity(level)
        points: list[dict[str, Any]] = []
        for _ in range(count * 20):
            if len(points) == count:
                break
            values = self.sample(study.ask())
            if not self.violated(values):
                points.append(values)
        return points

    def project(self, pipeline: Mapping[str, Any]) -> dict[str, Any] | None:
        """The point of this space closest to ``pipeline`` (a recommended pipeline): its values of the space's
        sampled parameters, or ``None`` when one of them lies outside the space."""
        sampled = {p.key for p in self.parameters if p.kind != "fixed"}
        point = {k: v for k, v in pipeline.items() if k in sampled}
        try:
            return self.complete_point(point)
        except ConfigError:
            return None

    def first_points(self, pipelines: Iterable[Mapping[str, Any]], count: int) -> list[dict[str, Any]]:
        """The first ``count`` distinct points of ``pipelines`` (ranked recommendations) that lie inside this
        space (:meth:`project`) and break none of its constraints: the warm start of a search."""
        points: list[dict[str, Any]] = []
        for pipeline in pipelines:
            if len(points) == count:
                break
            point = self.project(pipeline)
            if point is not None and point not in points and not self.violated(point):
                points.append(point)
        return points

    def for_task(self, *, is_regression: bool, is_pair: bool = False) -> tuple[SearchSpace, list[str]]:
        """This space without the options a task cannot use (``loss.kind: kl`` or ``procedure.kind:
        teacher_free`` on a regression task, ``augment.policy: minimax_knn`` on a pair task:
        :func:`autodistiller.registries.unusable_options`), and a line for each option left out. A parameter
        left with no choice, or fixed to an unusable option, is an error that names it, before any training."""
        unusable = unusable_options(is_regression=is_regression, is_pair=is_pair)
        task_kind = {(True, True): "a regression task of text pairs", (True, False): "a regression task",
                     (False, True): "a pair task", (False, False): "this task"}[(is_regression, is_pair)]
        parameters, notes = [], []
        by_key = {p.key: p for p in self.parameters}
        procedures = _values_of(by_key.get("procedure.kind"), default_value("procedure.kind"))
        for key, bad in unusable.items():  # left at its default by the space: every trial would run that
            if key not in by_key and picks_any(key, default_value(key), bad) and any(
                    applies(key, {"procedure.kind": procedure}) for procedure in procedures):
                raise ConfigError(f"{self.source}: {key} is not a parameter, so trials run its default "
                                  f"{default_value(key)!r}, which {task_kind} cannot use; add {key} to the "
                                  f"space{_instead(default_value(key), bad)}.")
        for param in self.parameters:
            bad = unusable.get(param.key, {})
            if param.kind == "fixed" and picks_any(param.key, param.value, bad):
                raise ConfigError(f"{self.source}: {param.key} is fixed to {param.value!r}, which {task_kind} cannot "
                                  f"use{_instead(param.value, bad)}.")
            if param.kind != "categorical" or not bad:
                parameters.append(param)
                continue
            kept = tuple(c for c in param.choices if not picks_any(param.key, c, bad))
            if not kept:
                raise ConfigError(f"{self.source}: every choice of {param.key} ({list(param.choices)}) is unusable "
                                  f"on {task_kind}; add one it can use{_instead(param.choices[0], bad)}.")
            if len(kept) < len(param.choices):
                dropped = [c for c in param.choices if c not in kept]
                notes.append(f"{param.key}: {dropped} left out ({task_kind} cannot use them)")
                parameters.append(Parameter(param.key, param.kind, choices=kept, when=param.when))
            else:
                parameters.append(param)
        if not notes:
            return self, []
        adapted = SearchSpace(tuple(parameters), self.constraints, self.description, self.source,
                              _compiled=self._compiled)
        return adapted, notes

    def adapt_points(self, points: Iterable[Mapping[str, Any]], *, is_regression: bool,
                     is_pair: bool = False) -> tuple[list[dict[str, Any]], list[str]]:
        """Warm-start pipelines (a shared portfolio) made runnable on a task: an option the task cannot use
        becomes its counterpart (``kl`` -> ``mse`` on a regression task), parameters the new option does not
        read are dropped; a pipeline with an unusable option and no counterpart, or that the change makes a
        duplicate of an earlier one, is left out. Returns the points, and a line per change."""
        unusable = unusable_options(is_regression=is_regression, is_pair=is_pair)
        out: list[dict[str, Any]] = []
        notes = []
        for number, point in enumerate(points, start=1):
            adapted = dict(point)
            changed = []
            for key, bad in unusable.items():
                value = adapted.get(key, default_value(key))
                if not picks_any(key, value, bad) or (key not in adapted and not applies(key, adapted)):
                    continue
                counterpart = bad.get(str(value))
                if counterpart is None:
                    adapted = {}
                    notes.append(f"pipeline {number} left out: {key}={value!r} has no counterpart on this task")
                    break
                adapted[key] = counterpart
                changed.append(f"{key} {value} -> {counterpart}")
            if not adapted:
                continue
            adapted = {k: v for k, v in adapted.items() if parameter_active(k, adapted)}
            if adapted in out:
                notes.append(f"pipeline {number} left out: it repeats pipeline {out.index(adapted) + 1} as "
                             f"adapted{' (' + ', '.join(changed) + ')' if changed else ''}")
                continue
            if changed:
                notes.append(f"pipeline {number}: {', '.join(changed)}")
            out.append(adapted)
        return out, notes

    def violated(self, values: Mapping[str, Any]) -> list[str]:
        """The constraints that ``values`` (flat pipeline keys; defaults fill the rest) break."""
        env = {**PipelineConfig().to_flat(), **values}
        env.update(procedure_settings(env["procedure.kind"])[0])
        return [text for text, tree in zip(self.constraints, self._compiled, strict=True)
                if not _evaluate(tree, env, text)]

    def to_config(self, values: Mapping[str, Any]) -> PipelineConfig:
        """The pipeline for sampled ``values`` (inactive parameters keep their defaults)."""
        return PipelineConfig.from_flat({k: v for k, v in values.items() if k in _field_specs()})


def _values_of(param: Parameter | None, default: Any) -> list[Any]:
    """The values ``param`` can take (``default`` when the space does not have it)."""
    if param is None:
        return [default]
    return [param.value] if param.kind == "fixed" else list(param.choices) if param.choices else [default]


def _instead(value: Any, unusable: Mapping[str, str | None]) -> str:
    counterpart = unusable.get(str(value))
    return f" (its counterpart: {counterpart!r})" if counterpart else ""


def applies(key: str, values: Mapping[str, Any]) -> bool:
    """Whether a search samples ``key`` given the ``values`` chosen so far: the chosen procedure does not fix it,
    and a chosen option reads it."""
    sets, from_teacher = procedure_settings(values.get("procedure.kind", default_value("procedure.kind")))
    return key not in sets and key not in from_teacher and parameter_active(key, values)


def _field_specs() -> dict[str, FieldSpec]:
    return {spec.key: spec for spec in section_fields()}


def _fail(source: str, key: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: parameter {key!r}: {message}")


def _parse_parameter(source: str, key: str, raw: Any, spec: FieldSpec) -> Parameter:
    if not isinstance(raw, Mapping):
        raw = {"value": raw}
    unknown = sorted(set(raw) - _PARAM_KEYS)
    if unknown:
        raise _fail(source, key, f"unknown field(s) {unknown}; allowed: {sorted(_PARAM_KEYS)}")
    declared = raw.get("type")
    if declared is not None and declared not in _TYPES:
        raise _fail(source, key, f"type={declared!r} must be one of {sorted(_TYPES)}")

    def check_value(value: Any) -> Any:
        try:  # the config field validates type, range and registered choices
            flat = {key: value}
            return PipelineConfig.from_flat(flat).to_flat()[key]
        except UnknownOptionError as exc:
            raise UnknownOptionError(exc.kind, exc.name, exc.choices, key=f"{source}: {key}") from None
        except ConfigError as exc:
            raise _fail(source, key, str(exc)) from None

    when = _parse_when(source, key, raw.get("when"))
    if "value" in raw:
        if set(raw) - {"value", "when", "type"}:
            raise _fail(source, key, "a fixed value takes no choices/low/high/log/step")
        return Parameter(key, "fixed", value=check_value(raw["value"]), when=when)
    if "choices" in raw:
        choices = raw["choices"]
        if choices == "all":  # every registered option: the space grows with the registries
            if not spec.choices:
                raise _fail(source, key, "`choices: all` needs a parameter with registered options")
            choices = list(spec.choices)
        if not isinstance(choices, Sequence) or isinstance(choices, str) or not choices:
            raise _fail(source, key, "choices must be a non-empty list")
        if set(raw) & {"low", "high", "log", "step"}:
            raise _fail(source, key, "choices cannot be combined with low/high/log/step")
        return Parameter(key, "categorical", choices=tuple(check_value(c) for c in choices), when=when)
    if "low" not in raw or "high" not in raw:
        raise _fail(source, key, "give `choices`, `low` + `high`, or a fixed value")
    if spec.type not in (int, float):
        raise _fail(source, key, f"is a {spec.type.__name__}: use `choices` or a fixed value, not low/high")
    low, high = check_value(raw["low"]), check_value(raw["high"])
    if low > high:
        raise _fail(source, key, f"low={low} is above high={high}")
    log = bool(raw.get("log", False))
    if log and low <= 0:
        raise _fail(source, key, f"a log range needs low > 0, got {low}")
    step = raw.get("step")
    if step is not None and (not isinstance(step, int | float) or step <= 0):
        raise _fail(source, key, f"step={step!r} must be a positive number")
    if log and step is not None and spec.type is float:
        raise _fail(source, key, "Optuna cannot combine log=true with a float step")
    kind = "int" if spec.type is int else "float"
    if declared not in (None, kind):
        raise _fail(source, key, f"declared type {declared!r} but the config field is {kind}")
    return Parameter(key, kind, low=low, high=high, log=log, step=step, when=when)


def _parse_when(source: str, key: str, raw: Any) -> tuple[tuple[str, frozenset[Any]], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise _fail(source, key, "`when` must map parameter keys to a value or a list of values")
    specs = _field_specs()
    out = []
    for other, allowed in raw.items():
        if other not in specs:
            raise UnknownOptionError("pipeline parameter", other, sorted(specs), key=f"{source}: {key}.when")
        values = allowed if isinstance(allowed, list | tuple) else [allowed]
        out.append((other, frozenset(values)))
    return tuple(out)


def _order(source: str, params: list[Parameter]) -> list[Parameter]:
    """Stable topological order: each parameter after those its conditions name and those that decide whether
    it applies (its selectors, the procedure)."""
    by_key = {p.key: p for p in params}
    done: list[Parameter] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(p: Parameter) -> None:
        if p.key in placed:
            return
        if p.key in visiting:
            raise ConfigError(f"{source}: conditions of {p.key!r} form a cycle")
        visiting.add(p.key)
        for other in [*(key for key, _ in p.when), *sorted(deciding_parameters(p.key))]:
            if other in by_key:
                place(by_key[other])
        visiting.discard(p.key)
        placed.add(p.key)
        done.append(p)

    for p in params:
        place(p)
    return done


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Mod: operator.mod, ast.FloorDiv: operator.floordiv}
_CMPOPS = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
           ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
           ast.NotIn: lambda a, b: a not in b}


def _compile_constraint(source: str, text: str) -> ast.AST:
    """Parse a constraint; dotted keys (``student.layers``) are read as names. Only safe nodes are allowed."""
    specs = _field_specs()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"{source}: constraint {text!r} is not a valid expression: {exc.msg}") from None
    allowed = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.BinOp, ast.Compare,
               ast.Constant, ast.Name, ast.Attribute, ast.Load, ast.List, ast.Tuple, *_BINOPS, *_CMPOPS)
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise ConfigError(f"{source}: constraint {text!r} uses {type(node).__name__}, which is not allowed "
                              "(use comparisons, and/or/not, + - * / % and literals)")
        if isinstance(node, ast.Attribute | ast.Name) and not isinstance(getattr(node, "ctx", None), ast.Load):
            continue
        if isinstance(node, ast.Attribute):
            key = _dotted(node)
            if key not in specs:
                raise UnknownOptionError("pipeline parameter", key, sorted(specs), key=f"{source}: constraint")
    return tree


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    raise ConfigError(f"cannot read {ast.dump(node)} as a parameter key")


def _evaluate(tree: ast.AST, env: Mapping[str, Any], text: str) -> Any:
    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Attribute | ast.Name):
            key = _dotted(node)
            if key not in env:
                raise ConfigError(f"constraint {text!r}: {key!r} is not a pipeline parameter")
            return env[key]
        if isinstance(node, ast.List | ast.Tuple):
            return [ev(e) for e in node.elts]
        if isinstance(node, ast.BoolOp):
            results = (ev(v) for v in node.values)
            return all(results) if isinstance(node.op, ast.And) else any(results)
        if isinstance(node, ast.UnaryOp):
            value = ev(node.operand)
            return (not value) if isinstance(node.op, ast.Not) else -value
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.Compare):
            left = ev(node.left)
            for op, comparator in zip(node.ops, node.comparators, strict=True):
                right = ev(comparator)
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        raise ConfigError(f"constraint {text!r}: unsupported {type(node).__name__}")

    return ev(tree)


def space_from_dict(data: Mapping[str, Any], *, source: str = "<dict>") -> SearchSpace:
    """Validate a parsed space mapping (see the module docstring for the format)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: a search space is a mapping with `parameters`, got {type(data).__name__}")
    unknown = sorted(set(data) - {"version", "description", "parameters", "constraints"})
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key(s) {unknown}; allowed: version, description, "
                          "parameters, constraints")
    version = data.get("version", SPACE_FORMAT_VERSION)
    if version != SPACE_FORMAT_VERSION:
        raise ConfigError(f"{source}: version={version!r}; this AutoDistiller reads version {SPACE_FORMAT_VERSION}")
    raw_params = data.get("parameters")
    if not isinstance(raw_params, Mapping) or not raw_params:
        raise ConfigError(f"{source}: `parameters` must be a non-empty mapping of pipeline keys")
    specs = _field_specs()
    params = []
    for key, raw in raw_params.items():
        if key not in specs:
            raise UnknownOptionError("pipeline parameter", key, sorted(specs), key=f"{source}: parameters")
        params.append(_parse_parameter(source, key, raw, specs[key]))
    constraints = data.get("constraints") or []
    if not isinstance(constraints, list) or not all(isinstance(c, str) for c in constraints):
        raise ConfigError(f"{source}: `constraints` must be a list of expressions (strings)")
    compiled = tuple(_compile_constraint(source, c) for c in constraints)
    for p in params:  # a value outside a parameter's own range is caught above; check NaN-free floats too
        if p.kind == "float" and (math.isnan(p.low) or math.isnan(p.high)):  # type: ignore[arg-type]
            raise _fail(source, p.key, "low/high must be numbers")
    return SearchSpace(parameters=tuple(_order(source, params)), constraints=tuple(constraints),
                       description=str(data.get("description", "")), source=source, _compiled=compiled)


def shipped_space(name: str) -> Path:
    """A space that ships with AutoDistiller (``quick``, ``distiller``, ``distiller_meta``): the project's
    ``search_spaces/`` folder, inside the package as ``autodistiller/searcher/spaces``."""
    path = Path(__file__).resolve().parent / "spaces" / f"{name.removesuffix('.yaml')}.yaml"
    if not path.is_file():
        names = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise ConfigError(f"no shipped search space {name!r}; choose one of: {', '.join(names)}")
    return path


def load_space(path: str | Path) -> SearchSpace:
    """Read and validate a YAML search space (``yaml.safe_load`` only: a space never runs code)."""
    data = read_yaml(path, "search space")
    return space_from_dict(data, source=str(path))


def load_points(path: str | Path) -> list[dict[str, Any]]:
    """Warm-start pipelines from YAML: a list of flat mappings, or ``pipelines:`` entries with a ``name`` and a
    ``pipeline`` mapping (a portfolio), with optional ``defaults:`` that every pipeline starts from. Every key
    is checked as a pipeline parameter."""
    data = read_yaml(path, "warm-start file")
    entries = data.get("pipelines") if isinstance(data, Mapping) else data
    shared = data.get("defaults") or {} if isinstance(data, Mapping) else {}
    if not isinstance(shared, Mapping):
        raise ConfigError(f"{path}: `defaults` must be a mapping of flat keys")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: a warm-start file holds a list of pipelines (or `pipelines:` with one); got "
                          f"{type(entries).__name__}")
    points = []
    for number, entry in enumerate(entries, 1):
        pipeline = entry.get("pipeline", entry) if isinstance(entry, Mapping) else None
        if not isinstance(pipeline, Mapping):
            raise ConfigError(f"{path}: pipeline {number} must be a mapping of flat keys, got {entry!r}")
        pipeline = {**shared, **pipeline}
        try:
            PipelineConfig.from_flat(pipeline)
        except ConfigError as exc:
            raise ConfigError(f"{path}: pipeline {number} ({entry.get('name', '')}): {exc}") from None
        points.append(pipeline)
    return points
