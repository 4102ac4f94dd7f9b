"""Test helpers: a tiny BERT with its own tokenizer and a small learnable task, built offline in seconds.

They exercise the plumbing (config -> student -> loop -> result) without any asset; tests of real behaviour use
the offline suite.
"""

from autodistiller.testing._fixtures import (
    TINY_PIPELINES,
    log_result,
    one_torch_thread,
    tiny_bert,
    tiny_meta_dataset,
    tiny_task,
    tiny_teacher,
)
from autodistiller.testing._network import is_loopback, listening_sockets, probe
from autodistiller.testing._processes import end_processes_of

__all__ = ["TINY_PIPELINES", "end_processes_of", "log_result", "tiny_meta_dataset", "one_torch_thread", "tiny_bert", "tiny_task", "tiny_teacher", "is_loopback",
           "listening_sockets", "probe"]
