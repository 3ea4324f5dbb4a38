"""The inputs: corpora, tokenizers, packed blocks, the treebank, tasks, LAMA facts, BLiMP pairs.

Each data set has one reader that accepts the built-in language, local files or a Hub
dataset and fails on bad input with the file and line; :mod:`~embryo.data.checks` runs
those readers on every input while the workflow is parsed, before any job starts.
The built-in language (:mod:`~embryo.data.builtin`) writes every input in the real
files' formats. Imports: :mod:`embryo.runtime` only.
"""
