"""The Transferability study (Tamkin et al. 2020): partial reinitialisation, fine-tuning,
task probes and the grid's statistics.

Imports: :mod:`embryo.runtime`, :mod:`embryo.data`, :mod:`embryo.models.families`,
:mod:`embryo.train` (the shared optimiser); not the other studies.
"""
