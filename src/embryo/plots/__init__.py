"""The figures, one module per study, drawn from the tidy tables.

Which figure is drawn by which function from which tables is declared in
:mod:`embryo.registry`. Imports: every stage below it.
"""
