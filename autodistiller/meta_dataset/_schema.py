"""The meta-dataset schema: one row per trial, one typed column per fact. Versioned; checked on read.

Columns come in groups: trial identity and outcome, provenance (version, commit, hardware), the task and its
meta-features (``mf.*``), every pipeline parameter under its flat config key (``loss.kind``, ...; null where the
trial's pipeline did not use it) and the metrics of :class:`~autodistiller.meta_dataset.TrialMetrics`.
The pipeline columns follow the registered config sections, so a new stage adds columns; files written before
that simply lack them (read back as nulls), which is why a file may hold a subset of the current columns.

Version 2 (this one) records the pipeline a trial *ran*: its procedure's settings applied (``annealing_mate``
rows say ``loss.kind=annealing``), inactive parameters null. Version 1 recorded the sampled values over the
defaults; :func:`~autodistiller.meta_dataset.load` upgrades such rows on read (see ``upgrade_v1_rows``).
"""

from __future__ import annotations

import pyarrow as pa

from autodistiller.config import section_fields
from autodistiller.meta_dataset._record import metric_fields

__all__ = [
    "SCHEMA_VERSION",
    "SCHEMA_VERSION_KEY",
    "READABLE_VERSIONS",
    "PARTITION_COLUMN",
    "STATUSES",
    "REQUIRED_COLUMNS",
    "base_fields",
    "pipeline_fields",
    "meta_dataset_schema",
]

SCHEMA_VERSION = 2
#: older versions that load() still reads (and upgrades)
READABLE_VERSIONS = (1, 2)
SCHEMA_VERSION_KEY = b"autodistiller.schema_version"
#: hive partition key: files live under ``task=<name>/``; the column comes from the path, not the file
PARTITION_COLUMN = "task"
#: completed: ran to its end; early_stopped: the search's scheduler (ASHA) or time budget stopped it; failed: it
#: raised; interrupted: the search was interrupted while it ran (a resumed search replaces the row)
STATUSES = ("completed", "early_stopped", "failed", "interrupted")

_TS = pa.timestamp("us", tz="UTC")

_BASE = [
    # identity and outcome
    ("schema_version", pa.int32()),
    ("experiment_id", pa.string()),
    ("trial_id", pa.string()),
    ("status", pa.string()),
    ("error", pa.string()),
    ("started_at", _TS),
    ("ended_at", _TS),
    ("wall_seconds", pa.float64()),
    ("attempts", pa.int32()),  # runs of the trial: > 1 when it was retried (lost node, crashed worker)
    # provenance
    ("autodistiller_version", pa.string()),
    ("git_commit", pa.string()),
    ("hostname", pa.string()),
    ("cpu_model", pa.string()),
    ("cpu_count", pa.int32()),
    ("gpu_model", pa.string()),
    ("gpu_count", pa.int32()),
    ("trial_cpus", pa.float64()),
    ("trial_gpus", pa.float64()),
    # whether the pipeline columns are the plan the trial ran (true), or only the sampled values (false: the trial
    # failed before its plan resolved, or the row was written by schema v1)
    ("pipeline_resolved", pa.bool_()),
    # task and teacher
    ("task_family", pa.string()),
    ("task_type", pa.string()),
    ("teacher_backbone", pa.string()),
    # task meta-features (the recommender's inputs)
    ("mf.train_size", pa.int64()),
    ("mf.num_classes", pa.int32()),
    ("mf.is_pair", pa.bool_()),
    ("mf.is_regression", pa.bool_()),
    ("mf.mean_words", pa.float64()),
    ("mf.std_words", pa.float64()),
    ("mf.mean_tokens", pa.float64()),
    ("mf.truncated_fraction", pa.float64()),
    ("mf.type_token_ratio", pa.float64()),
    ("mf.class_entropy", pa.float64()),
    ("mf.majority_fraction", pa.float64()),
    ("mf.teacher_dev_score", pa.float64()),
    # meta-features that read the teacher, its tokenizer, or a cheap landmark model (autodistiller.recommend)
    ("mf.teacher_confidence", pa.float64()),
    ("mf.teacher_entropy", pa.float64()),
    ("mf.teacher_train_disagreement", pa.float64()),
    ("mf.pieces_per_word", pa.float64()),
    ("mf.unknown_piece_rate", pa.float64()),
    ("mf.landmark_tfidf_dev_score", pa.float64()),
    ("mf.teacher_margin_over_landmark", pa.float64()),
]

#: a row is not a trial without these
REQUIRED_COLUMNS = ("schema_version", "experiment_id", "trial_id", "status", "ended_at")

_ARROW_TYPES = {int: pa.int64(), float: pa.float64(), str: pa.string(), bool: pa.bool_()}


def base_fields() -> list[pa.Field]:
    return [pa.field(name, typ) for name, typ in _BASE]


def pipeline_fields() -> list[pa.Field]:
    """One column per pipeline parameter, typed from the config field."""
    return [pa.field(spec.key, _ARROW_TYPES[spec.type]) for spec in section_fields()]


def meta_dataset_schema(*, with_partition: bool = False) -> pa.Schema:
    """The schema of the current version (files hold it without the ``task`` partition column)."""
    fields = base_fields() + pipeline_fields() + metric_fields()
    if with_partition:
        fields.append(pa.field(PARTITION_COLUMN, pa.string()))
    return pa.schema(fields, metadata={SCHEMA_VERSION_KEY: str(SCHEMA_VERSION).encode()})
