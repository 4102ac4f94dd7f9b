"""One self-contained HTML report of a meta-dataset: tables and interactive plotly plots, no network needed.

The page inlines plotly.js once (no ``<script src>``, no CDN, no web fonts), then one ``<div>`` per plot. It
has a cross-task summary (teacher / best student / TF-IDF baseline, the Distiller findings, pooled stage
options and importances) and a section per task (comparison, best pipelines, Pareto fronts, best-so-far per
search, stage options, importances).
"""

from __future__ import annotations

import datetime as dt
import html
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from autodistiller.analysis._best import best_pipelines, compare_models
from autodistiller.analysis._effects import option_effects
from autodistiller.analysis._findings import distiller_findings
from autodistiller.analysis._frame import POOLED, Filter, _require, select, with_scores
from autodistiller.analysis._importance import param_importance
from autodistiller.analysis._pareto import pareto_front
from autodistiller.analysis._progress import best_so_far
from autodistiller.errors import AutoDistillerError, ConfigError

__all__ = ["render_report", "suite_baselines"]

PLOT_HEIGHT = 420
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#e377c2", "#8c564b")
_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; color: #222;
       background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 24px 64px; }
h1 { font-size: 26px; margin: 12px 0 4px; }
h2 { font-size: 21px; margin: 36px 0 8px; border-bottom: 2px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 22px 0 6px; }
p.meta, p.note { color: #555; font-size: 13px; margin: 4px 0; }
p.warn { background: #fff4e5; border-left: 4px solid #f0a030; padding: 6px 10px; font-size: 14px; }
table { border-collapse: collapse; font-size: 12.5px; margin: 6px 0 12px; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: right; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
.plot { width: 100%; height: %(height)dpx; margin: 4px 0 18px; }
nav a { margin-right: 12px; font-size: 14px; }
div.wide { overflow-x: auto; }
details summary { cursor: pointer; font-size: 14px; margin: 6px 0; }
.verdict-supported { color: #11772d; font-weight: 600; }
.verdict-not { color: #b3261e; font-weight: 600; }
.verdict-inconclusive { color: #8a6d00; font-weight: 600; }
""".replace("%(height)d", str(PLOT_HEIGHT))


def suite_baselines(tasks: Iterable[str], *, cache_dir: str | os.PathLike[str] | None = None,
                    log: Callable[[str], None] = print) -> dict[str, Any]:
    """The TF-IDF baseline (:func:`autodistiller.baseline.cached_tfidf_baseline`) of each task name that is
    a built task of the offline suite. Other tasks (local files, Hub datasets, unbuilt suite tasks) are
    skipped with a line to ``log``: a meta-dataset row does not say where such a task's data is."""
    from autodistiller.assets import suite_task_names, task_dir
    from autodistiller.baseline import cached_tfidf_baseline
    from autodistiller.tasks import TaskSpec

    known = set(suite_task_names())
    out = {}
    for name in sorted(set(tasks)):
        if name not in known:
            log(f"report: no TF-IDF baseline for {name!r}: not an offline suite task")
            continue
        try:
            task_dir(name, cache_dir, build=False)
            task = TaskSpec(f"suite:{name}").load(cache_dir)
            out[name] = cached_tfidf_baseline(task, cache_dir=cache_dir)
        except AutoDistillerError as exc:
            log(f"report: no TF-IDF baseline for {name!r}: {exc}")
    return out


class _Page:
    """Collects the page's HTML parts and plots (every plot gets an id ``plot-<n>`` and a title)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.plots: list[str] = []

    def add(self, text: str) -> None:
        self.parts.append(text)

    def heading(self, level: int, text: str, anchor: str | None = None) -> None:
        ident = f' id="{html.escape(anchor)}"' if anchor else ""
        self.add(f"<h{level}{ident}>{html.escape(text)}</h{level}>")

    def note(self, text: str, css: str = "note") -> None:
        self.add(f'<p class="{css}">{html.escape(text)}</p>')

    def table(self, frame: pd.DataFrame, *, digits: int = 4) -> None:
        if frame.empty:
            self.note("(no rows)")
            return
        self.add('<div class="wide">' + frame.to_html(index=False, na_rep="", border=0, escape=True,
                                                     float_format=lambda v: f"{v:.{digits}g}") + "</div>")

    def plot(self, figure: Any, title: str) -> None:
        ident = f"plot-{len(self.plots) + 1}"
        figure.update_layout(template="plotly_white", height=PLOT_HEIGHT, title={"text": title, "x": 0.01},
                             margin={"l": 60, "r": 20, "t": 50, "b": 50}, colorway=list(_COLORS),
                             font={"family": "Helvetica, Arial, sans-serif", "size": 12})
        self.plots.append(ident)
        body = figure.to_html(full_html=False, include_plotlyjs=False, div_id=ident, default_height=f"{PLOT_HEIGHT}px",
                              config={"displaylogo": False, "responsive": True})
        self.add(f'<div class="plot" data-plot="{ident}">{body}</div>')


def _ci_errors(frame: pd.DataFrame, value: str, low: str, high: str) -> dict[str, Any]:
    plus = (frame[high] - frame[value]).clip(lower=0).fillna(0).to_numpy()
    minus = (frame[value] - frame[low]).clip(lower=0).fillna(0).to_numpy()
    return {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus}


def _compared(effects: pd.DataFrame) -> pd.DataFrame:
    """The options of parameters that took two or more options (a lone option compares with nothing)."""
    counts = effects.groupby("param")["option"].transform("nunique")
    return effects[counts > 1]


def _effects_figure(effects: pd.DataFrame) -> Any:
    import plotly.graph_objects as go

    figure = go.Figure()
    for i, (param, group) in enumerate(effects.groupby("param", sort=False)):
        labels = [f"{param} = {o}" for o in group["option"]]
        figure.add_trace(go.Scatter(
            x=group["mean"], y=labels, mode="markers", name=param, marker={"size": 10, "color": _COLORS[i % 8]},
            error_x=_ci_errors(group, "mean", "ci_low", "ci_high"),
            customdata=np.stack([group["n_trials"], group["n_tasks"]], axis=1),
            hovertemplate="%{y}: %{x:.4f}<br>trials %{customdata[0]}, tasks %{customdata[1]}<extra></extra>"))
    figure.update_yaxes(autorange="reversed", automargin=True)
    figure.update_xaxes(title_text="mean score retained (95% CI)")
    return figure


def _importance_figure(importance: pd.DataFrame) -> Any:
    import plotly.graph_objects as go

    figure = go.Figure()
    order = (importance.groupby("param")["importance"].mean().sort_values(ascending=True).index.tolist())
    for i, (evaluator, group) in enumerate(importance.groupby("evaluator", sort=True)):
        group = group.set_index("param").reindex(order)
        figure.add_trace(go.Bar(x=group["importance"], y=order, orientation="h", name=evaluator,
                                marker={"color": _COLORS[i % 8]}))
    figure.update_layout(barmode="group")
    figure.update_xaxes(title_text="importance (sums to 1 per evaluator)")
    figure.update_yaxes(automargin=True)
    return figure


def _comparison_figure(comparison: pd.DataFrame) -> Any:
    import plotly.graph_objects as go

    figure = go.Figure()
    for i, (model, group) in enumerate(comparison.groupby("model", sort=False)):
        figure.add_trace(go.Bar(x=group["task"], y=group["test_score"], name=model, marker={"color": _COLORS[i % 8]},
                                customdata=np.stack([group["size_mb"], group["latency_ms"]], axis=1),
                                hovertemplate="%{x}: test %{y:.4f}<br>%{customdata[0]:.1f} MB, "
                                              "%{customdata[1]:.2f} ms/example<extra>" + model + "</extra>"))
    figure.update_layout(barmode="group")
    figure.update_yaxes(title_text="test score (task metric)")
    return figure


def _pareto_figure(rows: pd.DataFrame, front: pd.DataFrame, costs: list[tuple[str, str]]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=len(costs), subplot_titles=[label for _, label in costs])
    for col, (cost, label) in enumerate(costs, start=1):
        usable = rows[[cost, "student_dev_score"]].notna().all(axis=1)
        figure.add_trace(go.Scatter(
            x=rows.loc[usable, cost], y=rows.loc[usable, "student_dev_score"], mode="markers", name="trials",
            marker={"color": _COLORS[0], "size": 8, "opacity": 0.55}, showlegend=col == 1,
            text=rows.loc[usable, "trial_id"], hovertemplate="%{text}: %{y:.4f} at %{x:.4g}<extra></extra>"),
            row=1, col=col)
        line = front.sort_values(cost)
        figure.add_trace(go.Scatter(
            x=line[cost], y=line["student_dev_score"], mode="lines+markers", name="Pareto front",
            line={"color": _COLORS[1], "shape": "hv", "width": 2}, marker={"color": _COLORS[1], "size": 10},
            showlegend=col == 1, text=line["trial_id"], hovertemplate="%{text}: %{y:.4f} at %{x:.4g}<extra></extra>"),
            row=1, col=col)
        figure.update_xaxes(title_text=label, row=1, col=col, type="log" if cost == "student_params" else None)
    figure.update_yaxes(title_text="student dev score", row=1, col=1)
    return figure


def _progress_figure(progress: pd.DataFrame) -> Any:
    import plotly.graph_objects as go

    figure = go.Figure()
    for i, (experiment, group) in enumerate(progress.groupby("experiment_id", sort=True)):
        color = _COLORS[i % 8]
        figure.add_trace(go.Scatter(x=group["trial_number"], y=group["best_so_far"], mode="lines", name=experiment,
                                    line={"color": color, "shape": "hv", "width": 3}))
        scored = group[group["score"].notna()]
        figure.add_trace(go.Scatter(x=scored["trial_number"], y=scored["score"], mode="markers",
                                    name=f"{experiment} trials", marker={"color": color, "size": 7, "opacity": 0.5},
                                    text=scored["status"], hovertemplate="trial %{x} (%{text}): %{y:.4f}<extra></extra>"))
    figure.update_xaxes(title_text="trial number (in the order trials ended)")
    figure.update_yaxes(title_text="student dev score (best so far)")
    return figure


def _findings_tables(page: _Page, findings: pd.DataFrame) -> None:
    pooled = findings[findings["task"] == POOLED]
    rows = []
    for _, row in pooled.iterrows():
        css = ("verdict-supported" if row["verdict"] == "supported" else
               "verdict-not" if row["verdict"] == "not supported" else "verdict-inconclusive")
        ci = ("" if not np.isfinite(row["ci_low"]) else f"[{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]")
        effect = "" if not np.isfinite(row["effect"]) else f"{row['effect']:+.4f}"
        rows.append(f"<tr><td>({row['finding']}) {html.escape(row['claim'])}</td>"
                    f"<td>{html.escape(row['comparison'])}</td><td>{effect}</td><td>{ci}</td>"
                    f"<td>{row['n_tasks']}</td><td>{row['n_a']} / {row['n_b']}</td>"
                    f'<td class="{css}">{html.escape(str(row["verdict"]))}</td>'
                    f"<td>{html.escape(str(row['detail']))}</td></tr>")
    page.add("<table><tr><th>finding</th><th>effect measured</th><th>effect</th><th>95% CI</th><th>tasks</th>"
             "<th>trials (a / b)</th><th>verdict</th><th>why</th></tr>" + "".join(rows) + "</table>")
    detail = findings[findings["task"] != POOLED]
    if not detail.empty:
        page.add("<details><summary>per-task effects</summary>")
        page.table(detail[["finding", "task", "train_size", "comparison", "n_a", "n_b", "effect", "ci_low",
                           "ci_high", "detail"]])
        page.add("</details>")


def _baseline_notes(page: _Page, comparison: pd.DataFrame) -> None:
    from autodistiller.baseline import BASELINE_NAME

    for task, group in comparison.groupby("task", sort=True):
        by_model = group.set_index("model")
        if BASELINE_NAME not in by_model.index or "best student" not in by_model.index:
            continue
        baseline, student = by_model.loc[BASELINE_NAME], by_model.loc["best student"]
        if np.isfinite(baseline["test_score"]) and baseline["test_score"] >= student["test_score"]:
            page.note(f"{task}: the TF-IDF baseline (test {baseline['test_score']:.4f}, "
                      f"{baseline['latency_ms']:.2f} ms/example) matches or beats the best student (test "
                      f"{student['test_score']:.4f}, {student['latency_ms']:.2f} ms/example): distillation is not "
                      "worth it on this task at this budget.", css="warn")


def _overview(rows: pd.DataFrame) -> pd.DataFrame:
    status = rows.pivot_table(index="task", columns="status", values="trial_id", aggfunc="count", fill_value=0)
    out = pd.DataFrame({"trials": rows.groupby("task").size()})
    for column in ("completed", "early_stopped", "failed"):
        out[column] = status[column] if column in status.columns else 0
    extra = [c for c in status.columns if c not in ("completed", "early_stopped", "failed")]
    for column in extra:
        out[column] = status[column]
    out["searches"] = rows.groupby("task")["experiment_id"].nunique()
    if "metric" in rows.columns:
        out["metric"] = rows.groupby("task")["metric"].agg(lambda s: s.dropna().iloc[0] if s.notna().any() else "")
    out["best student dev"] = rows.groupby("task")["student_dev_score"].max()
    if "teacher_dev_score" in rows.columns:
        out["teacher dev"] = rows.groupby("task")["teacher_dev_score"].max()
    return out.reset_index()


def render_report(
    frame: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    baselines: Mapping[str, Any] | None = None,
    task: Filter = None,
    family: Filter = None,
    title: str = "AutoDistiller report",
    source: str | None = None,
    top: int = 5,
    n_boot: int = 2000,
    seed: int = 0,
) -> Path:
    """Write one self-contained HTML page analysing ``frame`` (meta-dataset rows) to ``out``; returns its path.

    ``baselines`` maps task names to :class:`autodistiller.baseline.BaselineResult` (see
    :func:`suite_baselines`). ``task`` / ``family`` select rows; every status is shown in the overview and the
    best-so-far curves, the other analyses use completed trials. ``source`` (e.g. the meta-dataset path) is
    printed in the header. The page works offline: plotly.js is inlined once, nothing is fetched.
    """
    import plotly.offline

    rows = with_scores(select(frame, task=task, family=family))
    _require(rows, ["task", "experiment_id", "trial_id", "status", "ended_at", "student_dev_score"],
             what="render_report")
    if rows.empty:
        raise ConfigError("no trial rows to report on: the meta-dataset (after the --task / --family filters) is "
                          "empty.")
    baselines = dict(baselines or {})
    page = _Page()
    tasks = sorted(rows["task"].unique())
    comparison = compare_models(rows, baselines)
    effects = option_effects(rows, n_boot=n_boot, seed=seed)
    importance = param_importance(rows, seed=seed)
    findings = distiller_findings(rows, n_boot=n_boot, seed=seed, importance=importance)

    page.heading(1, title)
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page.note(f"{len(rows)} trials, {len(tasks)} task(s), {rows['experiment_id'].nunique()} search(es)"
              + (f" from {source}" if source else "") + f"; generated {generated}.", css="meta")
    page.add("<nav>" + "".join(f'<a href="#task-{html.escape(t)}">{html.escape(t)}</a>' for t in tasks) + "</nav>")

    page.heading(2, "Summary across tasks", "summary")
    page.table(_overview(rows))
    page.heading(3, "Teacher, best student and TF-IDF baseline")
    page.note("Best student = highest dev score among completed trials; sizes are fp32 weights (networks) or the "
              "pickled pipeline (baseline); latency is the median per example at batch size 1 on the machine that "
              "measured it. The baseline is fitted on the task's whole training set.")
    _baseline_notes(page, comparison)
    page.table(comparison.drop(columns=["experiment_id"]))
    if comparison["test_score"].notna().any():
        page.plot(_comparison_figure(comparison[comparison["test_score"].notna()]),
                  "Test score: teacher, best student, TF-IDF baseline")
    missing = [t for t in tasks if t not in baselines]
    if missing:
        page.note(f"No TF-IDF baseline for: {', '.join(missing)} (only built offline-suite tasks get one).")

    page.heading(3, "The Distiller findings, re-tested")
    page.note("Effects are on score retained (student dev / teacher dev), completed trials, pooled with every task "
              "weighted alike; positive = the claim holds. Verdicts need the whole 95% CI on one side of 0.")
    _findings_tables(page, findings)

    pooled_effects = effects[effects["task"] == POOLED]
    page.heading(3, "Stage options, pooled over tasks")
    if not _compared(pooled_effects).empty:
        page.plot(_effects_figure(_compared(pooled_effects)), "Mean score retained per stage option (all tasks)")
    else:
        page.note("No stage had two options among completed trials with a score retained.")
    page.table(pooled_effects.drop(columns=["task", "stage"]))
    pooled_importance = importance[importance["task"] == POOLED]
    page.heading(3, "Parameter importance, pooled over tasks")
    if not pooled_importance.empty:
        page.plot(_importance_figure(pooled_importance), "Importance of score retained (all tasks)")
    else:
        page.note("Too few completed trials (or no searched parameter) for importances.")

    progress = best_so_far(rows)
    for name in tasks:
        task_rows = rows[rows["task"] == name]
        done = task_rows[task_rows["status"] == "completed"]
        page.heading(2, f"Task {name}", f"task-{name}")
        page.table(comparison[comparison["task"] == name].drop(columns=["task", "experiment_id"]))
        page.heading(3, f"Best {top} pipelines")
        page.table(best_pipelines(task_rows, top=top).drop(columns=["task"]))
        costs = [(c, label) for c, label in (("student_params", "student parameters"),
                                             ("latency_ms", "latency (ms per example)"))
                 if c in done.columns and done[c].notna().any()]
        if costs and done["student_dev_score"].notna().any():
            front = pareto_front(task_rows, costs=[c for c, _ in costs])
            page.plot(_pareto_figure(done, front, costs), f"{name}: dev score vs size and latency")
        task_progress = progress[progress["task"] == name]
        if task_progress["score"].notna().any():
            page.plot(_progress_figure(task_progress), f"{name}: best dev score so far per search")
        task_effects = _compared(effects[effects["task"] == name])
        if not task_effects.empty:
            page.plot(_effects_figure(task_effects), f"{name}: mean score retained per stage option")
        task_importance = importance[importance["task"] == name]
        if not task_importance.empty:
            page.plot(_importance_figure(task_importance), f"{name}: parameter importance")
        else:
            page.note("Too few completed trials (or no searched parameter) for importances on this task.")

    document = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>"
        f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script></head>'
        f'<body><main data-plots="{len(page.plots)}">' + "\n".join(page.parts) + "</main></body></html>\n"
    )
    path = Path(out).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(document, encoding="utf-8")
    os.replace(tmp, path)
    return path
