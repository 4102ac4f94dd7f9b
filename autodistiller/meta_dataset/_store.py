"""Write, read, validate and compact the Parquet meta-dataset.

Layout: ``<root>/task=<name>/<experiment_id>__<trial_id>.parquet``, one file per trial, hive-partitioned by
task. A file is written under a hidden temporary name (``.`` prefix: dataset readers skip it) and renamed into
place, so a crash never leaves a half-written file and trials on many nodes never write the same file. The
same trial written again (a resumed search) replaces its own file: rows are never duplicated.
"""

from __future__ import annotations

import os
import re
import uuid
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from autodistiller.config import PipelineConfig, active_parameters, procedure_settings
from autodistiller.errors import AutoDistillerError
from autodistiller.meta_dataset._schema import (
    PARTITION_COLUMN,
    READABLE_VERSIONS,
    REQUIRED_COLUMNS,
    SCHEMA_VERSION,
    SCHEMA_VERSION_KEY,
    STATUSES,
    meta_dataset_schema,
)

__all__ = ["ASIDE_DIRNAME", "MetaDatasetError", "ValidationReport", "write_row", "load", "validate", "compact",
           "list_files", "move_aside_advice", "row_path", "shipped_path", "upgrade_v1_rows"]

_SAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


class MetaDatasetError(AutoDistillerError, ValueError):
    """A meta-dataset file or row does not follow the schema."""


def _filesystem(root: str | os.PathLike[str]) -> tuple[pafs.FileSystem, str]:
    root = str(root)
    if "://" in root:
        return pafs.FileSystem.from_uri(root)
    return pafs.LocalFileSystem(), str(Path(root).expanduser().resolve())


def _safe(value: str) -> str:
    return _SAFE.sub("_", value).strip("._") or "unnamed"


def _row_table(row: Mapping[str, Any]) -> pa.Table:
    schema = meta_dataset_schema()
    unknown = sorted(set(row) - set(schema.names))
    if unknown:
        raise MetaDatasetError(f"row has columns that are not in schema v{SCHEMA_VERSION}: {unknown}")
    missing = [c for c in REQUIRED_COLUMNS if row.get(c) is None]
    if missing:
        raise MetaDatasetError(f"row lacks required columns {missing}")
    if row["status"] not in STATUSES:
        raise MetaDatasetError(f"status={row['status']!r} must be one of {STATUSES}")
    try:  # every column, null where the trial has no value: every reader sees the whole schema in every file
        return pa.Table.from_pylist([dict(row)], schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise MetaDatasetError(f"row does not fit schema v{SCHEMA_VERSION}: {exc}") from exc


def _row_path(base: str, task: str, experiment_id: str, trial_id: str) -> str:
    return f"{base}/{PARTITION_COLUMN}={_safe(task)}/{_safe(experiment_id)}__{_safe(trial_id)}.parquet"


def row_path(root: str | os.PathLike[str], task: str, experiment_id: str, trial_id: str) -> str:
    """The file :func:`write_row` writes a trial's row to (a filesystem path, also for a URI root)."""
    return _row_path(_filesystem(root)[1], task, experiment_id, trial_id)


def write_row(root: str | os.PathLike[str], task: str, row: Mapping[str, Any]) -> str:
    """Write one trial row atomically; returns the file's path. Re-writing a trial replaces its file."""
    table = _row_table({**row, "schema_version": SCHEMA_VERSION})
    fs, base = _filesystem(root)
    final = _row_path(base, task, str(row["experiment_id"]), str(row["trial_id"]))
    directory, _, name = final.rpartition("/")
    fs.create_dir(directory, recursive=True)
    tmp = f"{directory}/.{name}.{uuid.uuid4().hex}.tmp"
    try:
        with fs.open_output_stream(tmp) as stream:
            pq.write_table(table, stream)
        if isinstance(fs, pafs.LocalFileSystem):
            os.replace(tmp, final)  # atomic on POSIX, also over an existing file
        else:
            fs.move(tmp, final)  # object stores: the upload itself is all-or-nothing
    finally:
        try:
            if fs.get_file_info(tmp).type != pafs.FileType.NotFound:
                fs.delete_file(tmp)
        except OSError:
            pass
    return final


def list_files(root: str | os.PathLike[str]) -> list[str]:
    """Every visible Parquet row file of the meta-dataset: under a ``task=<name>/`` partition (files beside the
    partitions, such as the per-task meta-features table, are not rows), temporary files skipped."""
    fs, base = _filesystem(root)
    info = fs.get_file_info(base)
    if info.type == pafs.FileType.NotFound:
        return []
    selector = pafs.FileSelector(base, recursive=True)
    return sorted(
        f.path for f in fs.get_file_info(selector)
        if f.type == pafs.FileType.File and f.path.endswith(".parquet")
        and not any(part.startswith((".", "_")) for part in f.path[len(base):].split("/"))
        and f"/{PARTITION_COLUMN}=" in f.path[len(base):]
    )


#: where bad files go: readers skip every path with a component starting with ``_`` or ``.``
ASIDE_DIRNAME = "_unreadable"


def move_aside_advice(root: str | os.PathLike[str], files: Sequence[str]) -> str:
    """How to move ``files`` out of the meta-dataset's way (into ``<root>/_unreadable/``, which no reader
    reads), or read around them."""
    root = str(root).rstrip("/")
    example = files[0] if files else "FILE"
    move = (f"mkdir -p {root}/{ASIDE_DIRNAME} && mv {example} {root}/{ASIDE_DIRNAME}/" if "://" not in root
            else f"move {example} under {root}/{ASIDE_DIRNAME}/ with your storage's tools")
    return (f"Move the bad file(s) aside, e.g. `{move}` (a folder whose name starts with '_' is never read), or "
            "read the other files with meta_dataset.load(..., on_bad_files='skip') / "
            "`autodistiller trials --skip-bad-files`.")


@dataclass
class ValidationReport:
    files: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    #: the files with a problem (each once, in the order found)
    bad_files: list[str] = field(default_factory=list)
    root: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, path: str | None, problem: str) -> None:
        self.problems.append(f"{path}: {problem}" if path else problem)
        if path and path not in self.bad_files:
            self.bad_files.append(path)

    def raise_if_bad(self) -> None:
        if self.problems:
            shown = "\n  ".join(self.problems[:20])
            more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
            raise MetaDatasetError(
                f"{len(self.problems)} problem(s) in the meta-dataset {self.root}:\n  {shown}{more}\n"
                + move_aside_advice(self.root, self.bad_files))


def _check_file(fs: pafs.FileSystem, path: str, report: ValidationReport) -> None:
    expected = meta_dataset_schema()
    try:
        with fs.open_input_file(path) as handle:
            meta = pq.read_metadata(handle)
            schema = meta.schema.to_arrow_schema()
    except (OSError, pa.ArrowInvalid) as exc:
        report.add(path, f"not a readable Parquet file ({exc})")
        return
    version = (schema.metadata or {}).get(SCHEMA_VERSION_KEY)
    if version is None:
        report.add(path, f"no {SCHEMA_VERSION_KEY.decode()} in the file metadata")
    elif int(version) > SCHEMA_VERSION:
        report.add(path, f"schema v{int(version)} is newer than this AutoDistiller (v{SCHEMA_VERSION}); upgrade "
                         "autodistiller to read it")
    elif int(version) not in READABLE_VERSIONS:
        report.add(path, f"schema v{int(version)} is too old to read (this AutoDistiller reads "
                         f"{', '.join(f'v{v}' for v in READABLE_VERSIONS)})")
    for name in REQUIRED_COLUMNS:
        if name not in schema.names:
            report.add(path, f"required column {name!r} is missing")
    for column in schema:
        if column.name not in expected.names:
            report.add(path, f"unknown column {column.name!r}")
        elif not column.type.equals(expected.field(column.name).type):
            report.add(path, f"column {column.name!r} is {column.type}, expected {expected.field(column.name).type}")
    if f"/{PARTITION_COLUMN}=" not in path:
        report.add(path, f"not under a {PARTITION_COLUMN}=<name>/ directory")
    report.files += 1
    report.rows += meta.num_rows


def validate(root: str | os.PathLike[str]) -> ValidationReport:
    """Check every file against the schema: version, required columns, known columns and their types, and the
    status values. ``report.bad_files`` lists the files with a problem."""
    fs, base = _filesystem(root)
    report = ValidationReport(root=str(root))
    for path in list_files(root):
        _check_file(fs, path, report)
    good = [path for path in list_files(root) if path not in report.bad_files]
    if good:
        table = _dataset(fs, base, good).to_table(columns=["status", "__filename"])
        for status, path in zip(table["status"].to_pylist(), table["__filename"].to_pylist(), strict=True):
            if status not in STATUSES:
                report.add(path, f"unknown status value {status!r}; expected one of {STATUSES}")
    return report


def _dataset(fs: pafs.FileSystem, base: str, files: Sequence[str]) -> ds.Dataset:
    return ds.dataset(list(files), filesystem=fs, format="parquet", schema=meta_dataset_schema(with_partition=True),
                      partitioning=ds.partitioning(pa.schema([(PARTITION_COLUMN, pa.string())]), flavor="hive"),
                      partition_base_dir=base)


def _filter_expression(filters: Any) -> ds.Expression | None:
    if filters is None or isinstance(filters, ds.Expression):
        return filters
    if isinstance(filters, Mapping):
        filters = [(k, "in", list(v)) if isinstance(v, list | tuple | set) else (k, "==", v)
                   for k, v in filters.items()]
    return pq.filters_to_expression(filters)


#: what :func:`load` does with a file that fails validation
ON_BAD_FILES = ("raise", "skip")


def shipped_path() -> Path:
    """The meta-dataset that ships with AutoDistiller (the top-level ``meta_dataset/`` folder of the project,
    inside the package as ``autodistiller/meta_dataset/shipped``)."""
    return Path(__file__).resolve().parent / "shipped"


def load(root: str | os.PathLike[str] | None = None, *, filters: Any = None, columns: Sequence[str] | None = None,
         check: bool = True, deduplicate: bool = True, on_bad_files: str = "raise") -> pd.DataFrame:
    """Read the meta-dataset at ``root`` (default: the shipped one, :func:`shipped_path`) into a DataFrame, one
    row per trial.

    ``filters``: a ``{column: value | [values]}`` dict, pandas/pyarrow DNF tuples
    (``[("task", "==", "trec6"), ("status", "==", "completed")]``) or a ``pyarrow.dataset`` expression.
    Files are validated first (``check=False`` skips it): a bad file is an error that lists it
    (``on_bad_files="raise"``), or with ``on_bad_files="skip"`` the other files are read, a warning lists the
    skipped ones, and so does the frame's ``attrs["skipped_files"]``. A trial present twice (e.g. after
    :func:`compact` and a later rewrite) is returned once, its latest row. Rows of schema v1 are upgraded as they
    are read (:func:`upgrade_v1_rows`).
    """
    if on_bad_files not in ON_BAD_FILES:
        raise ValueError(f"on_bad_files={on_bad_files!r} must be one of {ON_BAD_FILES}.")
    skipped: list[str] = []
    root = shipped_path() if root is None else root
    if check:
        report = validate(root)
        if on_bad_files == "raise":
            report.raise_if_bad()
        skipped = report.bad_files
        if skipped:
            warnings.warn(f"skipped {len(skipped)} unreadable file(s) of the meta-dataset {root}: "
                          f"{', '.join(skipped)}. {move_aside_advice(root, skipped)}", UserWarning, stacklevel=2)
    fs, base = _filesystem(root)
    files = [path for path in list_files(root) if path not in skipped]
    schema = meta_dataset_schema(with_partition=True)
    if not files:
        empty = schema.empty_table().to_pandas()
        if on_bad_files == "skip":
            empty.attrs["skipped_files"] = skipped
        return empty
    dataset = _dataset(fs, base, files)
    wanted = list(columns) if columns else None
    read_columns = wanted
    if wanted and deduplicate:
        read_columns = list(dict.fromkeys([*wanted, "experiment_id", "trial_id", "ended_at"]))
    if read_columns is not None and "schema_version" not in read_columns:
        read_columns = [*read_columns, "schema_version"]
    frame = dataset.to_table(columns=read_columns, filter=_filter_expression(filters)).to_pandas()
    frame = upgrade_v1_rows(frame)
    if deduplicate and len(frame):
        frame = (frame.sort_values("ended_at", kind="stable")
                 .drop_duplicates(["experiment_id", "trial_id"], keep="last")
                 .sort_values(["ended_at"], kind="stable").reset_index(drop=True))
    if wanted:
        frame = frame[wanted]
    if on_bad_files == "skip":
        frame.attrs["skipped_files"] = skipped
    return frame


def upgrade_v1_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows written by schema v1 recorded the *sampled* pipeline over the defaults. Upgrade them to what v2
    records where that is certain: the procedure's fixed settings applied (an ``annealing_mate`` row says
    ``loss.kind=annealing`` and ``augment.policy=mate``) and inactive parameters null. Settings taken from the
    teacher (``born_again``'s ``student.layers``) cannot be known from the row and stay as sampled; such rows
    keep ``pipeline_resolved`` false, like every upgraded row."""
    if "schema_version" not in frame or not (frame["schema_version"] == 1).any():
        return frame
    keys = [key for key in PipelineConfig().to_flat() if key in frame.columns]
    frame = frame.copy()
    old = frame.index[frame["schema_version"] == 1]
    columns = {key: frame[key].astype(object) for key in keys}
    for index in old:
        values = {key: columns[key].at[index] for key in keys if not _missing(columns[key].at[index])}
        values.update(procedure_settings(values.get("procedure.kind", "standard"))[0])
        active = active_parameters(values)
        for key in keys:
            columns[key].at[index] = values.get(key) if key in active else None
    for key, column in columns.items():
        frame[key] = column.infer_objects()
    if "pipeline_resolved" in frame:
        frame.loc[old, "pipeline_resolved"] = False
    return frame


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def compact(root: str | os.PathLike[str], *, tasks: Iterable[str] | None = None) -> dict[str, int]:
    """Merge each task partition's per-trial files into one file (rows deduplicated). Returns rows per task.

    The merged file is written (atomically) before the small files are deleted, so a crash in between leaves
    duplicates that :func:`load` drops, never a lost row.
    """
    validate(root).raise_if_bad()
    fs, base = _filesystem(root)
    by_task: dict[str, list[str]] = {}
    for path in list_files(root):
        task = path[len(base):].split(f"{PARTITION_COLUMN}=", 1)[1].split("/", 1)[0]
        by_task.setdefault(task, []).append(path)
    wanted = set(tasks) if tasks is not None else None
    out: dict[str, int] = {}
    schema = meta_dataset_schema()
    for task, paths in sorted(by_task.items()):
        if (wanted is not None and task not in wanted) or len(paths) < 2:
            continue
        frame = load(root, filters=[(PARTITION_COLUMN, "==", task)], check=False).drop(columns=[PARTITION_COLUMN])
        table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
        directory = f"{base}/{PARTITION_COLUMN}={task}"
        final = f"{directory}/compacted-{uuid.uuid4().hex[:12]}.parquet"
        tmp = f"{directory}/.{Path(final).name}.tmp"
        with fs.open_output_stream(tmp) as stream:
            pq.write_table(table, stream)
        fs.move(tmp, final)
        for path in paths:
            fs.delete_file(path)
        out[task] = len(frame)
    return out
