"""The HTML report: self-contained, and every plot really drawn in a headless Chromium (checked on pixels)."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from autodistiller import ConfigError
from autodistiller import analysis as an
from autodistiller.baseline import tfidf_baseline

CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome", "chrome")
                 if shutil.which(name)), None)
WIDTH, HEIGHT = 1280, 10000  # the window: wider than the page's 1100px column, taller than the page
# A pixel is "ink" when its channels spread by more than this: the traces' colours do (the blue markers
# blended at opacity 0.55 with white spread 85), the white background, grey grid, modebar icons and the
# #2a3f5f axis text (spread 53) do not.
INK_SPREAD = 70
MIN_INK_PIXELS = 40  # one 10px marker is about 78 pixels; an empty data area or a plain table has 0


@pytest.fixture(scope="module")
def baselines(tiny_task, regression_task):
    return {task.name: tfidf_baseline(task) for task in (tiny_task, regression_task)}


@pytest.fixture(scope="module")
def report(tmp_path_factory, meta_frame, baselines) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    before = meta_frame.copy(deep=True)
    path = an.render_report(meta_frame, out, baselines=baselines, source="test meta-dataset", n_boot=500)
    assert meta_frame.equals(before)
    return path


def _plot_ids(text: str) -> list[str]:
    return re.findall(r'<div id="(plot-\d+)" class="plotly-graph-div"', text)


def test_report_is_one_self_contained_page(report, meta_frame, baselines):
    text = report.read_text(encoding="utf-8")
    # no network: no external script, stylesheet, image or font; plotly.js is inlined once (its own source
    # holds URLs of map tiles and logos that these plots never load: the Chromium test runs without network)
    assert not re.search(r"<script[^>]+src=", text)
    head, plotly_js, rest = re.match(r"(.*?<script[^>]*>)(.*?)(</script>.*)", text, re.S).groups()
    assert "plotly.js" in plotly_js[:2000] and len(plotly_js) > 1_000_000
    page = head + rest
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page)
    assert "<link" not in page and "@import" not in page and "@font-face" not in page
    plots = _plot_ids(text)
    assert text.count("Plotly.newPlot(") == len(plots)
    assert text.count("<script") == 1 + len(plots)  # plotly.js once, then one call per plot
    # summary: comparison + pooled options + pooled importance; per task: Pareto, progress, options, importance
    assert len(plots) == 3 + 4 * 2
    assert f'data-plots="{len(plots)}"' in text
    for task in ("tiny", "tiny_regression"):
        assert f'id="task-{task}"' in text
        assert f"{baselines[task].test_score:.4g}" in text  # the baseline's test score sits in the tables
    for claim in an.CLAIMS.values():
        assert claim in text
    assert "tfidf baseline" in text and "best student" in text
    with pytest.raises(ConfigError, match="no trial rows"):
        an.render_report(meta_frame, report.with_name("empty.html"), task="nope")


_PROBE = """
<script>
window.addEventListener("load", function () { setTimeout(function () {
  var out = [];
  document.querySelectorAll(".plotly-graph-div").forEach(function (div) {
    var r = div.getBoundingClientRect();
    var areas = [];  // the data areas (one per subplot), legend and titles excluded
    div.querySelectorAll("rect.nsewdrag").forEach(function (rect) {
      var a = rect.getBoundingClientRect();
      areas.push({x: a.left + window.scrollX, y: a.top + window.scrollY, w: a.width, h: a.height});
    });
    out.push({id: div.id, x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height,
              svg: div.querySelectorAll("svg.main-svg").length, traces: (div.data || []).length,
              marks: div.querySelectorAll("g.trace path").length, areas: areas});
  });
  var table = document.querySelector("table").getBoundingClientRect();
  var probe = document.createElement("pre");
  probe.id = "layout";
  var main = document.querySelector("main").getBoundingClientRect();
  probe.textContent = JSON.stringify({plots: out, page: main.bottom + window.scrollY,
                                      table: {x: table.left, y: table.top + window.scrollY, w: table.width,
                                              h: table.height}});
  document.body.appendChild(probe);
}, 300); });
</script>
"""


def _chromium(args: list[str], profile: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1",
               "--host-resolver-rules=MAP * ~NOTFOUND",  # no network: a page that fetched anything would miss it
               "--virtual-time-budget=5000", f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def _box(image: np.ndarray, rect: dict) -> np.ndarray:
    box = image[int(rect["y"]):int(rect["y"] + rect["h"]), int(rect["x"]):int(rect["x"] + rect["w"])]
    assert box.size, rect
    return box


def _ink(pixels: np.ndarray) -> int:
    pixels = pixels.astype(int)
    return int(((pixels.max(axis=2) - pixels.min(axis=2)) > INK_SPREAD).sum())


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (Debian: apt-get install -y chromium; "
                                             ".ci/run installs it)")
def test_every_plot_renders_in_headless_chromium(report, tmp_path):
    from PIL import Image

    text = report.read_text(encoding="utf-8")
    expected = _plot_ids(text)
    page = tmp_path / "probed.html"
    page.write_text(text.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    url = page.as_uri()

    # one Chromium run (offline) dumps the DOM after the scripts ran and screenshots a window taller than the page
    shot = tmp_path / "report.png"
    run = _chromium(["--dump-dom", f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}", url],
                    tmp_path / "profile")
    match = re.search(r'<pre id="layout">(.*?)</pre>', run.stdout, re.S)
    assert match, f"the page did not finish loading in Chromium: {run.stderr[-2000:]}"
    layout = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert int(layout["page"]) <= HEIGHT, f"the page ({layout['page']}px) is taller than the window ({HEIGHT}px)"

    # 1. the DOM: every plot drawn (an SVG with its traces and their paths), full width, where expected
    plots = {p["id"]: p for p in layout["plots"]}
    assert sorted(plots) == sorted(expected)
    for ident, plot in plots.items():
        assert plot["svg"] >= 1 and plot["traces"] >= 1 and plot["marks"] >= 1, (ident, plot)
        assert plot["w"] > 600 and plot["h"] >= 400, (ident, plot)

    # 2. the screenshot: the whole page, at the layout's size
    assert shot.is_file(), run.stderr[-2000:]
    image = np.asarray(Image.open(shot).convert("RGB"))
    assert image.shape[:2] == (HEIGHT, WIDTH)

    # 3. pixels: every data area of every plot holds coloured marks (the legend and titles are outside the
    # areas); a plain table's box does not, so the check can fail
    for ident in expected:
        p = plots[ident]
        assert (_box(image, p) < 250).any(axis=2).mean() > 0.01, f"{ident} is blank"
        assert p["areas"], f"{ident} has no data area"
        for area in p["areas"]:
            ink = _ink(_box(image, area))
            assert ink >= MIN_INK_PIXELS, f"{ident}: a data area has no coloured marks ({ink} pixels)"
    assert _ink(_box(image, layout["table"])) < MIN_INK_PIXELS


def test_report_takes_schema_v2_rows(tmp_path, null_frame):
    # v2: NULL for inactive parameters, new metric columns, an `interrupted` status
    frame = null_frame.assign(stopped_by="max_epochs", speedup=2.0)
    frame.loc[frame["trial_id"] == "t90", "status"] = "interrupted"
    path = an.render_report(frame, tmp_path / "v2.html", n_boot=200)
    text = path.read_text(encoding="utf-8")
    assert "<th>interrupted</th>" in text and len(_plot_ids(text)) == 3 + 4 * 2
    assert ">nan<" not in text.lower() and "= None" not in text and "= nan" not in text
