"""The Embryology study's per-checkpoint analyses (Chiang, Huang & Lee 2020).

Word features of every layer and the probes on them, reconstruction and mask prediction
by part of speech, LAMA and BLiMP. Imports: :mod:`embryo.runtime`, :mod:`embryo.data`,
:mod:`embryo.models.families`, :mod:`embryo.train`; not the other studies.
"""
