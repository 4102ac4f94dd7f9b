"""Resuming unpickles the experiment: a local storage path another user could write is refused before anything
is loaded."""

from __future__ import annotations

import os

import pytest

from autodistiller import ConfigError
from autodistiller.searcher import search, space_from_dict
from autodistiller.searcher._trust import check_private_storage


@pytest.fixture
def experiment(tmp_path):
    """A fake experiment dir with the files Tuner.restore reads, private to this user."""
    root = tmp_path / "storage"
    path = root / "exp"
    (path / "trial_0").mkdir(parents=True)
    (path / "tuner.pkl").write_bytes(b"not really a pickle")
    (path / "trial_0" / "params.pkl").write_bytes(b"")
    for directory in (tmp_path, root, path, path / "trial_0"):
        directory.chmod(0o755)
    return path


def test_a_private_experiment_passes(experiment):
    assert check_private_storage(experiment) is None  # no ConfigError


@pytest.mark.parametrize(("relative", "mode", "who"), [
    ("", 0o777, "group and others"),
    ("tuner.pkl", 0o646, "other users"),
    ("trial_0/params.pkl", 0o664, "its group"),
    ("trial_0", 0o775, "its group"),
])
def test_an_entry_writable_by_others_is_refused(experiment, relative, mode, who):
    target = experiment / relative if relative else experiment
    target.chmod(mode)
    with pytest.raises(ConfigError, match=f"refusing to resume from {experiment}: {target} is writable by {who}") as info:
        check_private_storage(experiment)
    assert f"chmod go-w {target}" in str(info.value)


def test_a_parent_writable_by_others_is_refused_unless_sticky(experiment):
    parent = experiment.parent
    parent.chmod(0o777)
    with pytest.raises(ConfigError, match=f"{parent} is writable by group and others"):
        check_private_storage(experiment)
    parent.chmod(0o1777)  # like /tmp: nobody may rename another user's entries
    check_private_storage(experiment)


@pytest.mark.skipif(os.getuid() != 0, reason="making a file owned by another user needs root (chown)")
def test_an_entry_owned_by_another_user_is_refused(experiment):
    os.chown(experiment / "tuner.pkl", 65534, 65534)
    with pytest.raises(ConfigError, match="tuner.pkl is owned by uid 65534, not by you"):
        check_private_storage(experiment)


def test_search_refuses_to_resume_from_a_world_writable_experiment_before_any_work(experiment, tiny_task, tmp_path):
    experiment.chmod(0o777)
    space = space_from_dict({"parameters": {"loss.kind": "kl"}})
    # no teacher given: without the check, resuming would fine-tune one (into a throw-away cache), then unpickle
    with pytest.raises(ConfigError, match="refusing to resume"):
        search(tiny_task, space, storage=str(experiment.parent), name="exp", resume=True, log=lambda _: None,
               cache_dir=tmp_path / "cache")
