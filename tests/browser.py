"""Open a Snakemake HTML report in headless Chromium: a screenshot and what rendered.

Debian's ``chromium`` is installed with apt-get when it is missing (as root only; the
caller skips otherwise). Chromium runs with ``--headless --no-sandbox --disable-gpu``, the
background-networking, sync, component-update and first-run machinery off, and a virtual
time budget so that the report's scripts have run before it prints the page.

:func:`inspect_report` opens a copy of the report with a small script appended that uses
the report's own app: it shows each image result as the report's "view" button would
(``app.setView({content: "img", ...})``), waits for the ``<img>`` the report renders to
load, and draws the image on a canvas to measure it: its size and how many pixels are not
white. The findings come back as JSON in the printed DOM; a screenshot is taken of the
front page and of the last figure shown.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--hide-scrollbars",
    "--window-size=1400,1800",
    "--virtual-time-budget=120000",
]

# Appended to a copy of the report: show every image result through the report's app,
# one after another, and write what each measured into <pre id="embryo-check">.
CHECK = """
<script>
window.addEventListener("load", async () => {
  const out = [];
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  for (let i = 0; i < 100 && !app; i++) await sleep(100);  // React creates the app after load
  for (const [path, entry] of Object.entries(results)) {
    if (!/\\.(png|jpe?g|svg)$/i.test(path)) continue;
    const row = {path, shown: false, width: 0, height: 0, ink: 0};
    try {
      app.setView({content: "img", contentPath: entry.data_uri, resultPath: path});
      let img;
      for (let i = 0; i < 50; i++) {
        await sleep(100);
        img = Array.from(document.images).find((x) => x.src === entry.data_uri);
        if (img && img.complete) break;
      }
      if (img && img.complete && img.naturalWidth) {
        row.shown = true; row.width = img.naturalWidth; row.height = img.naturalHeight;
        const canvas = document.createElement("canvas");
        canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
        const ctx = canvas.getContext("2d");
        ctx.drawImage(img, 0, 0);
        const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let ink = 0;
        for (let k = 0; k < px.length; k += 4) {
          if (px[k] < 230 || px[k + 1] < 230 || px[k + 2] < 230) ink++;
        }
        row.ink = ink / (px.length / 4);
      }
    } catch (err) {
      row.error = String(err);
    }
    out.push(row);
  }
  const pre = document.createElement("pre");
  pre.id = "embryo-check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def chromium() -> str | None:
    """The chromium executable, installed with apt-get when missing and we are root."""
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        if subprocess.run(command, env=env, capture_output=True).returncode != 0:
            return None
    return shutil.which("chromium")


def run(browser: str, url: str, *args: str, profile: Path) -> subprocess.CompletedProcess:
    command = [browser, *FLAGS, f"--user-data-dir={profile}", *args, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def inspect_report(browser: str, report: Path, workdir: Path) -> dict:
    """Screenshots and DOM of the report: its front page, and every image it holds."""
    workdir.mkdir(parents=True, exist_ok=True)
    profile = workdir / "profile"
    front_png, figure_png = workdir / "front.png", workdir / "figure.png"
    front = run(browser, report.resolve().as_uri(), "--dump-dom", profile=profile)
    run(browser, report.resolve().as_uri(), f"--screenshot={front_png}", profile=profile)

    checked = workdir / "checked.html"
    html = report.read_text()
    end = html.rindex("</body>")  # the page's own; scripts in it contain the string too
    checked.write_text(html[:end] + CHECK + html[end:])
    dom = run(browser, checked.as_uri(), "--dump-dom", profile=profile)
    run(browser, checked.as_uri(), f"--screenshot={figure_png}", profile=profile)
    found = re.search(r'<pre id="embryo-check">(.*?)</pre>', dom.stdout, re.S)
    images = json.loads(found.group(1).replace("&amp;", "&")) if found else None
    return {
        "front_dom": front.stdout,
        "front_png": front_png,
        "figure_png": figure_png,
        "images": images,
        "stderr": front.stderr[-3000:] + dom.stderr[-3000:],
    }


def ink(png: Path) -> float:
    """The fraction of a screenshot's pixels that are not (near) white."""
    import numpy as np
    from PIL import Image

    with Image.open(png) as image:
        return float((np.asarray(image.convert("L")) < 230).mean())
