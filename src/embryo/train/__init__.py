"""Pretraining: the objective, the optimiser, the distillation loss, growth, the segment job,
checkpoint export and import, imported series (:mod:`~embryo.train.series`: where each step
comes from, the check before any import), and a run's validation curve.

The segment job (:mod:`~embryo.train.segment`) reads as build, step, evaluate, save.
Imports: :mod:`embryo.runtime`, :mod:`embryo.data`, :mod:`embryo.models`.
"""
