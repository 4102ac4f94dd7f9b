"""Build (or extend, or resume) the shipped meta-dataset: real searches of the Distiller space, task by task.

For each task, two searches with the project's own CLI, one trial at a time on all CPUs:
1. ``<task>-portfolio``: the shared portfolio (meta_dataset/portfolio.yaml) run in order, FIFO (no early
   stopping), so every task has the same pipelines, completed;
2. ``<task>-tpe``: multivariate TPE + ASHA over search_spaces/distiller_meta.yaml for the rest, each trial
   capped at TPE_TRIAL_LIMIT; ``<task>-tpe2`` tops a task up to MIN_TRIALS rows if it has fewer.
The teacher is fine-tuned once per task (cached). Every command is printed and appended to
``meta_dataset/_build/commands.log``; each search's wall seconds go to ``meta_dataset/_build/progress.jsonl``
(shipped with the rows: the manifest's commands and CPU-hours span every session that built them; folders
starting with ``_`` are never read as rows). The experiments themselves stay in ``--storage``. Run it again to
resume: finished searches are skipped, an interrupted one continues with ``--resume``. At the end the rows are
compacted (one file per task) and ``meta_dataset/MANIFEST.md`` is written.

A long build runs in a worktree pinned to one commit (so the code that writes the rows does not change under
it), and the searches it finished are brought back into the main checkout with ``--collect-from`` (the next
build there skips them):

    python benchmarks/build_meta_dataset.py --tasks trec6,wiki_uncertainty [--storage runs/meta_build]
    python benchmarks/build_meta_dataset.py --manifest-only
    python benchmarks/build_meta_dataset.py --collect-from ../mdrun
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPACE = "search_spaces/distiller_meta.yaml"
PORTFOLIO = "meta_dataset/portfolio.yaml"
OUT = "meta_dataset"
#: the build's own log, shipped beside the rows: the commands that ran and each search's wall time
BUILD_LOG = ROOT / OUT / "_build"
#: the 15 tasks: 13 families, a pair task (boolq), 2 regression tasks (vader_*)
TASKS = ("trec6", "wiki_uncertainty", "sms_spam", "rotten_tomatoes", "vader_amazon", "boolq", "trec_fine",
         "disaster_tweets", "election_tweets", "news_outlets", "rt_subjectivity", "reuters8", "vader_tweets",
         "newsgroups20", "surname_nationality")
TPE_TRIALS = 13
#: each TPE trial's wall-clock limit: a random start-up trial can draw the space's most expensive combinations
#: (Born-Again or TAKD with 4 augmented copies and MATE: up to 23 min here); past it the trial stops at its
#: next epoch and keeps an early-stopped row. (trec6, wiki_uncertainty and sms_spam ran with a search-wide
#: `--time-budget 25m` instead, which left trials unstarted: wiki_uncertainty got a top-up search.)
TPE_TRIAL_LIMIT = "4m"
#: a task with fewer rows after its two searches gets a top-up TPE search (<task>-tpe2) of the missing trials
MIN_TRIALS = 40
TEACHER = ["--teacher-epochs", "2", "--teacher-max-length", "64", "--teacher-max-train-examples", "4000"]
TRIAL = ["--max-concurrent", "1", "--cpus-per-trial", "2", "--no-save-students"]


def _portfolio_size(task: str) -> int:
    """The portfolio's pipelines that ``task`` runs: a regression task runs kl's counterpart (mse) and leaves out
    what it cannot run or what the change repeats (the search does the same, and logs each change)."""
    sys.path.insert(0, str(ROOT))
    from autodistiller import TaskSpec
    from autodistiller.searcher import load_points, load_space

    space = load_space(ROOT / SPACE)
    points = [space.complete_point(p) for p in load_points(ROOT / PORTFOLIO)]
    card = TaskSpec(f"suite:{task}").load().card
    kind = {"is_regression": bool(card.is_regression), "is_pair": bool(card.has_pair)}
    return len(space.for_task(**kind)[0].adapt_points(points, **kind)[0])


def search_commands(task: str, index: int, storage: str, portfolio: int) -> list[tuple[str, int, list[str]]]:
    """(experiment name, trials, command) of the task's two searches."""
    common = _common(task, storage)
    return [
        (f"{task}-portfolio", portfolio,
         [*common, "--name", f"{task}-portfolio", "--warm-start-from", PORTFOLIO, "--trials", str(portfolio),
          "--scheduler", "fifo"]),
        (f"{task}-tpe", TPE_TRIALS, tpe_command(common, f"{task}-tpe", TPE_TRIALS, seed=index)),
    ]


def _common(task: str, storage: str) -> list[str]:
    """The arguments every search of ``task`` shares: space, storage, rows, trial resources, teacher."""
    return ["autodistiller", "search", "--task", f"suite:{task}", "--space", SPACE, "--storage", storage,
            "--meta-dataset", OUT, *TRIAL, *TEACHER]


def tpe_command(common: list[str], name: str, trials: int, *, seed: int) -> list[str]:
    return [*common, "--name", name, "--trials", str(trials), "--scheduler", "asha", "--sampler", "tpe",
            "--seed", str(seed), "--trial-time-limit", TPE_TRIAL_LIMIT]


def top_up_command(task: str, index: int, storage: str) -> tuple[str, int, list[str]] | None:
    """The top-up TPE search of a task whose searches logged fewer than MIN_TRIALS rows (None if it has enough;
    once run, it is the task's last search: its own trial count is what it needed then)."""
    from autodistiller import meta_dataset

    name = f"{task}-tpe2"
    rows = meta_dataset.load(ROOT / OUT, filters={"task": task}, columns=["experiment_id", "status"])
    rows = rows[rows["status"] != "interrupted"]
    earlier = int((rows["experiment_id"] != name).sum())
    if earlier >= MIN_TRIALS:
        return None
    missing = MIN_TRIALS - earlier
    return name, missing, tpe_command(_common(task, storage), name, missing, seed=100 + index)


def _logged_trials(experiment: str) -> int:
    from autodistiller import meta_dataset

    if not meta_dataset.list_files(ROOT / OUT):
        return 0
    frame = meta_dataset.load(ROOT / OUT, filters={"experiment_id": experiment}, columns=["status"])
    return int((frame["status"] != "interrupted").sum())


def teacher_training():
    """The teacher settings of ``TEACHER`` as a TrainingConfig (what the CLI builds from those flags)."""
    from autodistiller.config import TrainingConfig
    from autodistiller.models import TEACHER_TRAINING

    flags = dict(zip(TEACHER[::2], TEACHER[1::2], strict=True))
    return TrainingConfig(**{**TEACHER_TRAINING.__dict__, "epochs": int(flags["--teacher-epochs"]),
                             "max_length": int(flags["--teacher-max-length"]),
                             "max_train_examples": int(flags["--teacher-max-train-examples"])})


def write_task_features(tasks: list[str]) -> Path:
    """``meta_dataset/task_features.parquet``: every meta-feature of each task (the recommender's inputs), from
    the same cached teacher its searches used; rows written before a meta-feature existed lack it."""
    import pandas as pd

    from autodistiller import TaskSpec
    from autodistiller.engine import fine_tune_teacher
    from autodistiller.recommend import task_features

    path = ROOT / OUT / "task_features.parquet"
    known = pd.read_parquet(path).set_index("task") if path.is_file() else pd.DataFrame()
    rows = {task: dict(row) for task, row in known.iterrows()}
    for task in tasks:
        spec = TaskSpec(f"suite:{task}").load()
        teacher = fine_tune_teacher(spec, training=teacher_training(), log=print)
        rows[task] = task_features(spec, teacher, log=print)
    frame = pd.DataFrame.from_dict(rows, orient="index").rename_axis("task").reset_index()
    frame.to_parquet(path, index=False)
    return path


def _finished(name: str) -> bool:
    """Whether the search ran to its end before (exit code 0: every trial, or its time budget, done)."""
    return name in _finished_searches(BUILD_LOG)


def search_argv(command: list[str]) -> list[str]:
    """The process that runs ``command`` (``autodistiller search ...``) with this interpreter."""
    return [sys.executable, "-c", "import sys; from autodistiller.cli import main; sys.exit(main())", *command[1:]]


def run_search(name: str, trials: int, command: list[str], storage: Path) -> bool:
    """Run (or resume) the search ``name`` unless it finished before; whether it ran."""
    if _logged_trials(name) >= trials or _finished(name):
        print(f"== {name}: done ({_logged_trials(name)} trials logged)", flush=True)
        return False
    if (ROOT / storage / name / "tuner.pkl").is_file():
        command = [*command, "--resume"]
    print(f"== {name}: {shlex.join(command)}", flush=True)
    BUILD_LOG.mkdir(parents=True, exist_ok=True)
    with open(BUILD_LOG / "commands.log", "a") as log:
        log.write(shlex.join(command) + "\n")
    started = time.time()
    process = subprocess.Popen(search_argv(command), cwd=ROOT)
    # a SIGTERM to the build stops the search the way a SIGTERM to the search does (its state saved, its
    # running trials marked interrupted), and its wall time is still logged (the manifest's CPU-hours)
    previous = signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    try:
        process.wait()
    finally:  # after a Ctrl-C too: the search has it as well (one process group) and stops
        signal.signal(signal.SIGTERM, previous)
        code = process.wait()
        record = {"experiment": name, "exit_code": code, "wall_seconds": round(time.time() - started, 1),
                  "resumed": "--resume" in command, "ended": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        with open(BUILD_LOG / "progress.jsonl", "a") as progress:
            progress.write(json.dumps(record) + "\n")
    if code != 0:
        raise SystemExit(f"{name} exited with {code}; run this script again to resume it.")
    return True


def tasks_with_features() -> set[str]:
    """The tasks ``meta_dataset/task_features.parquet`` already has."""
    import pandas as pd

    path = ROOT / OUT / "task_features.parquet"
    return set(pd.read_parquet(path, columns=["task"])["task"]) if path.is_file() else set()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated suite tasks, in order")
    parser.add_argument("--storage", default="runs/meta_build", help="experiments (not shipped)")
    parser.add_argument("--manifest-only", action="store_true", help="only compact the rows and write the manifest")
    parser.add_argument("--refresh-features", action="store_true",
                        help="compute every task's meta-features again (by default only a task whose searches "
                             "ran now, or that has none yet: each needs its teacher, minutes on a fresh machine)")
    parser.add_argument("--collect-from", default=None, metavar="CHECKOUT",
                        help="bring the searches a build in another checkout finished (rows, build log, "
                             "features) into this one, then write the manifest")
    args = parser.parse_args(argv)
    if args.collect_from:
        searches, lacking = collect(Path(args.collect_from))
        print(f"collected: {', '.join(searches) or 'no finished search'}")
        if lacking:
            write_task_features(lacking)
        write_manifest()
        return
    storage = Path(args.storage)  # relative to the repository (the commands run there): the logged commands stay
    (ROOT / storage).mkdir(parents=True, exist_ok=True)  # valid in any clone
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if not args.manifest_only:
        from autodistiller._paths import cache_root
        from autodistiller.augment import build_mlm

        build_mlm(cache_root())  # the masked LM of contextual / text_smoothing / mate, once, outside any trial
        for task in tasks:
            index = TASKS.index(task) if task in TASKS else len(TASKS)
            ran = [run_search(name, trials, command, storage)
                   for name, trials, command in search_commands(task, index, str(storage), _portfolio_size(task))]
            top_up = top_up_command(task, index, str(storage))
            if top_up is not None:
                ran.append(run_search(*top_up, storage))
            if any(ran) or task not in tasks_with_features():
                write_task_features([task])
    from autodistiller import meta_dataset

    logged = sorted(meta_dataset.load(ROOT / OUT, columns=["task"])["task"].unique())
    write_task_features([t for t in logged if args.refresh_features or t not in tasks_with_features()])
    write_manifest()


def _task_of(experiment: str) -> str:
    return experiment.rsplit("-", 1)[0]


def _finished_searches(build_log: Path) -> set[str]:
    """The searches whose run ended with exit code 0, as the build log ``build_log`` records them."""
    progress = build_log / "progress.jsonl"
    lines = progress.read_text().splitlines() if progress.is_file() else []
    return {r["experiment"] for r in map(json.loads, filter(str.strip, lines)) if r.get("exit_code") == 0}


def collect(checkout: Path) -> tuple[list[str], list[str]]:
    """Copy into this checkout the searches that a build running in ``checkout`` (a worktree pinned to a commit)
    finished and this one lacks: their row files, their lines of the build log, their tasks' meta-features.

    Returns (the searches collected, the collected tasks that still lack meta-features here: a task whose
    later searches had not finished; ``write_task_features`` computes them). A search still running stays
    behind: its rows resume only with that checkout's experiment storage, and the next build here runs it
    again from its start.
    """
    import pandas as pd
    import pyarrow.parquet as pq

    theirs, ours = checkout / OUT, ROOT / OUT
    done = _finished_searches(theirs / "_build") - _finished_searches(BUILD_LOG)
    for path in sorted(theirs.glob("task=*/*.parquet")):
        target = ours / path.parent.name / path.name
        if target.exists():
            continue
        experiments = set(pq.read_table(path, columns=["experiment_id"]).column(0).to_pylist())
        if experiments and experiments <= done:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        elif experiments & done:
            raise SystemExit(f"{path} holds rows of finished and unfinished searches ({sorted(experiments)}): "
                             "collect before the build compacts its rows, or copy its task partition by hand.")
    for name, experiment_of in (("progress.jsonl", lambda line: json.loads(line)["experiment"]),
                                ("commands.log", lambda line: line.split(" --name ")[1].split()[0])):
        lines = [line for line in (theirs / "_build" / name).read_text().splitlines()
                 if line.strip() and experiment_of(line) in done]
        if lines:
            BUILD_LOG.mkdir(parents=True, exist_ok=True)
            with open(BUILD_LOG / name, "a") as out:
                out.write("\n".join(lines) + "\n")
    tasks = {_task_of(e) for e in done}
    features_file = ours / "task_features.parquet"
    known = pd.read_parquet(features_file) if features_file.is_file() else pd.DataFrame({"task": []})
    features = pd.read_parquet(theirs / "task_features.parquet")
    arriving = features[features["task"].isin(tasks - set(known["task"]))]
    if not arriving.empty:
        pd.concat([known, arriving], ignore_index=True).to_parquet(features_file, index=False)
    return sorted(done), sorted(tasks - set(known["task"]) - set(arriving["task"]))


def write_manifest() -> Path:
    """Compact the rows (one file per task) and write meta_dataset/MANIFEST.md from the rows themselves, the
    commands that made them and their measured cost."""
    import platform

    import pandas as pd

    from autodistiller import meta_dataset

    root = ROOT / OUT
    meta_dataset.compact(root)
    report = meta_dataset.validate(root)
    frame = meta_dataset.load(root)
    progress = [json.loads(line) for line in (BUILD_LOG / "progress.jsonl").read_text().splitlines() if line.strip()]
    cost = pd.DataFrame(progress)
    cost["task"] = cost["experiment"].map(_task_of)
    # searches' wall time (teacher, Ray start-up, every trial) x the 2 cores they held; trials' own core time
    wall_hours = (cost.groupby("task")["wall_seconds"].sum() / 3600).round(2)
    cpu_hours = (wall_hours * 2).round(2)
    trial_hours = (frame.assign(core=frame["wall_seconds"] * frame["trial_cpus"]).groupby("task")["core"].sum()
                   / 3600).round(2)
    counts = frame.pivot_table(index="task", columns="status", values="trial_id", aggfunc="count", fill_value=0)
    counts["trials"] = counts.sum(axis=1)
    counts["family"] = frame.groupby("task")["task_family"].first()
    counts["cpu_hours"], counts["trial_cpu_hours"], counts["wall_hours"] = cpu_hours, trial_hours, wall_hours
    commits = sorted(set(frame["git_commit"].dropna()))
    commands = (BUILD_LOG / "commands.log").read_text().splitlines() if (BUILD_LOG / "commands.log").is_file() else []
    table = counts.reset_index()
    lines = [
        "# The shipped meta-dataset: manifest",
        "",
        "Written by `python benchmarks/build_meta_dataset.py` from the rows themselves. Nothing here is synthetic,",
        "edited or filtered: every trial of every search is a row, failed and stopped ones included.",
        "",
        f"- rows: {len(frame)} in {frame['task'].nunique()} tasks of {frame['task_family'].nunique()} families; "
        f"`meta_dataset.validate()`: {'clean' if report.ok else '; '.join(report.problems[:3])}",
        f"- code: autodistiller {', '.join(sorted(set(frame['autodistiller_version'].dropna())))}, "
        f"commit(s) {', '.join(commits)}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPU cores "
        f"({', '.join(sorted(set(frame['cpu_model'].dropna())))}), no GPU; one trial at a time on 2 CPUs",
        f"- space: `{SPACE}` (fidelity: 500 training examples, 64 tokens, 3 epochs); portfolio: `{PORTFOLIO}`",
        f"- teacher: MiniLM-L6 fine-tuned per task with `{' '.join(TEACHER)}`",
        f"- CPU-hours in all: {cpu_hours.sum():.1f} (wall {wall_hours.sum():.1f} h on 2 cores; the trials' own "
        f"core-hours {trial_hours.sum():.1f}). CPU time here is core-hours held (wall x 2 cores): other work shared "
        "the machine at times, so a trial's `train_seconds` is an upper bound of its cost on an idle machine",
        "",
        "## Rows per task and status, with the CPU time spent",
        "",
        "| " + " | ".join(table.columns) + " |",
        "|" + "---|" * len(table.columns),
        *("| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)),
        "",
        "## The commands, in the order they ran (a resumed search repeats its command with `--resume`)",
        "",
        "```bash",
        *commands,
        "```",
    ]
    path = root / "MANIFEST.md"
    path.write_text("\n".join(lines) + "\n")
    return path


if __name__ == "__main__":
    main()
