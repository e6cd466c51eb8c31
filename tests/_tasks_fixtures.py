"""User task files and their data, for the tests of --tasks-dir and the generic loaders."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

CLASSES = ["red", "green", "blue"]
FOLDERS = {"red": "0_red", "green": "1_green", "blue": "2_blue"}  # sorted order != class order
RGB = {"red": (200, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 200)}


def task_yaml(
    name: str, loader: str, options: str, *, train: int, test: int, val: int, source: str = ""
) -> str:
    """A user task file; ``source`` is more of its ``source:`` block (indented lines)."""
    return f"""name: {name}
title: "My {name}"
version: 1
metric: accuracy
classes: [{", ".join(CLASSES)}]
templates: ["a photo of the colour {{}}.", "a {{}} square."]
splits: {{train: {train}, test: {test}}}
val: {{official: false, size: {val}, seed: 0}}
source:
  loader: {loader}
  options: {options}
{source}citation: "none"
licence: "CC0"
"""


def write_task(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def colour_image(path: Path, cls: str, i: int) -> Path:
    """A 40 px square of the class's colour, with a per-image shade (so items differ)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    r, g, b = RGB[cls]
    Image.new("RGB", (40, 40), (r + i % 7, g + i % 5, b + i % 3)).save(path, "PNG")
    return path


def build_imagefolder(root: Path, per_class: dict[str, int]) -> dict[str, list[int]]:
    """``root/<split>/<folder>/<i>.png``; returns the expected labels per split, class order."""
    labels: dict[str, list[int]] = {}
    for split, n in per_class.items():
        labels[split] = []
        for c, cls in enumerate(CLASSES):
            for i in range(n):
                colour_image(root / split / FOLDERS[cls] / f"{i:03d}.png", cls, i)
            labels[split] += [c] * n
    return labels


def imagefolder_task_dir(tmp_path: Path) -> Path:
    """A user task ``colours`` (imagefolder, folder-name map), its data under
    ``tmp_path/data`` (train 6 / test 3 per class); returns the task folder."""
    build_imagefolder(tmp_path / "data" / "colours", {"train": 6, "test": 3})
    folders = json.dumps(FOLDERS)
    write_task(
        tmp_path / "mytasks",
        "colours",
        task_yaml("colours", "imagefolder", f"{{folders: {folders}}}", train=18, test=9, val=6),
    )
    return tmp_path / "mytasks"
