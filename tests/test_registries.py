"""The pipeline registries fill themselves on first lookup: ``import autodistiller`` stays light, and whoever
reads a registry sees every option."""

from __future__ import annotations

import subprocess
import sys

import pytest

from autodistiller.errors import UnknownOptionError

_FRESH = """
import sys
import autodistiller
heavy = [m for m in ("torch", "transformers", "ray", "pandas") if m in sys.modules]
assert heavy == [], heavy
from autodistiller.registries import PREDICTION_LOSSES, PROCEDURES
assert PREDICTION_LOSSES.names() == ["annealing", "kl", "mse", "none"], PREDICTION_LOSSES.names()
assert "takd" in PROCEDURES and "torch" in sys.modules
try:
    autodistiller.PipelineConfig.from_flat({"procedure.kind": "tkad"})
except autodistiller.UnknownOptionError as error:
    assert "choose one of: annealing_mate, born_again" in str(error), error
print(autodistiller.distill.__module__, autodistiller.meta_dataset.__name__)
"""


def test_importing_autodistiller_is_light_and_lookups_fill_every_registry():
    run = subprocess.run([sys.executable, "-c", _FRESH], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split() == ["autodistiller.engine._run", "autodistiller.meta_dataset"]


def test_a_registry_imports_its_providers_on_first_lookup(tmp_path, monkeypatch):
    (tmp_path / "words_registry.py").write_text(
        "from autodistiller.registries import Registry\nWORDS = Registry('word', providers=['words_provider'])\n")
    (tmp_path / "words_provider.py").write_text("from words_registry import WORDS\nWORDS.register('hello')(object)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        from words_registry import WORDS

        assert "words_provider" not in sys.modules  # registering needs no import of the provider up front
        assert WORDS.names() == ["hello"] and len(WORDS) == 1 and "hello" in WORDS
        with pytest.raises(UnknownOptionError, match="choose one of: hello"):
            WORDS.get("bye")
    finally:
        sys.modules.pop("words_registry", None)
        sys.modules.pop("words_provider", None)
