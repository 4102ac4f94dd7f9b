"""The model-free augmenters (none, random, eda), the pipeline and its vocabulary."""

from __future__ import annotations

import numpy as np
import pytest

from autodistiller.augment import (
    AUGMENTERS,
    AugmentationPipeline,
    EDAAugmenter,
    RandomSwapAugmenter,
    build_pipeline,
    load_wordnet,
    ordered_pipelines,
)
from autodistiller.augment._eda import operation_count
from autodistiller.errors import ConfigError, UnknownOptionError

# 40 distinct alphabetic tokens (waa, wab, ...): every moved word shows up as a changed position
WORDS = [f"w{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(40)]


class Synonyms:
    """A stand-in WordNet: every word has exactly one synonym, itself + 'syn'."""

    def synonyms(self, word: str) -> list[str]:
        return [word.lower() + "syn"]


def changed_fraction(before: str, after: str) -> float:
    a, b = before.split(), after.split()
    assert len(a) == len(b)
    return sum(x != y for x, y in zip(a, b, strict=True)) / len(a)


def test_registry_holds_the_canonical_names():
    assert AUGMENTERS.names() == ["back_translation", "contextual", "eda", "none", "random"]
    for name, cls in AUGMENTERS.items():
        assert isinstance(cls.uses, tuple), name


@pytest.mark.parametrize("spec", ["none", "random", "eda", "random+eda"])
def test_seeded_determinism(spec, sms_texts):
    pipeline = build_pipeline(spec, params={"aug_p": 0.2})
    first = pipeline(sms_texts, np.random.default_rng(7))
    assert first == pipeline(sms_texts, np.random.default_rng(7))
    assert len(first) == len(sms_texts)
    if spec != "none":
        assert first != pipeline(sms_texts, np.random.default_rng(8))
    else:
        assert first == sms_texts


@pytest.mark.parametrize("aug_p", [0.1, 0.3])
def test_random_swap_rate(aug_p):
    text = " ".join(WORDS)
    augmenter = RandomSwapAugmenter(aug_p)
    out = augmenter([text] * 300, np.random.default_rng(0))
    fractions = np.array([changed_fraction(text, o) for o in out])
    expected = 2 * augmenter.swaps(len(WORDS)) / len(WORDS)  # each swap moves two words
    # Swaps whose word has already moved are skipped, so the rate is a little under the nominal one.
    assert 0.8 * expected <= fractions.mean() <= expected
    assert all(sorted(o.split()) == sorted(WORDS) for o in out)  # swaps only: the same words


def test_random_swap_short_and_empty_texts():
    rng = np.random.default_rng(0)
    assert RandomSwapAugmenter(0.5)(["", "one", "two words"], rng) == ["", "one", "words two"]


def test_eda_synonym_replacement_count_exact():
    text = " ".join(WORDS)
    eda = EDAAugmenter(aug_p=0.0, eda_sr=0.2, wordnet=Synonyms())
    out = eda([text] * 50, np.random.default_rng(1))
    n = operation_count(0.2, len(WORDS))
    assert n == 8
    for o in out:
        tokens = o.split()
        assert sum(t.endswith("syn") for t in tokens) == n
        assert all(t == w or t == w + "syn" for t, w in zip(tokens, WORDS, strict=True))


def test_eda_insertion_and_swap_counts():
    text = " ".join(WORDS)
    inserted = EDAAugmenter(aug_p=0.0, eda_ri=0.1, wordnet=Synonyms())([text] * 20, np.random.default_rng(2))
    assert all(len(o.split()) == len(WORDS) + operation_count(0.1, len(WORDS)) for o in inserted)
    swapped = EDAAugmenter(aug_p=0.0, eda_rs=0.1, wordnet=Synonyms())([text] * 200, np.random.default_rng(3))
    fractions = np.array([changed_fraction(text, o) for o in swapped])
    # 4 swaps of two random positions: at most 8 of 40 words move (fewer when swaps overlap).
    assert 0.13 <= fractions.mean() <= 0.2


@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_eda_deletion_rate(rate):
    text = " ".join(WORDS)
    out = EDAAugmenter(aug_p=0.0, eda_rd=rate, wordnet=Synonyms())([text] * 400, np.random.default_rng(4))
    deleted = np.array([1 - len(o.split()) / len(WORDS) for o in out])
    # Binomial(40, rate) per text, 400 texts: the mean is within 4 standard errors of the rate.
    assert abs(deleted.mean() - rate) < 4 * np.sqrt(rate * (1 - rate) / (40 * 400))


def test_eda_one_operation_per_output():
    text = " ".join(WORDS)
    out = EDAAugmenter(aug_p=0.1, wordnet=Synonyms())([text] * 200, np.random.default_rng(5))
    kinds = set()
    for o in out:
        tokens = o.split()
        if len(tokens) > len(WORDS):
            kinds.add("ri")
        elif len(tokens) < len(WORDS):
            kinds.add("rd")
        elif any(t.endswith("syn") for t in tokens):
            kinds.add("sr")
            assert sorted(t.removesuffix("syn") for t in tokens) == sorted(WORDS)
        else:
            kinds.add("rs")
    assert kinds == {"sr", "ri", "rs", "rd"}


def test_eda_with_real_wordnet_keeps_punctuation_and_case():
    wordnet = load_wordnet()
    assert "film" in wordnet.synonyms("movie") and "film" in wordnet.synonyms("movies")
    assert wordnet.synonyms("the") == []
    eda = EDAAugmenter(aug_p=0.0, eda_sr=1.0)
    for seed in range(5):
        out = eda(["Movie, the."], np.random.default_rng(seed))[0]
        assert out.endswith(", the.")
        replaced = out.removesuffix(", the.")
        assert replaced[0].isupper() and replaced.lower() in wordnet.synonyms("movie")


def test_rates_are_validated_with_their_names():
    with pytest.raises(ConfigError, match="aug_p=1.5"):
        RandomSwapAugmenter(1.5)
    with pytest.raises(ConfigError, match="eda_rd=-0.1"):
        EDAAugmenter(eda_rd=-0.1)


def test_build_pipeline_routes_parameters_and_options():
    pipeline = build_pipeline("random+eda+none", params={"augment.aug_p": 0.3, "eda_rd": 0.05, "contextual_top_k": 3},
                              options={"eda": {"wordnet": Synonyms()}})
    assert isinstance(pipeline, AugmentationPipeline) and pipeline.name == "random+eda"
    random_step, eda_step = pipeline.steps
    assert random_step.aug_p == 0.3 and eda_step.aug_p == 0.3 and eda_step.eda_rd == 0.05
    assert isinstance(eda_step.wordnet, Synonyms)
    assert pipeline.uses == ("aug_p", "eda_sr", "eda_ri", "eda_rs", "eda_rd")
    same = build_pipeline(["random", ("eda", {"aug_p": 0.3, "eda_rd": 0.05})])
    assert same.fingerprint()["name"] == pipeline.fingerprint()["name"]
    assert build_pipeline("none").name == "none" and len(build_pipeline("none")) == 0
    with pytest.raises(UnknownOptionError, match="augment.pipeline='synonym'.*back_translation, contextual"):
        build_pipeline("random+synonym")


def test_fingerprint_changes_with_parameters():
    a = build_pipeline("random", params={"aug_p": 0.1}).fingerprint()
    assert a == build_pipeline("random", params={"aug_p": 0.1}).fingerprint()
    assert a != build_pipeline("random", params={"aug_p": 0.3}).fingerprint()


def test_ordered_pipelines_are_the_distiller_fifteen():
    pipelines = ordered_pipelines()
    assert len(pipelines) == len(set(pipelines)) == 15
    assert "random+contextual" in pipelines and "contextual+back_translation+random" in pipelines
    for flat in pipelines:
        build_pipeline(flat)  # every flat name builds (resources load lazily, on first call)
