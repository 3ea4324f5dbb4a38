"""The Knowledge Inheritance study (Qin et al. 2021) compared: the steps a student saves.

The student's loss is part of pretraining (:mod:`embryo.train.distillation`); here is
what its checkpoints are compared by. Imports: the stages below the studies only.
"""
