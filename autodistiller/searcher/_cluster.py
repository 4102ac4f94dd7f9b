"""Connecting to Ray: an embedded local instance, or a cluster checked for reachability before any work.

The embedded instance is as closed as Ray allows: its node address is loopback, so every server Ray starts
(GCS, raylet, object manager, workers, runtime-env agent) listens on 127.0.0.1 only, and token authentication is
always on, so other local users (or another Ray on this machine) cannot drive it either.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from autodistiller.errors import ConfigError

__all__ = ["check_cluster_address", "init_ray", "ensure_local_token"]

_CONNECT_TIMEOUT_S = 5.0


def _current_cluster_address() -> str | None:
    """What ``address="auto"`` resolves to: ``$RAY_ADDRESS``, else the file ``ray start`` writes."""
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    path = Path(os.environ.get("RAY_TMPDIR") or tempfile.gettempdir(), "ray", "ray_current_cluster")
    if path.is_file():
        text = path.read_text().strip()
        return text or None
    return None


def check_cluster_address(address: str) -> str:
    """Fail fast, with a fix, when the cluster at ``address`` cannot be reached (``ray.init`` would retry for
    minutes). Returns the address to pass to ``ray.init``."""
    if address == "local":
        return address
    target = _current_cluster_address() if address == "auto" else address
    if target is None:
        raise ConfigError("address='auto' but no Ray cluster is running here (no RAY_ADDRESS, no `ray start`); "
                          "start one with `ray start --head`, pass its address, or drop --address.")
    hostport = target.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"cluster address {target!r} must look like host:port or ray://host:port.")
    try:
        with socket.create_connection((host, int(port)), timeout=_CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ConfigError(
            f"cannot reach the Ray cluster at {target!r} ({exc.strerror or exc}). Check that the head node runs "
            "(`ray status`) and the port is open, or drop --address to use an embedded local Ray."
        ) from None
    return address


def _token_path() -> Path:
    """Where Ray reads the token from when ``RAY_AUTH_TOKEN`` is unset: ``RAY_AUTH_TOKEN_PATH``, else
    ``~/.ray/auth_token``."""
    return Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token").expanduser()


def ensure_local_token(log: Callable[[str], None] = print) -> None:
    """Turn Ray's token authentication on for an embedded instance, with a token only this user can read.

    ``RAY_AUTH_MODE=disabled`` is overridden: nothing outside this process needs to reach an embedded Ray, and
    without the token its gRPC servers accept anyone who can reach this machine. When no token exists yet, one
    is written to Ray's default file with mode 0600 (Ray would create it readable by every local user); an
    existing token file readable by others is reported with the fix.
    """
    mode = os.environ.get("RAY_AUTH_MODE")
    if mode is not None and mode.lower() != "token":
        log(f"ray: RAY_AUTH_MODE={mode} ignored for the embedded Ray: it always runs with token authentication")
    if mode is None or mode.lower() != "token":
        os.environ["RAY_AUTH_MODE"] = "token"
        try:  # refresh Ray's cached config, as ray.init itself does when it turns token mode on
            from ray._raylet import Config

            Config.initialize("")
        except ImportError:  # pragma: no cover - Ray without the token API: the mode variable is all there is
            pass
    if os.environ.get("RAY_AUTH_TOKEN"):
        return
    path = _token_path()
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))  # what `ray get-auth-token --generate` writes: 256 random bits
        return
    if os.name == "posix" and path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH):
        log(f"ray: warning: the Ray token file {path} is readable by other users, who can then drive any Ray "
            f"started with it; fix: chmod 600 {path}")


@contextlib.contextmanager
def _loopback_node_address() -> Iterator[None]:
    """Make ``ray.init`` use 127.0.0.1 as the node address (Ray turns a loopback ``_node_ip_address`` into the
    machine's address unless multi-node clusters are disabled, which is Ray's own default on macOS and Windows:
    ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER``). Only for the duration of one embedded ``ray.init``."""
    from ray._private import ray_constants

    if not hasattr(ray_constants, "ENABLE_RAY_CLUSTER"):  # pragma: no cover - another Ray layout
        yield
        return
    before = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = before


def _init_embedded(log: Callable[[str], None]) -> None:
    import ray

    ensure_local_token(log)
    with _loopback_node_address():
        # "local": a fresh embedded instance even when a `ray start` cluster runs on this machine
        ray.init(address="local", include_dashboard=False, log_to_driver=False, configure_logging=False,
                 _node_ip_address="127.0.0.1")
    node = getattr(ray._private.worker, "_global_node", None)
    node_ip = getattr(node, "node_ip_address", None)
    if node_ip is not None and not node_ip.startswith("127."):  # pragma: no cover - depends on the Ray version
        log(f"ray: warning: the embedded Ray runs on {node_ip}, not loopback; its servers are protected by "
            "token authentication only")


def init_ray(address: str | None, log: Callable[[str], None]) -> None:
    import ray

    if ray.is_initialized():
        return
    if address:
        try:
            ray.init(address=check_cluster_address(address), log_to_driver=True)
        except (ConnectionError, RuntimeError) as exc:  # reachable port, but Ray refused us (auth, version)
            raise ConfigError(
                f"could not join the Ray cluster at {address!r}: {str(exc).splitlines()[-1][:500]}. A cluster "
                "with token authentication needs RAY_AUTH_MODE=token and its token (RAY_AUTH_TOKEN_PATH or "
                "~/.ray/auth_token); the driver's Ray version must match the cluster's."
            ) from exc
    else:
        _init_embedded(log)
    resources = ray.cluster_resources()
    log(f"ray: {'cluster ' + address if address else 'embedded local'} with {resources.get('CPU', 0):.0f} CPUs, "
        f"{resources.get('GPU', 0):.0f} GPUs")
