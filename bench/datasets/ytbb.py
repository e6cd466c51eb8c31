"""YouTube-BB-Robust (Shankar et al. 2021): 24 classes (23 objects and ``none``).

On disk (``imagenet_vid_ytbb_robust.tar.gz``, unpacked): ``ytbb-robust/<ytid>_<ms>/
frame-<n>.jpg``. The anchor annotations come with the package (``data/ytbb/``, from the
ImageNet testbed): an anchor is used if its review says ``good`` and neither ``bad`` nor
``unsure``; its valid classes are the reviewed ones plus the original YTBB label of
``ytbb_robustness_test_anchors_full.csv`` (where the testbed swaps ids 22 and 23).

pm-k: the testbed decides which +-10 neighbours of an anchor count from the reviewed
pair annotations ``pmk_labels.json``, which no public snapshot we could read still holds.
Without it the dataset holds the anchors only, ``.pmk_sets`` is empty and
``.pmk_available`` is False: pm-0 can be computed, pm-10 cannot (a metric must report it as
missing, not as pm-0). Put a copy of ``pmk_labels.json`` in the task's data folder to get
the neighbours (valid pairs: ``similar`` and none of the problem labels; anchors marked
``bad-anchor`` are dropped), as the testbed does.
"""

from __future__ import annotations

import csv
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from bench.datasets._common import LazyDataset, check_fold, check_split, file_dataset, missing
from bench.datasets._imagenet import read_data
from bench.datasets.imagenet_vid import multi_hot

SPLITS = ("test",)
OFFICIAL_VAL = False
NUM_CLASSES = 24
FOLDER = "ytbb-robust"
PMK_FILE = "pmk_labels.json"
PROBLEMS = {
    "dissimilar",
    "problematic",
    "incorrect",
    "dont know",
    "deformation",
    "background-change",
    "occlusion-increased",
    "blur-increase",
    "bad-anchor",
}


@cache
def anchor_labels() -> dict[str, list[int]]:
    """Reviewed-good anchor key -> sorted valid YTBB class ids."""
    class_ids = {v: int(k) for k, v in read_data("ytbb/ytbb_class_index.json").items()}
    swap = {22: 23, 23: 22}
    csv_text = resources.files("bench.datasets").joinpath(
        "data", "ytbb", "ytbb_robustness_test_anchors_full.csv"
    )
    initial = {}
    for row in csv.DictReader(csv_text.read_text("utf-8").splitlines()):
        label = int(row["label"])
        initial[f"{row['ytid']}_{row['time_ms']}"] = swap.get(label, label)
    review = read_data("ytbb/anchor_labels.json")
    names = review["labels"]
    out = {}
    for ann in review["annotations"]:
        tags = {names[i] for i in ann["labels"]}
        if "good" not in tags or tags & {"bad", "unsure"}:
            continue
        key = "/".join(Path(ann["key"]).parts[-2:])
        valid = {class_ids[t] for t in tags if t in class_ids} | {initial[key.split("/")[0]]}
        out[key] = sorted(valid)
    return out


def _neighbour(anchor: str, offset: int) -> str:
    folder, name = anchor.split("/")
    index = int(name.split("-")[1].split(".")[0])
    return f"{folder}/frame-{index + offset}.jpg"


def read_pmk(path: Path, anchors: dict[str, list[int]], k: int = 10) -> dict[str, list[str]]:
    """Anchor key -> its valid +-k neighbour keys, from the reviewed pair annotations."""
    with open(path, encoding="utf-8") as f:
        review = json.load(f)
    names = review["labels"]
    valid: dict[str, set[str]] = {}
    bad_anchors = set()
    for ann in review["annotations"]:
        anchor_path, pair_path = ann["key"].split(",")
        anchor = "/".join(Path(anchor_path).parts[-2:])
        tags = {names[i] for i in ann["labels"]}
        if "bad-anchor" in tags:
            bad_anchors.add(anchor)
        if "similar" in tags and not tags & PROBLEMS:
            valid.setdefault(anchor, set()).add("/".join(Path(pair_path).parts[-2:]))
    out = {}
    for anchor in anchors:
        if anchor in bad_anchors:
            continue
        found = valid.get(anchor, set())
        out[anchor] = [n for o in range(-k, k + 1) if o and (n := _neighbour(anchor, o)) in found]
    return out


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """The reviewed anchors (and, with ``pmk_labels.json``, their valid neighbours)."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / FOLDER
    if not base.is_dir():
        raise missing(task, base)
    anchors = anchor_labels()
    pmk_path = Path(root) / PMK_FILE
    pmk = read_pmk(pmk_path, anchors) if pmk_path.exists() else None
    kept = sorted(pmk) if pmk is not None else sorted(anchors)
    keys = list(kept)
    labels = [anchors[a] for a in kept]
    for anchor in kept if pmk is not None else ():
        for n in pmk[anchor]:
            keys.append(n)
            labels.append(anchors[anchor])  # a neighbour is scored against its anchor's classes
    index = {key: i for i, key in enumerate(keys)}
    dataset = file_dataset([base / key for key in keys], multi_hot(labels, NUM_CLASSES))
    dataset.anchors = list(range(len(kept)))
    dataset.pmk_available = pmk is not None
    dataset.pmk_sets = {index[a]: [index[n] for n in pmk[a]] for a in kept} if pmk else {}
    return dataset


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    return (Path(root) / FOLDER).is_dir()
