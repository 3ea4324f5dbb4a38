"""Embryo: how pretrained masked language models develop and transfer.

The library under the Snakemake workflow. Every module is usable on its own, from a
notebook or a script; heavy libraries (torch, transformers, datasets) are imported
inside the functions that need them.
"""

__version__ = "0.1.0"
