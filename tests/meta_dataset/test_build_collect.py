"""benchmarks/build_meta_dataset.py --collect-from: the searches a pinned build finished come back whole (rows,
build log, meta-features), a search still running stays behind, and a second collect adds nothing."""

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _build_module(root: Path):
    spec = importlib.util.spec_from_file_location("build_meta_dataset_under_test",
                                                  ROOT / "benchmarks" / "build_meta_dataset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ROOT, module.BUILD_LOG = root, root / module.OUT / "_build"
    return module


def _checkout(root: Path, finished: list[str], running: list[str], featured: list[str]) -> None:
    out = root / "meta_dataset"
    (out / "_build").mkdir(parents=True)
    for experiment in finished + running:
        task = experiment.rsplit("-", 1)[0]
        (out / f"task={task}").mkdir(exist_ok=True)
        for trial in ("t1", "t2"):
            pd.DataFrame({"experiment_id": [experiment], "trial_id": [trial]}).to_parquet(
                out / f"task={task}" / f"{experiment}__{trial}.parquet", index=False)
    pd.DataFrame({"task": featured, "mf.train_size": range(len(featured))}).to_parquet(
        out / "task_features.parquet", index=False)
    progress = [json.dumps({"experiment": e, "exit_code": 0}) for e in finished]
    (out / "_build" / "progress.jsonl").write_text("".join(line + "\n" for line in progress))
    commands = [f"autodistiller search --task suite:{e.rsplit('-', 1)[0]} --name {e} --trials 2"
                for e in finished + running]
    (out / "_build" / "commands.log").write_text("".join(line + "\n" for line in commands))


def test_collect_brings_finished_searches_only(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "main", tmp_path / "build"
    _checkout(ours, ["trec6-portfolio", "trec6-tpe"], [], ["trec6"])
    # the build started from main (trec6), finished rotten_tomatoes and vader_amazon's portfolio, and was
    # stopped while vader_amazon-tpe ran (its rows so far are on disk, its progress line is not)
    _checkout(theirs, ["trec6-portfolio", "trec6-tpe", "rotten_tomatoes-portfolio", "rotten_tomatoes-tpe",
                       "vader_amazon-portfolio"], ["vader_amazon-tpe"], ["trec6", "rotten_tomatoes"])
    module = _build_module(ours)

    searches, lacking = module.collect(theirs)
    assert searches == ["rotten_tomatoes-portfolio", "rotten_tomatoes-tpe", "vader_amazon-portfolio"]
    assert lacking == ["vader_amazon"]  # its meta-features come once computed here (write_task_features)
    copied = sorted(p.name for p in (ours / "meta_dataset").glob("task=*/*.parquet"))
    assert [name for name in copied if "vader" in name] == ["vader_amazon-portfolio__t1.parquet",
                                                            "vader_amazon-portfolio__t2.parquet"]
    assert len(copied) == 10
    build = ours / "meta_dataset" / "_build"
    assert [json.loads(line)["experiment"] for line in (build / "progress.jsonl").read_text().splitlines()] == [
        "trec6-portfolio", "trec6-tpe", *searches]
    assert "--name vader_amazon-tpe" not in (build / "commands.log").read_text()
    assert (build / "commands.log").read_text().count("--name rotten_tomatoes-") == 2
    assert list(pd.read_parquet(ours / "meta_dataset" / "task_features.parquet")["task"]) == ["trec6",
                                                                                               "rotten_tomatoes"]
    assert module.collect(theirs) == ([], [])  # a second collect adds nothing
    assert len((build / "progress.jsonl").read_text().splitlines()) == 5


def test_a_compacted_file_mixing_finished_and_running_searches_is_refused(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "main", tmp_path / "build"
    _checkout(ours, [], [], [])
    _checkout(theirs, ["boolq-portfolio"], [], [])
    pd.DataFrame({"experiment_id": ["boolq-portfolio", "boolq-tpe"], "trial_id": ["a", "b"]}).to_parquet(
        theirs / "meta_dataset" / "task=boolq" / "compacted-1.parquet", index=False)
    with pytest.raises(SystemExit, match="finished and unfinished searches"):
        _build_module(ours).collect(theirs)


def test_a_resumed_build_computes_meta_features_only_where_searches_ran_or_none_exist(tmp_path: Path,
                                                                                      monkeypatch) -> None:
    """Each task's features need its teacher (minutes on a fresh machine): a task whose searches were all done
    before keeps the features it has; one whose search ran now, or that has none, gets them."""
    import autodistiller.augment
    from autodistiller import meta_dataset

    _checkout(tmp_path, [], [], ["trec6", "sms_spam"])
    module = _build_module(tmp_path)
    computed: list[list[str]] = []

    def write_task_features(tasks: list[str]) -> None:
        computed.append(list(tasks))
        path = tmp_path / "meta_dataset" / "task_features.parquet"
        known = pd.read_parquet(path)
        pd.concat([known, pd.DataFrame({"task": tasks, "mf.train_size": 0})]).to_parquet(path, index=False)

    ran_now = {"sms_spam-tpe"}
    monkeypatch.setattr(autodistiller.augment, "build_mlm", lambda *_: None)
    monkeypatch.setattr(meta_dataset, "load", lambda *_, **__: pd.DataFrame(
        {"task": ["trec6", "sms_spam", "rotten_tomatoes"]}))
    monkeypatch.setattr(module, "_portfolio_size", lambda task: 2)
    monkeypatch.setattr(module, "run_search", lambda name, *_: name in ran_now)
    monkeypatch.setattr(module, "top_up_command", lambda *_: None)
    monkeypatch.setattr(module, "write_task_features", write_task_features)
    monkeypatch.setattr(module, "write_manifest", lambda: None)
    module.main(["--tasks", "trec6,sms_spam,rotten_tomatoes", "--storage", str(tmp_path / "runs")])
    assert computed == [["sms_spam"], ["rotten_tomatoes"], []]
    computed.clear()
    ran_now.clear()
    module.main(["--tasks", "trec6", "--storage", str(tmp_path / "runs"), "--refresh-features"])
    assert computed == [["rotten_tomatoes", "sms_spam", "trec6"]]


def test_a_sigterm_to_the_build_stops_its_search_and_logs_the_searchs_wall_time(tmp_path: Path) -> None:
    """The manifest's CPU-hours come from the build log: a build stopped by a signal still logs the search it
    was running, and the search got the signal (it saves its state and exits) instead of running on orphaned."""
    import signal
    import subprocess
    import sys
    import time

    _checkout(tmp_path, [], [], [])
    script = f"""
import importlib.util, sys
from pathlib import Path
spec = importlib.util.spec_from_file_location("build", {str(ROOT / "benchmarks" / "build_meta_dataset.py")!r})
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
root = Path({str(tmp_path)!r})
module.ROOT, module.BUILD_LOG = root, root / "meta_dataset" / "_build"
module._logged_trials = lambda name: 0
module.search_argv = lambda command: [sys.executable, "-c", "import time; print('search up', flush=True); time.sleep(60)"]
module.run_search("boolq-portfolio", 30, ["autodistiller", "search"], Path("runs"))
"""
    build = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert build.stdout.readline().startswith("== boolq-portfolio: autodistiller search")
    assert build.stdout.readline().strip() == "search up"
    started = time.time()
    build.send_signal(signal.SIGTERM)
    assert build.wait(timeout=30) != 0 and time.time() - started < 30  # the search stopped, not slept on
    [record] = [json.loads(line) for line in (tmp_path / "meta_dataset" / "_build" / "progress.jsonl")
                .read_text().splitlines()]
    assert record["experiment"] == "boolq-portfolio" and record["exit_code"] == -signal.SIGTERM
    assert record["wall_seconds"] >= 0
