import datetime as dt
from pathlib import Path

import pytest

from autodistiller import PipelineConfig
from autodistiller import meta_dataset as md
from autodistiller.cli import main, parse_overrides


def test_options_lists_every_stage_and_option(capsys):
    assert main(["options"]) == 0
    out = capsys.readouterr().out
    for word in ("[student]", "[loss]", "[training]", "option annealing", "uses: loss.tau_max", "loss.temperature",
                 "student.layers"):
        assert word in out
    assert main(["options", "--stage", "loss"]) == 0
    assert "[training]" not in capsys.readouterr().out
    assert main(["options", "--stage", "losses"]) == 2
    assert "choose one of" in capsys.readouterr().err


def test_parse_overrides_reads_yaml_scalars():
    overrides = parse_overrides(["loss.kind=mse", "training.epochs=2", "training.learning_rate=1e-4",
                                 "intermediate.include_embeddings=false"])
    assert overrides["training.epochs"] == 2 and overrides["intermediate.include_embeddings"] is False
    cfg = PipelineConfig().replace(**overrides)  # YAML 1.1 reads 1e-4 as a string: the config takes it
    assert cfg.training.learning_rate == 1e-4 and cfg.loss.kind == "mse"


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "loss.kind=kld"], "loss.kind='kld' is not a registered prediction loss"),
    (["--set", "lossy"], "must look like KEY=VALUE"),
    (["--pipeline", "missing.yaml"], "does not exist"),
])
def test_distill_rejects_bad_pipelines_before_loading_anything(capsys, args, message):
    # the task does not even exist: the pipeline is checked first
    assert main(["distill", "--task", "suite:no_such_task", *args]) == 2
    assert message in capsys.readouterr().err


def test_bad_task_is_a_clear_cli_error(capsys, tmp_path):
    assert main(["teacher", "--task", "suite:trec7"]) == 2
    assert "is not a suite task; choose one of" in capsys.readouterr().err
    assert main(["search", "--task", "suite:trec6", "--space", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml does not exist" in capsys.readouterr().err


def test_task_flags_have_help_with_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["distill", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "column of the text, for a local file or Hub dataset (default: text)" in text
    assert "column of the class label or regression score (default: label)" in text
    assert "needed with --task-type pair (default: none" in text
    assert "(default: pair when --text-pair-column is given, else single)" in text


def test_pair_task_without_pair_column_is_a_clear_cli_error(capsys, tmp_path):
    data = tmp_path / "nli.csv"
    data.write_text("text,label\na,0\n")
    space = Path(__file__).parents[1] / "search_spaces" / "quick.yaml"
    assert main(["search", "--task", str(data), "--task-type", "pair", "--space", str(space)]) == 2
    assert "task_type='pair' needs the column of each example's second text" in capsys.readouterr().err


def test_trials_command_formats(capsys, tmp_path):
    now = dt.datetime.now(dt.timezone.utc)
    for i, score in enumerate([0.5, 0.9, 0.7]):
        md.write_row(tmp_path, "trec6", {"experiment_id": "e", "trial_id": f"t{i}", "status": "completed",
                                         "ended_at": now, "student_dev_score": score,
                                         **PipelineConfig().replace(**{"student.layers": i + 1}).to_flat()})
    assert main(["trials", "--meta-dataset", str(tmp_path), "--top", "2", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[1].split(",")[2] == "t1"  # best first
    assert "student.layers" in lines[0]  # searched columns are shown
    assert main(["trials", "--meta-dataset", str(tmp_path), "--format", "markdown", "--columns",
                 "trial_id,student_dev_score"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| trial_id | student_dev_score |") and "| t1 | 0.9 |" in out
    assert main(["trials", "--meta-dataset", str(tmp_path / "empty")]) == 2
    assert main(["trials", "--meta-dataset", str(tmp_path), "--columns", "nope"]) == 2


def test_trials_skip_bad_files(capsys, tmp_path):
    md.write_row(tmp_path, "trec6", {"experiment_id": "e", "trial_id": "t0", "status": "completed",
                                     "ended_at": dt.datetime.now(dt.timezone.utc), "student_dev_score": 0.5})
    broken = tmp_path / "task=trec6" / "e__t1.parquet"
    broken.write_bytes(b"garbage")
    assert main(["trials", "--meta-dataset", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{broken}: not a readable Parquet file" in err and "--skip-bad-files" in err
    assert main(["trials", "--meta-dataset", str(tmp_path), "--skip-bad-files", "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    assert f"skipped unreadable file {broken}" in err and "Warning" not in err
    assert len(out.strip().splitlines()) == 2 and ",t0," in out


_HEAVY = ("torch", "transformers", "ray", "pandas", "pyarrow", "datasets", "optuna", "sklearn")
_LIGHT_CLI = """
import sys
from autodistiller.cli import main
for argv in (["--help"], ["search", "--help"], ["search"], ["distill", "--task"]):
    try:
        main(argv)
    except SystemExit as exit:
        assert exit.code == (0 if "--help" in argv else 2), (argv, exit.code)
print(sorted(m for m in {heavy!r} if m in sys.modules))
"""


def test_help_and_argument_errors_print_without_the_heavy_stacks():
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _LIGHT_CLI.replace("{heavy!r}", repr(_HEAVY))], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "[]"  # no torch, transformers, ray, pandas, ... imported
    assert "usage: autodistiller search" in run.stdout and "the following arguments are required: --task" in run.stderr


def test_the_best_pipeline_is_printed_with_its_active_parameters_only():
    import math

    from autodistiller.cli import active_pipeline

    row = {**PipelineConfig().replace(**{"loss.kind": "mse"}).to_flat(), "loss.temperature": math.nan,
           "augment.eda_sr": None, "student_dev_score": 0.8}
    active = active_pipeline(row)
    assert active["loss.kind"] == "mse" and "loss.temperature" not in active and "augment.eda_sr" not in active
    assert "student_dev_score" not in active and list(active)[:1] == [next(iter(PipelineConfig().to_flat()))]


def test_trials_of_a_task_without_rows_say_so(capsys, tmp_path):
    now = dt.datetime.now(dt.timezone.utc)
    md.write_row(tmp_path, "trec6", {"experiment_id": "e", "trial_id": "t0", "status": "completed", "ended_at": now,
                                     "student_dev_score": 0.5})
    assert main(["trials", "--meta-dataset", str(tmp_path), "--task", "sst2"]) == 2
    captured = capsys.readouterr()
    assert "no trials match --task sst2" in captured.err and "its tasks are: trec6" in captured.err
    assert "Empty DataFrame" not in captured.out
    assert main(["trials", "--meta-dataset", str(tmp_path), "--task", "trec6", "--status", "failed"]) == 2


_FILLER = ["the", "movie", "plot", "was", "really", "quite", "a", "story", "and", "acting", "music", "film"]


def test_distill_on_a_pair_file_whose_pair_column_is_forgotten(capsys, tmp_path):
    """A question-answer file read without its pair column: every example reads the same question. The log
    names the unused column and its flag, teacher and student sit at the majority class and the summary says
    so, the TF-IDF baseline is printed beside them; the output folder holds split.json, and the saved student
    names its integer-coded classes."""
    import json
    import random

    from transformers import AutoConfig

    from autodistiller.testing import tiny_bert

    rng = random.Random(0)
    rows = []
    for i in range(80):
        label = int(i % 4 == 0)  # 25% yes
        words = rng.sample(_FILLER, 4) + [rng.choice(["good", "great", "superb"] if label else ["bad", "awful"])]
        rows.append({"question": "was the movie good", "answer": " ".join(words), "label": label})
    import pandas as pd

    pd.DataFrame(rows).to_csv(tmp_path / "qa.csv", index=False)
    backbone = tiny_bert(tmp_path / "backbone")
    out = tmp_path / "out"
    code = main(["distill", "--task", str(tmp_path / "qa.csv"), "--text-column", "question", "--label-names",
                 "no,yes", "--backbone", str(backbone), "--teacher-epochs", "2", "--teacher-learning-rate", "1e-3",
                 "--teacher-batch-size", "8", "--teacher-max-length", "32", "--set", "training.epochs=1",
                 "--set", "training.batch_size=8", "--set", "training.max_length=32", "--set", "student.layers=1",
                 "--cache-dir", str(tmp_path / "cache"), "--output", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "split: 80/10/10 train/validation/test, stratified by label, seed 13, of qa.csv" in printed
    assert "note: qa.csv has text columns this task does not read: 'answer' (median 5 words)" in printed
    assert "--text-pair-column COL" in printed
    assert "both sit at the majority-class dev accuracy" in printed
    assert "TF-IDF baseline: " in printed and "ms/example (tfidf+logreg" in printed
    split = json.loads((out / "split.json").read_text())
    assert split["method"] == "stratified" and split["seed"] == 13
    assert sum(entry["rows"] for entry in split["splits"].values()) == 80
    assert AutoConfig.from_pretrained(out / "student").id2label == {0: "no", 1: "yes"}
    result = json.loads((out / "result.json").read_text())
    assert any("majority-class" in note for note in result["notes"]) and result["baseline"]["model"] == "tfidf+logreg"
