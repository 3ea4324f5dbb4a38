"""Benchmark: a fine-tuning job of the workflow vs. the Hugging Face ``Trainer``.

Usage (from the repository root)::

    .venv/bin/python benchmarks/finetune.py [--configfile config/real-cpu.yaml] [--task sst2]
        [--run bert-tiny] [--n 2000] [--pairs 3] [--model DIR | --size S --pretrain 1000] [--threads N] [--json PATH]

What is compared. Every variant fine-tunes the same checkpoint (``--model``, a
``save_pretrained`` masked LM; by default the ``--run``'s model of ``--configfile``,
initialised from seed 0 and pretrained on WikiText-2 for ``--pretrain`` steps) on the same training subset of the same prepared task, with the
preset's ``finetuning`` hyper-parameters, and predicts the whole dev split once at the end:

* embryo: the workflow's job, :func:`embryo.transfer.finetune.finetune`, as
  ``workflow/scripts/finetune.py`` calls it, with the preset's settings (random batches,
  each computed packed, without padding: the same update).
* embryo-pieces: the same with ``packing: false`` (each batch in up to ``micro_batches``
  pieces of similar length, each padded to its longest: the same update).
* embryo-whole: the same with ``packing: false, micro_batches: 1`` (each batch padded as
  one, as the Trainer pads it).
* embryo-grouped: the same with ``group_by_length: true`` (batches of similar length, as
  the Trainer's ``LengthGroupedSampler`` makes them: other batches, not the same update).
* HF Trainer: what a careful Hugging Face user writes (``run_glue.py`` without
  ``--pad_to_max_length``): the same prepared ``input_ids`` as a ``datasets.Dataset``,
  ``AutoModelForSequenceClassification`` (new head drawn from the job's seed, as embryo
  draws it), ``DataCollatorWithPadding`` (padding to the batch's longest), ``Trainer`` with
  ``TrainingArguments`` set to the same learning rate, batch, epochs, warm-up, weight decay,
  betas, epsilon and clipping (linear schedule, its default fused AdamW), no evaluation
  or saving during training, then ``trainer.predict`` on dev.
* HF Trainer, grouped: the same with ``train_sampling_strategy="group_by_length"``
  (``LengthGroupedSampler``), the Trainer's own length grouping.

Timing: each job's wall time from the prepared task on disk to the dev predictions
(loading the checkpoint included), in rounds of one job per variant, the order reversed
every other round (ABBA), round ``i`` with seed ``i`` (so the subset and the new head's
initialisation vary by round, alike for all variants). Examples/s counts training examples
(``n * epochs``) per second of the whole job. Reported: each variant's median examples/s,
the median (and range) of the within-round speed-ups, and the dev metric of every round,
with the mean difference to embryo's, so that "the same model quality" can be read off.
This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def load_config(path: Path) -> dict:
    """The preset, validated (schema defaults filled in)."""
    import yaml

    from embryo.config.schema import load_schema, validate

    config = yaml.safe_load(path.read_text())
    return validate(config, load_schema(REPO / "config" / "schema.yaml"), check_files=False)


def prepare(config: dict, args, workdir: Path) -> tuple[Path, Path]:
    """The checkpoint and the task prepared with its tokenizer: (task_dir, model_dir).

    Without ``--model``: WikiText-2 (``valid.txt``) tokenized and packed as
    ``benchmarks/throughput.py`` does (WordPiece with the run's vocabulary size), the
    ``--run``'s model initialised from seed 0 and pretrained for ``--pretrain`` steps by
    the workflow's own training step (:func:`embryo.train.segment.build_trainer`, the run's
    optimizer, schedule and objective), so that fine-tuning starts from a model that has
    learnt something, as the workflow's jobs do."""
    from accelerate import Accelerator
    from throughput import corpus_texts, prepare_data
    from transformers import AutoModelForMaskedLM

    from embryo.config.settings import segment
    from embryo.config.settings import tokenizer as tokenizer_settings
    from embryo.data.tasks import prepare_task
    from embryo.models.families import build_config
    from embryo.train.segment import build_trainer

    max_length = config["finetuning"]["max_length"]
    task_dir = workdir / "task"
    if args.model:
        prepare_task(
            config["tasks"][args.task],
            SHARED_DATA,
            args.model,
            task_dir,
            name=args.task,
            max_length=max_length,
        )
        return task_dir, Path(args.model)
    run = config["runs"][args.run]
    vocab = tokenizer_settings(config, run["tokenizer"]).vocab_size
    texts, _ = corpus_texts(workdir)
    tokenizer, blocks, _ = prepare_data(texts, workdir, vocab, run["block_size"])
    if args.size:  # another model shape for the same run (a preset of the schema's model.size)
        run = {**run, "model": {**run["model"], "size": args.size}}
        config = {**config, "runs": {**config["runs"], args.run: run}}
    settings = segment(config, args.run, max(args.pretrain, 1))
    torch.manual_seed(0)
    model = AutoModelForMaskedLM.from_config(
        build_config(run["architecture"], settings.model, tokenizer, run["block_size"])
    )
    if args.pretrain:
        started = time.perf_counter()
        accelerator = Accelerator(cpu=not torch.cuda.is_available())
        trainer = build_trainer(settings, model, tokenizer, blocks, accelerator)
        for t in range(1, args.pretrain + 1):
            loss = trainer.step(t).loss
        model = accelerator.unwrap_model(trainer.model)
        print(
            f"pretrained {args.pretrain} steps in {time.perf_counter() - started:.0f} s "
            f"(last loss {loss:.3f})",
            flush=True,
        )
    model_dir = workdir / "model"
    model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    prepare_task(
        config["tasks"][args.task],
        SHARED_DATA,
        model_dir,
        task_dir,
        name=args.task,
        max_length=max_length,
    )
    return task_dir, model_dir


def embryo_job(model_dir, task_dir, out: Path, *, n, seed, hparams) -> dict:
    """The workflow's fine-tuning job; its dev predictions and score."""
    import pandas as pd

    from embryo.transfer.finetune import finetune

    result = finetune(model_dir, task_dir, out / "metrics.json", n=n, seed=seed, hparams=hparams)
    predictions = pd.read_parquet(out / "metrics.predictions.parquet")["prediction"].to_numpy()
    return {"score": result["score"], "predictions": predictions}


def trainer_job(model_dir, task_dir, out: Path, *, n, seed, hparams, grouped: bool) -> dict:
    """The same job through the Hugging Face ``Trainer``."""
    from datasets import Dataset
    from transformers import AutoTokenizer, DataCollatorWithPadding, Trainer, TrainingArguments

    from embryo.transfer.finetune import (
        dev_scores,
        load_classifier,
        read_prepared,
        training_subset,
    )

    info = json.loads((Path(task_dir) / "task.json").read_text())
    train, dev = read_prepared(task_dir, "train"), read_prepared(task_dir, "dev")
    subset = training_subset(len(train["label"]), n, seed)
    columns = ("input_ids", "token_type_ids", "label")
    train_set = Dataset.from_dict({k: [train[k][i] for i in subset] for k in columns})
    dev_set = Dataset.from_dict({k: dev[k] for k in columns})
    model, _ = load_classifier(model_dir, info, seed)
    steps = -(-len(subset) // hparams.batch_size) * hparams.epochs
    training = TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=hparams.batch_size,
        per_device_eval_batch_size=hparams.eval_batch_size,
        learning_rate=hparams.lr,
        num_train_epochs=hparams.epochs,
        warmup_steps=round(hparams.warmup_ratio * steps),
        weight_decay=hparams.weight_decay,
        adam_beta1=hparams.beta1,
        adam_beta2=hparams.beta2,
        adam_epsilon=hparams.eps,
        max_grad_norm=hparams.max_grad_norm,
        lr_scheduler_type="linear",
        eval_strategy="no",
        save_strategy="no",
        logging_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=seed,
        data_seed=seed,
        use_cpu=not torch.cuda.is_available(),
        train_sampling_strategy="group_by_length" if grouped else "random",
    )
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    trainer = Trainer(
        model=model,
        args=training,
        train_dataset=train_set,
        data_collator=DataCollatorWithPadding(tokenizer),
    )
    trainer.train()
    logits = trainer.predict(dev_set).predictions
    predictions = logits[:, 0] if info["type"] == "regression" else logits.argmax(-1)
    return {
        "score": dev_scores(predictions, dev, info)[info["metrics"][0]],
        "predictions": predictions,
    }


VARIANTS = (
    "embryo",
    "embryo-pieces",
    "embryo-whole",
    "embryo-grouped",
    "hf-trainer",
    "hf-trainer-grouped",
)
# embryo's variants: the settings they change
EMBRYO = {
    "embryo": {},
    "embryo-pieces": {"packing": False},
    "embryo-whole": {"packing": False, "micro_batches": 1},
    "embryo-grouped": {"group_by_length": True},
}
# (ours, baseline) pairs whose within-round ratio is reported
COMPARED = (
    ("embryo", "hf-trainer"),
    ("embryo-pieces", "hf-trainer"),
    ("embryo-whole", "hf-trainer"),
    ("embryo-grouped", "hf-trainer-grouped"),
    ("embryo", "embryo-whole"),
)


def run_variant(name, model_dir, task_dir, workdir, *, n, seed, hparams) -> dict:
    """One job of ``name``, timed."""
    out = Path(tempfile.mkdtemp(dir=workdir, prefix=f"{name}-"))
    started = time.perf_counter()
    if name in EMBRYO:
        chosen = hparams._replace(**EMBRYO[name])
        result = embryo_job(model_dir, task_dir, out, n=n, seed=seed, hparams=chosen)
    else:
        result = trainer_job(
            model_dir,
            task_dir,
            out,
            n=n,
            seed=seed,
            hparams=hparams,
            grouped=name.endswith("grouped"),
        )
    seconds = time.perf_counter() - started
    return {
        "variant": name,
        "seed": seed,
        "seconds": seconds,
        "score": result["score"],
        "examples_per_s": n * hparams.epochs / seconds,
    }


def report(rounds: list[list[dict]], metric: str) -> dict:
    """Medians per variant, and the within-round speed-ups (and metric differences) of
    the :data:`COMPARED` pairs."""
    out = {"variants": {}, "speedup": {}}
    for name in VARIANTS:
        jobs = [job for r in rounds for job in r if job["variant"] == name]
        out["variants"][name] = {
            "examples_per_s": statistics.median(j["examples_per_s"] for j in jobs),
            "seconds": statistics.median(j["seconds"] for j in jobs),
            metric: [round(j["score"], 4) for j in jobs],
        }
    for ours, baseline in COMPARED:
        ratios, diffs = [], []
        for r in rounds:
            by = {j["variant"]: j for j in r}
            ratios.append(by[baseline]["seconds"] / by[ours]["seconds"])
            diffs.append(by[ours]["score"] - by[baseline]["score"])
        out["speedup"][f"{ours} over {baseline}"] = {
            "median": statistics.median(ratios),
            "min": min(ratios),
            "max": max(ratios),
            f"mean {metric} difference": statistics.fmean(diffs),
        }
    return out


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configfile", type=Path, default=REPO / "config" / "real-cpu.yaml")
    parser.add_argument("--task", default="sst2")
    parser.add_argument("--run", default="bert-tiny")
    parser.add_argument("--n", type=int, default=2000, help="training subset size")
    parser.add_argument("--pairs", type=int, default=3, help="rounds (one job per variant)")
    parser.add_argument("--model", help="a save_pretrained masked LM with its tokenizer")
    parser.add_argument(
        "--size", help="the run's model as this size preset (tiny, mini, small, ...)"
    )
    parser.add_argument(
        "--pretrain",
        type=int,
        default=1000,
        help="pretraining steps of the --run's model (without --model)",
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path)
    return parser.parse_args()


def main() -> None:
    from embryo.config.settings import finetuning

    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_config(args.configfile)
    hparams = finetuning(config)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        task_dir, model_dir = prepare(config, args, workdir)
        info = json.loads((task_dir / "task.json").read_text())
        print(
            f"task {args.task}: n = {args.n} of {info['train_rows']} training rows, "
            f"{info['dev_rows']} dev; model {model_dir}; {hparams}",
            flush=True,
        )
        rounds = []
        for i in range(args.pairs):
            order = VARIANTS if i % 2 == 0 else VARIANTS[::-1]
            jobs = [
                run_variant(name, model_dir, task_dir, workdir, n=args.n, seed=i, hparams=hparams)
                for name in order
            ]
            for job in jobs:
                print(
                    json.dumps(
                        {k: round(v, 4) if isinstance(v, float) else v for k, v in job.items()}
                    ),
                    flush=True,
                )
            rounds.append(jobs)
    result = {
        "machine": f"{platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}",
        "config": str(args.configfile),
        "task": args.task,
        "n": args.n,
        "hparams": hparams._asdict(),
        "rounds": rounds,
        **report(rounds, info["metrics"][0]),
    }
    print(json.dumps({k: result[k] for k in ("machine", "variants", "speedup")}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
