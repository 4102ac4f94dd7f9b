"""Searches as Ray jobs, against a real local cluster: `ray start --head` (dashboard on loopback, token auth on),
`autodistiller submit`, `jobs stop`, `submit --resume --name`, `jobs logs --follow`, `jobs list/status`."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from autodistiller import ConfigError
from autodistiller import meta_dataset as md
from autodistiller.cli import build_parser
from autodistiller.searcher.jobs import (
    check_remote_path,
    default_experiment_name,
    insecure_address_warning,
    jobs_address,
    search_job,
    stage_inputs,
)
from autodistiller.testing import end_processes_of

PROJECT = Path(__file__).resolve().parents[2]
# batch size 1, 8 epochs: trials of several seconds, so the job can be stopped between two trials' rows
SPACE = {"parameters": {"loss.kind": {"choices": ["kl", "mse"]}, "student.layers": 1, "training.epochs": 8,
                        "training.batch_size": 1, "training.learning_rate": 1e-3, "training.max_length": 32}}


def _subparser(name: str) -> argparse.ArgumentParser:
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices[name]


def test_submit_forwards_every_search_option_it_was_given(tmp_path):
    """What `submit` sends is a `search` command line that parses back to the same options."""
    from autodistiller._jobs_cli import search_argv

    argv = ["--task", "suite:trec6", "--space", "s.yaml", "--storage", "s3://b/p", "--trials", "7",
            "--gpus-per-trial", "0.5", "--max-failures", "3", "--resume", "--name", "x", "--teacher-epochs", "1",
            "--force-teacher", "--address", "http://127.0.0.1:1", "--pip", "autodistiller==0.1.0"]
    args = _subparser("submit").parse_args(argv)
    assert args.jobs_address == "http://127.0.0.1:1" and args.pip == ["autodistiller==0.1.0"]
    forwarded = search_argv(args, args.forwarded_actions)
    assert "--address" not in forwarded and "--pip" not in forwarded  # the job's options stay with the job
    search = _subparser("search").parse_args(forwarded)
    for key in ("task", "space", "storage", "trials", "gpus_per_trial", "max_failures", "resume", "name",
                "teacher_epochs", "force_teacher", "cpus_per_trial"):
        assert getattr(search, key) == getattr(args, key), key
    assert search.address is None  # the job appends --address auto


def test_job_inputs_are_staged_and_paths_rewritten(tmp_path, tiny_dir, tiny_task, tiny_teacher):
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    staging = tmp_path / "staging"
    replaced = stage_inputs(staging, space=str(space), task=str(tiny_dir / "tiny.csv"),
                            teacher_dir=str(tiny_teacher.path))
    assert (staging / replaced["space"]).read_text() == space.read_text()
    assert (staging / replaced["task"]).read_bytes() == (tiny_dir / "tiny.csv").read_bytes()
    assert (staging / replaced["teacher_dir"] / "config.json").is_file()
    assert stage_inputs(tmp_path / "s2", space=str(space), task="suite:trec6").keys() == {"space"}
    job = search_job(["--task", replaced["task"]], name="exp", storage="s3://b/p", working_dir=staging)
    assert job.entrypoint.startswith("python -m autodistiller search --task inputs/task/tiny.csv")
    assert job.entrypoint.endswith("--address auto")
    assert job.runtime_env["working_dir"] == str(staging)
    assert job.runtime_env["py_modules"] == [str(PROJECT / "autodistiller")]
    assert job.metadata == {"autodistiller": "search", "experiment": "exp", "storage": "s3://b/p", "resume": "false"}
    with pytest.raises(ConfigError, match="is not a file"):
        stage_inputs(tmp_path / "s3", space=str(tmp_path / "missing.yaml"), task="suite:trec6")
    with pytest.raises(ConfigError, match="holds no saved teacher"):
        stage_inputs(tmp_path / "s4", space=str(space), task="suite:trec6", teacher_dir=str(tmp_path))


def test_a_card_file_beside_the_task_travels_with_it(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    (tmp_path / "news.csv").write_text("text,label\nhello world,0\n")
    (tmp_path / "news.csv.card.json").write_text('{"label_names": ["world", "sports"]}')
    replaced = stage_inputs(tmp_path / "staging", space=str(space), task=str(tmp_path / "news.csv"))
    staged = tmp_path / "staging" / replaced["task"]
    assert staged.with_name("news.csv.card.json").read_text() == '{"label_names": ["world", "sports"]}'


def test_job_addresses_and_storage_are_checked(monkeypatch):
    monkeypatch.delenv("RAY_API_SERVER_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")  # a GCS address: not the Jobs API
    assert jobs_address(None) == "http://127.0.0.1:8265"
    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", "http://127.0.0.1:9999")
    assert jobs_address(None) == "http://127.0.0.1:9999" and jobs_address("https://r.example") == "https://r.example"
    assert insecure_address_warning("http://127.0.0.1:8265") is None
    assert insecure_address_warning("https://ray.example.com") is None
    assert "SSH tunnel" in insecure_address_warning("http://10.0.0.1:8265")
    with pytest.raises(ConfigError, match="must be an http"):
        insecure_address_warning("10.0.0.1:6379")
    check_remote_path("--storage", "s3://bucket/runs")
    check_remote_path("--storage", "/shared/runs")
    with pytest.raises(ConfigError, match="--storage 'runs' is a relative path"):
        check_remote_path("--storage", "runs")
    assert default_experiment_name("suite:trec6").startswith("trec6-")
    assert default_experiment_name("glue/sst2").startswith("glue-sst2-")
    assert default_experiment_name("/data/my task.csv").startswith("my-task-")


def test_unreachable_jobs_api_fails_fast_with_the_fix(tmp_path):
    started = time.time()
    run = subprocess.run([sys.executable, "-m", "autodistiller", "jobs", "list", "--address", "http://127.0.0.1:1"],
                         capture_output=True, text=True, timeout=120, env=_cli_env())
    assert run.returncode == 2
    assert "cannot reach the Ray Jobs API at 'http://127.0.0.1:1'" in run.stderr and "SSH tunnel" in run.stderr
    assert time.time() - started < 60


# ---- a real cluster


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli_env(**extra: str) -> dict[str, str]:
    """This checkout first on the path, whatever is installed."""
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS")}
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))])
    env.update(extra)
    return env


def _dashboard_missing() -> str | None:
    for module in ("ray.dashboard.head", "ray.dashboard.modules.job.job_head", "ray.dashboard.agent"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            return f"{module}: {exc}"
    return None


@pytest.fixture
def ray_head(tmp_path):
    """A head node with the dashboard (Jobs API) on free loopback ports, token auth on; torn down after."""
    missing = _dashboard_missing()
    if missing:
        pytest.skip(f"the Ray Jobs API runs in Ray's dashboard, which needs ray[default] ({missing}); "
                    "pip install 'autodistiller[cluster]'")
    temp_dir = tempfile.mkdtemp(prefix="rj", dir="/tmp")  # short: Ray's unix sockets live here
    os.mkdir(os.path.join(temp_dir, "ray"))
    token = tmp_path / "ray_token"
    token.write_text("autodistiller-jobs-test-token-0123456789abcdef")
    token.chmod(0o600)
    # the cluster's processes see the installed packages and ray[default], not this checkout: the job must ship it
    cluster_path = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                    if p and Path(p).resolve() != PROJECT]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token), RAY_TMPDIR=temp_dir,
               RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",  # a one-machine cluster on loopback only
               PYTHONPATH=os.pathsep.join(cluster_path),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]))  # the job's `python`
    ports = {name: _free_port() for name in ("port", "dashboard-port", "dashboard-agent-listen-port",
                                              "dashboard-agent-grpc-port", "ray-client-server-port",
                                              "metrics-export-port", "runtime-env-agent-port")}
    head = subprocess.Popen(
        [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block", "--num-cpus=2",
         "--include-dashboard=true", "--dashboard-host=127.0.0.1", f"--temp-dir={temp_dir}", "--disable-usage-stats",
         *(f"--{name}={port}" for name, port in ports.items())],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True, env=env)
    address = f"http://127.0.0.1:{ports['dashboard-port']}"
    client_env = _cli_env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token))
    try:
        deadline = time.time() + 120
        version = urllib.request.Request(f"{address}/api/version",
                                         headers={"Authorization": f"Bearer {token.read_text()}"})
        while True:
            try:
                with urllib.request.urlopen(version, timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError as exc:
                problem = exc
            if head.poll() is not None:
                pytest.fail(f"ray start failed: {head.stderr.read()[-3000:]}")
            assert time.time() < deadline, f"the Jobs API did not come up: {problem}"
            time.sleep(1)
        yield address, client_env
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # `ray start --block` stops its processes on SIGTERM
        try:
            head.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(timeout=15)
        # anything of this cluster still alive (workers re-parented away from the group): by its temp dir
        end_processes_of(temp_dir)


def _cli(env: dict[str, str], *argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autodistiller", *argv], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_submit_stop_resume_and_follow_a_search_job(ray_head, tmp_path, tiny_dir, tiny_task, tiny_teacher):
    address, env = ray_head
    space = tmp_path / "space.yaml"  # outside the project: it must travel with the job
    space.write_text(yaml.safe_dump(SPACE))
    storage = tmp_path / "runs"
    rows = storage / "meta_dataset"
    search = ["--task", str(tiny_dir / "tiny.csv"), "--space", str(space), "--trials", "3", "--max-concurrent", "1",
              "--scheduler", "fifo", "--storage", str(storage), "--teacher-dir", str(tiny_teacher.path),
              "--name", "jobs-exp", "--address", address]

    # unauthenticated clients are refused, with the fix
    refused = _cli({k: v for k, v in env.items() if not k.startswith("RAY_AUTH")}, "jobs", "list", "--address", address)
    assert refused.returncode == 2 and "RAY_AUTH_MODE=token" in refused.stderr, refused.stderr[-2000:]

    submitted = _cli(env, "submit", *search)
    assert submitted.returncode == 0, submitted.stderr[-3000:]
    first = submitted.stdout.strip().splitlines()[-1]
    assert first.startswith("autodistiller-jobs-exp-")

    # the driver dies mid-search (stopped: SIGTERM, then SIGKILL) once a trial has its row
    deadline = next_check = time.time() + 300
    while not md.list_files(rows):
        if time.time() > next_check - 285:  # every 15 s: a failed job fails the test with its logs
            next_check += 15
            status = _cli(env, "jobs", "status", first, "--address", address)
            assert "FAILED" not in status.stdout, _cli(env, "jobs", "logs", first, "--address", address).stdout[-4000:]
        assert time.time() < deadline, "no trial row within 300 s"
        time.sleep(0.2)
    # the stop request goes out at once (the CLI takes seconds to start: the search could end meanwhile), then
    # `jobs stop` waits for the job to end
    request = urllib.request.Request(f"{address}/api/jobs/{first}/stop", method="POST",
                                     headers={"Authorization": f"Bearer {Path(env['RAY_AUTH_TOKEN_PATH']).read_text()}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert json.loads(answer.read())["stopped"] is True
    stopped = _cli(env, "jobs", "stop", first, "--address", address)
    assert stopped.returncode == 0 and f"{first}: STOPPED" in stopped.stdout, stopped.stdout + stopped.stderr
    before = md.load(rows)
    assert (before["status"] == "completed").sum() < 3  # the first job did not finish the search
    finished_before = before.loc[before["status"] == "completed", ["trial_id", "ended_at"]]

    resumed = _cli(env, "submit", *search, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    second = resumed.stdout.strip().splitlines()[-1]
    followed = _cli(env, "jobs", "logs", second, "--follow", "--address", address, timeout=400)
    assert followed.returncode == 0, followed.stdout[-4000:] + followed.stderr[-2000:]
    assert "search: resuming" in followed.stdout and "3 trials logged to" in followed.stdout
    assert "job status: SUCCEEDED" in followed.stderr

    frame = md.load(rows)
    assert len(frame) == 3 and frame["trial_id"].is_unique and (frame["status"] == "completed").all()
    assert len(md.list_files(rows)) == 3  # one file per trial: none lost, none written twice
    assert (frame["experiment_id"] == "jobs-exp").all()
    # trials the first job finished keep their rows (a trial that ended in Tune's last snapshot window may be
    # re-run; its row is then replaced in place, never added twice)
    assert set(finished_before["trial_id"]) <= set(frame["trial_id"])
    # the cluster ran this checkout's code, shipped with the job (the installed one has no `attempts` column)
    assert (frame["attempts"] == 1).all()

    listing = _cli(env, "jobs", "list", "--address", address)
    assert listing.returncode == 0
    lines = {line.split()[0]: line.split() for line in listing.stdout.splitlines()[1:]}
    assert lines[first][1:3] == ["STOPPED", "jobs-exp"] and lines[second][1:3] == ["SUCCEEDED", "jobs-exp"]
    status = _cli(env, "jobs", "status", second, "--address", address)
    assert f"{second}: SUCCEEDED" in status.stdout and f"storage: {storage}" in status.stdout
    unknown = _cli(env, "jobs", "status", "no-such-job", "--address", address)
    assert unknown.returncode == 2 and "no job 'no-such-job'" in unknown.stderr
