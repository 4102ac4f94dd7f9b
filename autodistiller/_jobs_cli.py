"""``autodistiller submit`` and ``autodistiller jobs``: searches as Ray jobs (see ``searcher/_jobs.py``).

``submit`` takes every option of ``search`` (the same parser actions), except ``--address``, which here is the
Ray Jobs API (the dashboard's http address) rather than the cluster to join: the job's driver always joins the
cluster it runs on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autodistiller.errors import ConfigError

__all__ = ["add_commands", "cmd_submit", "cmd_jobs", "search_argv"]

#: search options a job does not forward: the job's driver joins its own cluster
_NOT_FORWARDED = {"help", "address"}
_ADDRESS_HELP = ("Ray Jobs API (the dashboard's http address): default $RAY_API_SERVER_ADDRESS, else "
                 "http://127.0.0.1:8265, e.g. an SSH tunnel opened by `ray dashboard cluster/aws.yaml`")


def _add_address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", dest="jobs_address", default=None, help=_ADDRESS_HELP)


def add_commands(commands: Any, search: argparse.ArgumentParser) -> None:
    """Register ``submit`` (with ``search``'s options) and ``jobs`` on the ``commands`` subparsers."""
    submit = commands.add_parser("submit", help="submit a search to a Ray cluster as a Ray job; prints the job id",
                                 description="Submit `autodistiller search` as a Ray job. Takes every `search` option; "
                                             "--storage must be a URI or a path every node shares.")
    forwarded = []
    groups = {}
    for group in search._action_groups:
        target = (submit._optionals if group is search._optionals else submit._positionals
                  if group is search._positionals else groups.setdefault(group.title, submit.add_argument_group(
                      group.title, group.description)))
        for action in group._group_actions:
            if action.dest in _NOT_FORWARDED:
                continue
            target._add_action(action)
            forwarded.append(action)
    job = submit.add_argument_group("the Ray job")
    job.add_argument("--address", dest="jobs_address", default=None, help=_ADDRESS_HELP)
    job.add_argument("--pip", action="append", default=[], metavar="REQUIREMENT",
                     help="a pip requirement installed for the job on the nodes (repeatable; needs a package index "
                          "there), e.g. --pip 'autodistiller==0.1.0' on a cluster without the project in its image")
    job.add_argument("--no-ship-code", action="store_true",
                     help="do not upload this package with the job: use the one installed on the cluster")
    job.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                     help="an environment variable of the job's driver and trials (repeatable)")
    job.add_argument("--driver-cpus", type=float, default=None, help="CPUs reserved for the job's driver")
    job.add_argument("--driver-gpus", type=float, default=None,
                     help="GPUs reserved for the driver (it fine-tunes the teacher): puts it on a GPU node")
    job.add_argument("--cluster-config", default=None, metavar="YAML",
                     help="the cluster's launcher YAML or KubeRay manifest (cluster/aws.yaml, ...): refuse to submit "
                          "a search whose trials fit no node type")
    job.add_argument("--follow", action="store_true", help="then stream the job's logs until it ends")
    submit.set_defaults(forwarded_actions=tuple(forwarded))

    jobs = commands.add_parser("jobs", help="list, inspect, follow and stop submitted searches")
    jobs_commands = jobs.add_subparsers(dest="jobs_command", required=True)
    listing = jobs_commands.add_parser("list", help="the searches submitted to the cluster")
    _add_address(listing)
    listing.add_argument("--all", action="store_true", help="every Ray job, not only AutoDistiller searches")
    status = jobs_commands.add_parser("status", help="status and message of one job")
    status.add_argument("job_id")
    _add_address(status)
    logs = jobs_commands.add_parser("logs", help="the logs of one job")
    logs.add_argument("job_id")
    logs.add_argument("--follow", "-f", action="store_true",
                      help="stream until the job ends; exit 0 only if it succeeded")
    _add_address(logs)
    stop = jobs_commands.add_parser("stop", help="stop one job (resume it later with submit --resume --name)")
    stop.add_argument("job_id")
    stop.add_argument("--no-wait", action="store_true", help="return once the stop is requested")
    _add_address(stop)


def search_argv(args: argparse.Namespace, actions: Sequence[argparse.Action]) -> list[str]:
    """The ``search`` command line for the options in ``args`` that differ from their defaults."""
    argv: list[str] = []
    for action in actions:
        value = getattr(args, action.dest, None)
        if value is None or value == action.default:
            continue
        flag = next((s for s in action.option_strings if s.startswith("--")), action.option_strings[0])
        if isinstance(action, argparse._StoreTrueAction):
            argv.append(flag)
        elif isinstance(action, argparse._AppendAction):
            for item in value:
                argv += [flag, str(item)]
        else:
            argv += [flag, str(value)]
    return argv


def _env_vars(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--env {pair!r} must look like KEY=VALUE, e.g. --env AUTODISTILLER_CACHE=/cache")
        out[key] = value
    return out


def cmd_submit(args: argparse.Namespace) -> int:
    from autodistiller.searcher import load_space
    from autodistiller.searcher.jobs import (
        check_remote_path,
        default_experiment_name,
        follow_logs,
        insecure_address_warning,
        jobs_address,
        search_job,
        stage_inputs,
        submit_job,
    )

    if args.storage is None:
        raise ConfigError("submit needs --storage: a URI (s3://bucket/prefix, gs://...) or an absolute path every "
                          "node shares; the meta-dataset and checkpoints go there.")
    check_remote_path("--storage", args.storage)
    check_remote_path("--meta-dataset", args.meta_dataset)
    if args.resume and not args.name:
        raise ConfigError("submit --resume needs the --name of the experiment to resume (see `autodistiller jobs list`).")
    load_space(args.space)  # a bad space fails here, not minutes later on the cluster
    if args.cluster_config:
        from autodistiller.searcher.launcher import check_trials_fit, load_cluster_config

        check_trials_fit(load_cluster_config(args.cluster_config), cpus_per_trial=args.cpus_per_trial,
                         gpus_per_trial=args.gpus_per_trial, source=args.cluster_config)
    env_vars = _env_vars(args.env)
    address = jobs_address(args.jobs_address)
    warning = insecure_address_warning(address)
    if warning:
        print(warning, file=sys.stderr)
    name = args.name or default_experiment_name(args.task)
    with tempfile.TemporaryDirectory(prefix="autodistiller-job-") as staging:
        replaced = stage_inputs(Path(staging), space=args.space, task=args.task, teacher_dir=args.teacher_dir)
        values = argparse.Namespace(**{**vars(args), **replaced, "name": name})
        job = search_job(search_argv(values, args.forwarded_actions), name=name, storage=args.storage,
                         working_dir=staging, resume=args.resume, ship_code=not args.no_ship_code, pip=args.pip,
                         env_vars=env_vars, driver_cpus=args.driver_cpus, driver_gpus=args.driver_gpus)
        job_id = submit_job(job, address)
    print(job_id)
    print(f"submitted experiment {name!r} as job {job_id} to {address}; rows go to "
          f"{args.meta_dataset or args.storage.rstrip('/') + '/meta_dataset'}", file=sys.stderr)
    print(f"follow it: autodistiller jobs logs {job_id} --follow --address {address}\n"
          f"resume it if its driver dies: the same submit command with --resume --name {name}", file=sys.stderr)
    if args.follow:
        return _finish(follow_logs(job_id, address, write=_write))
    return 0


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _finish(status: str) -> int:
    print(f"job status: {status}", file=sys.stderr)
    return 0 if status == "SUCCEEDED" else 1


def _when(milliseconds: int | None) -> str:
    if not milliseconds:
        return "-"
    return dt.datetime.fromtimestamp(milliseconds / 1000).strftime("%Y-%m-%d %H:%M:%S")


def cmd_jobs(args: argparse.Namespace) -> int:
    from autodistiller.searcher.jobs import follow_logs, job_info, list_jobs, stop_job

    if args.jobs_command == "list":
        jobs = list_jobs(args.jobs_address, all_jobs=args.all)
        rows = [("JOB", "STATUS", "EXPERIMENT", "STARTED", "ENDED", "STORAGE")]
        for job in jobs:
            meta = job.metadata or {}
            rows.append((job.submission_id or job.job_id or "-", str(job.status.value), meta.get("experiment", "-"),
                         _when(job.start_time), _when(job.end_time), meta.get("storage", "-")))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        return 0
    if args.jobs_command == "status":
        info = job_info(args.job_id, args.jobs_address)
        meta = info.metadata or {}
        print(f"{args.job_id}: {info.status.value}")
        for label, value in (("experiment", meta.get("experiment")), ("storage", meta.get("storage")),
                             ("started", _when(info.start_time)), ("ended", _when(info.end_time)),
                             ("entrypoint", info.entrypoint), ("message", info.message)):
            if value:
                print(f"  {label}: {value}")
        return 0
    if args.jobs_command == "logs":
        status = follow_logs(args.job_id, args.jobs_address, write=_write, follow=args.follow)
        return _finish(status) if args.follow else 0
    if args.jobs_command == "stop":
        status = stop_job(args.job_id, args.jobs_address, wait_s=0 if args.no_wait else 60)
        print(f"{args.job_id}: {status}")
        return 0
    raise ConfigError(f"unknown jobs command {args.jobs_command!r}")  # pragma: no cover - argparse checks
