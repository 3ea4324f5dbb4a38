"""What every model-using stage shares: model families and sizes, loading a checkpoint,
masked-LM logits at chosen positions (:mod:`~embryo.models.loading`), and the seeded
randomness every job draws from (:mod:`~embryo.models.seeds`).

Imports: :mod:`embryo.runtime` and :mod:`embryo.data`.
"""
