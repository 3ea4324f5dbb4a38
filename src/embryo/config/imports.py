"""Imported series at parse time: their specs checked, their steps and family resolved.

An imported run's steps may be listed, found by ``import.refs`` on the Hub
(``checkpoints: refs``) or be the keys of ``import.sources``; its family (``model_type``)
and depth come from its first step's ``config.json`` where that can be read without the
network (a local series, or a Hub series in the local cache), else from what the config
declares (``architecture``, ``import.layers``). :func:`expand_imports` writes them into
the run as ``checkpoints`` (a list) and ``resolved`` (``{"model_type", "layers",
"positions", "read_from"}``); :func:`import_problems` says what is wrong with a spec
before that, naming the key.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from embryo.runtime.errors import EmbryoError


def _int_keys(mapping: dict, key: str) -> dict:
    out = {}
    for k, v in mapping.items():
        try:
            out[int(k)] = v
        except (TypeError, ValueError):
            raise EmbryoError(f"{key}: {k!r} is not a step (an integer)") from None
    return out


def import_problems(config: dict):
    """What a config's imported runs get wrong, each naming its key."""
    from embryo.train.series import fill, template_fields

    flagged = set()
    for name, run in config["runs"].items():
        spec = run.get("import")
        if spec is None:
            continue
        key = f"runs.{name}.import"
        try:
            spec["sources"] = _int_keys(spec.get("sources") or {}, f"{key}.sources")
            spec["tokens"] = _int_keys(spec.get("tokens") or {}, f"{key}.tokens")
        except EmbryoError as err:
            yield str(err)
            continue
        hub, path = "hub_id" in spec, "path" in spec
        if hub and path:
            yield f"{key}: give hub_id or path, not both"
        if not (hub or path or spec["sources"]):
            yield f"{key}: give hub_id, path or sources"
        if path and spec.get("revision") is not None:
            yield f"{key}.revision: a local series (path) has no revisions"
        if spec.get("refs") is not None and not hub:
            yield f"{key}.refs: patterns are matched against a Hub repository's refs; give hub_id"
        if spec.get("refs") is not None and spec.get("revision") is not None:
            yield f"{key}.revision: the refs give each step's revision; remove revision"
        for step, source in spec["sources"].items():
            if ("hub_id" in source) == ("path" in source):
                yield f"{key}.sources.{step}: give hub_id (and revision) or path"
        if "tokenizer" in run:
            yield f"runs.{name}.tokenizer: an imported run brings its own tokenizer; remove this key"
        ckpts = run.get("checkpoints")
        if ckpts is None and not spec["sources"]:
            yield f"runs.{name}.checkpoints: give the steps (or refs, with import.refs)"
        if ckpts == "refs" and not spec.get("refs"):
            yield f"runs.{name}.checkpoints: refs takes the steps import.refs finds; give import.refs"
        if run.get("replicate_of") is not None:
            templates = [spec.get(k) or "" for k in ("hub_id", "revision", "path")]
            if not any("{seed" in t for t in templates) and run["replicate_of"] not in flagged:
                flagged.add(run["replicate_of"])
                yield (
                    f"runs.{run['replicate_of']}.import: the run has replicates (a suite's "
                    "seeds), but no template names {seed}: every replicate would be the same "
                    "series"
                )
        if isinstance(ckpts, list) and all(isinstance(s, int) for s in ckpts):
            for step in ckpts:
                if step in spec["sources"]:
                    continue
                fields = template_fields(spec, step, run.get("seed"))
                for t in ("hub_id", "revision", "path"):
                    if spec.get(t) is not None and not (t == "revision" and spec.get("refs")):
                        try:
                            fill(spec[t], fields, f"{key}.{t}")
                        except EmbryoError as err:
                            yield str(err)
                            break
                else:
                    continue
                break


def _refs_listing(hub_id: str, cache: Path | None) -> dict[str, str]:
    """The refs of a Hub repository as listed the first time the workflow was parsed and
    kept in ``cache``, so that every later parse (Snakemake parses the workflow again for
    each job of a cluster, on nodes that may have no network) reads the same steps without
    asking the Hub; listed now (offline: from the Hugging Face cache) where none are kept.
    Delete the file to list them afresh."""
    from embryo.models import hub

    kept = {}
    if cache is not None and cache.is_file():
        try:
            kept = json.loads(cache.read_text())
        except ValueError:
            kept = {}
    if hub_id in kept:
        return kept[hub_id]["refs"]
    try:
        refs = hub.list_refs(hub_id)
    except EmbryoError:
        raise
    except Exception as err:  # noqa: BLE001 - no network, no such repository
        raise EmbryoError(
            f"{hub_id}: its refs cannot be listed ({type(err).__name__}: {err}) and none are "
            f"kept in {cache}; parse the workflow once where the Hub is reachable"
        ) from None
    if cache is not None:
        from embryo.runtime.atomic import write_json

        kept[hub_id] = {"refs": refs, "listed": time.strftime("%Y-%m-%dT%H:%M:%S")}
        cache.parent.mkdir(parents=True, exist_ok=True)
        write_json(cache, kept)
    return refs


def first_config(
    name: str, run: dict, data_dir, refs: dict | None
) -> tuple[dict | None, str | None]:
    """The first step's ``config.json`` and where it was read, if it can be read without
    the network (a local directory, or the Hub cache), else ``(None, None)``."""
    from embryo.models import hub
    from embryo.train.series import describe, step_source

    source = step_source(name, run, run["checkpoints"][0], data_dir, refs)
    if "path" in source:
        path = Path(source["path"]) / "config.json"
        try:
            return json.loads(path.read_text()), str(path)
        except (OSError, ValueError):
            return None, None
    found = hub.cached_config(source["hub_id"], source["revision"])
    return found, (f"{describe(source)}: config.json" if found is not None else None)


def resolve_family(name: str, run: dict, read: dict | None, where: str | None) -> dict:
    """An imported run's ``resolved`` entry: its family, depth and positions, from the
    first step's config (``read``) where there is one, else as declared."""
    from types import SimpleNamespace

    from embryo.models.families import max_positions

    declared = run.get("architecture")
    if read is None:
        return {
            "model_type": declared,
            "layers": run["import"].get("layers"),
            "positions": None,
            "read_from": None,
        }
    model_type = read.get("model_type")
    if declared not in (None, model_type):
        raise EmbryoError(
            f"runs.{name}.architecture: {declared!r}, but {where} says model_type {model_type!r}"
        )
    layers = read.get("num_hidden_layers", read.get("n_layers"))
    declared_layers = run["import"].get("layers")
    if declared_layers not in (None, layers):
        raise EmbryoError(
            f"runs.{name}.import.layers: {declared_layers}, but {where} says {layers} layers"
        )
    positions = None
    if read.get("max_position_embeddings") is not None:
        positions = max_positions(SimpleNamespace(**{"pad_token_id": 1, **read}))
    return {"model_type": model_type, "layers": layers, "positions": positions, "read_from": where}


def expand_imports(config: dict, refs_cache: Path | None = None) -> dict:
    """``config`` with every imported run's steps listed (``checkpoints``) and its family
    resolved (``resolved``; the module's docstring)."""
    from embryo.config.runs import checkpoint_steps
    from embryo.train.series import fill, match_refs, template_fields

    for name, run in config["runs"].items():
        spec = run.get("import")
        if spec is None:
            continue
        refs = None
        if spec.get("refs"):
            fields = template_fields(spec, 0, run.get("seed"))
            hub_id = fill(spec["hub_id"], fields, f"runs.{name}.import.hub_id")
            refs = match_refs(name, {**spec, "hub_id": hub_id}, _refs_listing(hub_id, refs_cache))
            if run.get("checkpoints") == "refs":
                run["checkpoints"] = list(refs)
        if run.get("checkpoints") is None:
            run["checkpoints"] = sorted(spec["sources"])
        run["checkpoints"] = checkpoint_steps(run)
        read, where = first_config(name, run, config["data_dir"], refs)
        run["resolved"] = resolve_family(name, run, read, where)
    return config
