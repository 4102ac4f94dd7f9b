"""Interrupting `autodistiller search` (SIGTERM as Kubernetes / Slurm / `timeout` send it, SIGINT as Ctrl-C):
the state is saved, running trials are marked interrupted (not early-stopped), the exact resume command is
printed, the exit code says which signal, and the printed command finishes the search."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time

import pytest
import yaml

from autodistiller import meta_dataset as md

SPACE = {
    "parameters": {
        "loss.kind": {"choices": ["kl", "mse"]},
        "student.layers": {"choices": [1, 2]},
        # long enough (about 10 s a trial on 2 cores; 24 epochs took 1-2 s and the search could end before the
        # signal) that the second trial is still running when the signal comes
        "training.epochs": 150, "training.batch_size": 8, "training.max_length": 32, "training.warmup_ratio": 0.0,
    },
}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from autodistiller.cli import main; sys.exit(main())", *args]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_search_says_so_and_resumes(tmp_path, tiny_task, tiny_teacher, signum):
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    storage, rows = tmp_path / "runs", tmp_path / "runs" / "meta_dataset"
    args = ["search", "--task", str(tiny_task.spec.source), "--space", str(space), "--trials", "3",
            "--max-concurrent", "1", "--scheduler", "fifo", "--teacher-dir", str(tiny_teacher.path),
            "--storage", str(storage), "--no-save-students"]
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.Popen(_cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=tmp_path)
    deadline = time.time() + 240
    while time.time() < deadline and not md.list_files(rows):  # the first trial has finished: others run
        if proc.poll() is not None:
            pytest.fail(f"the search ended before it was interrupted: {proc.stderr.read()[-3000:]}")
        time.sleep(0.5)
    assert md.list_files(rows), "no trial finished in time"
    time.sleep(2)  # the next trial is running
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 128 + signum, err[-3000:]
    assert "best pipeline" not in out
    assert "Stack trace" not in err and "Aborted" not in err  # no crash inside Ray
    command = next(line.strip() for line in err.splitlines() if line.strip().startswith("autodistiller search"))
    assert "--resume" in command and "--name" in command
    before = md.load(rows)
    assert "early_stopped" not in set(before["status"])  # nothing was stopped by a scheduler
    assert (before["status"] == "interrupted").sum() <= 1 and (before["status"] == "completed").sum() >= 1
    interrupted = before[before["status"] == "interrupted"]
    assert interrupted["loss.kind"].notna().all() and interrupted["pipeline_resolved"].all()

    resumed = subprocess.run(_cli(*shlex.split(command)[1:]), capture_output=True, text=True, env=env, cwd=tmp_path,
                             timeout=400)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = md.load(rows)
    assert len(after) == 3 and after["trial_id"].is_unique and set(after["status"]) == {"completed"}
    assert set(before.loc[before["status"] == "completed", "trial_id"]) <= set(after["trial_id"])
