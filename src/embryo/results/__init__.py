"""Results across runs and steps: per-checkpoint rows, tidy tables, the findings, the provenance.

Imports: every stage below it (runtime, data, models, train, the three studies).
"""
