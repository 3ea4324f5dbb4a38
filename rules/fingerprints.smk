# Code: each rule's params hold the fingerprint of its job script and of the library code
# the script runs (embryo.runtime.fingerprint), so editing that code reruns exactly its
# jobs, and a comment or docstring reruns nothing (each file parsed once: later parses
# hash its bytes and read the parse from the cache).
from embryo.runtime.fingerprint import fingerprint, modules, save_cache, use_cache

SCRIPTS = Path(workflow.basedir) / "workflow" / "scripts"
use_cache(Path(".snakemake") / "embryo-fingerprints.json")


def script_path(name):
    return SCRIPTS / f"{name}.py"


def code(name, *extra):
    """The code fingerprint of the rule whose script is workflow/scripts/{name}.py."""
    return fingerprint(*extra, scripts=[script_path(name)])


def table_code():
    """Per table: the rules from the corpus to it (registry: lineage) and their code."""
    scripts = {r.name: Path(r.script).stem for r in workflow.rules if r.script}
    out = {}
    for name in report_tables():
        table = registry.TABLE[name]
        rules = [*registry.UPSTREAM, *table.lineage, table.rule]
        paths = [script_path(scripts[r]) for r in rules]
        out[name] = {
            "fingerprint": fingerprint(scripts=paths),
            "modules": modules(scripts=paths),
            "rules": {r: code(scripts[r]) for r in rules},
        }
    return out
