"""Imported checkpoint series: where each step comes from, and the check before any import.

A run with ``import`` is a published series (``config/schema.yaml``, ``$defs.import``).
Each checkpoint step's *source* is a Hub revision or a local ``save_pretrained``
directory, given

- by templates over the step and other fields in ``hub_id``, ``revision`` and ``path``:
  ``{step}``, ``{step_k}`` (the step in thousands: MultiBERTs'
  ``google/multiberts-seed_{seed}-step_{step_k}k``), ``{seed}`` (the run's seed, so that a
  suite's seeds are the replicates of one run) and the keys of ``fields``, with Python's
  format specs (``step-{step:06d}``);
- by ``sources``, a mapping of step to ``{hub_id, revision}`` or ``{path}``, for suites
  whose steps follow no template;
- by ``refs``, patterns matched against the repository's branches and tags
  (``huggingface_hub``'s ``list_repo_refs``) for suites whose revision names carry more
  than the step: each a regular expression with a group ``step`` that must match a whole
  ref name, and an ``offset`` added to it (Ettin's ``step{N}``, ``ext{N}`` and
  ``decay{N}`` phases, each counting from 0), or ``previous``: the last step the phases
  before it found (a phase that goes on from there). ``checkpoints: refs`` takes every
  step the patterns find.

:func:`series_record` (rule ``check_series``) checks the whole series before any of it is
imported, and ``results/{run}/series.json`` records what it found; ``import_checkpoint``
then fetches exactly the commits and files recorded there. What fails here, naming the
run, the step and the file or revision: a step whose source does not exist, a weight file
that is missing, truncated or corrupt, two steps that are one checkpoint (the same
commit or weights: Pythia #205), a tokenizer without a mask token or with more tokens than
the model's embeddings, steps of one series that differ in family, vocabulary or
tokenizer, a family other than ``architecture`` where that is given, a refs pattern that
matches nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from embryo.models import hub
from embryo.runtime.atomic import write_json
from embryo.runtime.errors import EmbryoError

TEMPLATES = ("hub_id", "revision", "path")


# --------------------------------------------------------------------------- sources


def template_fields(spec: dict, step: int, seed) -> dict:
    """The fields a template may name at ``step``: step, step_k (thousands, where the step
    is a multiple of 1,000), seed and the spec's own ``fields``."""
    fields = {"step": step, "seed": seed, **(spec.get("fields") or {})}
    if step % 1000 == 0:
        fields["step_k"] = step // 1000
    return fields


def fill(template: str | None, fields: dict, where: str) -> str | None:
    """``template`` with ``fields`` filled in; an error naming ``where`` and the field."""
    if template is None:
        return None
    try:
        return template.format(**fields)
    except KeyError as err:
        known = ", ".join(sorted(k for k in fields if fields[k] is not None))
        hint = (
            " (step_k needs a step that is a multiple of 1000)" if err.args[0] == "step_k" else ""
        )
        raise EmbryoError(
            f"{where}: {template!r} names the field {{{err.args[0]}}}, which step "
            f"{fields['step']} does not have{hint}; fields: {known}"
        ) from None
    except (ValueError, IndexError) as err:
        raise EmbryoError(f"{where}: {template!r} is not a template: {err}") from None


def is_hub(spec: dict) -> bool:
    return spec.get("hub_id") is not None


def step_source(run_name: str, run: dict, step: int, data_dir, refs: dict | None = None) -> dict:
    """Where step ``step`` of imported run ``run`` comes from: ``{"hub_id", "revision"}``
    (a revision None is main) or ``{"path"}`` (absolute; relative templates are under
    ``data_dir``). ``refs``: {step: ref name} found by :func:`match_refs`, for a spec with
    ``refs``."""
    spec = run["import"]
    key = f"runs.{run_name}.import"
    fields = template_fields(spec, step, run.get("seed"))
    given = (spec.get("sources") or {}).get(step)
    if given is not None:
        spec, key = {**spec, "revision": None, **given}, f"{key}.sources.{step}"
        if "path" in given:
            spec.pop("hub_id", None)
    if refs is not None and given is None:
        if step not in refs:
            raise EmbryoError(
                f"runs.{run_name}: step {step} matches none of the refs of {spec['hub_id']}"
            )
        return {"hub_id": fill(spec["hub_id"], fields, f"{key}.hub_id"), "revision": refs[step]}
    if is_hub(spec):
        return {
            "hub_id": fill(spec["hub_id"], fields, f"{key}.hub_id"),
            "revision": fill(spec.get("revision"), fields, f"{key}.revision"),
        }
    path = Path(fill(spec["path"], fields, f"{key}.path"))
    return {"path": str(path if path.is_absolute() else Path(data_dir) / path)}


def describe(source: dict) -> str:
    if "path" in source:
        return source["path"]
    return source["hub_id"] + (f"@{source['revision']}" if source.get("revision") else "")


def match_refs(run_name: str, spec: dict, refs: dict[str, str]) -> dict[int, str]:
    """{step: ref name} of the refs that ``spec["refs"]``'s patterns match whole: step =
    the pattern's ``offset`` + its group ``step``. A pattern that matches no ref, or two
    refs that give one step, is an error naming them."""
    found: dict[int, str] = {}
    for i, phase in enumerate(spec["refs"]):
        offset = phase.get("offset", 0)
        if offset == "previous":  # the phase goes on from the last step found before it
            offset = max(found, default=0)
        key = f"runs.{run_name}.import.refs[{i}]"
        try:
            pattern = re.compile(phase["pattern"])
        except re.error as err:
            raise EmbryoError(
                f"{key}.pattern: {phase['pattern']!r} is not a regular expression: {err}"
            ) from None
        if "step" not in pattern.groupindex:
            raise EmbryoError(f"{key}.pattern: {phase['pattern']!r} has no group (?P<step>...)")
        matched = 0
        for name in sorted(refs):
            m = pattern.fullmatch(name)
            if m is None:
                continue
            matched += 1
            step = offset + int(m["step"])
            if step in found:
                raise EmbryoError(
                    f"{key}: refs {found[step]!r} and {name!r} of {spec['hub_id']} are both "
                    f"step {step}; give the phases offsets that keep them apart"
                )
            found[step] = name
        if not matched:
            shown = ", ".join(sorted(refs)[:8]) + (", ..." if len(refs) > 8 else "")
            raise EmbryoError(
                f"{key}.pattern: {phase['pattern']!r} matches none of the {len(refs)} refs "
                f"of {spec['hub_id']} ({shown})"
            )
    return dict(sorted(found.items()))


def series_refs(run_name: str, run: dict) -> dict[int, str] | None:
    """{step: ref} of a run whose import has ``refs`` (None otherwise), the refs listed now."""
    spec = run["import"]
    if not spec.get("refs"):
        return None
    hub_id = fill(
        spec["hub_id"], template_fields(spec, 0, run.get("seed")), f"runs.{run_name}.import.hub_id"
    )
    return match_refs(run_name, {**spec, "hub_id": hub_id}, hub.list_refs(hub_id))


def tokens_seen(run: dict, step: int) -> int | None:
    """The tokens a series had seen at ``step``: ``import.tokens`` for that step, else
    ``tokens_per_step`` times the step; None when neither is given."""
    spec = run["import"]
    given = spec.get("tokens") or {}
    if step in given:
        return int(given[step])
    per_step = spec.get("tokens_per_step")
    return None if per_step is None else int(per_step) * step


# --------------------------------------------------------------------------- the check


def check_weights(step_key: str, folder: Path, names, expected: dict | None = None) -> None:
    """Each weight file in ``folder`` is whole: a safetensors file's header covers the file,
    a zip-format ``pytorch_model*.bin`` passes its CRCs, and a file's SHA-256 is the one
    the Hub (or the cache's blob name) says, where known."""
    import zipfile

    from safetensors import SafetensorError, safe_open

    for name in names:
        path = folder / name
        if not path.is_file():
            raise EmbryoError(f"{step_key}: {path}: weight file missing")
        if expected and expected.get(name) and len(expected[name]) == 64:
            if hub.sha256_file(path) != expected[name]:
                raise EmbryoError(f"{step_key}: {path}: its SHA-256 is not the Hub's: corrupt")
        if name.endswith(".safetensors"):
            try:
                with safe_open(str(path), "np") as f:
                    list(f.keys())
            except (SafetensorError, OSError) as err:
                raise EmbryoError(f"{step_key}: {path}: truncated or corrupt ({err})") from None
        elif zipfile.is_zipfile(path):
            try:
                bad = zipfile.ZipFile(path).testzip()
            except (zipfile.BadZipFile, OSError) as err:
                bad = str(err)
            if bad is not None:
                raise EmbryoError(f"{step_key}: {path}: truncated or corrupt (at {bad})")


def _tokenizer_facts(folder: Path, cache: dict) -> dict:
    """The tokenizer of a checkpoint folder: a hash of its files, its size, its mask token."""
    import hashlib

    digest = hashlib.sha256()
    for pattern in hub.SMALL_FILES:
        if pattern == "config.json":
            continue
        for path in sorted(folder.glob(pattern)):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    key = digest.hexdigest()
    if key not in cache:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(folder)
        cache[key] = {
            "tokenizer_sha256": key,
            "tokenizer_size": len(tokenizer),
            "mask_token": tokenizer.mask_token,
        }
    return cache[key]


def _inspect(run_name: str, step: int, source: dict, data_dir) -> tuple[dict, Path]:
    """One step's commit, weight files (name: SHA-256) and the folder with its config and
    tokenizer; a source that does not exist is an error naming the step."""
    where = f"runs.{run_name}: step {step} ({describe(source)})"
    if "path" in source:
        folder = Path(source["path"])
        if not (folder / "config.json").is_file():
            raise EmbryoError(f"{where}: no save_pretrained directory (config.json) there")
        files = {
            p.name: hub.sha256_file(p)
            for p in sorted(folder.iterdir())
            if hub.is_weight_file(p.name)
        }
        if not files:
            raise EmbryoError(f"{where}: no weight files ({' or '.join(hub.WEIGHT_PATTERNS)})")
        check_weights(where, folder, files)
        return {"commit": None, "files": files}, folder
    try:
        found = hub.weight_files(source["hub_id"], source["revision"])
    except EmbryoError as err:
        raise EmbryoError(f"{where}: {err}") from None
    except Exception as err:  # noqa: BLE001 - the Hub's errors (missing repo, revision)
        raise EmbryoError(f"{where}: {type(err).__name__}: {err}") from None
    if not found["files"]:
        raise EmbryoError(f"{where}: no weight files ({' or '.join(hub.WEIGHT_PATTERNS)})")
    folder = hub.small_files(source["hub_id"], found["commit"])
    if hub.offline():  # the cache's copies are what import_checkpoint will load
        check_weights(where, folder, found["files"], _blob_hashes(folder, found["files"]))
    return found, folder


def _blob_hashes(folder: Path, names) -> dict:
    """The SHA-256 the cache's blob names give its LFS files (``blobs/{sha256}``)."""
    out = {}
    for name in names:
        path = folder / name
        if path.is_symlink():
            blob = Path(path.readlink()).name
            if re.fullmatch(r"[0-9a-f]{64}", blob):
                out[name] = blob
    return out


def series_record(run_name: str, run: dict, steps, data_dir) -> dict:
    """What each checkpoint ``steps`` of imported run ``run`` is, checked before any of it
    is imported: ``{step: {source, revision, ref, commit, files, weights_sha256,
    model_type, vocab_size, num_hidden_layers, tokenizer_sha256, tokenizer_size, mask_token,
    tokens}}``. Raises :class:`EmbryoError` on any of the problems this module's docstring
    lists."""
    refs = series_refs(run_name, run)
    declared = run.get("architecture")
    record, tokenizers, first = {}, {}, None
    for step in steps:
        source = step_source(run_name, run, step, data_dir, refs)
        found, folder = _inspect(run_name, step, source, data_dir)
        config_file = folder / "config.json"
        config = json.loads(config_file.read_text())
        facts = {
            "model_type": config.get("model_type"),
            "vocab_size": config.get("vocab_size"),
            "num_hidden_layers": config.get("num_hidden_layers", config.get("n_layers")),
        }
        where = f"runs.{run_name}: step {step}"
        if declared is not None and facts["model_type"] != declared:
            raise EmbryoError(
                f"{where}: {config_file}: model_type {facts['model_type']!r}, but "
                f"runs.{run_name}.architecture is {declared!r}"
            )
        facts |= _tokenizer_facts(folder, tokenizers)
        if facts["mask_token"] is None:
            raise EmbryoError(
                f"{where}: {folder}: its tokenizer has no mask token; a masked LM needs one"
            )
        if facts["vocab_size"] is not None and facts["tokenizer_size"] > facts["vocab_size"]:
            raise EmbryoError(
                f"{where}: {folder}: its tokenizer has {facts['tokenizer_size']} tokens, but "
                f"{config_file} gives the embeddings {facts['vocab_size']} (vocab_size): the "
                "tokenizer is not this model's"
            )
        if first is None:
            first = (step, config_file, facts)
        else:
            for key, what in (
                ("model_type", "family"),
                ("vocab_size", "vocabulary size"),
                ("tokenizer_sha256", "tokenizer"),
            ):
                if facts[key] != first[2][key]:
                    a, b = first[2][key], facts[key]
                    if key == "tokenizer_sha256":
                        a, b = f"files with SHA-256 {a[:12]}", f"files with SHA-256 {b[:12]}"
                    raise EmbryoError(
                        f"runs.{run_name}: steps {first[0]} and {step} differ in {what}: "
                        f"{a!r} ({first[1].parent}) and {b!r} ({config_file.parent}); one "
                        "series is one model's checkpoints"
                    )
        record[step] = {
            "source": source.get("hub_id") or source["path"],
            "revision": source.get("revision"),
            "ref": refs.get(step) if refs else None,
            **found,
            "weights_sha256": weights_digest(found["files"]),
            **facts,
            "tokens": tokens_seen(run, step),
        }
    check_distinct(run_name, record)
    return record


def weights_digest(files: dict[str, str]) -> str:
    """One hash of a checkpoint's weight files ({name: SHA-256}): equal iff every weight
    file is byte for byte the same."""
    import hashlib

    weights = sorted((name, sha) for name, sha in files.items() if hub.is_weight_file(name))
    return hashlib.sha256(json.dumps(weights).encode()).hexdigest()


def check_distinct(run: str, record: dict) -> None:
    """Fail when two steps of a series share a commit or their weight files."""
    seen = {}
    for step, entry in record.items():
        for key in ("commit", "weights_sha256"):
            value = entry.get(key)
            if value is None:
                continue
            if (key, value) in seen:
                first = seen[key, value]
                what = "commit" if key == "commit" else "weight files (SHA-256)"
                a, b = record[first], entry
                raise EmbryoError(
                    f"runs.{run}: steps {first} and {step} have the same {what} {value[:12]}: "
                    f"the series serves one checkpoint twice ({describe(_as_source(a))} and "
                    f"{describe(_as_source(b))}); fix the series or leave one of the steps "
                    f"out of runs.{run}.checkpoints"
                )
            seen[key, value] = step


def _as_source(entry: dict) -> dict:
    if entry.get("commit") is None and entry.get("revision") is None:
        return {"path": entry["source"]}
    return {"hub_id": entry["source"], "revision": entry.get("revision")}


def write_series(path, record: dict) -> None:
    write_json(path, {str(step): entry for step, entry in record.items()})


def read_series(path) -> dict[int, dict]:
    return {int(step): entry for step, entry in json.loads(Path(path).read_text()).items()}


def main(argv=None) -> int:
    """``python -m embryo.train.series refs HUB_ID [--pattern P ...]``: the refs of a Hub
    repository, and the steps the patterns find (what ``checkpoints: refs`` would take)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m embryo.train.series")
    parser.add_argument("command", choices=["refs"])
    parser.add_argument("hub_id")
    parser.add_argument("--pattern", action="append", default=[], help="a regex with (?P<step>...)")
    parser.add_argument("--offset", action="append", type=int, default=[])
    args = parser.parse_args(argv)
    refs = hub.list_refs(args.hub_id)
    if not args.pattern:
        for name, commit in sorted(refs.items()):
            print(f"{name}\t{commit}")
        return 0
    offsets = args.offset + [0] * (len(args.pattern) - len(args.offset))
    spec = {
        "hub_id": args.hub_id,
        "refs": [{"pattern": p, "offset": o} for p, o in zip(args.pattern, offsets, strict=True)],
    }
    for step, name in match_refs("cli", spec, refs).items():
        print(f"{step}\t{name}\t{refs[name]}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
