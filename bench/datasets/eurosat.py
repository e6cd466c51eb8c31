"""EuroSAT (RGB, 10 land-use classes) with the paper's 10,000 / 5,000 per-class sample.

On disk (the archive torchvision fetches): ``2750/<Class>/<Class>_<n>.jpg`` with the ten
folders ``AnnualCrop Forest HerbaceousVegetation Highway Industrial Pasture PermanentCrop
Residential River SeaLake``. Labels are matched to the task's classes by the paper's names
(the paper's order is not alphabetical), see :data:`PAPER_NAMES`.

There is no official split. As the paper describes, we sample a balanced subset: per class,
the files sorted by name are put in the project's seeded order
(``bench.datasets._splits.seeded_order``, ``seed`` 0); the first 1,000 are ``train`` and the next
500 ``test`` (10,000 / 5,000); the remaining images are not used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_split,
    file_dataset,
    index_by_name,
    per_class_split,
    require,
    scan_class_folders,
)
from bench.datasets._download import download_files
from bench.errors import DataMissingError

SPLITS = ("train", "test")
OFFICIAL_VAL = False
PAPER_NAMES = {
    "AnnualCrop": "annual crop land",
    "Forest": "forest",
    "HerbaceousVegetation": "brushland or shrubland",
    "Highway": "highway or road",
    "Industrial": "industrial buildings or commercial buildings",
    "Pasture": "pasture land",
    "PermanentCrop": "permanent crop land",
    "Residential": "residential buildings or homes or apartments",
    "River": "river",
    "SeaLake": "lake or sea",
}


def load(
    task: Any,
    split: str,
    root: str | Path,
    fold: int | None = None,
    train_per_class: int = 1000,
    test_per_class: int = 500,
    seed: int = 0,
) -> LazyDataset:
    """EuroSAT ``split`` of the seeded per-class sample."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / "2750"
    require(task, base)
    folders, files, labels = scan_class_folders(base)
    unknown = [f for f in folders if f not in PAPER_NAMES]
    if unknown:
        raise DataMissingError(
            f"{base} holds folders {unknown[:3]} that are not EuroSAT classes "
            f"({', '.join(PAPER_NAMES)}); remove them or download EuroSAT again"
        )
    to_task = index_by_name(task, [PAPER_NAMES[f] for f in folders], "EuroSAT")
    train, test = per_class_split(labels, [train_per_class, test_per_class], seed)
    keep = train if split == "train" else test
    return file_dataset([files[i] for i in keep], [to_task[labels[i]] for i in keep])


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    return (Path(root) / "2750").is_dir()


download = download_files  # the task file's source.files, into the task's folder
