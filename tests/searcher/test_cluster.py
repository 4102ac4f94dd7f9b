"""A search submitted to a running Ray cluster (a head node started with `ray start`, as on a real cluster)."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from autodistiller import meta_dataset as md

_SCRIPT = textwrap.dedent("""
    import sys
    from autodistiller.searcher import search, space_from_dict
    from autodistiller.testing import tiny_task, tiny_teacher
    task = tiny_task(sys.argv[1], rows=160)
    teacher = tiny_teacher(sys.argv[1], task)
    space = space_from_dict({"parameters": {"loss.kind": {"choices": ["kl", "mse"]}, "student.layers": 1,
                                            "training.epochs": 2, "training.batch_size": 8,
                                            "training.learning_rate": 1e-3, "training.max_length": 32}})
    outcome = search(task, space, trials=2, max_concurrent=2, address=sys.argv[3], storage=sys.argv[2],
                     name="on-cluster", teacher=teacher, verbose=0)
    print("RESOURCES", outcome.trials["trial_cpus"].tolist())
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_search_runs_on_a_running_cluster(tmp_path, tiny_dir, tiny_task, tiny_teacher):
    port = _free_port()
    ray_bin = Path(sys.executable).with_name("ray")
    temp_dir = tempfile.mkdtemp(prefix="rc", dir="/tmp")  # short: Ray's unix sockets live here
    # token authentication on, as Ray recommends for clusters; head and driver share the token file
    token = tmp_path / "ray_token"
    token.write_text("autodistiller-test-token-0123456789abcdef")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token))
    head = subprocess.Popen([str(ray_bin), "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
                             "--include-dashboard=false", f"--temp-dir={temp_dir}", "--disable-usage-stats"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env=env)
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if head.poll() is not None:
                    pytest.fail(f"ray start failed: {head.stderr.read()[-2000:]}")
                time.sleep(0.5)
        run = subprocess.run([sys.executable, "-c", _SCRIPT, str(tiny_dir), str(tmp_path / "runs"),
                              f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=300, env=env)
        assert run.returncode == 0, run.stderr[-3000:]
        assert "RESOURCES [1.0, 1.0]" in run.stdout
        frame = md.load(tmp_path / "runs" / "meta_dataset")
        assert len(frame) == 2 and set(frame["status"]) == {"completed"}
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)


_PAUSED_SEARCH = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from ray.tune import Callback
    from autodistiller.searcher import search, space_from_dict
    from autodistiller.testing import tiny_task, tiny_teacher

    class PauseAtFirstResult(Callback):  # hold the search while every Ray process is up and a trial runs
        done = False
        def on_trial_result(self, iteration, trials, trial, result, **info):
            if self.done:
                return
            self.done = True
            Path(sys.argv[3], "running").write_text("")
            deadline = time.time() + 240
            while not Path(sys.argv[3], "probed").exists() and time.time() < deadline:
                time.sleep(0.2)

    task = tiny_task(sys.argv[1], rows=160)
    teacher = tiny_teacher(sys.argv[1], task)
    space = space_from_dict({"parameters": {"loss.kind": "kl", "student.layers": 1, "training.epochs": 2,
                                            "training.batch_size": 8, "training.max_length": 32}})
    outcome = search(task, space, trials=1, max_concurrent=1, storage=sys.argv[2], name="closed", teacher=teacher,
                     verbose=0, callbacks=[PauseAtFirstResult()])
    print("ROWS", len(outcome.trials))
""")


def _probe_host() -> str:
    """A non-loopback address of this machine (what another machine would connect to), else 127.0.0.1."""
    import psutil

    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return address.address
    return "127.0.0.1"


def test_embedded_ray_listens_on_loopback_only_and_refuses_clients_without_the_token(tmp_path, tiny_dir, tiny_task,
                                                                                     tiny_teacher):
    """Every socket the search's processes listen on is loopback, and each refuses a client without Ray's token
    (HTTP 401/403 or gRPC UNAUTHENTICATED), even with RAY_AUTH_MODE=disabled in the environment; the only
    exception, present with ray[default], is Ray's read-only Prometheus metrics pages, which Ray serves without a
    token (on loopback here). The token file is created private to the user."""
    import psutil

    from autodistiller.testing import is_loopback, listening_sockets, probe

    home = tmp_path / "home"  # no Ray token yet: the search creates one
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(HOME=str(home), RAY_AUTH_MODE="disabled", AUTODISTILLER_CACHE=str(tmp_path / "cache"))
    flags = tmp_path / "flags"
    flags.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", _PAUSED_SEARCH, str(tiny_dir), str(tmp_path / "runs"), str(flags)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 240
        while not (flags / "running").exists():
            if proc.poll() is not None:
                pytest.fail(f"the search ended before its first result: {proc.stderr.read()[-3000:]}")
            assert time.time() < deadline, "no trial reported within 240 s"
            time.sleep(0.3)
        driver = psutil.Process(proc.pid)
        pids = [driver.pid, *(child.pid for child in driver.children(recursive=True))]
        try:
            sockets = listening_sockets(pids)
        except psutil.AccessDenied:
            pytest.skip("psutil may not read this machine's sockets (no permission on /proc/<pid>/fd)")
        names = {s.process for s in sockets}
        # the driver, GCS, raylet (node manager + object manager) and the running trial's worker are all there
        assert "gcs_server" in names and "raylet" in names and len(sockets) >= 5, sockets
        exposed = [s for s in sockets if not is_loopback(s.ip)]
        assert not exposed, f"listening on a non-loopback address: {exposed}"
        refused = []
        for s in sockets:
            host = "127.0.0.1" if is_loopback(s.ip) else _probe_host()
            result = probe(host, s.port)
            if result.protocol == "prometheus" and is_loopback(s.ip):
                continue
            assert result.refused, f"{s} answered a client without the token: {result}"
            refused.append(s.process)
        assert {"gcs_server", "raylet"} <= set(refused)
        # the probe can tell: with the token, the GCS answers
        token = (home / ".ray" / "auth_token").read_text().strip()
        gcs = next(s for s in sockets if s.process == "gcs_server")
        assert not probe("127.0.0.1", gcs.port, token=token).refused
        assert (home / ".ray" / "auth_token").stat().st_mode & 0o077 == 0  # the token is private to the user
    finally:
        (flags / "probed").write_text("")
        try:
            out, err = proc.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    assert "ROWS 1" in out


def test_the_embedded_rays_token_is_created_private_and_a_readable_one_is_reported(tmp_path, monkeypatch):
    from autodistiller.searcher._cluster import ensure_local_token

    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # (the override of another mode is checked end to end above)
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    lines: list[str] = []
    ensure_local_token(lines.append)
    token = tmp_path / ".ray" / "auth_token"
    assert token.stat().st_mode & 0o777 == 0o600 and len(token.read_text()) == 64 and not lines
    ensure_local_token(lines.append)  # an existing private token: kept, nothing to say
    assert not lines
    token.chmod(0o644)
    ensure_local_token(lines.append)
    assert lines == [f"ray: warning: the Ray token file {token} is readable by other users, who can then drive any "
                     f"Ray started with it; fix: chmod 600 {token}"]
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "elsewhere" / "token"))
    ensure_local_token(lines.append)
    assert (tmp_path / "elsewhere" / "token").stat().st_mode & 0o777 == 0o600
