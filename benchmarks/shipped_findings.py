"""The Distiller findings and the HTML report on a meta-dataset (default: the shipped one), for the README.

Prints the findings table (markdown) and the trial counts it rests on, writes the report, and, with a Chromium
on PATH, a screenshot of the report's top (its summary) as PNG.

    python benchmarks/shipped_findings.py [--meta-dataset PATH] [--report runs/report.html]
                                          [--screenshot benchmarks/results/report.png]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def markdown(frame) -> str:
    """A DataFrame as a markdown table (floats to 4 places), without the optional tabulate package."""
    def cell(value) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meta-dataset", default=None, help="default: the shipped meta-dataset")
    parser.add_argument("--report", default=str(ROOT / "runs" / "report.html"))
    parser.add_argument("--screenshot", default=str(ROOT / "benchmarks" / "results" / "report.png"))
    parser.add_argument("--height", type=int, default=2600, help="pixels of the page's top in the screenshot")
    args = parser.parse_args(argv)
    from autodistiller import analysis, meta_dataset
    from autodistiller.baseline import cached_tfidf_baseline
    from autodistiller.tasks import TaskSpec

    frame = meta_dataset.load(args.meta_dataset) if args.meta_dataset else meta_dataset.load()
    completed = frame[frame["status"] == "completed"]
    print(f"{len(frame)} trials ({len(completed)} completed) on {frame['task'].nunique()} tasks of "
          f"{frame['task_family'].nunique()} families\n")
    findings = analysis.distiller_findings(frame)
    print(markdown(findings))
    baselines = {task: cached_tfidf_baseline(TaskSpec(f"suite:{task}").load()) for task in frame["task"].unique()}
    report = Path(args.report)
    report.parent.mkdir(parents=True, exist_ok=True)
    analysis.render_report(frame, report, baselines=baselines,
                           source=args.meta_dataset or "the shipped meta-dataset")
    print(f"\nreport: {report}")
    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
                    None)
    if chromium:
        shot = Path(args.screenshot).resolve()
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--screenshot={shot}", f"--window-size=1280,{args.height}", report.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)
        print(f"screenshot: {shot}")
    print(f"command: python benchmarks/shipped_findings.py {' '.join(sys.argv[1:])}".rstrip())


if __name__ == "__main__":
    main()
