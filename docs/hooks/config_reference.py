"""mkdocs hook: the configuration reference, generated from config/schema.yaml at build time.

Every key of the schema gets a row (its path, type, default and description), so a key
cannot be undocumented: the schema is the one place a key is declared, and this page
is rebuilt from it on every ``mkdocs build``.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from mkdocs.structure.files import File

SCHEMA = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"


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
    for name, node in defs.items():
        if node.get("properties"):
            out += ["", f"## `{name}`", "", "| key | type | default | description |",
                    "| --- | --- | --- | --- |", *_rows(node, "", defs)]  # fmt: skip
    return "\n".join(out) + "\n"


def on_files(files, config):
    files.append(File.generated(config, "reference/config.md", content=reference()))
    return files
