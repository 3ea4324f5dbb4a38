"""Every table, figure and report section, declared once.

The workflow (``rules/targets.smk``, through :mod:`embryo.config.targets`) reads this
module to know which tables a config produces and from what, which figures it draws and with which function, in which report
section each item goes and with which caption; the provenance reads each table's
lineage, the findings which tables they check. Adding a per-checkpoint analysis takes
one library module, one :class:`Table` here (with ``per_checkpoint``), one rule and one
script (docs/contributing.md, "Adding an analysis"); ``tests/test_registry.py`` checks that this
declaration and the rules agree.

This module declares; it imports nothing of ours and runs no code of any stage. What a
job needs of it (a caption, a figure's function and options) reaches the job as params,
so, like :mod:`embryo.config`, it is part of no code fingerprint.
"""

from __future__ import annotations

from typing import NamedTuple

# report sections, in the report's order; the crossed analyses join two studies
EMBRYOLOGY = "1. Embryology"
TRANSFER = "2. Transferability"
INHERITANCE = "3. Knowledge inheritance"
CROSSED = "4. Crossed analyses"
FINDINGS = "5. Findings and provenance"
SECTIONS = (EMBRYOLOGY, TRANSFER, INHERITANCE, CROSSED, FINDINGS)

# the rules from the corpus to the checkpoints: where every table's lineage starts
UPSTREAM = (
    "generate_builtin",
    "prepare_corpus",
    "train_tokenizer",
    "tokenize_corpus",
    "pretrain",
    "pretrain_student",
    "export_checkpoint",
    "check_series",
    "import_checkpoint",
)

# The facts about a config that decide which tables and figures it produces (a table's or
# figure's ``needs``), with their meaning; embryo.config.targets.facts derives them.
FACTS = {
    "trained": "some run is pretrained here (not an imported series)",
    "scored_imports": "some imported series is scored on a corpus's validation blocks "
    "(runs.<run>.corpus)",
    "analysed": "some run's checkpoints have the per-checkpoint analyses (runs.<run>.analyse)",
    "lama_exposure": "LAMA is on and counts each fact's exposure (analyses.lama.exposure)",
    "downstream_tasks": "the downstream analysis fine-tunes at least one task",
    "transfer": "the transferability grid is on, with at least one task",
    "transfer_probing": "the grid also probes each layer for the task (transferability.probing)",
    "crossed": "a grid run has single-layer schemes at more than one pretraining step",
    "ki": "some run has a teacher (knowledge inheritance)",
    "twin": "some student has a from-scratch twin",
    "students_downstream": "some student's checkpoints are fine-tuned by the downstream analysis",
}
# facts with a value, ``kind:value``: what the value ranges over
FACT_KINDS = {
    "family": "the grid has a reinitialisation scheme of this family "
    "(embryo.transfer.reinit: none, progressive, single, block, only, scramble)",
    "probe_task": "the word-level probes include this task (upos, xpos, deprel)",
    "ki_study": "this knowledge-inheritance study compares at least one student "
    "(inheritance.studies)",
}


def declared(fact: str) -> bool:
    """Whether ``fact`` is one of :data:`FACTS` or ``kind:value`` of a :data:`FACT_KINDS`."""
    kind, sep, value = fact.partition(":")
    return fact in FACTS if not sep else kind in FACT_KINDS and bool(value)


class Table(NamedTuple):
    """A table under ``results/tables/``: {name}.csv (and .parquet) or, for the
    provenance, {name}.json.

    ``rule`` writes it; the ``table`` rule gathers per-checkpoint outputs. A
    ``per_checkpoint`` table is one analysis of every analysed checkpoint: its output
    under ``results/{run}/step-{step}/`` (``{probe}`` stands for each probing task), its
    rule named like the table. It is produced when ``analyses.<config>.enabled`` (if
    ``config`` is set) and each of its ``needs`` holds (see :class:`Figure`).
    ``lineage``: the rules between the checkpoints and ``rule`` (the provenance adds
    the corpus-to-checkpoint rules before them). ``findings``: the findings check it.
    ``checks``: the inputs its jobs read, checked while the workflow is parsed, before any
    job (``treebank``, ``lama``, ``blimp``, and the tasks: ``downstream_tasks``,
    ``transfer_tasks``; :mod:`embryo.data.checks`). ``items``: the per-item outcomes
    that each job writes beside its output and computes that output from (a
    per-checkpoint table: under ``results/{run}/step-{step}/``; otherwise a file name
    beside each gathered file); the findings test on them.
    """

    name: str
    section: str
    caption: str
    rule: str
    per_checkpoint: str | None = None
    config: str | None = None
    findings: bool = False
    lineage: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    items: str | None = None


class Figure(NamedTuple):
    """A figure ``results/figures/{name}.png`` (and .pdf).

    ``draw`` is ``module:function`` of :mod:`embryo.plots`, called with the ``tables``
    (DataFrames, in this order), the output path and the keyword ``options``. It is drawn
    when the config produces its tables and each of its ``needs`` holds: a fact about the
    config (:data:`FACTS`, :data:`FACT_KINDS`; ``a|b``: either). A figure ``over_training`` draws its measures against the
    pretraining step, or the tokens seen with the config's ``figures.axis: tokens`` (its
    draw function takes ``axis``).
    """

    name: str
    section: str
    tables: tuple[str, ...]
    draw: str
    caption: str
    options: tuple[tuple[str, object], ...] = ()
    needs: tuple[str, ...] = ()
    over_training: bool = False  # drawn against steps, or tokens seen (config figures.axis)


TABLES = (
    Table(
        "validation",
        EMBRYOLOGY,
        caption=(
            "Validation masked-LM loss (natural log) and perplexity at every checkpoint of "
            "every trained run, and of every imported series scored on a corpus "
            "(runs.<run>.corpus): one row per run and step."
        ),
        rule="table",
        findings=True,
        lineage=("validation_step", "validation_curve"),
        items="validation.items.parquet",
        needs=("trained|scored_imports",),
    ),
    Table(
        "weights",
        EMBRYOLOGY,
        caption=(
            "Weight norms per part of the model (embeddings, each encoder layer, the "
            "masked-LM head, the whole model) at every checkpoint of every run, and their L2 "
            "distance from the run's first checkpoint (its initialisation, for a trained "
            "run), absolute and relative to the first checkpoint's norm."
        ),
        rule="table",
        config="weights",
        lineage=("weights",),
    ),
    Table(
        "mlm_pos",
        EMBRYOLOGY,
        caption=(
            "Token reconstruction (the word left in place) and mask prediction (the word "
            "masked) per part of speech, UPOS and Penn XPOS, at every analysed checkpoint: "
            "words scored, words right (every piece right), accuracy, the tag's frequency, "
            "words skipped as too long (Chiang et al. 2020, §4)."
        ),
        rule="table",
        per_checkpoint="mlm_pos.csv",
        items="mlm_pos.items.parquet",
        config="mlm_pos",
        findings=True,
        lineage=("mlm_pos",),
        checks=("treebank",),
    ),
    Table(
        "probe",
        EMBRYOLOGY,
        caption=(
            "Linear probes on the frozen representations of every layer (0 = embeddings) at "
            "every analysed checkpoint, per task (UPOS, XPOS, dependency relations): test "
            "accuracy, the accuracy of the same probe on Hewitt and Liang's control task, "
            "selectivity (their difference) and the majority-class baseline."
        ),
        rule="table",
        per_checkpoint="probe/{probe}",
        items="probe/{probe}/items.parquet",
        config="probing",
        findings=True,
        lineage=("extract_features", "probe"),
        checks=("treebank",),
    ),
    Table(
        "edge_probe",
        EMBRYOLOGY,
        caption=(
            "Edge probing (Tenney et al. 2019), the Embryology paper's probes: per task "
            "(constituent labels, semantic roles, coreference, ... from jiant's edge-probing "
            "files), a linear probe on each layer's mean-pooled span vectors (a span pair's "
            "concatenated) at every analysed checkpoint: test accuracy, the accuracy on a "
            "control task that labels each span by its words, selectivity and the "
            "majority-class baseline."
        ),
        rule="table",
        findings=True,
        per_checkpoint="edge_probe/{edge}",
        items="edge_probe/{edge}/items.parquet",
        config="edge_probing",
        lineage=("edge_probe",),
        checks=("edges",),
    ),
    Table(
        "lama",
        EMBRYOLOGY,
        caption=(
            "LAMA cloze queries per relation at every analysed checkpoint: facts scored "
            "(single-token objects in the model's vocabulary), facts skipped, P@1 and mean "
            "reciprocal rank; relation type 1-1, N-1 or N-M."
        ),
        rule="table",
        per_checkpoint="lama.csv",
        items="lama.items.parquet",
        config="lama",
        findings=True,
        lineage=("lama",),
        checks=("lama",),
    ),
    Table(
        "lama_exposure",
        EMBRYOLOGY,
        caption=(
            "LAMA exposure: every scored fact of every trained run at every analysed "
            "checkpoint, with its exposure (the training sequences drawn up to that step "
            "that hold both its subject and its object, repeats counted; Kandpal et al. "
            "2023) and whether the checkpoint ranked its object first."
        ),
        rule="table",
        config="lama",
        lineage=("lama", "lama_exposure"),
        needs=("trained", "analysed", "lama_exposure"),
    ),
    Table(
        "blimp",
        EMBRYOLOGY,
        caption=(
            "BLiMP minimal pairs per paradigm at every analysed checkpoint: accuracy of the "
            "pseudo-log-likelihood preferring the good sentence, pairs scored and skipped."
        ),
        rule="table",
        per_checkpoint="blimp.csv",
        items="blimp.items.parquet",
        config="blimp",
        lineage=("blimp",),
        checks=("blimp",),
    ),
    Table(
        "downstream",
        EMBRYOLOGY,
        caption=(
            "Each analysed checkpoint fine-tuned on each task (whole model, no "
            "reinitialisation): one row per run, step, task and seed, with the dev metrics, "
            "training examples and steps."
        ),
        rule="table",
        config="downstream",
        findings=True,
        lineage=("prepare_task", "finetune"),
        needs=("downstream_tasks",),
        checks=("downstream_tasks",),
        items="predictions.parquet",
    ),
    Table(
        "transferability",
        TRANSFER,
        caption=(
            "The reinitialisation grid (Tamkin et al. 2020): one row per fine-tuning job "
            "(run, step, task, training-set size, scheme, seed) with its dev score; rows "
            "whose scheme builds the same model as another scheme repeat that job's row "
            "(same_as)."
        ),
        rule="table",
        findings=True,
        lineage=("prepare_task", "finetune"),
        needs=("transfer",),
        checks=("transfer_tasks",),
        items="predictions.parquet",
    ),
    Table(
        "task_probe",
        TRANSFER,
        caption=(
            "Task probing: a linear classifier on each layer's frozen representation of "
            "each task, per run and step, beside the reinitialisation grid."
        ),
        rule="table",
        findings=True,
        lineage=("prepare_task", "task_probe"),
        needs=("transfer", "transfer_probing"),
        checks=("transfer_tasks",),
    ),
    Table(
        "transfer_summary",
        TRANSFER,
        caption=(
            "The reinitialisation grid summarised over seeds: per run, step, task, "
            "training-set size and scheme, the mean dev score, its standard deviation and "
            "95% t interval, the number of seeds, the score of keeping every layer "
            "(``none_mean``) and the difference (``delta``, negative when the scheme costs "
            "score); ``kept_layers`` counts the pretrained layers the scheme keeps."
        ),
        rule="transfer_summary",
        lineage=("prepare_task", "finetune", "table"),
        needs=("transfer",),
    ),
    Table(
        "scrambling",
        TRANSFER,
        caption=(
            "Scrambling: the Spearman rank correlation, over layer permutations, between "
            "the mean dev scores of two tasks (per run, step and training-set size), with "
            "its p-value. A high correlation means that a permutation which hurts one task "
            "hurts the other as well (Tamkin et al. 2020)."
        ),
        rule="scrambling",
        lineage=("prepare_task", "finetune", "table", "transfer_summary"),
        needs=("transfer",),
    ),
    Table(
        "inheritance",
        INHERITANCE,
        caption=(
            "Knowledge inheritance (Qin et al. 2021): for each checkpoint of a student's "
            "from-scratch twin, the twin's validation perplexity, the step at which the "
            "student first reaches it (interpolated in log perplexity between checkpoints) "
            "and the fraction of steps saved; with the teacher, its checkpoint and the "
            "inheritance schedule."
        ),
        rule="inheritance_table",
        findings=True,
        lineage=("validation_curve",),
        needs=("ki",),
    ),
    Table(
        "findings",
        FINDINGS,
        caption=(
            "Each paper's headline finding next to what this run measured. The verdict "
            "(reproduced, not reproduced, inconclusive) is given by the rule in the last "
            "column, written in ``embryo.results.findings``, never by hand. At the demo's scale "
            "most verdicts say more about the scale than about the papers."
        ),
        rule="findings",
    ),
    Table(
        "provenance",
        FINDINGS,
        caption=(
            "What produced every table: each table's SHA-256, rows, columns and the library "
            "modules behind it with their code fingerprint; each run's resolved settings; "
            "the validated config with its defaults; package versions, Python, the platform "
            "and the workflow's git commit. Trace a row through its keys: ``run`` to "
            "``runs``, ``task`` to ``config.tasks``, the table to ``tables``."
        ),
        rule="provenance",
    ),
)

FIGURES = (
    Figure(
        "validation",
        EMBRYOLOGY,
        tables=("validation",),
        draw="embryo.plots.embryology:validation_curves",
        over_training=True,
        caption=(
            "Validation perplexity (exp of the natural-log masked-LM loss) at every "
            "checkpoint of every trained run and scored imported series, one line per run; "
            "log scale, lower is better. "
            "A curve that flattens early says the later checkpoints add little to the "
            "language model itself."
        ),
    ),
    Figure(
        "weights",
        EMBRYOLOGY,
        tables=("weights",),
        draw="embryo.plots.embryology:weight_curves",
        over_training=True,
        caption=(
            "Relative distance from the first checkpoint, ||θ_t − θ_0|| / ||θ_0||, and the "
            "weight norm relative to the first checkpoint's, per part of the model (colour: "
            "from the embeddings, dark, to the head, light), one row per run. A healthy "
            "series rises steadily; a flat stretch is two steps with the same weights, a "
            "jump a step from another run."
        ),
    ),
    Figure(
        "mlm_pos",
        EMBRYOLOGY,
        tables=("mlm_pos",),
        draw="embryo.plots.embryology:pos_curves",
        over_training=True,
        caption=(
            "Token reconstruction (left: the word left in place and asked back) and mask "
            "prediction (right: the word masked) accuracy per UPOS tag vs pretraining step, "
            "one panel row per run; a word counts only if all its pieces are right (Chiang "
            "et al. 2020, Fig. 1). Compare where each tag's curve leaves zero: Chiang et "
            "al. report that tags are learned at different speeds."
        ),
    ),
    Figure(
        "mlm_pos_rescaled",
        EMBRYOLOGY,
        tables=("mlm_pos",),
        draw="embryo.plots.embryology:pos_curves",
        over_training=True,
        options=(("rescaled", True),),
        caption=(
            "The same curves divided by each tag's accuracy at the last step, so that the "
            "order in which parts of speech are learned is visible (Chiang et al. 2020, "
            "Fig. 2): a tag whose curve reaches 1 earlier is learned earlier. Tags the last "
            "checkpoint gets right less than 5% of the time are left out; the findings "
            "table times each tag at 90% of its final value."
        ),
    ),
    Figure(
        "edge_probe",
        EMBRYOLOGY,
        tables=("edge_probe",),
        draw="embryo.plots.embryology:probe_heatmaps",
        over_training=True,
        caption=(
            "Edge probing: accuracy (left) and selectivity (right) of the span probes per "
            "layer (rows, 0 = embeddings) and pretraining step (columns), one panel row per "
            "run and task (constituents, semantic roles, ...)."
        ),
    ),
    Figure(
        "probe_upos",
        EMBRYOLOGY,
        tables=("probe",),
        draw="embryo.plots.embryology:probe_heatmaps",
        over_training=True,
        options=(("task", "upos"),),
        needs=("probe_task:upos",),
        caption=(
            "Linear probes for UPOS: accuracy (left) and selectivity (right: accuracy minus "
            "that of the same probe on Hewitt & Liang's control task, which maps each word "
            "type to a random tag) per layer (rows, 0 = embeddings) and pretraining step "
            "(columns), one panel row per run. Brighter is higher; high accuracy with low "
            "selectivity means the probe could memorise word identity rather than read "
            "syntax."
        ),
    ),
    Figure(
        "probe_xpos",
        EMBRYOLOGY,
        tables=("probe",),
        draw="embryo.plots.embryology:probe_heatmaps",
        over_training=True,
        options=(("task", "xpos"),),
        needs=("probe_task:xpos",),
        caption=(
            "Linear probes for Penn XPOS tags: accuracy and selectivity per layer (rows) "
            "and step (columns), read as the UPOS probes; the finer tag set separates what "
            "the layers know beyond coarse word classes."
        ),
    ),
    Figure(
        "probe_deprel",
        EMBRYOLOGY,
        tables=("probe",),
        draw="embryo.plots.embryology:probe_heatmaps",
        over_training=True,
        options=(("task", "deprel"),),
        needs=("probe_task:deprel",),
        caption=(
            "Edge probing for dependency relations: a linear classifier on the head's and "
            "the dependent's features of each arc, accuracy and selectivity per layer "
            "(rows) and step (columns). Selectivity near zero at every layer means the "
            "probe reads word identity, not the relation."
        ),
    ),
    Figure(
        "lama",
        EMBRYOLOGY,
        tables=("lama",),
        draw="embryo.plots.embryology:grouped_curves",
        over_training=True,
        options=(
            ("group", "type"),
            ("title", "LAMA by relation type"),
            ("value", "p_at_1"),
            ("ylabel", "P@1"),
        ),
        caption=(
            "LAMA: precision at 1 of cloze queries (single-token objects in the model's "
            "vocabulary) vs pretraining step, averaged over the relations of each type "
            "(1-1, N-1, N-M), one panel per run. Chiang et al. report that world knowledge "
            "does not generally improve as pretraining proceeds."
        ),
    ),
    Figure(
        "lama_exposure",
        EMBRYOLOGY,
        tables=("lama_exposure",),
        draw="embryo.plots.embryology:exposure_curves",
        caption=(
            "LAMA exposure, one row per trained run. Left: P@1 against exposure (the "
            "training sequences seen so far that held both the fact's subject and object, "
            "in bins 0, 1, 2-3, 4-7, ...; facts pooled over relations), one line per "
            "checkpoint, dark to light with the step; bars: 95% Clopper-Pearson intervals; "
            "bins of fewer than 5 facts are not drawn. Right: the object's median rank "
            "(log scale, 1 = right) against step for the facts grouped by their exposure "
            "at the last checkpoint. Where P@1 rises, or the rank falls, with exposure, "
            "facts are learned as often as they were seen together; where they stay flat, "
            "by something else, or not at all."
        ),
    ),
    Figure(
        "downstream",
        EMBRYOLOGY,
        tables=("downstream",),
        draw="embryo.plots.embryology:downstream_curves",
        over_training=True,
        caption=(
            "Dev score of each checkpoint fine-tuned on each task (whole model, no "
            "reinitialisation; mean over seeds, band = min to max) vs pretraining step "
            "(Chiang et al. 2020, Fig. 5)."
        ),
    ),
    Figure(
        "blimp",
        EMBRYOLOGY,
        tables=("blimp",),
        draw="embryo.plots.embryology:grouped_curves",
        over_training=True,
        options=(
            ("group", "field"),
            ("title", "BLiMP by field"),
            ("value", "accuracy"),
            ("ylabel", "accuracy"),
        ),
        caption=(
            "BLiMP: the share of minimal pairs whose grammatical sentence gets the higher "
            "pseudo-log-likelihood, vs step, averaged over the paradigms of each field "
            "(morphology, syntax, semantics...), one panel per run. Chance is 0.5."
        ),
    ),
    Figure(
        "transfer_progressive",
        TRANSFER,
        tables=("transfer_summary",),
        draw="embryo.plots.transfer:progressive",
        needs=("family:progressive",),
        caption=(
            "Progressive reinitialisation (Tamkin et al. 2020, Fig. 1): dev score after "
            "fine-tuning with the embeddings and the first K layers pretrained and the rest "
            "redrawn, one line per training-set size (band: 95% t interval over seeds, "
            "clipped to the metric's range). Pretraining helps where a line rises with K; "
            "the paper found that pretrained layers help more when fine-tuning data are "
            "plentiful and may give little in data-scarce settings."
        ),
    ),
    Figure(
        "transfer_layers",
        TRANSFER,
        tables=("transfer_summary",),
        draw="embryo.plots.transfer:layer_effects",
        needs=("family:single|family:block|family:only",),
        caption=(
            "Localised reinitialisation: change of the dev score against keeping every "
            "layer, when one layer (single), a block of layers (block) is redrawn or only a "
            "block is kept (only); x is the layer (a block's centre). Below zero: the layer "
            "was worth transferring."
        ),
    ),
    Figure(
        "transfer_scramble",
        TRANSFER,
        tables=("transfer_summary",),
        draw="embryo.plots.transfer:scrambling",
        needs=("family:scramble",),
        caption=(
            "Scrambling: dev score of each permutation of the pretrained layers (dots) "
            "against the pretrained order (bar), per training-set size."
        ),
    ),
    Figure(
        "transfer_probing",
        TRANSFER,
        tables=("task_probe", "transfer_summary"),
        draw="embryo.plots.transfer:probing_vs_reinit",
        needs=("family:single",),
        caption=(
            "Task probing vs reinitialisation: a linear classifier on the frozen model's "
            "representation after layer k (line, left axis) and the score lost by redrawing "
            "that layer before fine-tuning (bars, right axis). Do the layers that probe "
            "best matter most?"
        ),
    ),
    Figure(
        "transfer_crossed",
        CROSSED,
        tables=("transfer_summary",),
        draw="embryo.plots.transfer:crossed",
        needs=("family:single", "crossed"),
        caption=(
            "When does each layer become worth transferring? Score lost by redrawing one "
            "layer before fine-tuning (largest training-set size), per pretraining step (x) "
            "and layer (y); red = the pretrained layer helped."
        ),
    ),
    Figure(
        "ki_validation",
        INHERITANCE,
        tables=("validation", "inheritance"),
        draw="embryo.plots.inheritance:validation",
        caption=(
            "Knowledge inheritance (Qin et al. 2021): validation perplexity vs step of each "
            "student (pretrained with its teacher's guidance), its from-scratch twin and "
            "the teacher; the shading is the inheritance weight alpha_t (right axis); "
            "dashed: the twin's final perplexity and the step at which the student reaches "
            "it. Perplexity = exp(natural-log loss); the paper's fairseq curves are base 2."
        ),
    ),
    Figure(
        "ki_saving",
        INHERITANCE,
        tables=("inheritance",),
        draw="embryo.plots.inheritance:saving",
        needs=("twin",),
        caption=(
            "Steps saved by knowledge inheritance: for each checkpoint of the twin, the "
            "step at which the student first reaches the twin's perplexity there "
            "(interpolated in log perplexity between checkpoints), against the diagonal of "
            "no saving; labels: the fraction of steps saved."
        ),
    ),
    *(
        Figure(
            f"ki_{study}",
            INHERITANCE,
            tables=("validation", "inheritance"),
            draw="embryo.plots.inheritance:study",
            options=(("study", study),),
            needs=(f"ki_study:{study}",),
            caption=caption,
        )
        for study, caption in (
            (
                "size",
                (
                    "Knowledge inheritance from teachers of different sizes (Qin et al. 2022, "
                    "§4.3): validation perplexity vs step of each student (solid) and their "
                    "from-scratch twin (dashed), and the share of the twin's steps each "
                    "student saves to reach the twin's final perplexity."
                ),
            ),
            (
                "architecture",
                (
                    "Knowledge inheritance from teachers of one size made deeper or wider (Qin et "
                    "al. 2022, §4.3): validation perplexity vs step of each student (solid) and "
                    "their from-scratch twin (dashed), and the share of the twin's steps each "
                    "student saves to reach the twin's final perplexity."
                ),
            ),
            (
                "data",
                (
                    "Knowledge inheritance from teachers pretrained on less data or another "
                    "domain (Qin et al. 2022, §4.3): validation perplexity of each student on the "
                    "students' corpus vs step, their twin dashed, and the steps each saves."
                ),
            ),
            (
                "lineage",
                (
                    "A lineage of knowledge inheritance, G1 -> G2 -> G3 (Qin et al. 2022, §4.2): "
                    "each generation's validation perplexity vs step beside its from-scratch twin "
                    "(dashed), G1 dotted, and the steps each generation saves."
                ),
            ),
            (
                "domain",
                (
                    "Domain adaptation with knowledge inheritance (Qin et al. 2022, §4.4): a "
                    "checkpoint continued on a new domain with a teacher of that domain (solid) "
                    "or without (dashed): validation perplexity on the new domain vs step, and "
                    "the steps saved."
                ),
            ),
        )
    ),
    Figure(
        "ki_downstream",
        CROSSED,
        tables=("downstream", "inheritance"),
        draw="embryo.plots.inheritance:downstream",
        needs=("students_downstream",),
        caption=(
            "Knowledge inheritance downstream: dev score of each checkpoint of the students "
            "and their twins fine-tuned on each task (mean over seeds) vs pretraining step."
        ),
    ),
)

TABLE = {t.name: t for t in TABLES}
FIGURE = {f.name: f for f in FIGURES}


def section(name: str) -> str:
    """The report section of a table or figure."""
    item = TABLE.get(name) or FIGURE.get(name)
    if item is None:
        raise KeyError(f"{name!r} is neither a table nor a figure of embryo.registry")
    return item.section
