"""Several nodes, one fault: a worker node dies mid-search, its trial is retried elsewhere, and the meta-dataset
ends with exactly one row per trial, the retried one saying so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from types import SimpleNamespace

import pytest

from autodistiller import ConfigError
from autodistiller import meta_dataset as md
from autodistiller.searcher._faults import CLUSTER_MAX_FAILURES, resolve_max_failures, trial_attempts
from autodistiller.testing import end_processes_of


def test_max_failures_defaults_to_retries_on_a_cluster_only():
    assert resolve_max_failures(None, None) == 0
    assert resolve_max_failures(None, "auto") == CLUSTER_MAX_FAILURES > 0
    assert resolve_max_failures(0, "auto") == 0 and resolve_max_failures(5, None) == 5
    for bad in (-1, 1.5, True):
        with pytest.raises(ConfigError, match=r"max_failures=.* must be an integer >= 0"):
            resolve_max_failures(bad, None)


def test_trial_attempts_counts_runs():
    trial = SimpleNamespace(num_failures=0)
    assert trial_attempts(trial, 0, errored=False) == 1
    assert trial_attempts(trial, 1, errored=False) == 2  # one retry seen by this driver
    assert trial_attempts(SimpleNamespace(num_failures=1), 0, errored=False) == 2  # a retry before a resume
    assert trial_attempts(SimpleNamespace(num_failures=3), 2, errored=True) == 3  # failed for good on the 3rd run


_KILL_A_NODE = textwrap.dedent("""
    import json, sys, time
    import psutil
    import ray
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster
    from ray.tune import Callback
    from autodistiller.searcher import search, space_from_dict
    from autodistiller.testing import tiny_task, tiny_teacher

    tiny_dir, storage, temp_dir, report = sys.argv[1:5]
    # the head runs the driver only (no CPUs for trials); each worker node runs one trial at a time
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "temp_dir": temp_dir,
        "_system_config": {"health_check_initial_delay_ms": 0, "health_check_period_ms": 1000,
                           "health_check_failure_threshold": 3}})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]

    def node_of(pid):
        raylets = {n.all_processes[ray_constants.PROCESS_TYPE_RAYLET][0].process.pid: n for n in workers}
        for parent in psutil.Process(pid).parents():
            if parent.pid in raylets:
                return raylets[parent.pid]
        return None

    class KillTheNodeOfTheFirstTrial(Callback):
        killed = None
        def on_trial_result(self, iteration, trials, trial, result, **info):
            import __main__  # the cluster by reference: Tune pickles its callbacks with the experiment
            if self.killed is None:
                node = __main__.node_of(result["pid"])
                assert node is not None, f"trial {trial.trial_id} (pid {result['pid']}) is on no worker node"
                __main__.cluster.remove_node(node, allow_graceful=False)  # SIGKILL: raylet, object store, workers
                self.killed = {"trial_id": trial.trial_id, "epoch": result["epoch"], "at": time.time()}

    try:
        ray.init(address=cluster.address)
        task = tiny_task(tiny_dir, rows=160)
        teacher = tiny_teacher(tiny_dir, task)
        space = space_from_dict({"parameters": {"loss.kind": {"choices": ["kl", "mse"]}, "student.layers": 1,
                                                "training.epochs": 3, "training.batch_size": 8,
                                                "training.learning_rate": 1e-3, "training.max_length": 32}})
        killer = KillTheNodeOfTheFirstTrial()
        # max_failures left to its cluster default (an address is given)
        outcome = search(task, space, trials=3, max_concurrent=2, scheduler="fifo", address=cluster.address,
                         storage=storage, name="node-loss", teacher=teacher, verbose=0, callbacks=[killer],
                         log=lambda line: print(line, flush=True))
        alive = sum(1 for n in ray.nodes() if n["Alive"])
        json.dump({"killed": killer.killed, "alive_nodes": alive, "rows": len(outcome.trials)}, open(report, "w"))
    finally:
        ray.shutdown()
        cluster.shutdown()
""")


def test_a_search_survives_a_worker_node_dying(tmp_path, tiny_dir, tiny_task, tiny_teacher):
    storage = tmp_path / "runs"
    report = tmp_path / "report.json"
    temp_dir = tempfile.mkdtemp(prefix="rk", dir="/tmp")  # short: Ray's unix sockets live here
    os.mkdir(os.path.join(temp_dir, "ray"))
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS",)}
    env["RAY_TMPDIR"] = temp_dir  # Ray's "current cluster" file too: other Rays on this machine are not touched
    try:
        run = subprocess.run([sys.executable, "-c", _KILL_A_NODE, str(tiny_dir), str(storage), temp_dir, str(report)],
                             capture_output=True, text=True, timeout=540, env=env)
    finally:  # a timed-out driver leaves its nodes behind: end them, found by this test's temp dir
        end_processes_of(temp_dir)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    result = json.loads(report.read_text())
    killed = result["killed"]
    assert killed is not None and killed["epoch"] < 3, "the node must die while its trial still runs"
    assert result["alive_nodes"] == 2  # the head and the surviving worker: the node really died

    frame = md.load(storage / "meta_dataset")
    assert len(frame) == 3 and frame["trial_id"].is_unique  # none lost, none doubled
    assert len(md.list_files(storage / "meta_dataset")) == 3  # one file per trial, none written twice
    assert (frame["status"] == "completed").all(), frame[["trial_id", "status", "error"]]
    rows = frame.set_index("trial_id")
    assert rows.loc[killed["trial_id"], "attempts"] == 2  # the retried trial says so
    assert (rows.drop(index=killed["trial_id"])["attempts"] == 1).all()
    # the retry started over: its row describes the run that finished, after the kill
    assert rows.loc[killed["trial_id"], "started_at"].timestamp() >= killed["at"] - 1
    assert (rows["dev_score_history"].map(len) == rows["epochs_run"]).all()
