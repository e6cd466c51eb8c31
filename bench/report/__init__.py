"""Reports from result files: tables (:mod:`.tables`), plots (:mod:`.plots`), the published
comparison (:mod:`.published`) and ``bench report`` (:mod:`.report`).

Reports read only result files, through :func:`bench.report.collect.collect`.
"""

from bench.report.collect import Collected, collect, select
from bench.report.report import build_report

__all__ = ["Collected", "build_report", "collect", "select"]
