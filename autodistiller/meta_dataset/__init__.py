"""The Parquet meta-dataset: one row per trial, readable by pandas, pyarrow and DuckDB.

>>> from autodistiller import meta_dataset
>>> frame = meta_dataset.load("runs/meta_dataset", filters={"task": "trec6", "status": "completed"})
"""

from autodistiller.meta_dataset._features import task_meta_features
from autodistiller.meta_dataset._provenance import git_commit, hardware_info
from autodistiller.meta_dataset._record import TrialMetrics, metric_fields
from autodistiller.meta_dataset._rows import STATIC_REPORT_KEYS, trial_row
from autodistiller.meta_dataset._schema import (
    PARTITION_COLUMN,
    READABLE_VERSIONS,
    REQUIRED_COLUMNS,
    SCHEMA_VERSION,
    STATUSES,
    meta_dataset_schema,
)
from autodistiller.meta_dataset._store import (
    ASIDE_DIRNAME,
    MetaDatasetError,
    ValidationReport,
    compact,
    list_files,
    load,
    move_aside_advice,
    row_path,
    shipped_path,
    upgrade_v1_rows,
    validate,
    write_row,
)

__all__ = [
    "ASIDE_DIRNAME",
    "PARTITION_COLUMN",
    "READABLE_VERSIONS",
    "STATIC_REPORT_KEYS",
    "TrialMetrics",
    "REQUIRED_COLUMNS",
    "SCHEMA_VERSION",
    "STATUSES",
    "MetaDatasetError",
    "ValidationReport",
    "compact",
    "git_commit",
    "hardware_info",
    "list_files",
    "load",
    "meta_dataset_schema",
    "metric_fields",
    "move_aside_advice",
    "row_path",
    "shipped_path",
    "task_meta_features",
    "trial_row",
    "upgrade_v1_rows",
    "validate",
    "write_row",
]
