"""What every model-using stage shares: the model families (:mod:`~embryo.models.families`,
one module each: what every analysis needs of a Hugging Face ``model_type``, and the
configs of the three families embryo pretrains), loading a checkpoint and masked-LM logits
at chosen positions (:mod:`~embryo.models.loading`), the Hub's refs, commits and weight
files (:mod:`~embryo.models.hub`), the weight analysis (:mod:`~embryo.models.weights`) and
the seeded randomness every job draws from (:mod:`~embryo.models.seeds`).

Imports: :mod:`embryo.runtime` and :mod:`embryo.data`.
"""
