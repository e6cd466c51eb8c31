"""``bench demo``: the whole protocol offline on a CPU, from training a tiny CLIP to the report.

- :mod:`bench.demo.pipeline`: data, training, every suite, the report (:func:`run_demo`).
- :mod:`bench.demo.robustness`: the robustness view, a baseline over small supervised models
  for digits -> ``digits_shifted`` (the paper's Figure 13 in miniature).

It sits above training, the suites and the reports, so none of them depends on it.
"""

from bench.demo.pipeline import QUICK, DemoSettings, DemoSummary, run_demo, write_data

__all__ = ["QUICK", "DemoSettings", "DemoSummary", "run_demo", "write_data"]
