"""Results across runs and steps: per-checkpoint rows and per-item outcomes, tidy tables,
the statistics and the findings, the provenance.

Imports: every stage below it (runtime, data, models, train, the three studies).
"""
