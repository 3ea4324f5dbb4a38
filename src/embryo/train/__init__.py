"""Pretraining: the objective, the optimiser, the distillation loss, growth, the segment job,
checkpoint export and import, and a run's validation curve.

The segment job (:mod:`~embryo.train.segment`) reads as build, step, evaluate, save.
Imports: :mod:`embryo.runtime`, :mod:`embryo.data`, :mod:`embryo.models.families`.
"""
