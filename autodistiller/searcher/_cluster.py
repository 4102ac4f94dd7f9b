"""Connecting to Ray: an embedded local instance, or a cluster checked for reachability before any work."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

from autodistiller.errors import ConfigError

__all__ = ["check_cluster_address", "init_ray"]

_CONNECT_TIMEOUT_S = 5.0


def _current_cluster_address() -> str | None:
    """What ``address="auto"`` resolves to: ``$RAY_ADDRESS``, else the file ``ray start`` writes."""
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    path = Path(tempfile.gettempdir(), "ray", "ray_current_cluster")
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
        # "local": a fresh embedded instance even when a `ray start` cluster runs on this machine
        ray.init(address="local", include_dashboard=False, log_to_driver=False, configure_logging=False)
    resources = ray.cluster_resources()
    log(f"ray: {'cluster ' + address if address else 'embedded local'} with {resources.get('CPU', 0):.0f} CPUs, "
        f"{resources.get('GPU', 0):.0f} GPUs")
