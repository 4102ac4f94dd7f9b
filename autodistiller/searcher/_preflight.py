"""Checks a search runs before any compute: the meta-dataset it appends to is readable, and the places it
writes to are writable. Found at the first row write, either would have cost the teacher's fine-tuning or the
whole search."""

from __future__ import annotations

import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs

from autodistiller import meta_dataset
from autodistiller.errors import ConfigError

__all__ = ["check_meta_dataset", "check_writable"]


def check_meta_dataset(root: str) -> None:
    """The existing rows of the meta-dataset at ``root`` validate and read (what the search does with them at
    its end); raises a MetaDatasetError naming the bad files and how to move them aside."""
    if not meta_dataset.list_files(root):
        return
    meta_dataset.validate(root).raise_if_bad()
    try:
        meta_dataset.load(root, columns=["experiment_id", "trial_id"], check=False)
    except (OSError, pa.ArrowException) as exc:  # a valid footer over corrupt pages
        raise meta_dataset.MetaDatasetError(
            f"the meta-dataset {root} cannot be read ({exc}). {meta_dataset.move_aside_advice(root, [])}") from exc


def check_writable(location: str, what: str) -> None:
    """Create ``location`` (a directory or URI) if needed, then write and delete a probe file in it; raises a
    ConfigError naming ``what`` (the option) and the location when that fails. Directories this creates on a
    local disk are removed again: the search creates them when it writes."""
    is_uri = "://" in location
    probe_name = f".autodistiller-write-probe-{uuid.uuid4().hex}"
    created: list[Path] = []
    try:
        if is_uri:
            fs, base = pafs.FileSystem.from_uri(location)
            fs.create_dir(base, recursive=True)
            probe = f"{base.rstrip('/')}/{probe_name}"
            with fs.open_output_stream(probe) as stream:
                stream.write(b"probe")
            fs.delete_file(probe)
        else:
            directory = Path(location).expanduser().resolve()
            missing = [p for p in (directory, *directory.parents) if not p.exists()]
            directory.mkdir(parents=True, exist_ok=True)
            created = missing  # deepest first
            probe_path = directory / probe_name
            probe_path.write_bytes(b"probe")
            probe_path.unlink()
    except (OSError, pa.ArrowException) as exc:
        raise ConfigError(f"{what} {location} is not writable ({type(exc).__name__}: {exc}); fix its permissions "
                          f"or free space, or choose another {what}.") from exc
    finally:
        for path in created:
            try:
                path.rmdir()
            except OSError:
                break
