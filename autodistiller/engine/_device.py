"""Device selection and mixed precision: the GPU when there is one, CPU otherwise."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np
import torch

__all__ = ["select_device", "autocast_dtype", "autocast", "seed_everything", "set_threads"]


def select_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else the first CUDA GPU (Ray sets ``CUDA_VISIBLE_DEVICES`` per trial), else CPU."""
    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``training.precision``; ``None`` means full fp32."""
    if precision == "auto":
        return torch.float16 if device.type == "cuda" else None
    if precision == "fp16":
        if device.type != "cuda":
            raise ValueError("training.precision='fp16' needs a CUDA device; use 'bf16' or 'fp32' on CPU.")
        return torch.float16
    if precision == "bf16":
        return torch.bfloat16
    return None


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_threads(num_threads: int | None = None) -> int:
    """Match torch's intra-op threads to the CPUs given (Ray sets ``OMP_NUM_THREADS`` to a trial's CPUs)."""
    if num_threads is None:
        env = os.environ.get("OMP_NUM_THREADS")
        num_threads = int(env) if env and env.isdigit() else (os.cpu_count() or 1)
    num_threads = max(1, num_threads)
    if torch.get_num_threads() != num_threads:
        torch.set_num_threads(num_threads)
    return num_threads
