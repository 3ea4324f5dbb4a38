"""What several test modules share that is not a fixture: the workflow tests' config
(``tests/configs/*.yaml``, the catalog's ``.test/`` idea), Snakemake on the command line
and the jobs of a dry run, the tiny models' dimensions, a small CoNLL-U treebank, and
the library's import graph. Fixtures are in ``conftest.py``; no test module imports
another."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import yaml

from embryo.embryology.probing import ProbeSettings
from embryo.transfer.finetune import FinetuneSettings

REPO = Path(__file__).resolve().parents[1]
CONFIGS = Path(__file__).parent / "configs"

# the tiny models of the workflow tests: 2 layers of 32
TINY = {"size": "tiny", "hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64}
OPT = {"lr": 3.0e-3, "warmup_steps": 1, "batch_size": 8}
# the unit tests' tiny models (a model section: dropout and initialisation spelled out)
TINY_DIMS = {**TINY, "dropout": 0.1, "initializer_range": 0.02}
# fine-tuning a tiny model on a small task: a few epochs at a high rate
FINETUNE = FinetuneSettings(
    lr=3e-3,
    batch_size=16,
    epochs=3,
    warmup_ratio=0.1,
    weight_decay=0.0,
    beta1=0.9,
    beta2=0.999,
    eps=1e-8,
    max_grad_norm=1.0,
    eval_batch_size=64,
)


def config_for(name: str, data_dir) -> dict:
    """``tests/configs/{name}.yaml`` with ``data_dir`` set (each test writes its own data)."""
    config = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    return {"data_dir": str(data_dir), **config}


BUILTIN_SIZES = yaml.safe_load((CONFIGS / "workflow.yaml").read_text())["builtin"]["sizes"]


def snakemake(
    workdir, config: dict, *args: str, name="config.yaml", env=None, timeout=900, repo=REPO
) -> subprocess.CompletedProcess:
    """Snakemake on ``repo``'s Snakefile in ``workdir`` with ``config``; 2 cores unless args say."""
    (workdir / name).write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(workdir)]
    cmd += ["--configfile", str(workdir / name), "--cores", "2", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def scheduled(result) -> set[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run would execute."""
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = []
    for line in result.stdout.splitlines():
        if m := re.match(r"^(?:local)?(?:rule|checkpoint) (\w+):", line):
            jobs.append([m.group(1), ""])
        elif jobs and (m := re.match(r"^\s+wildcards: (.*)", line)):
            jobs[-1][1] = m.group(1)
    return {(rule, wildcards) for rule, wildcards in jobs if rule != "all"}


# A small treebank: a multiword token (don't), a relation subtype (advmod:neg), an empty
# node (3.1), a word without a space after it
CONLLU = """# sent_id = s1
# text = The cats sleep.
1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_
2\tcats\tcat\tNOUN\tNNS\t_\t3\tnsubj\t_\t_
3\tsleep\tsleep\tVERB\tVBP\t_\t0\troot\t_\tSpaceAfter=No
4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_

# sent_id = s2
1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
1\tdo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_
2\tn't\tnot\tPART\tRB\t_\t3\tadvmod:neg\t_\t_
3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_
3.1\tgone\t_\t_\t_\t_\t_\t_\t_\t_

"""

# ---- the library's import graph (tests/test_layout.py, tests/test_registry.py)

PACKAGE = REPO / "src" / "embryo"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> set[str]:
    """The embryo modules a file imports (``from embryo.x import y``: embryo.x, or
    embryo.x.y when that is a module)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("embryo"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in MODULES else node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("embryo")}
    return out


# ---- the probes (tests/test_probing.py, tests/test_edges.py)


def tagged(n: int, seed: int):
    """Sentences of the conftest language with word-class tags and a right-branching chain."""
    from embryo.data.treebank import Sentence

    from .conftest import ADJS, DETS, NOUNS, PREPS, VERBS, sentences

    tag = {w: t for t, ws in [("DET", DETS), ("ADJ", ADJS), ("NOUN", NOUNS)] for w in ws}
    tag |= {w: "VERB" for w in VERBS} | {w: "ADP" for w in PREPS} | {".": "PUNCT"}
    out = []
    for i, text in enumerate(sentences(n, seed=seed)):
        words = text.split()
        tags = [tag[w.lower()] for w in words]
        heads = list(range(1, len(words))) + [-1]
        out.append(Sentence(str(i), words, tags, tags, heads, [t.lower() for t in tags]))
    return out


# probe settings for synthetic features: a few updates suffice; the rest as the schema's
FAST = ProbeSettings(seed=0, epochs=1, lr=5e-2, weight_decay=0.0, batch_size=1024, min_steps=25)
