"""mkdocs hook: the pages generated at build time, from the files that hold their content.

- ``reference/config.md``, the configuration reference, from ``config/schema.yaml``:
  every key of the schema gets a row (its path, type, default and description), so a key
  cannot be undocumented: the schema is the one place a key is declared, and this page is
  rebuilt from it on every ``mkdocs build``;
- ``index.md``, the front page, from ``README.md``: one text for GitHub's front page and the
  site's, its links into ``docs/`` made relative to the site.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "config" / "schema.yaml"
README = ROOT / "README.md"


def _type(node: dict) -> str:
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    kind = node.get("type", "")
    if "$ref" in node:
        return f"see `{node['$ref'].split('/')[-1]}`"
    return " \\| ".join(kind) if isinstance(kind, list) else str(kind)


def _rows(node: dict, path: str, defs: dict, depth: int = 0):
    for key, sub in (node.get("properties") or {}).items():
        here = f"{path}.{key}" if path else key
        default = sub.get("default", "")
        default = "" if isinstance(default, dict | list) and not default else default
        text = " ".join(str(sub.get("description", "")).split()).replace("|", "\\|")
        yield f"| `{here}` | {_type(sub)} | {'' if default == '' else f'`{default}`'} | {text} |"
        if depth < 4:
            yield from _rows(sub, here, defs, depth + 1)
        extra = sub.get("additionalProperties")
        if isinstance(extra, dict) and "$ref" in extra:
            yield f"| `{here}.<name>` | see `{extra['$ref'].split('/')[-1]}` | | one entry per name |"


def reference() -> str:
    schema = yaml.safe_load(SCHEMA.read_text())
    defs = schema.get("$defs", {})
    out = [
        "# Configuration reference",
        "",
        "Generated from `config/schema.yaml` on every build: every key the workflow reads, "
        "its type, its default and what it does. The usage page is "
        "[Configuration](../configuration.md).",
        "",
        "| key | type | default | description |",
        "| --- | --- | --- | --- |",
        *_rows(schema, "", defs),
    ]
    header = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    for name, node in defs.items():
        if node.get("properties"):
            out += ["", f"## `{name}`", "", *header, *_rows(node, "", defs)]
    return "\n".join(out) + "\n"


def front_page() -> str:
    """The README with its links into ``docs/`` relative to the site's root."""
    return README.read_text().replace("](docs/", "](")


def on_files(files, config):
    files.append(File.generated(config, "reference/config.md", content=reference()))
    files.append(File.generated(config, "index.md", content=front_page()))
    return files
