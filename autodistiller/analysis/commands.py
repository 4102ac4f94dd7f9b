"""The analysis commands of ``autodistiller``: ``report``, ``export-optuna``, and ``trials --query / --group-by /
--baseline``. ``autodistiller.cli`` registers them (:func:`add_commands`, :func:`add_trials_arguments`) and
dispatches to :data:`COMMANDS`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from autodistiller.errors import ConfigError

if TYPE_CHECKING:  # pandas is imported by the commands that run, not by `autodistiller --help`
    import pandas as pd

__all__ = ["COMMANDS", "add_commands", "add_trials_arguments", "baseline_comparison", "group_trials",
           "query_trials"]


def _split(values: Sequence[str] | None) -> list[str] | None:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]`` (repeatable, comma-separated options)."""
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _add_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--meta-dataset", default=None, help="meta-dataset dir or URI (default: ./runs/meta_dataset)")
    parser.add_argument("--task", action="append", default=None,
                        help="only these tasks (repeatable or comma-separated; suite names without 'suite:')")


def add_commands(commands: Any) -> None:
    """Add ``report`` and ``export-optuna`` to the ``autodistiller`` sub-command parsers."""
    report = commands.add_parser("report", help="one self-contained HTML report of a meta-dataset")
    _add_source(report)
    report.add_argument("--family", action="append", default=None, help="only these task families")
    report.add_argument("--out", required=True, help="the HTML file to write (e.g. report.html)")
    report.add_argument("--title", default="AutoDistiller report")
    report.add_argument("--no-baseline", action="store_true",
                        help="skip the TF-IDF baseline (fitted once per suite task, then cached)")
    report.add_argument("--top", type=int, default=5, help="best pipelines listed per task (default 5)")
    report.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and of fANOVA")
    report.add_argument("--cache-dir", default=None, help="AutoDistiller cache (suite tasks, cached baselines)")

    export = commands.add_parser("export-optuna",
                                 help="write the trials as Optuna studies (one per search) in an SQLite/RDB storage")
    _add_source(export)
    export.add_argument("--experiment", action="append", default=None, help="only these experiments (searches)")
    export.add_argument("--status", action="append", default=None,
                        help="only these statuses (default: all; early-stopped trials become PRUNED, failed FAIL)")
    export.add_argument("--out", required=True, help="SQLite file (study.db) or an SQLAlchemy URL")
    export.add_argument("--score", default="student_dev_score", help="the trial value (default student_dev_score)")
    export.add_argument("--overwrite", action="store_true", help="replace studies of the same name in --out")


def add_trials_arguments(trials: argparse.ArgumentParser) -> None:
    """``trials --query``, ``--group-by`` and ``--baseline``."""
    trials.add_argument("--query", default=None,
                        help="keep rows matching a pandas query; quote dotted columns with backticks: "
                             "--query \"`loss.kind` == 'kl' and student_dev_score > 0.8\"")
    trials.add_argument("--group-by", default=None, metavar="COL[,COL]",
                        help="one row per value of COL: trial counts by status, best / mean dev score, test score "
                             "of the best, mean score retained, median size and latency (NULL = not applicable "
                             "forms its own group)")
    trials.add_argument("--baseline", action="store_true",
                        help="also show the teacher, the best student and the TF-IDF baseline of each task "
                             "(suite tasks; the baseline is fitted once, then cached)")
    trials.add_argument("--cache-dir", default=None, help="AutoDistiller cache (for --baseline)")


def query_trials(frame: pd.DataFrame, query: str | None) -> pd.DataFrame:
    """``frame.query(query)`` with an error that says how to write one."""
    if not query:
        return frame
    try:
        return frame.query(query, engine="python")
    except Exception as exc:  # pandas raises SyntaxError, NameError subclasses, ValueError, TypeError, KeyError
        raise ConfigError(
            f"--query {query!r} failed ({type(exc).__name__}: {exc}); write a pandas query over the columns, "
            "with dotted names in backticks, e.g. --query \"`loss.kind` == 'kl' and status == 'completed'\""
        ) from exc


def group_trials(frame: pd.DataFrame, by: str | Sequence[str]) -> pd.DataFrame:
    """One row per value of the ``by`` column(s), best first (by ``best_dev``).

    Columns: the ``by`` columns, ``trials``, one count per status (``completed``, ``early_stopped``,
    ``failed``, and any other status present), ``best_dev`` / ``mean_dev`` (student dev score),
    ``test_of_best`` (test score of the best-dev trial), ``mean_retained`` (score retained), ``median_params``
    and ``median_latency_ms``. Rows where a ``by`` column is NULL (not applicable) form their own group.
    """
    import numpy as np
    import pandas as pd

    from autodistiller.analysis._frame import with_scores

    keys = [by] if isinstance(by, str) else list(by)
    keys = [k.strip() for key in keys for k in key.split(",") if k.strip()]
    missing = [k for k in keys if k not in frame.columns]
    if missing or not keys:
        raise ConfigError(f"--group-by {','.join(keys) or by!r}: unknown column(s) {missing}; columns are: "
                          f"{', '.join(frame.columns)}")
    rows = with_scores(frame)
    statuses = sorted(set(rows["status"].dropna()) | {"completed", "early_stopped", "failed"},
                      key=lambda s: (s not in ("completed", "early_stopped", "failed"), s))
    parts = []
    for key, group in rows.groupby(keys, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        dev = group["student_dev_score"].astype(float)
        best = group.loc[dev.idxmax()] if dev.notna().any() else None
        record: dict[str, Any] = dict(zip(keys, key, strict=True))
        record["trials"] = len(group)
        for status in statuses:
            record[status] = int((group["status"] == status).sum())
        record["best_dev"] = dev.max()
        record["mean_dev"] = dev.mean()
        record["test_of_best"] = (best.get("student_test_score", np.nan) if best is not None else np.nan)
        record["mean_retained"] = group["score_retained"].mean()
        for column, name in (("student_params", "median_params"), ("latency_ms", "median_latency_ms")):
            values = pd.to_numeric(group[column], errors="coerce") if column in group else pd.Series(dtype=float)
            record[name] = values.median()
        parts.append(record)
    out = pd.DataFrame(parts)
    if out.empty:
        return out
    for column in ("best_dev", "mean_dev", "test_of_best", "mean_retained", "median_params", "median_latency_ms"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    return out.sort_values("best_dev", ascending=False, na_position="last", kind="stable").reset_index(drop=True)


def baseline_comparison(frame: pd.DataFrame, *, cache_dir: str | None = None) -> pd.DataFrame:
    """:func:`compare_models` with the suite tasks' cached TF-IDF baselines (notes go to stderr)."""
    from autodistiller.analysis._best import compare_models
    from autodistiller.analysis._report import suite_baselines

    tasks = frame["task"].dropna().unique() if "task" in frame else []
    baselines = suite_baselines(tasks, cache_dir=cache_dir, log=lambda line: print(line, file=sys.stderr))
    table = compare_models(frame, baselines)
    return table.drop(columns=["experiment_id"])


def _root(args: argparse.Namespace) -> str:
    from autodistiller import meta_dataset
    from autodistiller.searcher import default_storage

    root = args.meta_dataset or f"{default_storage()}/meta_dataset"
    if not meta_dataset.list_files(root):
        raise ConfigError(f"no trials at {root}; run `autodistiller search` or pass --meta-dataset.")
    return root


def _load(args: argparse.Namespace, **filters: Sequence[str] | None) -> tuple[str, pd.DataFrame]:
    from autodistiller import meta_dataset

    root = _root(args)
    wanted = {column: list(values) for column, values in filters.items() if values}
    frame = meta_dataset.load(root, filters=wanted or None)
    if frame.empty:
        shown = ", ".join(f"{k} in {v}" for k, v in wanted.items())
        raise ConfigError(f"no trials at {root} match {shown or 'anything'}; see `autodistiller trials "
                          f"--meta-dataset {root} --top 0` for what is there.")
    return root, frame


def cmd_report(args: argparse.Namespace) -> int:
    from autodistiller.analysis._report import render_report, suite_baselines

    root, frame = _load(args, task=_split(args.task), task_family=_split(args.family))
    log = lambda line: print(line, file=sys.stderr)  # noqa: E731
    baselines = {} if args.no_baseline else suite_baselines(frame["task"].unique(), cache_dir=args.cache_dir,
                                                             log=log)
    path = render_report(frame, args.out, baselines=baselines, title=args.title, source=str(root), top=args.top,
                         seed=args.seed)
    print(f"wrote {path} ({len(frame)} trials, {frame['task'].nunique()} task(s)); open it in a browser, "
          "it needs no network")
    return 0


def cmd_export_optuna(args: argparse.Namespace) -> int:
    from autodistiller.analysis._study import _storage_url, export_optuna

    _, frame = _load(args, task=_split(args.task), experiment_id=_split(args.experiment),
                     status=_split(args.status))
    written = export_optuna(frame, args.out, score=args.score, overwrite=args.overwrite)
    url = _storage_url(args.out)
    for name, count in written.items():
        print(f"study {name!r}: {count} trials")
    print(f"wrote {len(written)} stud{'y' if len(written) == 1 else 'ies'} to {url}; open with "
          f"optuna.load_study(study_name=..., storage={url!r}) or `optuna-dashboard {url}`")
    return 0


#: command name -> handler, merged into ``autodistiller.cli``'s dispatch table
COMMANDS = {"report": cmd_report, "export-optuna": cmd_export_optuna}
