"""A search's shared teacher-output cache: on a cluster each entry is built once, by one node, for every node.

The search starts a :class:`~autodistiller.engine.TeacherCacheCoordinator` as a named actor (one per experiment,
on the driver's node, using no CPU) and hands the trials a :class:`~autodistiller.engine.SharedTeacherCache`
naming it; the entries' durable copies go under ``<storage>/teacher_outputs/``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autodistiller.engine import SharedTeacherCache, TeacherCacheCoordinator
from autodistiller.errors import ConfigError

__all__ = ["shares_teacher_cache", "coordinator_name", "start_coordinator", "coordinator_summary"]


def shares_teacher_cache(enabled: bool | None, *, address: str | None, storage: str) -> bool:
    """Whether a search shares its teacher outputs through its storage: ``enabled``, or by default on a cluster
    (``address``) or with a URI storage (the durable copies then outlive the machine that built them)."""
    if enabled is not None and not isinstance(enabled, bool):
        raise ConfigError(f"shared_teacher_cache={enabled!r} must be True, False or None (on a cluster or with "
                          "a URI storage).")
    if enabled is None:
        return bool(address) or "://" in storage
    return enabled


def coordinator_name(experiment: str) -> str:
    return f"autodistiller-teacher-cache-{experiment}"


def start_coordinator(storage: str, experiment: str) -> tuple[SharedTeacherCache, Any]:
    """The experiment's coordinator actor (created, or the running one) and the trials' view of the shared
    cache. Keep the returned handle while the search runs: a named actor ends with its last handle."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    name = coordinator_name(experiment)
    context = ray.get_runtime_context()
    handle = ray.remote(TeacherCacheCoordinator).options(
        name=name, get_if_exists=True, num_cpus=0, max_restarts=-1,
        scheduling_strategy=NodeAffinitySchedulingStrategy(context.get_node_id(), soft=True),
    ).remote()
    return SharedTeacherCache(root=storage, coordinator=name, namespace=context.namespace), handle


def coordinator_summary(handle: Any, shared: SharedTeacherCache, log: Callable[[str], None]) -> dict[str, Any]:
    """The coordinator's counts, logged in one line (``{}`` when it cannot be reached)."""
    import ray

    try:
        stats = ray.get(handle.stats.remote(), timeout=30)
    except Exception as exc:  # the search's result does not depend on it
        log(f"search: teacher-output cache counts unavailable ({type(exc).__name__})")
        return {}
    builds, fetches = stats["builds"], stats["fetches"]
    log(f"search: teacher outputs shared under {shared.root.rstrip('/')}/teacher_outputs: {len(builds)} "
        f"entr{'y' if len(builds) == 1 else 'ies'} built ({sum(builds.values())} build(s)), "
        f"{sum(fetches.values())} download(s) by other trials")
    return stats
