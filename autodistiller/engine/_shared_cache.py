"""The shared tier of the teacher-output cache: on a Ray cluster an entry is built once and read by every node.

Each node keeps its own verified entries (:mod:`autodistiller.engine._teacher_cache`); a durable copy of each
lives under ``<root>/teacher_outputs/<key>/`` (a path every node reaches, or an ``s3://`` / ``gs://`` URI,
written through pyarrow's filesystems). ``meta.json`` is uploaded last and marks the copy complete (object
stores have no rename); a node downloads the files, checks every sha256 against it, and only then moves the
entry into place locally. A copy that fails its checksum is never used: it is rebuilt and uploaded again.

Who builds is decided by a :class:`TeacherCacheCoordinator`, a named Ray actor the search starts: the first
trial to ``claim`` a key builds it (renewing its claim while it runs), the others wait and then download. A
claim that is not renewed within ``lease_s`` (its builder's node died) passes to the next claimant.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SharedTeacherCache", "TeacherCacheCoordinator", "DEFAULT_LEASE_S"]

#: a builder renews its claim every lease_s / 4; a claim not renewed for lease_s passes to the next claimant
DEFAULT_LEASE_S = 60.0
_META = "meta.json"
_BLOCK = 1 << 22
#: seconds between "still waiting" lines while another node builds
_WAIT_LOG_EVERY_S = 30.0


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


class TeacherCacheCoordinator:
    """Who builds each shared entry. Plain Python: the search runs it as a named Ray actor.

    ``claim(key, owner)`` returns the owner of the key's claim after the call: the caller builds when that is
    itself. The builder ``renew``s while it works and ``release``s when done (``built=True`` counts a build,
    uploaded or not).
    A claim not renewed within ``lease_s`` seconds is expired and goes to the next claimant.
    """

    def __init__(self, lease_s: float = DEFAULT_LEASE_S, clock: Callable[[], float] = time.monotonic) -> None:
        if lease_s <= 0:
            raise ValueError(f"lease_s={lease_s} must be > 0.")
        self.lease_s, self.clock = lease_s, clock
        self._claims: dict[str, tuple[str, float]] = {}
        self._builds: Counter[str] = Counter()
        self._fetches: Counter[str] = Counter()
        self._expired: Counter[str] = Counter()

    def claim(self, key: str, owner: str) -> str:
        now = self.clock()
        holder = self._claims.get(key)
        if holder is not None and holder[0] != owner and holder[1] <= now:
            self._expired[key] += 1
            holder = None
        if holder is None or holder[0] == owner:
            self._claims[key] = (owner, now + self.lease_s)
            return owner
        return holder[0]

    def renew(self, key: str, owner: str) -> bool:
        """Extend ``owner``'s claim; ``False`` when it no longer holds it."""
        holder = self._claims.get(key)
        if holder is None or holder[0] != owner:
            return False
        self._claims[key] = (owner, self.clock() + self.lease_s)
        return True

    def release(self, key: str, owner: str, built: bool) -> None:
        if built:
            self._builds[key] += 1
        holder = self._claims.get(key)
        if holder is not None and holder[0] == owner:
            del self._claims[key]

    def fetched(self, key: str) -> None:
        self._fetches[key] += 1

    def stats(self) -> dict[str, dict[str, int]]:
        """Per key: ``builds`` (entries built and published), ``fetches`` (downloads by other trials) and
        ``expired`` (claims taken over after their builder stopped renewing)."""
        return {"builds": dict(self._builds), "fetches": dict(self._fetches), "expired": dict(self._expired)}


class _RayCoordinator:
    """The coordinator actor seen as plain method calls."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def __getattr__(self, method: str) -> Callable[..., Any]:
        import ray

        remote = getattr(self.handle, method).remote
        return lambda *args: ray.get(remote(*args), timeout=60)


def _connect(name: str, namespace: str | None) -> Any:
    """The coordinator named ``name``, or ``None`` outside Ray / when it does not exist."""
    try:
        import ray

        if not ray.is_initialized():
            return None
        return _RayCoordinator(ray.get_actor(name, namespace=namespace))
    except Exception:  # not found (ValueError), or Ray itself unreachable: the trial goes on alone
        return None


def _filesystem(root: str) -> tuple[Any, str]:
    import pyarrow.fs as pafs

    if "://" in root:
        fs, path = pafs.FileSystem.from_uri(root)
        return fs, path.rstrip("/")
    return pafs.LocalFileSystem(), str(Path(root).expanduser().resolve())


@dataclass(frozen=True)
class SharedTeacherCache:
    """Where a cluster's trials share teacher-output entries.

    ``root``: a path every node reaches or a pyarrow URI (``s3://bucket/prefix``, ``gs://...``, ``file://...``);
    entries live under ``<root>/teacher_outputs/<key>/``. ``coordinator``: the name of the
    :class:`TeacherCacheCoordinator` actor (in ``namespace``) that decides who builds; without one (or when it
    cannot be reached) a trial that finds no copy builds and uploads it itself.
    """

    root: str
    coordinator: str | None = None
    namespace: str | None = None
    lease_s: float = DEFAULT_LEASE_S

    def __post_init__(self) -> None:
        if not self.root:
            raise ValueError("SharedTeacherCache needs a root: a shared path or a URI.")

    def _remote(self, key: str) -> tuple[Any, str]:
        fs, base = _filesystem(self.root)
        return fs, f"{base}/teacher_outputs/{key}"

    def location(self, key: str) -> str:
        return f"{self.root.rstrip('/')}/teacher_outputs/{key}"

    def fetch(self, key: str, directory: Path, *, names: Iterable[str], key_parts: dict[str, Any],
              log: Callable[[str], None], rejected: set[str] | None = None) -> bool:
        """Download the shared copy of ``key`` into ``directory`` (absent locally), every file checked against
        its ``meta.json``. ``False`` when there is no complete copy, or it fails its checks (never used).
        ``rejected``: checksums of ``meta.json`` files of copies that failed before (added to here): such a copy
        is not downloaded again."""
        import pyarrow as pa

        fs, remote = self._remote(key)
        try:
            with fs.open_input_stream(f"{remote}/{_META}") as stream:
                meta_bytes = stream.read()
        except (FileNotFoundError, pa.ArrowException, OSError):
            return False
        rejected = set() if rejected is None else rejected
        if hashlib.sha256(meta_bytes).hexdigest() in rejected:
            return False
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}-fetch-", dir=directory.parent))
        try:
            problem = self._download(fs, remote, meta_bytes, tmp, names=set(names), key_parts=key_parts)
            if problem is not None:
                log(f"teacher cache: the shared copy {self.location(key)} {problem}; it is rebuilt, never used")
                rejected.add(hashlib.sha256(meta_bytes).hexdigest())
                return False
            (tmp / _META).write_bytes(meta_bytes)  # last: marks the local entry complete
            with contextlib.suppress(OSError):  # fails when another trial on this node put it in place first
                os.replace(tmp, directory)
            return True
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def _download(fs: Any, remote: str, meta_bytes: bytes, tmp: Path, *, names: set[str],
                  key_parts: dict[str, Any]) -> str | None:
        """Copy every file ``meta.json`` lists into ``tmp``; what is wrong with the copy, or ``None``."""
        try:
            meta = json.loads(meta_bytes)
            expected, sizes = dict(meta["sha256"]), dict(meta["bytes"])
        except (ValueError, KeyError, TypeError):
            return "has an unreadable meta.json"
        if meta.get("key") != key_parts:
            return "was made for another key"
        if set(sizes) != set(expected):
            return "has an inconsistent meta.json"
        if not set(expected) <= names:
            return f"lists unexpected files {sorted(set(expected) - names)}"
        for name, checksum in expected.items():
            digest, size = hashlib.sha256(), 0
            try:
                with fs.open_input_stream(f"{remote}/{name}.npy") as source, (tmp / f"{name}.npy").open("wb") as out:
                    while block := source.read(_BLOCK):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
            except (FileNotFoundError, OSError):
                return f"lacks {name}.npy"
            if size != sizes[name] or digest.hexdigest() != checksum:
                return f"failed its checksum ({name}.npy)"
        return None

    def publish(self, key: str, directory: Path, log: Callable[[str], None]) -> bool:
        """Upload the verified local entry ``directory``: its data files first, ``meta.json`` last (an older
        ``meta.json`` is removed first, so a half-replaced copy never looks complete). A failed upload is
        reported, not raised: the other nodes then build the entry themselves."""
        fs, remote = self._remote(key)
        try:
            fs.create_dir(remote, recursive=True)
            with contextlib.suppress(FileNotFoundError):
                fs.delete_file(f"{remote}/{_META}")
            for path in sorted(directory.iterdir(), key=lambda p: p.name == _META):  # meta.json last
                with path.open("rb") as source, fs.open_output_stream(f"{remote}/{path.name}") as out:
                    while block := source.read(_BLOCK):
                        out.write(block)
        except OSError as exc:
            log(f"teacher cache: could not upload {directory.name} to {self.location(key)} ({exc}); other nodes "
                "build it themselves")
            return False
        return True

    def connect(self) -> Any:
        return _connect(self.coordinator, self.namespace) if self.coordinator else None


@contextlib.contextmanager
def _renewing(coordinator: Any, key: str, owner: str, every_s: float) -> Iterator[None]:
    """Keep ``owner``'s claim on ``key`` alive while the body runs (a daemon thread renews it)."""
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(every_s):
            try:
                if not coordinator.renew(key, owner):
                    return
            except Exception:  # the coordinator is gone: nothing left to renew with
                return

    thread = threading.Thread(target=renew, name=f"teacher-cache-claim-{key}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def through_shared(shared: SharedTeacherCache, key: str, directory: Path, *, open_local: Callable[[], Any],
                   build: Callable[[], None], names: Iterable[str], key_parts: dict[str, Any],
                   log: Callable[[str], None], poll_s: float = 1.0) -> Any:
    """The entry ``key`` at ``directory``: the local copy if verified, else the shared copy downloaded, else
    built here (when this trial wins the claim) and uploaded, else waited for. ``open_local`` opens and verifies
    the local entry (``None`` when absent or bad), ``build`` builds it into ``directory``."""
    names = tuple(names)
    coordinator = shared.connect()
    if shared.coordinator and coordinator is None:
        log(f"teacher cache: no coordinator {shared.coordinator!r} reachable; building missing entries here")
    owner = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
    rejected: set[str] = set()  # shared copies that failed their checks: not downloaded again while waiting
    waiting_since = last_log = None
    while True:
        entry = open_local()
        if entry is not None:
            return entry
        if shared.fetch(key, directory, names=names, key_parts=key_parts, log=log, rejected=rejected):
            entry = open_local()
            if entry is not None:
                log(f"teacher cache: fetched {key} from {shared.location(key)}")
                _call(coordinator, "fetched", key)
                return entry
            log(f"teacher cache: the shared copy {shared.location(key)} does not load; it is rebuilt")
            with contextlib.suppress(OSError):
                rejected.add(sha256_of(directory / _META))
            shutil.rmtree(directory, ignore_errors=True)
        holder = owner if coordinator is None else _call(coordinator, "claim", key, owner)
        if holder is None:  # the coordinator went away: go on alone
            coordinator, holder = None, owner
        if holder == owner:
            return _build_and_publish(shared, key, directory, coordinator, owner, open_local=open_local,
                                      build=build, names=names, key_parts=key_parts, log=log, rejected=rejected)
        now = time.monotonic()
        if waiting_since is None:
            waiting_since = last_log = now
            log(f"teacher cache: waiting for {holder} to build {key}")
        elif now - last_log > _WAIT_LOG_EVERY_S:
            last_log = now
            log(f"teacher cache: still waiting for {holder} to build {key} ({now - waiting_since:.0f}s)")
        time.sleep(poll_s)


def _call(coordinator: Any, method: str, *args: Any) -> Any:
    """A coordinator call; ``None`` when there is no coordinator or it cannot be reached."""
    if coordinator is None:
        return None
    try:
        return getattr(coordinator, method)(*args)
    except Exception:  # a lost actor or node: the trial goes on alone rather than failing
        return None


def _build_and_publish(shared: SharedTeacherCache, key: str, directory: Path, coordinator: Any, owner: str, *,
                       open_local: Callable[[], Any], build: Callable[[], None], names: tuple[str, ...],
                       key_parts: dict[str, Any], log: Callable[[str], None], rejected: set[str]) -> Any:
    built = False
    with _renewing(coordinator, key, owner, shared.lease_s / 4) if coordinator is not None else (
            contextlib.nullcontext()):
        try:
            # another trial may have published it between our look and our claim
            if (not shared.fetch(key, directory, names=names, key_parts=key_parts, log=log, rejected=rejected)
                    or open_local() is None):
                shutil.rmtree(directory, ignore_errors=True)
                build()
                built = True
                if shared.publish(key, directory, log):
                    log(f"teacher cache: shared {key} at {shared.location(key)}")
        finally:
            _call(coordinator, "release", key, owner, built)
    entry = open_local()
    if entry is None:
        raise RuntimeError(f"teacher cache {directory} could not be read back after writing it.")
    return entry
