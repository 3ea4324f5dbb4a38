"""Infrastructure: how a job runs and writes, never what it computes.

Atomic outputs (:mod:`~embryo.runtime.atomic`), the one error type
(:mod:`~embryo.runtime.errors`), job logs (:mod:`~embryo.runtime.logs`), Snakemake's
stale locks (:mod:`~embryo.runtime.locks`), the warm interpreter
(:mod:`~embryo.runtime.warm`) and code fingerprints (:mod:`~embryo.runtime.fingerprint`).

Nothing here can change a number a job computes, so no module of this stage is part of
any result's fingerprint: editing it reruns nothing. It imports nothing of ours outside
this stage. A change that would alter an output's content belongs in the stage that
computes it.
"""
