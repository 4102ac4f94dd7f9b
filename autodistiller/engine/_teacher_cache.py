"""The teacher-output cache: the teacher's logits (and hidden states / attention scores) on a training split,
computed once per (teacher, task data, tokenization, outputs), stored memory-mapped in fp16, read by every trial.

Without input augmentation the teacher sees the same examples in every trial and every epoch, so its outputs are
a pure function of (teacher weights, tokenized split): computing them once turns each trial's teacher forward
passes into reads. Layout of one entry, ``<cache>/teacher_outputs/<key>/``::

    logits.npy          [N, C] float16
    offsets.npy         [N + 1] int64: example i's tokens are rows offsets[i]:offsets[i+1] below
    hidden.npy          [tokens, L + 1, H] float16 (embeddings + every layer), when asked for
    attentions.npy      [L, heads, sum_i len_i^2] float16 pre-softmax scores, when asked for
    meta.json           written last: shapes, sha256 of every file, what the key was made of

An entry appears by an atomic rename of a finished directory; on first use in a process every file's sha256 is
checked against ``meta.json``, and a corrupted or partial entry is deleted and rebuilt, never used. On a Ray
cluster the entries also have a shared tier (:mod:`autodistiller.engine._shared_cache`): each is built once,
by one node, and downloaded by the others.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from autodistiller._paths import cache_root
from autodistiller.engine._device import autocast, autocast_dtype
from autodistiller.engine._shared_cache import SharedTeacherCache, sha256_of, through_shared
from autodistiller.intermediate import Representations
from autodistiller.models import model_inputs
from autodistiller.tasks import EncodedSplit

__all__ = ["TeacherOutputCache", "teacher_output_cache", "teacher_fingerprint", "CACHE_FORMAT"]

CACHE_FORMAT = 1
#: seconds between progress lines of a long teacher pass
_PROGRESS_EVERY_S = 30.0
_FILES = ("logits", "offsets", "hidden", "attentions")
#: above this estimated size hidden states / attentions are not cached (the teacher then runs online)
DEFAULT_MAX_BYTES = int(float(os.environ.get("AUTODISTILLER_TEACHER_CACHE_MAX_GB", "4")) * 2**30)


def teacher_fingerprint(model: torch.nn.Module) -> str:
    """A content hash of the teacher's weights (used when it has no cache key of its own)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu", torch.float32).numpy().tobytes())
    return digest.hexdigest()[:16]


def _split_fingerprint(split: EncodedSplit) -> str:
    digest = hashlib.sha256()
    for ids in split.input_ids:
        digest.update(ids.tobytes())
        digest.update(b"|")
    if split.token_type_ids is not None:
        for types in split.token_type_ids:
            digest.update(types.tobytes())
    return digest.hexdigest()[:16]


@dataclass
class TeacherOutputCache:
    """Read side of one cache entry. Arrays are memory-mapped: trials share the OS page cache."""

    directory: Path
    logits: np.ndarray
    offsets: np.ndarray
    hidden: np.ndarray | None
    attentions: np.ndarray | None

    @property
    def has_hidden(self) -> bool:
        return self.hidden is not None

    @property
    def has_attentions(self) -> bool:
        return self.attentions is not None

    def representations(self, indices: np.ndarray, attention_mask: torch.Tensor) -> Representations:
        """The teacher's outputs for a batch padded like the student's (``attention_mask`` gives the width)."""
        width, device = attention_mask.shape[1], attention_mask.device
        hidden = self.batch_hidden(indices, width).to(device)
        attentions = self.batch_attentions(indices, width).to(device) if self.has_attentions else None
        return Representations(
            hidden_states=tuple(hidden.unbind(0)),
            attention_mask=attention_mask,
            attentions=tuple(attentions.unbind(0)) if attentions is not None else None,
            logits=torch.from_numpy(self.batch_logits(indices)).to(device),
        )

    def batch_logits(self, indices: np.ndarray) -> np.ndarray:
        return np.asarray(self.logits[indices], dtype=np.float32)

    def batch_hidden(self, indices: np.ndarray, width: int) -> torch.Tensor:
        """``[L + 1, B, width, H]`` float32, zero past each example's length."""
        assert self.hidden is not None
        layers, size = self.hidden.shape[1], self.hidden.shape[2]
        out = np.zeros((layers, len(indices), width, size), dtype=np.float32)
        for row, i in enumerate(indices):
            start, end = self.offsets[i], self.offsets[i + 1]
            n = min(end - start, width)
            out[:, row, :n] = np.moveaxis(self.hidden[start:start + n], 0, 1)
        return torch.from_numpy(out)

    def batch_attentions(self, indices: np.ndarray, width: int) -> torch.Tensor:
        """``[L, B, heads, width, width]`` float32 scores, zero outside each example's tokens."""
        assert self.attentions is not None
        layers, heads = self.attentions.shape[:2]
        lengths = np.diff(self.offsets)
        squares = np.concatenate([[0], np.cumsum(lengths.astype(np.int64) ** 2)])
        out = np.zeros((layers, len(indices), heads, width, width), dtype=np.float32)
        for row, i in enumerate(indices):
            n = int(lengths[i])
            block = self.attentions[:, :, squares[i]:squares[i + 1]].reshape(layers, heads, n, n)
            m = min(n, width)
            out[:, row, :, :m, :m] = block[:, :, :m, :m]
        return torch.from_numpy(out)


def _stamp(directory: Path) -> tuple[tuple[str, int, int], ...]:
    return tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in directory.iterdir()))


@functools.lru_cache(maxsize=32)
def _verified(directory: str, stamp: tuple[tuple[str, int, int], ...]) -> bool:
    """Check every file against meta.json once per process (again whenever a file of the entry changes)."""
    meta = json.loads(Path(directory, "meta.json").read_text())
    for name, expected in meta["sha256"].items():
        path = Path(directory, f"{name}.npy")
        if not path.is_file() or path.stat().st_size != meta["bytes"][name] or sha256_of(path) != expected:
            return False
    return True


def _open(directory: Path) -> TeacherOutputCache | None:
    meta_path = directory / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        if not _verified(str(directory), _stamp(directory)):
            return None
        arrays = {name: np.load(directory / f"{name}.npy", mmap_mode="r")
                  for name in _FILES if (directory / f"{name}.npy").is_file()}
    except (OSError, ValueError, KeyError):
        return None
    return TeacherOutputCache(directory, arrays["logits"], arrays["offsets"], arrays.get("hidden"),
                              arrays.get("attentions"))


def _estimate(split: EncodedSplit, config: Any) -> tuple[int, int]:
    lengths = split.lengths.astype(np.int64)
    layers, hidden, heads = int(config.num_hidden_layers), int(config.hidden_size), int(config.num_attention_heads)
    return int(lengths.sum()) * (layers + 1) * hidden * 2, int((lengths ** 2).sum()) * layers * heads * 2


@torch.inference_mode()
def _compute(model: Any, split: EncodedSplit, directory: Path, *, hidden: bool, attentions: bool,
             device: torch.device, precision: str, batch_size: int, log: Callable[[str], None]) -> None:
    lengths = split.lengths.astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    config = model.config
    layers, size, heads = int(config.num_hidden_layers), int(config.hidden_size), int(config.num_attention_heads)
    squares = np.concatenate([[0], np.cumsum(lengths ** 2)])
    logits_out: np.ndarray | None = None
    hidden_out = (np.lib.format.open_memmap(directory / "hidden.npy", mode="w+", dtype=np.float16,
                                            shape=(int(offsets[-1]), layers + 1, size)) if hidden else None)
    attn_out = (np.lib.format.open_memmap(directory / "attentions.npy", mode="w+", dtype=np.float16,
                                          shape=(layers, heads, int(squares[-1]))) if attentions else None)
    dtype = autocast_dtype(precision, device)
    model.eval()
    batches = split.batch_indices(batch_size, shuffle=False)
    started = last_log = time.perf_counter()
    for number, indices in enumerate(batches, 1):
        if time.perf_counter() - last_log > _PROGRESS_EVERY_S:  # a long pass says how far it is
            last_log = time.perf_counter()
            done = number / len(batches)
            log(f"teacher cache: {number}/{len(batches)} batches, {done:.0%}, "
                f"~{(last_log - started) * (1 - done) / done:.0f}s left")
        batch = {k: v.to(device) for k, v in split.collate(indices).items()}
        with autocast(device, dtype):
            out = model(**model_inputs(batch), output_hidden_states=hidden, output_attentions=attentions)
        logits = out.logits.float().cpu().numpy()
        if logits_out is None:
            logits_out = np.zeros((len(split), logits.shape[-1]), dtype=np.float16)
        logits_out[indices] = logits
        if hidden_out is not None:
            stacked = torch.stack(out.hidden_states, dim=2).to(torch.float16).cpu().numpy()  # [B, T, L+1, H]
            for row, i in enumerate(indices):
                hidden_out[offsets[i]:offsets[i + 1]] = stacked[row, :lengths[i]]
        if attn_out is not None:
            scores = torch.stack(out.attentions, dim=0).to(torch.float16).cpu().numpy()  # [L, B, heads, T, T]
            for row, i in enumerate(indices):
                n = lengths[i]
                attn_out[:, :, squares[i]:squares[i + 1]] = scores[:, row, :, :n, :n].reshape(layers, heads, n * n)
    assert logits_out is not None
    np.save(directory / "logits.npy", logits_out)
    np.save(directory / "offsets.npy", offsets)
    for array in (hidden_out, attn_out):
        if array is not None:
            array.flush()
            del array


def _size(n: int) -> str:
    """``12.3 MiB`` / ``840 KiB``: a small cache does not read as empty."""
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


def teacher_output_cache(
    teacher_model: Any,
    split: EncodedSplit,
    *,
    teacher_key: str = "",
    hidden: bool = False,
    attentions: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
    device: torch.device | str = "cpu",
    precision: str = "auto",
    batch_size: int = 64,
    max_bytes: int = DEFAULT_MAX_BYTES,
    log: Callable[[str], None] = print,
    attention_context: Callable[[], Any] | None = None,
    shared: SharedTeacherCache | None = None,
) -> TeacherOutputCache | None:
    """The cache entry for ``teacher_model`` on ``split`` with the requested outputs, built on first use.

    Returns ``None`` when the requested hidden states / attentions would exceed ``max_bytes`` (long texts): the
    caller then runs the teacher online. ``attention_context`` wraps the teacher pass when raw attention scores
    are needed (the intermediate stage's :func:`attention_scores`). ``shared``: the cluster's shared tier
    (:class:`SharedTeacherCache`): a missing entry is downloaded from it, or built once for every node.
    """
    hidden_bytes, attention_bytes = _estimate(split, teacher_model.config)
    if (hidden and hidden_bytes > max_bytes) or (attentions and attention_bytes > max_bytes):
        log(f"teacher cache: {(hidden_bytes * hidden + attention_bytes * attentions) / 2**30:.1f} GiB of outputs "
            f"exceed the {max_bytes / 2**30:.1f} GiB limit (AUTODISTILLER_TEACHER_CACHE_MAX_GB): teacher runs online")
        return None
    key_parts = {"format": CACHE_FORMAT, "teacher": teacher_key or teacher_fingerprint(teacher_model),
                 "tokens": _split_fingerprint(split), "hidden": hidden, "attentions": attentions}
    key = hashlib.sha256(json.dumps(key_parts, sort_keys=True).encode()).hexdigest()[:20]
    root = cache_root(cache_dir) / "teacher_outputs"
    directory = root / key
    cached = _open(directory)
    if cached is not None:
        return cached
    if directory.exists():  # partial or corrupted: never used, rebuilt
        log(f"teacher cache: {directory} failed its checksum; rebuilding it")
        shutil.rmtree(directory, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)

    def build() -> None:
        _build(teacher_model, split, directory, key_parts, hidden=hidden, attentions=attentions, device=device,
               precision=precision, batch_size=batch_size, log=log, attention_context=attention_context)

    # a teacher without a key of its own was trained in this run (a born-again generation): no other node
    # ever asks for its outputs, so they stay local
    if shared is None or not teacher_key:
        build()
        opened = _open(directory)
        if opened is None:
            raise RuntimeError(f"teacher cache {directory} could not be read back after writing it.")
        return opened
    return through_shared(shared, key, directory, open_local=lambda: _open(directory), build=build, names=_FILES,
                          key_parts=key_parts, log=log)


def _build(teacher_model: Any, split: EncodedSplit, directory: Path, key_parts: dict[str, Any], *, hidden: bool,
           attentions: bool, device: torch.device | str, precision: str, batch_size: int,
           log: Callable[[str], None], attention_context: Callable[[], Any] | None) -> None:
    """Run the teacher over ``split`` into a temporary directory, write ``meta.json`` last and rename it into
    place as ``directory`` (another trial that got there first wins: its entry is kept)."""
    root = directory.parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=root))
    device = torch.device(device)
    original_device = next(teacher_model.parameters()).device
    try:
        teacher_model.to(device)
        with attention_context() if attention_context is not None else contextlib.nullcontext():
            _compute(teacher_model, split, tmp, hidden=hidden, attentions=attentions, device=device,
                     precision=precision, batch_size=batch_size, log=log)
        files = {name: tmp / f"{name}.npy" for name in _FILES if (tmp / f"{name}.npy").is_file()}
        meta = {"key": key_parts, "examples": len(split),
                "sha256": {name: sha256_of(path) for name, path in files.items()},
                "bytes": {name: path.stat().st_size for name, path in files.items()},
                "built_by": {"host": socket.gethostname(), "pid": os.getpid(), "at": time.time()}}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")  # last: marks the entry complete
        try:
            os.replace(tmp, directory)
        except OSError:  # another trial finished the same entry first: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        teacher_model.to(original_device)
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log(f"teacher cache: wrote {directory} ({len(split)} examples, {_size(sum(meta['bytes'].values()))})")
