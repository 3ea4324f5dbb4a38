"""The documentation builds, strictly, and says what the code has.

- ``mkdocs build --strict`` of ``docs/`` succeeds (what ``make docs`` and CI run), and the
  same build fails on a copy with a broken link or anchor, so the check can fail;
- the generated configuration reference has a row for every key of ``config/schema.yaml``
  and the site's front page is the README;
- ``config/README.md``, the catalog's usage page, names every top-level section of the
  schema; the README stays a front page (at most 300 lines).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MKDOCS = [sys.executable, "-m", "mkdocs", "build", "--strict"]


def build(root: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    cmd = [*MKDOCS, "--config-file", str(root / "mkdocs.yml"), "--site-dir", str(site)]
    return subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)


def copy_tree(dest: Path) -> Path:
    """What the build reads (mkdocs.yml, docs/, the README, the schema) in ``dest``."""
    (dest / "config").mkdir(parents=True)
    shutil.copy(ROOT / "mkdocs.yml", dest)
    shutil.copy(ROOT / "README.md", dest)
    shutil.copytree(ROOT / "docs", dest / "docs")
    shutil.copy(ROOT / "config" / "schema.yaml", dest / "config")
    return dest


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = build(ROOT, out)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def schema_keys(node: dict, path: str = "") -> list[str]:
    keys = []
    for key, sub in (node.get("properties") or {}).items():
        here = f"{path}.{key}" if path else key
        keys.append(here)
        keys += schema_keys(sub, here)
    return keys


def test_reference_has_every_schema_key(site):
    page = (site / "reference" / "config" / "index.html").read_text()
    schema = yaml.safe_load((ROOT / "config" / "schema.yaml").read_text())
    keys = schema_keys(schema)
    for node in schema.get("$defs", {}).values():
        keys += schema_keys(node)
    missing = [k for k in keys if f"<code>{k}</code>" not in page]
    assert len(keys) > 100 and not missing, missing[:10]


def test_front_page_is_the_readme(site):
    page = (site / "index.html").read_text()
    assert "What the demo shows" in page and 'src="img/probe_upos.png"' in page
    assert (site / "img" / "probe_upos.png").is_file()


@pytest.mark.parametrize(
    "page, broken",
    [
        ("docs/getting-started.md", "\nSee [nowhere](no-such-page.md).\n"),
        ("docs/getting-started.md", "\nSee [the reruns](reruns.md#no-such-section).\n"),
        ("README.md", "\nSee [nowhere](docs/no-such-page.md).\n"),
    ],
)
def test_strict_build_fails_on_a_broken_link(tmp_path, page, broken):
    root = copy_tree(tmp_path / "src")
    with open(root / page, "a") as f:
        f.write(broken)
    done = build(root, tmp_path / "site")
    assert done.returncode != 0
    assert "no-such" in done.stdout + done.stderr


def test_config_readme_names_every_section():
    usage = (ROOT / "config" / "README.md").read_text()
    schema = yaml.safe_load((ROOT / "config" / "schema.yaml").read_text())
    missing = [k for k in schema["properties"] if f"`{k}`" not in usage]
    assert not missing, f"config/README.md does not name the sections {missing}"


def test_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines: move sections into docs/"
