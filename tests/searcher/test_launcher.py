"""The cluster configs in cluster/: launcher YAMLs pass Ray's own config validation, and every config's nodes fit
the trials of the search it documents (and refuse ones they cannot hold)."""

from __future__ import annotations

import copy
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import ray

from autodistiller import ConfigError
from autodistiller.cli import build_parser
from autodistiller.searcher.launcher import (
    check_trials_fit,
    load_cluster_config,
    node_resources,
    trials_per_node,
)

CLUSTER = Path(__file__).resolve().parents[2] / "cluster"
LAUNCHER_CONFIGS = ["aws.yaml", "gcp.yaml"]
KUBERAY_CONFIGS = ["raycluster.yaml", "rayjob.yaml"]
#: the search the README runs on a cluster
README_TRIAL = {"cpus_per_trial": 4.0, "gpus_per_trial": 0.5}


def _prepared(name: str) -> dict:
    """What `ray up` validates: the config merged with the provider's defaults (no cloud call)."""
    from ray.autoscaler._private.util import prepare_config

    return prepare_config(load_cluster_config(CLUSTER / name))


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_launcher_config_passes_rays_validation(name):
    from ray.autoscaler._private.util import validate_config

    config = _prepared(name)
    validate_config(config)  # ray-schema.json plus Ray's own cross-field checks
    assert config["provider"]["type"] == name.removesuffix(".yaml")
    workers = [t for t in config["available_node_types"] if t != config["head_node_type"]]
    assert any(config["available_node_types"][t]["resources"].get("GPU", 0) >= 1 for t in workers)
    assert any(config["available_node_types"][t]["max_workers"] > config["available_node_types"][t]["min_workers"]
               for t in workers), "an autoscaling GPU worker type"
    # the project is on every node: an image (docker) or setup commands that install it
    assert config["docker"].get("image") or any("pip install" in c and "autodistiller" in c
                                                for c in config["setup_commands"])


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_launcher_validation_would_catch_a_broken_config(name):
    from jsonschema import ValidationError
    from ray.autoscaler._private.util import validate_config

    broken = copy.deepcopy(_prepared(name))
    broken["max_worker"] = broken.pop("max_workers")  # a typo Ray's schema rejects
    with pytest.raises(ValidationError):
        validate_config(broken)
    broken = copy.deepcopy(_prepared(name))
    broken["head_node_type"] = "no-such-type"
    with pytest.raises(ValueError, match="head_node_type"):
        validate_config(broken)


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_launcher_config_is_closed_by_default(name):
    """Token auth on every node, the dashboard on the head's loopback, the token copied from the laptop."""
    config = load_cluster_config(CLUSTER / name)
    for commands in (config["head_start_ray_commands"], config["worker_start_ray_commands"]):
        start = [c for c in commands if "ray start" in c]
        assert start and all("RAY_AUTH_MODE=token" in c for c in start)
    head = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head and "0.0.0.0" not in head
    assert "~/.ray/auth_token" in config["file_mounts"]


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS + KUBERAY_CONFIGS)
def test_every_config_fits_the_documented_trials_on_its_gpu_workers(name):
    config = load_cluster_config(CLUSTER / name)
    fits = check_trials_fit(config, **README_TRIAL, source=name)
    gpu_types = [t for t, res in node_resources(config).items() if res["GPU"] >= 1]
    assert gpu_types and all(fits[t] == 2 for t in gpu_types)  # 8 CPUs, 1 GPU: two trials of 4 CPUs, half a GPU
    with pytest.raises(ConfigError, match=rf"no node type of {name} fits a trial of --cpus-per-trial 4 "
                                          r"--gpus-per-trial 2 \(.*gpu.*: 8 CPU / 1 GPU"):
        check_trials_fit(config, cpus_per_trial=4, gpus_per_trial=2, source=name)
    with pytest.raises(ConfigError, match="no node type"):
        check_trials_fit(config, cpus_per_trial=16, gpus_per_trial=0, source=name)


@pytest.mark.parametrize("name", KUBERAY_CONFIGS)
def test_kuberay_manifests_turn_token_authentication_on(name):
    config = load_cluster_config(CLUSTER / name)
    spec = config["spec"].get("rayClusterSpec", config["spec"])
    assert spec["authOptions"] == {"mode": "token"} and spec["rayVersion"] == ray.__version__


def test_rayjob_entrypoint_is_a_valid_search_that_fits_its_workers():
    config = load_cluster_config(CLUSTER / "rayjob.yaml")
    argv = shlex.split(config["spec"]["entrypoint"])
    assert argv[:2] == ["autodistiller", "search"]
    args = build_parser().parse_args(argv[1:])
    assert args.address == "auto" and args.storage.startswith("s3://")
    fits = check_trials_fit(config, cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial)
    assert fits["head"] == 0 and fits["gpu"] >= 1  # trials run on the GPU workers only
    assert args.space.startswith("/home/ray/app/search_spaces/")
    assert (CLUSTER.parent / "search_spaces" / Path(args.space).name).is_file()


def test_dockerfile_matches_this_ray_and_copies_what_exists():
    text = (CLUSTER / "Dockerfile").read_text()
    assert re.search(rf"^ARG RAY_VERSION={re.escape(ray.__version__)}$", text, re.M), "the client's Ray version"
    for source in re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", text, re.M):
        for path in source.split():
            assert (CLUSTER.parent / path).exists(), path
    for command in re.findall(r"^RUN (autodistiller .+)$", text, re.M):
        build_parser().parse_args(shlex.split(command)[1:])  # a valid command of this CLI
    assert "pip install" in text and "torch --index-url" in text and "autodistiller assets build" in text


def test_trials_per_node_arithmetic():
    assert trials_per_node({"CPU": 8, "GPU": 1}, cpus_per_trial=4, gpus_per_trial=0.5) == 2
    assert trials_per_node({"CPU": 8, "GPU": 1}, cpus_per_trial=1, gpus_per_trial=0.25) == 4
    assert trials_per_node({"CPU": 8, "GPU": 0}, cpus_per_trial=3, gpus_per_trial=0) == 2
    assert trials_per_node({"CPU": 0, "GPU": 0}, cpus_per_trial=1, gpus_per_trial=0) == 0
    assert trials_per_node({"CPU": float("nan"), "GPU": 1}, cpus_per_trial=1, gpus_per_trial=0) == 0  # unknown
    with pytest.raises(ConfigError, match="cpus_per_trial=0 must be > 0"):
        trials_per_node({"CPU": 8}, cpus_per_trial=0, gpus_per_trial=0)


def test_submit_refuses_trials_that_fit_no_node_of_the_cluster_config(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("parameters: {loss.kind: kl}\n")
    run = subprocess.run([sys.executable, "-m", "autodistiller", "submit", "--task", "suite:trec6", "--space",
                          str(space), "--storage", "s3://b/p", "--gpus-per-trial", "2",
                          "--cluster-config", str(CLUSTER / "aws.yaml"), "--address", "http://127.0.0.1:1"],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(CLUSTER.parent)})
    assert run.returncode == 2
    assert "no node type of" in run.stderr and "aws.yaml fits a trial" in run.stderr  # before any connection
