"""Analyse trial tables (meta-dataset rows) with pandas: which pipelines win, what each stage option is worth,
which parameters matter, what a smaller or faster student costs, and whether the Distiller findings hold.

>>> from autodistiller import analysis, meta_dataset
>>> frame = meta_dataset.load("runs/meta_dataset")
>>> analysis.best_pipelines(frame, top=3)
>>> analysis.option_effects(frame)            # mean score retained per stage option, bootstrap CIs
>>> analysis.param_importance(frame)          # fANOVA and PED-ANOVA through Optuna
>>> analysis.distiller_findings(frame)        # the four findings: effects, CIs, tasks, verdicts
>>> analysis.render_report(frame, "report.html")

Every function takes the frame, ``task`` / ``family`` / ``status`` filters, and returns a new DataFrame
(documented columns); none modifies its input. NULL pipeline values mean "not applicable" and are skipped.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autodistiller.analysis._best import best_pipelines, compare_models
    from autodistiller.analysis._effects import option_effects
    from autodistiller.analysis._findings import (
        CLAIMS,
        INCONCLUSIVE,
        NOT_SUPPORTED,
        SUPPORTED,
        distiller_findings,
        verdict,
    )
    from autodistiller.analysis._frame import (
        KD_STAGES,
        POOLED,
        STAGE_OPTIONS,
        STAGES,
        pipeline_keys,
        searched_params,
        select,
        with_scores,
    )
    from autodistiller.analysis._importance import EVALUATORS, param_importance, stage_importance
    from autodistiller.analysis._pareto import pareto_front, pareto_mask
    from autodistiller.analysis._progress import best_so_far
    from autodistiller.analysis._report import render_report, suite_baselines
    from autodistiller.analysis._study import export_optuna, param_distributions, rows_to_study

#: public name -> its module, imported on first access (PEP 562): ``autodistiller.analysis.commands`` (the
#: command line's parsers) loads neither pandas nor optuna
_LAZY = {
    **dict.fromkeys(("best_pipelines", "compare_models"), "_best"),
    "option_effects": "_effects",
    **dict.fromkeys(("CLAIMS", "INCONCLUSIVE", "NOT_SUPPORTED", "SUPPORTED", "distiller_findings", "verdict"),
                    "_findings"),
    **dict.fromkeys(("KD_STAGES", "POOLED", "STAGE_OPTIONS", "STAGES", "pipeline_keys", "searched_params", "select",
                     "with_scores"), "_frame"),
    **dict.fromkeys(("EVALUATORS", "param_importance", "stage_importance"), "_importance"),
    **dict.fromkeys(("pareto_front", "pareto_mask"), "_pareto"),
    "best_so_far": "_progress",
    **dict.fromkeys(("render_report", "suite_baselines"), "_report"),
    **dict.fromkeys(("export_optuna", "param_distributions", "rows_to_study"), "_study"),
}

__all__ = [
    "CLAIMS",
    "EVALUATORS",
    "INCONCLUSIVE",
    "KD_STAGES",
    "NOT_SUPPORTED",
    "POOLED",
    "STAGES",
    "STAGE_OPTIONS",
    "SUPPORTED",
    "best_pipelines",
    "best_so_far",
    "compare_models",
    "distiller_findings",
    "export_optuna",
    "option_effects",
    "param_distributions",
    "param_importance",
    "pareto_front",
    "pareto_mask",
    "pipeline_keys",
    "render_report",
    "rows_to_study",
    "searched_params",
    "select",
    "stage_importance",
    "suite_baselines",
    "verdict",
    "with_scores",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
