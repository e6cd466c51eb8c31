"""Published zero-shot results of OpenAI's and open_clip's models, to compare ours against.

Source: open_clip's ``docs/openclip_results.csv`` (computed with LAION's CLIP_benchmark), shipped
in ``bench/data/published/`` with its licence; see the README there. Values are fractions (0-1) in
the file and percent here. A result's model name picks its row (:func:`published_row`):

- OpenAI's nine, by any of bench's spellings (``ViT-B/32``, ``openai:ViT-B/32``, ``ViT-B-32``),
  and ``open_clip:ARCH/openai``: the row ``(ARCH, "openai")`` (the ``-quickgelu`` rows repeat
  the same checkpoints);
- ``open_clip:ARCH/PRETRAINED``: the row ``(ARCH-quickgelu, PRETRAINED)`` when the file has
  one, else ``(ARCH, PRETRAINED)``. The file holds both only for weights trained with QuickGELU
  (cc12m, yfcc15m, laion400m, ...), whose plain-``ARCH`` row CLIP_benchmark computed with GELU;
  bench runs such weights with QuickGELU, as their pretrained config asks, so the
  ``-quickgelu`` row is the one computed like ours;
- anything else (a local weights file, ``openai:ARCH+file``, ``hf:...``, a bench checkpoint):
  no row; which weights it holds is not known from its name.
"""

from __future__ import annotations

import functools
from importlib import resources

import pandas as pd

from bench.results import model_slug

SOURCE = "open_clip docs/openclip_results.csv (LAION CLIP_benchmark)"
OPENAI_TAG = "openai"
QUICKGELU = "-quickgelu"

# openclip_results.csv column -> bench task name (only datasets bench evaluates).
COLUMN_TO_TASK: dict[str, str] = {
    "ImageNet 1k": "imagenet",
    "Caltech-101": "caltech101",
    "CIFAR-10": "cifar10",
    "CIFAR-100": "cifar100",
    "CLEVR Counts": "clevr_counts",
    "Country211": "country211",
    "Describable Textures": "dtd",
    "EuroSAT": "eurosat",
    "FGVC Aircraft": "fgvc_aircraft",
    "Food-101": "food101",
    "GTSRB": "gtsrb",
    "ImageNet Sketch": "imagenet_sketch",
    "ImageNet v2": "imagenetv2",
    "ImageNet-A": "imagenet_a",
    "ImageNet-R": "imagenet_r",
    "KITTI Vehicle Distance": "kitti_distance",
    "MNIST": "mnist",
    "ObjectNet": "objectnet",
    "Oxford Flowers-102": "flowers102",
    "Oxford-IIIT Pet": "oxford_pets",
    "Pascal VOC 2007": "voc2007",
    "PatchCamelyon": "pcam",
    "Rendered SST2": "rendered_sst2",
    "RESISC45": "resisc45",
    "Stanford Cars": "stanford_cars",
    "STL-10": "stl10",
    "SUN397": "sun397",
}

# open_clip architecture names -> OpenAI's model names (bench's).
OPENCLIP_TO_OPENAI: dict[str, str] = {
    "RN50": "RN50",
    "RN101": "RN101",
    "RN50x4": "RN50x4",
    "RN50x16": "RN50x16",
    "RN50x64": "RN50x64",
    "ViT-B-32": "ViT-B/32",
    "ViT-B-16": "ViT-B/16",
    "ViT-L-14": "ViT-L/14",
    "ViT-L-14-336": "ViT-L/14@336px",
}


RETRIEVAL_FILE = "clip_paper_retrieval.csv"
RETRIEVAL_VALUE = "retrieval_recall"  # our value: the mean of the two R@1


@functools.cache
def published_retrieval() -> pd.DataFrame:
    """Published zero-shot retrieval recall of OpenAI's models (``clip_paper_retrieval.csv``:
    the paper's Table 13 and CLIP_benchmark's R@5; see the README there).

    Where a source gives both R@1, a ``retrieval_recall`` row (their mean, as our ``value``)
    is added.

    Returns:
        Columns ``source``, ``model``, ``task``, ``metric``, ``published`` (percent).
    """
    path = resources.files("bench.data.published").joinpath(RETRIEVAL_FILE)
    with path.open("r", encoding="utf-8") as f:
        raw = pd.read_csv(f).rename(columns={"value": "published"})
    keys = ["source", "model", "task"]
    r1 = raw[raw["metric"].isin(["text_retrieval_R@1", "image_retrieval_R@1"])]
    both = r1.groupby(keys).filter(lambda g: len(g) == 2)
    mean = both.groupby(keys, as_index=False)["published"].mean().assign(metric=RETRIEVAL_VALUE)
    out = pd.concat([raw, mean[raw.columns]], ignore_index=True)
    return out.sort_values([*keys, "metric"]).reset_index(drop=True)


@functools.cache
def published_results() -> pd.DataFrame:
    """Every published zero-shot result in long form.

    Returns:
        Columns ``name`` and ``pretrained`` (the file's), ``task`` (bench's), ``published``
        (percent), sorted.
    """
    path = resources.files("bench.data.published").joinpath("openclip_results.csv")
    with path.open("r", encoding="utf-8") as f:
        raw = pd.read_csv(f, dtype={"name": str, "pretrained": str})
    long = raw.melt(
        id_vars=["name", "pretrained"], value_vars=list(COLUMN_TO_TASK), var_name="column"
    )
    long = long.dropna(subset=["value"])
    out = pd.DataFrame(
        {
            "name": long["name"],
            "pretrained": long["pretrained"],
            "task": long["column"].map(COLUMN_TO_TASK),
            "published": long["value"].astype(float) * 100.0,
        }
    )
    return out.sort_values(["name", "pretrained", "task"]).reset_index(drop=True)


@functools.cache
def _rows() -> frozenset[tuple[str, str]]:
    pub = published_results()
    return frozenset(zip(pub["name"], pub["pretrained"], strict=True))


def published_row(model: str) -> tuple[str, str] | None:
    """The ``(name, pretrained)`` row of the published file for a result's model name.

    Args:
        model: A result's model name (``ViT-B/32``, ``open_clip:ViT-B-32/laion2b_s34b_b79k``).

    Returns:
        The row computed like our result (see the module docstring), or None when the file has
        none for this model or the name does not say which weights it holds.
    """
    if model.startswith("open_clip:"):
        arch, sep, tag = model.removeprefix("open_clip:").partition("/")
        if not sep or not tag or "/" in tag:
            return None  # open_clip:ARCH+file: a local file, not a published checkpoint
        if tag == OPENAI_TAG:
            model = arch.removesuffix(QUICKGELU)
        else:
            for name in (arch + QUICKGELU, arch) if not arch.endswith(QUICKGELU) else (arch,):
                if (name, tag) in _rows():
                    return name, tag
            return None
    name = openai_name(model.removeprefix("openai:"))
    if name is None:
        return None
    arch = next(a for a, n in OPENCLIP_TO_OPENAI.items() if n == name)
    return (arch, OPENAI_TAG) if (arch, OPENAI_TAG) in _rows() else None


def published_for(model: str) -> pd.DataFrame:
    """The published results of a result's model name (columns ``task``, ``published``);
    empty when :func:`published_row` finds no row."""
    row = published_row(model)
    pub = published_results()
    if row is None:
        return pub.iloc[0:0][["task", "published"]]
    hit = pub[(pub["name"] == row[0]) & (pub["pretrained"] == row[1])]
    return hit[["task", "published"]].reset_index(drop=True)


def published_openai() -> pd.DataFrame:
    """OpenAI's published zero-shot results in long form.

    Returns:
        Columns ``model`` (OpenAI's name), ``task`` (bench's), ``published`` (percent), sorted.
    """
    pub = published_results()
    pub = pub[(pub["pretrained"] == OPENAI_TAG) & pub["name"].isin(list(OPENCLIP_TO_OPENAI))]
    out = pd.DataFrame(
        {
            "model": pub["name"].map(OPENCLIP_TO_OPENAI),
            "task": pub["task"],
            "published": pub["published"],
        }
    )
    return out.sort_values(["model", "task"]).reset_index(drop=True)


def openai_name(model: str) -> str | None:
    """OpenAI's name for a bench model name or slug (``ViT-B-32`` -> ``ViT-B/32``), else None."""
    wanted = model_slug(model).lower()
    for name in OPENCLIP_TO_OPENAI.values():
        if model_slug(name).lower() == wanted:
            return name
    return None
