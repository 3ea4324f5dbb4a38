"""The report's front page: what a config runs, in a few lines per run, data set and analysis.

The front page (``report/workflow.rst``) renders :func:`overview` and the provenance
(:mod:`embryo.results.provenance`), both passed to it as params of the provenance job;
the report's sections and captions are declared in :mod:`embryo.registry`.
"""

from __future__ import annotations


def _steps(steps: list[int]) -> str:
    if len(steps) <= 6:
        return "checkpoints at steps " + ", ".join(map(str, steps))
    return f"{len(steps)} checkpoints: steps {', '.join(map(str, steps[:3]))}, ..., {steps[-1]}"


def _source(spec: dict) -> str:
    """Where a corpus, treebank, task or analysis's data come from, in a few words."""
    files = [spec[k] for k in ("train", "dev", "test", "dir") if isinstance(spec.get(k), str)]
    files += spec.get("files") or []
    if spec["source"] == "hub":
        name = spec.get("hub_id", "")
        return f"Hub {name}" + (f" ({spec['hub_config']})" if spec.get("hub_config") else "")
    if spec["source"] == "mix":
        return "a mix of " + ", ".join(spec["parts"])
    where = "the built-in language" if spec["source"] == "builtin" else "data_dir"
    return f"{', '.join(files)} in {where}" if files else where


def overview(config: dict) -> dict:
    """What a config runs, in a few lines per item: runs, data, analyses (the front page)."""
    import embryo.config as ec
    from embryo.models.families import model_dims

    runs = []
    for name, run in config["runs"].items():
        steps = ec.checkpoint_steps(run)
        if ec.is_imported(run):
            spec = run["import"]
            source = spec.get("hub_id") or spec.get("path") or "the sources listed"
            family = run["resolved"]["model_type"] or "unknown-family"
            layers = run["resolved"]["layers"]
            depth = f", {layers} layers" if layers else ""
            runs.append(
                f"{name}: imported {family} series{depth} from {source} (seed "
                f"{run.get('seed')}); {_steps(steps)}"
            )
            continue
        dims = model_dims(run["architecture"], run["model"])
        line = (
            f"{name}: {run['architecture']}, {dims['num_hidden_layers']} layers of "
            f"{dims['hidden_size']}, pretrained on {ec.run_corpus(config, name)} with "
            f"tokenizer {run['tokenizer']}, blocks of {run['block_size']} tokens, batch "
            f"{run['optimizer']['batch_size']}, lr {run['optimizer']['lr']:g}; {_steps(steps)}"
        )
        if run.get("teacher"):
            line += f"; taught by {run['teacher']['run']} (twin: {run['teacher'].get('twin')})"
        if run.get("grow_from"):
            line += f"; grown from {run['grow_from']['run']}"
        if run.get("branch"):
            b = run["branch"]
            line += f"; a branch of {b['run']} at step {b['step']}" + (
                ", annealed" if b["anneal"] else ""
            )
        if run.get("replicate_of"):
            varied = [k for k, v in run["seeds"].items() if v != run["seed"]]
            line += f"; a replicate of {run['replicate_of']} ({', '.join(varied)} reseeded)"
        runs.append(line)

    data = [f"corpus {name}: {_source(spec)}" for name, spec in config["corpora"].items()]
    tb, cap = config["treebank"], config["treebank"]["max_sentences"]
    if cap["train"] is None and cap["test"] is None:
        data.append(f"treebank: {_source(tb)}, every sentence")
    else:
        data.append(
            f"treebank: {_source(tb)}, at most {cap['train']} training and "
            f"{cap['test']} test sentences"
        )
    a = config["analyses"]
    for key in ("lama", "blimp"):
        if a[key]["enabled"]:
            data.append(f"{key}: {_source(a[key])}")
    data += [f"task {name}: {_source(spec)}" for name, spec in config["tasks"].items()]

    analyses = []
    if a["steps"] is not None:
        analyses.append(f"analysed checkpoints: steps {', '.join(map(str, a['steps']))}")
    for key in ("mlm_pos", "probing", "lama", "blimp", "downstream"):
        if a[key]["enabled"]:
            analyses.append(key)
    t = config["transferability"]
    if t["enabled"] and ec.transfer_tasks(config):
        analyses.append(
            f"transferability grid: runs {', '.join(ec.transfer_runs(config))}; tasks "
            f"{', '.join(ec.transfer_tasks(config))}; training sizes "
            f"{', '.join(map(str, t['train_sizes']))}"
            + "".join(f" ({task}: {', '.join(map(str, n))})" for task, n in t["task_sizes"].items())
            + f"; schemes {', '.join(t['schemes'])}; "
            f"seeds {', '.join(map(str, t['seeds']))}"
        )
    return {"runs": runs, "data": data, "analyses": analyses}
