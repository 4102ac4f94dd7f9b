"""A search on several nodes builds each teacher-output entry once: one node builds it, the others download it
from the search's storage (``<storage>/teacher_outputs``), as the coordinator's counts and the nodes' own caches
show."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

import autodistiller
from autodistiller import ConfigError
from autodistiller.engine import _shared_cache as sc
from autodistiller.searcher._shared_cache import shares_teacher_cache
from autodistiller.testing import end_processes_of


def test_sharing_is_on_for_clusters_and_uri_storage_by_default():
    assert not shares_teacher_cache(None, address=None, storage="/runs")  # one machine: one local cache
    assert shares_teacher_cache(None, address="auto", storage="/shared/runs")
    assert shares_teacher_cache(None, address=None, storage="s3://bucket/runs")
    assert shares_teacher_cache(True, address=None, storage="/runs")
    assert not shares_teacher_cache(False, address="auto", storage="s3://bucket/runs")
    with pytest.raises(ConfigError, match=r"shared_teacher_cache='yes' must be True, False or None"):
        shares_teacher_cache("yes", address=None, storage="/runs")


_TWO_NODES = textwrap.dedent("""
    import json, os, sys
    import ray
    from ray.cluster_utils import Cluster
    from autodistiller.searcher import search, space_from_dict
    from autodistiller.searcher._shared_cache import start_coordinator
    from autodistiller.testing import tiny_task, tiny_teacher

    tiny_dir, storage, temp_dir, report = sys.argv[1:5]
    node_caches = sys.argv[5:]
    # the head runs the driver only (no CPUs for trials); each worker node runs one trial at a time, and its
    # processes inherit their node's own local cache directory
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "temp_dir": temp_dir})
    driver_cache = os.environ["AUTODISTILLER_CACHE"]
    for cache in node_caches:
        os.environ["AUTODISTILLER_CACHE"] = cache
        cluster.add_node(num_cpus=1)
    os.environ["AUTODISTILLER_CACHE"] = driver_cache
    lines = []
    try:
        ray.init(address=cluster.address)
        task = tiny_task(tiny_dir, rows=160)
        teacher = tiny_teacher(tiny_dir, task)
        space = space_from_dict({"parameters": {"loss.kind": {"choices": ["kl", "mse"]}, "student.layers": 1,
                                                "training.epochs": 1, "training.batch_size": 16,
                                                "training.learning_rate": 1e-3, "training.max_length": 32}})
        # the search's own coordinator, created first so that this script keeps a handle to read its counts
        _, coordinator = start_coordinator(storage, "shared-cache")
        outcome = search(task, space, trials=2, max_concurrent=2, scheduler="fifo", address=cluster.address,
                         storage=storage, name="shared-cache", teacher=teacher, verbose=0, save_students=False,
                         log=lambda line: (lines.append(line), print(line, flush=True)))
        json.dump({"stats": ray.get(coordinator.stats.remote()), "status": outcome.trials["status"].tolist(),
                   "log": lines}, open(report, "w"))
    finally:
        ray.shutdown()
        cluster.shutdown()
""")


def _entries(cache: Path) -> list[Path]:
    root = cache / "teacher_outputs"
    return sorted(p for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() else []


def test_a_search_on_two_nodes_builds_each_teacher_output_once(tmp_path, tiny_dir, tiny_task, tiny_teacher):
    storage = tmp_path / "runs"  # a directory every node of this one-machine cluster reaches
    report = tmp_path / "report.json"
    node_caches = [tmp_path / "node_a", tmp_path / "node_b"]
    temp_dir = tempfile.mkdtemp(prefix="rs", dir="/tmp")  # short: Ray's unix sockets live here
    os.mkdir(os.path.join(temp_dir, "ray"))
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["RAY_TMPDIR"] = temp_dir  # Ray's "current cluster" file too: other Rays on this machine are not touched
    env["AUTODISTILLER_CACHE"] = str(tmp_path / "driver")
    # every node's workers import this checkout's package
    here = str(Path(autodistiller.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([here, *filter(None, [env.get("PYTHONPATH")])])
    started = time.monotonic()
    try:
        run = subprocess.run([sys.executable, "-c", _TWO_NODES, str(tiny_dir), str(storage), temp_dir, str(report),
                              *map(str, node_caches)], capture_output=True, text=True, timeout=400, env=env)
    finally:  # a timed-out driver leaves its nodes behind: end them, found by this test's temp dir
        end_processes_of(temp_dir)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-4000:]
    result = json.loads(report.read_text())
    assert result["status"] == ["completed", "completed"]

    # both trials read one entry, and the coordinator saw it built once and downloaded once
    entries = [_entries(cache) for cache in node_caches]
    assert all(len(found) == 1 for found in entries), f"each worker node ran a trial: {entries}"
    key = entries[0][0].name
    assert entries[1][0].name == key
    assert result["stats"] == {"builds": {key: 1}, "fetches": {key: 1}, "expired": {}}, result["log"]
    # on disk: both nodes hold the same build (same checksums, same builder), which is the shared copy
    shared = storage / "teacher_outputs" / key
    metas = [json.loads((found[0] / "meta.json").read_text()) for found in entries]
    assert metas[0] == metas[1] == json.loads((shared / "meta.json").read_text())
    for name, checksum in metas[0]["sha256"].items():
        assert sc.sha256_of(shared / f"{name}.npy") == checksum
        assert all(sc.sha256_of(found[0] / f"{name}.npy") == checksum for found in entries)
    assert any("1 entry built (1 build(s)), 1 download(s)" in line for line in result["log"])
    assert not _entries(tmp_path / "driver")  # the driver computes no teacher outputs
    print(f"two-node search: {time.monotonic() - started:.0f}s")
