"""What the nodes of a cluster config offer, and whether a search's trials fit on them.

Reads the configs in ``cluster/``: a Ray cluster-launcher YAML (``available_node_types.<type>.resources``) or a
KubeRay ``RayCluster`` / ``RayJob`` manifest (each group's ``rayStartParams`` ``num-cpus`` / ``num-gpus``, else its
container's resource limits). A trial asks for ``cpus_per_trial`` CPUs and ``gpus_per_trial`` GPUs on one node.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from autodistiller.errors import ConfigError

__all__ = ["load_cluster_config", "node_resources", "trials_per_node", "check_trials_fit"]


def load_cluster_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A cluster config file as a dict (``yaml.safe_load``)."""
    import yaml

    try:
        config = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the cluster config {path}: {exc}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"the cluster config {path} is not a YAML mapping.")
    return config


def _quantity(value: Any) -> float:
    """A Kubernetes quantity (``"8"``, ``"500m"``) or a number."""
    text = str(value).strip()
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def _kuberay_group(group: Mapping[str, Any]) -> dict[str, float]:
    params = group.get("rayStartParams") or {}
    containers = (group.get("template") or {}).get("spec", {}).get("containers") or [{}]
    resources = containers[0].get("resources") or {}
    limits = {**(resources.get("requests") or {}), **(resources.get("limits") or {})}
    cpu = params.get("num-cpus", limits.get("cpu"))
    gpu = params.get("num-gpus", limits.get("nvidia.com/gpu", 0))
    return {"CPU": _quantity(cpu) if cpu is not None else math.nan, "GPU": _quantity(gpu)}


def node_resources(config: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """``{node type or group name: {"CPU": n, "GPU": n}}``; NaN where the config does not say (the launcher then
    detects it from the instance type)."""
    kind = config.get("kind")
    if kind in ("RayCluster", "RayJob"):
        spec = config.get("spec") or {}
        cluster = spec.get("rayClusterSpec", spec) if kind == "RayJob" else spec
        groups = {"head": _kuberay_group(cluster.get("headGroupSpec") or {})}
        for group in cluster.get("workerGroupSpecs") or []:
            groups[str(group.get("groupName"))] = _kuberay_group(group)
        return groups
    if "available_node_types" in config:
        out = {}
        for name, node in config["available_node_types"].items():
            declared = node.get("resources") or {}
            out[name] = {"CPU": float(declared.get("CPU", math.nan)), "GPU": float(declared.get("GPU", 0))}
        return out
    raise ConfigError("not a cluster config: expected a Ray cluster-launcher YAML (available_node_types) or a "
                      "KubeRay RayCluster / RayJob manifest.")


def trials_per_node(resources: Mapping[str, float], *, cpus_per_trial: float, gpus_per_trial: float) -> int:
    """How many trials of that size run at once on one node with ``resources`` (0: none fits)."""
    if cpus_per_trial <= 0 or gpus_per_trial < 0:
        raise ConfigError(f"cpus_per_trial={cpus_per_trial} must be > 0 and gpus_per_trial={gpus_per_trial} >= 0.")
    cpus, gpus = resources.get("CPU", math.nan), resources.get("GPU", 0.0)
    if math.isnan(cpus):
        return 0
    fits = math.floor(cpus / cpus_per_trial + 1e-9)
    if gpus_per_trial:
        fits = min(fits, math.floor(gpus / gpus_per_trial + 1e-9))
    return max(fits, 0)


def check_trials_fit(config: Mapping[str, Any], *, cpus_per_trial: float, gpus_per_trial: float,
                     source: str = "the cluster config") -> dict[str, int]:
    """Trials per node for each node type of ``config``; a ConfigError naming every type's resources when no
    node type can run even one trial (the search would wait forever for resources)."""
    nodes = node_resources(config)
    fits = {name: trials_per_node(res, cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial)
            for name, res in nodes.items()}
    if not any(fits.values()):
        offered = ", ".join(f"{name}: {res['CPU']:g} CPU / {res['GPU']:g} GPU" for name, res in nodes.items())
        raise ConfigError(
            f"no node type of {source} fits a trial of --cpus-per-trial {cpus_per_trial:g} --gpus-per-trial "
            f"{gpus_per_trial:g} ({offered}); lower the per-trial resources or add a bigger node type "
            "(a launcher node type without `resources:` counts as unknown: declare CPU and GPU)."
        )
    return fits
