"""benchmarks/build_meta_dataset.py --collect-from: a build's finished tasks come back whole, unfinished ones
stay behind, and nothing already collected is duplicated."""

import importlib.util
import json
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def _build_module(root: Path):
    spec = importlib.util.spec_from_file_location("build_meta_dataset_under_test",
                                                  ROOT / "benchmarks" / "build_meta_dataset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ROOT, module.BUILD_LOG = root, root / module.OUT / "_build"
    return module


def _checkout(root: Path, tasks_with_features: list[str], searched: list[str]) -> None:
    out = root / "meta_dataset"
    (out / "_build").mkdir(parents=True)
    for task in searched:
        (out / f"task={task}").mkdir()
        (out / f"task={task}" / "part-0.parquet").write_bytes(b"rows of " + task.encode())
    pd.DataFrame({"task": tasks_with_features, "mf.train_size": range(len(tasks_with_features))}).to_parquet(
        out / "task_features.parquet", index=False)
    progress = [json.dumps({"experiment": f"{t}-{kind}", "exit_code": 0}) for t in searched
                for kind in ("portfolio", "tpe")]
    (out / "_build" / "progress.jsonl").write_text("\n".join(progress) + "\n")
    commands = [f"autodistiller search --task suite:{t} --name {t}-{kind} --trials 3" for t in searched
                for kind in ("portfolio", "tpe")]
    (out / "_build" / "commands.log").write_text("\n".join(commands) + "\n")


def test_collect_brings_finished_tasks_only(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "main", tmp_path / "build"
    _checkout(ours, ["trec6"], ["trec6"])
    # the build finished trec6 (copied at its start) and rotten_tomatoes; vader_amazon is still searching
    _checkout(theirs, ["trec6", "rotten_tomatoes"], ["trec6", "rotten_tomatoes", "vader_amazon"])
    module = _build_module(ours)

    assert module.collect(theirs) == ["rotten_tomatoes"]
    assert (ours / "meta_dataset" / "task=rotten_tomatoes" / "part-0.parquet").read_bytes() == b"rows of rotten_tomatoes"
    assert not (ours / "meta_dataset" / "task=vader_amazon").exists()
    progress = (ours / "meta_dataset" / "_build" / "progress.jsonl").read_text().splitlines()
    assert [json.loads(line)["experiment"] for line in progress] == [
        "trec6-portfolio", "trec6-tpe", "rotten_tomatoes-portfolio", "rotten_tomatoes-tpe"]
    commands = (ours / "meta_dataset" / "_build" / "commands.log").read_text()
    assert commands.count("--name rotten_tomatoes-") == 2 and "vader_amazon" not in commands
    assert list(pd.read_parquet(ours / "meta_dataset" / "task_features.parquet")["task"]) == ["trec6",
                                                                                               "rotten_tomatoes"]
    assert module.collect(theirs) == []  # a second collect adds nothing
    assert len((ours / "meta_dataset" / "_build" / "progress.jsonl").read_text().splitlines()) == 4
