"""Train-test overlap (CLIP §5): test images with a near-duplicate in a training set.

:func:`run_overlap` (``bench overlap``) searches each task's test split for near-duplicates
among training images (:mod:`.detector`, :mod:`.search`), calibrates the similarity
threshold on edited copies (:mod:`.augment`, :mod:`.calibrate`), and with a model reports
zero-shot accuracy on the All, Clean and Overlap parts (:mod:`.accuracy`). Results are
:mod:`.result` files; the pairs found are written by :mod:`.pairs`.
"""

from bench.overlap.result import OverlapResult, read_overlap
from bench.overlap.run import load_model, run_overlap

__all__ = ["OverlapResult", "load_model", "read_overlap", "run_overlap"]
