"""Trial retries: how many a search allows, and how many runs a trial took (the ``attempts`` column)."""

from __future__ import annotations

from typing import Any

from autodistiller.errors import ConfigError

__all__ = ["CLUSTER_MAX_FAILURES", "resolve_max_failures", "trial_attempts"]

#: retries per trial on a cluster when none are asked for: a lost node (spot reclaim, OOM-killed host) costs the
#: trials it ran one restart each instead of a ``failed`` row
CLUSTER_MAX_FAILURES = 2


def resolve_max_failures(max_failures: int | None, address: str | None) -> int:
    """``max_failures`` as given, else 0 on an embedded Ray (a failure there is the pipeline's own, and would
    fail again) and :data:`CLUSTER_MAX_FAILURES` on a cluster."""
    if max_failures is None:
        return CLUSTER_MAX_FAILURES if address else 0
    if isinstance(max_failures, bool) or not isinstance(max_failures, int) or max_failures < 0:
        raise ConfigError(f"max_failures={max_failures!r} must be an integer >= 0 (retries of a failed trial).")
    return max_failures


def trial_attempts(trial: Any, recovered: int, *, errored: bool) -> int:
    """How many times ``trial`` ran: 1 + the retries it got. ``recovered`` counts the retries this driver saw
    (``on_trial_recover``); Tune's ``num_failures`` also counts those of a driver before a resume, and the final
    failure of an errored trial."""
    failures = int(getattr(trial, "num_failures", 0) or 0)
    return 1 + max(recovered, failures - (1 if errored else 0))
