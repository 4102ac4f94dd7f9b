"""The shared tier of the teacher-output cache, on a local "remote" directory: a second node's cache downloads
instead of building, a corrupted shared file is caught by its checksum and rebuilt, and who builds is decided
by the coordinator's claims (a claim its builder stops renewing passes on)."""

import json
import threading
import time

import numpy as np
import pytest

from autodistiller.engine import EncodedSplit, SharedTeacherCache, TeacherCacheCoordinator
from autodistiller.engine import _shared_cache as sc
from autodistiller.engine import _teacher_cache as tc
from autodistiller.tasks import encode_task


@pytest.fixture(scope="module")
def split(tiny_task, tiny_teacher):
    encoded = encode_task(tiny_task, tiny_teacher.tokenizer, 32)["train"]
    return EncodedSplit.from_dataset(encoded, tiny_teacher.tokenizer.pad_token_id)


@pytest.fixture
def builds(monkeypatch):
    """Every teacher pass that builds an entry, counted."""
    calls = []
    real_compute = tc._compute
    monkeypatch.setattr(tc, "_compute", lambda *a, **k: calls.append(1) or real_compute(*a, **k))
    return calls


def _cache(tiny_teacher, split, node_dir, shared, log=lambda _: None, **kwargs):
    return tc.teacher_output_cache(tiny_teacher.model, split, teacher_key=tiny_teacher.key, cache_dir=node_dir,
                                   hidden=True, log=log, shared=shared, **kwargs)


def _meta(directory):
    return json.loads((directory / "meta.json").read_text())


@pytest.mark.parametrize("as_uri", [False, True], ids=["path", "file-uri"])
def test_a_second_node_downloads_instead_of_building(tiny_teacher, split, tmp_path, builds, as_uri):
    remote = tmp_path / "storage"
    shared = SharedTeacherCache(remote.as_uri() if as_uri else str(remote))
    first = _cache(tiny_teacher, split, tmp_path / "node_a", shared)
    key = first.directory.name
    assert builds == [1]
    assert _meta(remote / "teacher_outputs" / key) == _meta(first.directory)  # uploaded, meta.json included

    lines = []
    second = _cache(tiny_teacher, split, tmp_path / "node_b", shared, log=lines.append)
    assert builds == [1], "the second node must download the entry, not build it"
    assert second.directory == tmp_path / "node_b" / "teacher_outputs" / key
    assert any("fetched" in line for line in lines)
    assert _meta(second.directory) == _meta(first.directory)  # the same build: same checksums, same builder
    np.testing.assert_array_equal(np.asarray(second.hidden), np.asarray(first.hidden))
    np.testing.assert_array_equal(np.asarray(second.logits), np.asarray(first.logits))
    again = _cache(tiny_teacher, split, tmp_path / "node_b", shared)  # now local: no download either
    assert again.directory == second.directory and builds == [1]


def test_a_corrupted_shared_file_is_detected_and_rebuilt(tiny_teacher, split, tmp_path, builds):
    remote = tmp_path / "storage"
    shared = SharedTeacherCache(str(remote))
    first = _cache(tiny_teacher, split, tmp_path / "node_a", shared)
    copy = remote / "teacher_outputs" / first.directory.name
    data = bytearray((copy / "hidden.npy").read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one flipped byte: only the checksum can tell
    (copy / "hidden.npy").write_bytes(bytes(data))

    lines = []
    second = _cache(tiny_teacher, split, tmp_path / "node_b", shared, log=lines.append)
    assert builds == [1, 1], "a corrupted shared copy is never used: the entry is rebuilt"
    assert any("failed its checksum (hidden.npy)" in line for line in lines)
    np.testing.assert_array_equal(np.asarray(second.hidden), np.asarray(first.hidden))
    assert _meta(copy)["sha256"] == _meta(second.directory)["sha256"]  # the shared copy was replaced
    assert sc.sha256_of(copy / "hidden.npy") == _meta(copy)["sha256"]["hidden"]
    _cache(tiny_teacher, split, tmp_path / "node_c", shared)
    assert builds == [1, 1]  # a third node downloads the repaired copy


def test_a_partial_or_foreign_shared_copy_is_not_used(tiny_teacher, split, tmp_path, builds):
    remote = tmp_path / "storage"
    shared = SharedTeacherCache(str(remote))
    first = _cache(tiny_teacher, split, tmp_path / "node_a", shared)
    copy = remote / "teacher_outputs" / first.directory.name
    (copy / "meta.json").unlink()  # an upload cut short: the files are there, the commit marker is not
    _cache(tiny_teacher, split, tmp_path / "node_b", shared)
    assert builds == [1, 1]
    meta = _meta(copy)
    meta["key"]["teacher"] = "another-teacher"  # a copy made for another key is refused
    (copy / "meta.json").write_text(json.dumps(meta))
    lines = []
    _cache(tiny_teacher, split, tmp_path / "node_c", shared, log=lines.append)
    assert builds == [1, 1, 1] and any("was made for another key" in line for line in lines)
    meta["key"] = _meta(first.directory)["key"]
    meta["sha256"]["../../escape"] = meta["sha256"].pop("logits")  # names outside the entry's files
    meta["bytes"]["../../escape"] = meta["bytes"].pop("logits")
    (copy / "meta.json").write_text(json.dumps(meta))
    lines = []
    _cache(tiny_teacher, split, tmp_path / "node_d", shared, log=lines.append)
    assert builds == [1, 1, 1, 1] and any("unexpected files" in line for line in lines)


def test_a_teacher_without_a_key_stays_local(tiny_teacher, split, tmp_path, builds):
    shared = SharedTeacherCache(str(tmp_path / "storage"))
    tc.teacher_output_cache(tiny_teacher.model, split, teacher_key="", cache_dir=tmp_path / "node_a",
                            log=lambda _: None, shared=shared)
    assert builds == [1] and not (tmp_path / "storage").exists()


def test_coordinator_claims_renewals_and_expiry():
    now = [0.0]
    coordinator = TeacherCacheCoordinator(lease_s=10, clock=lambda: now[0])
    assert coordinator.claim("k", "a") == "a"
    assert coordinator.claim("k", "b") == "a"  # b waits
    now[0] = 8
    assert coordinator.renew("k", "a") and not coordinator.renew("k", "b")
    now[0] = 17
    assert coordinator.claim("k", "b") == "a"  # renewed at 8: a's claim holds until 18
    now[0] = 18.5
    assert coordinator.claim("k", "b") == "b"  # a stopped renewing (its node died): b builds
    assert not coordinator.renew("k", "a")
    coordinator.release("k", "a", built=False)  # a late release by the old holder changes nothing
    assert coordinator.claim("k", "c") == "b"
    coordinator.release("k", "b", built=True)
    coordinator.fetched("k")
    assert coordinator.claim("k", "c") == "c"  # released: the next claimant gets it
    assert coordinator.stats() == {"builds": {"k": 1}, "fetches": {"k": 1}, "expired": {"k": 1}}
    with pytest.raises(ValueError, match="lease_s=0 must be > 0"):
        TeacherCacheCoordinator(lease_s=0)


def _key(tiny_teacher, split, tmp_path):
    return _cache(tiny_teacher, split, tmp_path / "scratch", None).directory.name


def test_a_waiting_trial_downloads_what_the_claim_holder_built(tiny_teacher, split, tmp_path, builds,
                                                                monkeypatch):
    key = _key(tiny_teacher, split, tmp_path)
    coordinator = TeacherCacheCoordinator()
    monkeypatch.setattr(sc, "_connect", lambda name, namespace: coordinator)
    shared = SharedTeacherCache(str(tmp_path / "storage"), coordinator="test")
    # a corrupted copy from an earlier build is there, and node a is building the entry again
    assert shared.publish(key, tmp_path / "scratch" / "teacher_outputs" / key, print)
    copy = tmp_path / "storage" / "teacher_outputs" / key
    (copy / "logits.npy").write_bytes((copy / "logits.npy").read_bytes()[:-8] + b"\0" * 8)
    assert coordinator.claim(key, "node-a") == "node-a"
    lines, result = [], {}
    waiter = threading.Thread(target=lambda: result.setdefault(
        "entry", _cache(tiny_teacher, split, tmp_path / "node_b", shared, log=lines.append)))
    waiter.start()
    deadline = time.monotonic() + 60
    while not any("waiting for node-a" in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any("waiting for node-a" in line for line in lines)
    time.sleep(2.5)  # a few polls: the corrupted copy is checked once, not downloaded again at every poll
    assert sum("failed its checksum (logits.npy)" in line for line in lines) == 1, lines
    # node a finishes: builds and uploads (as a trial without the coordinator would), then releases its claim
    _cache(tiny_teacher, split, tmp_path / "node_a", SharedTeacherCache(shared.root))
    coordinator.release(key, "node-a", built=True)
    waiter.join(timeout=60)
    assert result["entry"].directory == tmp_path / "node_b" / "teacher_outputs" / key
    assert builds == [1, 1]  # the scratch entry and node a's: node b built nothing
    assert coordinator.stats() == {"builds": {key: 1}, "fetches": {key: 1}, "expired": {}}


def test_a_claim_whose_builder_died_passes_to_a_waiting_trial(tiny_teacher, split, tmp_path, builds, monkeypatch):
    key = _key(tiny_teacher, split, tmp_path)
    coordinator = TeacherCacheCoordinator(lease_s=0.5)
    monkeypatch.setattr(sc, "_connect", lambda name, namespace: coordinator)
    shared = SharedTeacherCache(str(tmp_path / "storage"), coordinator="test", lease_s=0.5)
    assert coordinator.claim(key, "dead-node") == "dead-node"  # claimed, then never renewed
    lines = []
    entry = _cache(tiny_teacher, split, tmp_path / "node_b", shared, log=lines.append)
    assert any("waiting for dead-node" in line for line in lines)
    assert entry.directory == tmp_path / "node_b" / "teacher_outputs" / key
    assert builds == [1, 1]  # the scratch entry, then node b's own build after the claim expired
    assert coordinator.stats() == {"builds": {key: 1}, "fetches": {}, "expired": {key: 1}}
    assert (tmp_path / "storage" / "teacher_outputs" / key / "meta.json").is_file()  # and uploaded
