"""Reads trial records, calls ``scaling``, draws figures and writes reports.

``load`` (records, the tidy trial table, the points of an axis), ``fits`` (per-axis laws
chosen by evidence, verdicts, the per-axis table), ``tabular`` (the same for a CSV file, a
DataFrame or arrays), ``study`` (the seed table and its form against the published one), ``compute`` (frontier,
isoFLOP), ``compare`` (architectures against FLOPs and parameters, crossings), ``plots`` and
``plots_compute`` (figures: data in, Figure out), ``report`` (the Markdown report) and
``synthetic`` (records made from known laws, for tests).
"""
