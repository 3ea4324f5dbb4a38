"""Embryo: how pretrained masked language models develop and transfer.

The library under the Snakemake workflow. Its folders are the workflow's stages, in the
order in which they may import each other: a stage imports only from the stages before
it in this list (``tests/test_layout.py`` checks the direction and that there is no
import cycle).

=================  =====================================================================
``runtime``        infrastructure: atomic outputs, errors, job logs, locks, the warm
                   interpreter, code fingerprints; imports nothing else of ours
``data``           the inputs: corpora, tokenizers, packed blocks, the treebank, tasks,
                   LAMA facts, BLiMP pairs, the built-in language, and their checks
``models``         the model families (one module each), loading a checkpoint, masked-LM
                   logits at chosen positions, the Hub, and the seeded randomness every
                   job draws from
``train``          pretraining: objective, optimiser, distillation loss, growth, the
                   segment job, checkpoint export, imported series, the validation curve
``embryology``     per-checkpoint analyses: features, probes, MLM by POS, LAMA, BLiMP
``transfer``       reinitialisation, fine-tuning, task probes, the grid's statistics
``inheritance``    knowledge inheritance compared: steps saved against the twin
``results``        tables across runs and steps, the findings, the provenance
``plots``          the figures, one module per study
``config``         parse time: the config's validation, what it runs, typed settings
=================  =====================================================================

Beside them, :mod:`embryo.registry` declares every analysis, table, figure, report
section and caption once; it imports nothing of ours, and every stage may read it.

Every module is usable on its own, from a notebook or a script; heavy libraries (torch,
transformers, datasets) are imported inside the functions that need them.
"""

__version__ = "0.1.0"
