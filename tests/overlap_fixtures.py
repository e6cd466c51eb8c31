"""Overlap fixtures: a DTD test split (official layout) and a training set in `bench train`'s
CSV format where edited copies of some test images hide among unrelated images."""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.overlap.augment import EDITS, augment, synthetic_scene

CLASSES = ("banded", "blotchy", "braided", "bubbly")
N_TEST = 60
PLANTED = (3, 7, 11, 18, 22, 25, 31, 38, 44, 50, 53, 58)  # edited copies in the training set
EXACT = (0, 41)  # byte-identical copies


@dataclass
class TrainFixture:
    csv: Path
    folder: Path
    planted: dict[int, int]  # test index -> training row index
    exact: dict[int, int]


def build_dtd(data_root: Path) -> list[Path]:
    """DTD partition 1 with ``N_TEST`` test images (scenes), a few train/val; the test files."""
    from bench.tasks import get_task

    base = data_root / "dtd" / "dtd"
    for name in get_task("dtd").classnames:  # the loader checks for all 47 class folders
        (base / "images" / name).mkdir(parents=True, exist_ok=True)
    lists: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    n = 0
    for split, count in (("train", 4), ("val", 4), ("test", N_TEST)):
        for k in range(count):
            cls = CLASSES[k % len(CLASSES)]
            rel = f"{cls}/{cls}_{n:04d}.jpg"
            (base / "images" / cls).mkdir(parents=True, exist_ok=True)
            synthetic_scene(5000 + n).save(base / "images" / rel, quality=95)
            lists[split].append(rel)
            n += 1
    (base / "labels").mkdir(parents=True, exist_ok=True)
    for split, rows in lists.items():
        (base / "labels" / f"{split}1.txt").write_text("\n".join(rows) + "\n")
    return [base / "images" / r for r in lists["test"]]


def build_train(root: Path, test_files: list[Path], n_unrelated: int = 90) -> TrainFixture:
    """Unrelated scenes with edited (``PLANTED``) and byte-identical (``EXACT``) copies among them."""
    folder = root / "images"
    folder.mkdir(parents=True)
    rows: list[str] = []
    planted: dict[int, int] = {}
    exact: dict[int, int] = {}
    for k in range(n_unrelated):
        rows.append(f"scene{k:03d}.png")
        synthetic_scene(1000 + k).save(folder / rows[-1])
        if k % 7 == 3 and len(planted) < len(PLANTED):
            i = PLANTED[len(planted)]
            from PIL import Image

            with Image.open(test_files[i]) as im:
                kind = EDITS[len(planted) % len(EDITS)]
                edited = augment(im.convert("RGB"), seed=f"fixture/{i}", kind=kind)
            rows.append(f"copy{i:03d}.jpg")
            edited.save(folder / rows[-1], quality=85)
            planted[i] = len(rows) - 1
    for i in EXACT:
        rows.append(f"exact{i:03d}.jpg")
        shutil.copyfile(test_files[i], folder / rows[-1])
        exact[i] = len(rows) - 1
    path = root / "pairs.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["filepath", "caption"])
        writer.writerows([(f"images/{name}", f"image {j}") for j, name in enumerate(rows)])
    return TrainFixture(path, folder, planted, exact)
