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
