"""Searches as Ray jobs: submit one through the Ray Jobs API, list, follow and stop them.

A submitted search is ``python -m autodistiller search ... --address auto`` run as the job's driver on the
cluster; its inputs (search space, a local task file, a saved teacher) travel in the job's ``working_dir`` and,
unless the cluster's image already has the right version, this package travels as a ``py_modules`` entry, so
the driver and every trial import the code that submitted them. Rows and checkpoints go to ``--storage``, which
must be a URI or a path every node shares. Ray is imported lazily.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import re
import shlex
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from autodistiller.errors import ConfigError

__all__ = [
    "DEFAULT_JOBS_ADDRESS",
    "JOB_KIND",
    "TERMINAL_STATUSES",
    "SearchJob",
    "jobs_address",
    "check_jobs_address",
    "insecure_address_warning",
    "job_client",
    "default_experiment_name",
    "stage_inputs",
    "search_job",
    "submit_job",
    "list_jobs",
    "job_info",
    "follow_logs",
    "stop_job",
]

#: the Jobs API through an SSH tunnel (`ray dashboard cluster/aws.yaml`) or on this machine
DEFAULT_JOBS_ADDRESS = "http://127.0.0.1:8265"
#: ``metadata["autodistiller"]`` of every job this module submits (how ``list_jobs`` tells them apart)
JOB_KIND = "search"
TERMINAL_STATUSES = ("SUCCEEDED", "FAILED", "STOPPED")
_CONNECT_TIMEOUT_S = 5.0
_CLIENT_EXTRA = "pip install 'autodistiller[cluster]' (that is, ray[default])"


def jobs_address(address: str | None) -> str:
    """``address``, else ``$RAY_API_SERVER_ADDRESS``, else ``$RAY_ADDRESS`` when it is an http(s) URL, else
    :data:`DEFAULT_JOBS_ADDRESS`."""
    if address:
        return address
    env = os.environ.get("RAY_API_SERVER_ADDRESS") or ""
    if not env and os.environ.get("RAY_ADDRESS", "").startswith(("http://", "https://")):
        env = os.environ["RAY_ADDRESS"]
    return env or DEFAULT_JOBS_ADDRESS


def _host_port(address: str) -> tuple[str, int]:
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"Jobs API address {address!r} must be an http(s) URL of the Ray dashboard, e.g. {DEFAULT_JOBS_ADDRESS} "
            "(an SSH tunnel to the head node) or https://ray.example.com; not the GCS address (host:6379)."
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ConfigError(f"Jobs API address {address!r} has an invalid port.") from None
    return parts.hostname, port


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_address_warning(address: str) -> str | None:
    """A warning when ``address`` is plain HTTP to another machine: the token and the job travel in clear."""
    host, _ = _host_port(address)
    if urlsplit(address).scheme == "http" and not _is_loopback_host(host):
        return (f"warning: {address} is plain HTTP to another machine: the Ray token and the job travel unencrypted. "
                f"Reach the Jobs API through an SSH tunnel (`ray dashboard cluster/aws.yaml`, then --address "
                f"{DEFAULT_JOBS_ADDRESS}) or an HTTPS proxy that authenticates.")
    return None


def check_jobs_address(address: str) -> str:
    """Fail within seconds, with a fix, when nothing listens at ``address``."""
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=_CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ConfigError(
            f"cannot reach the Ray Jobs API at {address!r} ({exc.strerror or exc}). Open an SSH tunnel to the head "
            "node (`ray dashboard cluster/aws.yaml`, or `ssh -N -L 8265:127.0.0.1:8265 <head>`) and use "
            f"--address {DEFAULT_JOBS_ADDRESS}, or check that the cluster runs."
        ) from None
    return address


def job_client(address: str | None) -> Any:
    """A ``JobSubmissionClient`` for ``address`` (see :func:`jobs_address`), its failures as ConfigErrors."""
    address = check_jobs_address(jobs_address(address))
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError as exc:  # pragma: no cover - ray is a dependency
        raise ConfigError(f"the Ray Jobs client is missing ({exc}); {_CLIENT_EXTRA}.") from exc
    from ray.exceptions import AuthenticationError

    try:
        return JobSubmissionClient(address)
    except AuthenticationError:
        raise ConfigError(_refused(address)) from None
    except RuntimeError as exc:
        text = str(exc)
        if "ray[default]" in text:
            raise ConfigError(f"the Ray Jobs client needs ray[default]: {_CLIENT_EXTRA}.") from None
        if "401" in text or "403" in text:
            raise ConfigError(_refused(address)) from None
        raise ConfigError(f"the Ray Jobs API at {address} answered: {text.splitlines()[-1][:500]}") from None
    except ConnectionError as exc:
        raise ConfigError(f"cannot talk to the Ray Jobs API at {address}: {exc}") from None


def _refused(address: str) -> str:
    return (f"the Ray cluster at {address} refused us: it requires token authentication. Set RAY_AUTH_MODE=token "
            "and give the cluster's token (RAY_AUTH_TOKEN_PATH=<file>, or ~/.ray/auth_token; see the README's "
            "\"Running on a Ray cluster\").")


def _call(what: str, job_id: str | None, address: str, fn: Callable[[], Any]) -> Any:
    from ray.exceptions import AuthenticationError

    try:
        return fn()
    except AuthenticationError:
        raise ConfigError(_refused(address)) from None
    except RuntimeError as exc:
        text = str(exc)
        if job_id is not None and ("404" in text or "does not exist" in text):
            raise ConfigError(f"no job {job_id!r} at {address}; list them with `autodistiller jobs list "
                              f"--address {address}`.") from None
        raise ConfigError(f"{what} failed at {address}: {text.splitlines()[-1][:500]}") from None


# ---- building a job


def default_experiment_name(task: str, *, now: dt.datetime | None = None) -> str:
    """``suite:trec6`` -> ``trec6-20250101-120000``; a file -> its stem; a Hub id -> ``glue-sst2-...``."""
    stem = task.split(":", 1)[1] if task.startswith("suite:") else (
        Path(task).stem if Path(task).suffix else task.rstrip("/").replace("/", "-"))
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-") or "search"
    return f"{stem}-{(now or dt.datetime.now()).strftime('%Y%m%d-%H%M%S')}"


def _is_uri(path: str) -> bool:
    return "://" in path


def check_remote_path(option: str, value: str | None) -> None:
    """``--storage`` / ``--meta-dataset`` of a job: a URI or an absolute path (on the cluster's shared
    filesystem); a relative path would land in the job's temporary working directory and vanish with it."""
    if value is not None and not _is_uri(value) and not Path(value).expanduser().is_absolute():
        raise ConfigError(
            f"{option} {value!r} is a relative path: on the cluster it would land in the job's temporary working "
            "directory and be deleted with it. Pass a URI (s3://bucket/prefix, gs://...) or an absolute path on a "
            "filesystem every node shares."
        )


def _copy(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".git"))
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def stage_inputs(staging: Path, *, space: str, task: str, teacher_dir: str | None = None) -> dict[str, str]:
    """Copy the search's local inputs into ``staging`` (the job's working_dir); return the values the job's
    command must use instead (paths relative to its working directory). A task that is not a local path
    (``suite:...``, a Hub id) is left as it is."""
    staging.mkdir(parents=True, exist_ok=True)
    space_path = Path(space).expanduser()
    if not space_path.is_file():
        raise ConfigError(f"--space {space!r} is not a file; pass a YAML search space (see search_spaces/).")
    replaced = {"space": f"inputs/space/{space_path.name}"}
    _copy(space_path, staging / replaced["space"])
    task_path = Path(task).expanduser()
    if not task.startswith("suite:") and task_path.exists():
        replaced["task"] = f"inputs/task/{task_path.name}"
        _copy(task_path, staging / replaced["task"])
        for card in (task_path.with_name(f"{task_path.name}.card.json"), task_path.parent / "card.json"):
            if task_path.is_file() and card.is_file():  # the label names beside the data travel with it
                _copy(card, staging / "inputs" / "task" / card.name)
    if teacher_dir is not None:
        teacher_path = Path(teacher_dir).expanduser()
        if not (teacher_path / "config.json").is_file():
            raise ConfigError(f"--teacher-dir {teacher_dir!r} holds no saved teacher (config.json is missing).")
        replaced["teacher_dir"] = "inputs/teacher"
        _copy(teacher_path, staging / replaced["teacher_dir"])
    return replaced


@dataclass(frozen=True)
class SearchJob:
    """Everything ``JobSubmissionClient.submit_job`` needs for one search."""

    submission_id: str
    entrypoint: str
    runtime_env: dict[str, Any]
    metadata: dict[str, str]
    entrypoint_num_cpus: float | None = None
    entrypoint_num_gpus: float | None = None
    search_argv: tuple[str, ...] = field(default=())


def _package_dir() -> str:
    import autodistiller

    return str(Path(autodistiller.__file__).resolve().parent)


def search_job(
    search_argv: Sequence[str],
    *,
    name: str,
    storage: str,
    working_dir: str | os.PathLike[str],
    resume: bool = False,
    ship_code: bool = True,
    pip: Sequence[str] = (),
    env_vars: Mapping[str, str] | None = None,
    driver_cpus: float | None = None,
    driver_gpus: float | None = None,
) -> SearchJob:
    """The job that runs ``autodistiller search <search_argv>`` on the cluster it is submitted to.

    ``search_argv`` already names the experiment, its storage and the staged inputs; ``--address auto`` is
    appended (the driver joins the job's own cluster). ``ship_code`` uploads this package with the job
    (``py_modules``); ``pip`` adds requirements installed on the nodes (they need a package index);
    ``driver_cpus`` / ``driver_gpus`` reserve resources for the driver, which fine-tunes the teacher.
    """
    for option, value in (("driver_cpus", driver_cpus), ("driver_gpus", driver_gpus)):
        if value is not None and value < 0:
            raise ConfigError(f"{option}={value} must be >= 0.")
    runtime_env: dict[str, Any] = {"working_dir": str(working_dir), "excludes": ["__pycache__/", "*.pyc", ".git/"]}
    if ship_code:
        runtime_env["py_modules"] = [_package_dir()]
    if pip:
        runtime_env["pip"] = list(pip)
    runtime_env["env_vars"] = {"TOKENIZERS_PARALLELISM": "false", **dict(env_vars or {})}
    argv = ["python", "-m", "autodistiller", "search", *search_argv, "--address", "auto"]
    return SearchJob(
        submission_id=f"autodistiller-{name}-{uuid.uuid4().hex[:8]}",
        entrypoint=shlex.join(argv),
        runtime_env=runtime_env,
        metadata={"autodistiller": JOB_KIND, "experiment": name, "storage": storage, "resume": str(bool(resume)).lower()},
        entrypoint_num_cpus=driver_cpus,
        entrypoint_num_gpus=driver_gpus,
        search_argv=tuple(search_argv),
    )


# ---- the Jobs API


def submit_job(job: SearchJob, address: str | None = None) -> str:
    """Submit ``job`` (uploading its working_dir and code); returns the job's submission id."""
    client = job_client(address)
    kwargs = {k: v for k, v in (("entrypoint_num_cpus", job.entrypoint_num_cpus),
                                ("entrypoint_num_gpus", job.entrypoint_num_gpus)) if v is not None}
    return _call("submitting the job", None, client.get_address(), lambda: client.submit_job(
        entrypoint=job.entrypoint, runtime_env=job.runtime_env, metadata=job.metadata,
        submission_id=job.submission_id, **kwargs))


def list_jobs(address: str | None = None, *, all_jobs: bool = False) -> list[Any]:
    """The cluster's jobs (only AutoDistiller searches unless ``all_jobs``), oldest first."""
    client = job_client(address)
    jobs = _call("listing jobs", None, client.get_address(), client.list_jobs)
    if not all_jobs:
        jobs = [j for j in jobs if (j.metadata or {}).get("autodistiller") == JOB_KIND]
    return sorted(jobs, key=lambda j: j.start_time or 0)


def job_info(job_id: str, address: str | None = None) -> Any:
    """``JobDetails`` of one job: status, message, times, entrypoint, metadata."""
    client = job_client(address)
    return _call("reading the job", job_id, client.get_address(), lambda: client.get_job_info(job_id))


def follow_logs(job_id: str, address: str | None = None, *, write: Callable[[str], Any] = print,
                follow: bool = True) -> str:
    """Write the job's logs; with ``follow``, keep streaming until the job ends. Returns the job's status."""
    client = job_client(address)
    where = client.get_address()
    _call("reading the job", job_id, where, lambda: client.get_job_info(job_id))  # a clear error for a bad id
    if not follow:
        write(_call("reading the logs", job_id, where, lambda: client.get_job_logs(job_id)))
        return str(client.get_job_status(job_id).value)

    async def stream() -> None:
        async for lines in client.tail_job_logs(job_id):
            write(lines)

    asyncio.run(stream())
    status = str(client.get_job_status(job_id).value)
    deadline = time.time() + 30  # the log stream ends as the driver exits, the status follows shortly
    while status not in TERMINAL_STATUSES and time.time() < deadline:
        time.sleep(0.5)
        status = str(client.get_job_status(job_id).value)
    return status


def stop_job(job_id: str, address: str | None = None, *, wait_s: float = 60.0) -> str:
    """Ask the cluster to stop the job (SIGTERM to its driver, then SIGKILL) and wait up to ``wait_s`` for it
    to end. Returns the job's status. A stopped search resumes with ``submit --resume --name``."""
    client = job_client(address)
    where = client.get_address()
    _call("stopping the job", job_id, where, lambda: client.stop_job(job_id))
    deadline = time.time() + wait_s
    status = str(client.get_job_status(job_id).value)
    while status not in TERMINAL_STATUSES and time.time() < deadline:
        time.sleep(0.5)
        status = str(client.get_job_status(job_id).value)
    return status
