"""The published-numbers comparison by model name: OpenAI's nine and open_clip's pretrained
models find their row of the bundled openclip_results.csv; local files and other families none."""

from __future__ import annotations

import csv
import dataclasses
from importlib import resources
from pathlib import Path

import pytest
from fixtures_results import _result

from bench.models.families.base import slug
from bench.report import collect
from bench.report import tables as T
from bench.report.published import published_row
from bench.results import write_result


def csv_row(name: str, pretrained: str) -> dict[str, str]:
    path = resources.files("bench.data.published").joinpath("openclip_results.csv")
    with path.open(encoding="utf-8") as f:
        return next(
            r for r in csv.DictReader(f) if (r["name"], r["pretrained"]) == (name, pretrained)
        )


@pytest.mark.parametrize(
    ("model", "row"),
    [
        ("ViT-B/32", ("ViT-B-32", "openai")),
        ("openai:ViT-L/14@336px", ("ViT-L-14-336", "openai")),
        ("RN50x4", ("RN50x4", "openai")),
        ("open_clip:ViT-B-16/openai", ("ViT-B-16", "openai")),
        ("open_clip:ViT-L-14-quickgelu/openai", ("ViT-L-14", "openai")),
        ("open_clip:ViT-B-32/laion2b_s34b_b79k", ("ViT-B-32", "laion2b_s34b_b79k")),
        ("open_clip:ViT-H-14-quickgelu/dfn5b", ("ViT-H-14-quickgelu", "dfn5b")),
        ("open_clip:ViT-B-16/dfn2b", ("ViT-B-16", "dfn2b")),
        # QuickGELU-trained weights: bench runs them with QuickGELU, as the -quickgelu row did
        ("open_clip:RN50/cc12m", ("RN50-quickgelu", "cc12m")),
        ("open_clip:RN50-quickgelu/cc12m", ("RN50-quickgelu", "cc12m")),
        ("open_clip:ViT-B-32/laion400m_e32", ("ViT-B-32-quickgelu", "laion400m_e32")),
    ],
)
def test_published_row_by_name(model: str, row: tuple[str, str]) -> None:
    assert published_row(model) == row


@pytest.mark.parametrize(
    "model",
    [
        "open_clip:ViT-B-32+my_finetune",  # a local weights file: which weights is unknown
        "open_clip:ViT-B-32",
        "open_clip:ViT-B-32/no_such_tag",
        "open_clip:ViT-B-23/laion2b_s34b_b79k",
        "openai:ViT-B/32+my_finetune",
        "hf:openai/clip-vit-base-patch32",
        "hf:./folder",
        "tiny-vit",
        "run@step1000",
    ],
)
def test_no_published_row(model: str) -> None:
    assert published_row(model) is None


def _write(root: Path, model: str, values: dict[str, float]) -> None:
    for task, value in values.items():
        r = dataclasses.replace(_result(model, task, "zero-shot", value), model_slug=slug(model))
        write_result(r, root)


def test_published_table_covers_open_clip_models(tmp_path: Path) -> None:
    root = tmp_path / "results"
    laion, cc12m = "open_clip:ViT-B-32/laion2b_s34b_b79k", "open_clip:RN50/cc12m"
    _write(root, laion, {"imagenet": 66.0, "cifar10": 93.0})
    _write(root, cc12m, {"imagenet": 36.0})
    _write(root, "open_clip:ViT-B-32+mine", {"imagenet": 50.0})
    _write(root, "ViT-B/32", {"cifar10": 89.8})
    table = T.published_table(collect(root).frame)
    v = table.values
    row = csv_row("ViT-B-32", "laion2b_s34b_b79k")
    assert v.loc[f"{laion} / imagenet", "published"] == pytest.approx(
        float(row["ImageNet 1k"]) * 100
    )
    assert v.loc[f"{laion} / cifar10", "published"] == pytest.approx(float(row["CIFAR-10"]) * 100)
    assert v.loc[f"{laion} / imagenet", "ours"] == 66.0
    assert v.loc[f"{laion} / imagenet", "difference"] == pytest.approx(
        66.0 - float(row["ImageNet 1k"]) * 100
    )
    quick = float(csv_row("RN50-quickgelu", "cc12m")["ImageNet 1k"]) * 100
    assert quick != float(csv_row("RN50", "cc12m")["ImageNet 1k"]) * 100
    assert v.loc[f"{cc12m} / imagenet", "published"] == pytest.approx(quick)
    assert v.loc["ViT-B/32 / cifar10", "published"] == pytest.approx(
        float(csv_row("ViT-B-32", "openai")["CIFAR-10"]) * 100
    )
    assert not any("+mine" in i for i in v.index)  # a local file has no published numbers
    assert any("RN50-quickgelu, cc12m" in n for n in table.notes)  # the row used is named


def test_published_table_is_none_without_published_models(tmp_path: Path) -> None:
    root = tmp_path / "results"
    _write(root, "open_clip:ViT-B-32+mine", {"imagenet": 50.0})
    assert T.published_table(collect(root).frame) is None


def test_quickgelu_twin_rows_are_exactly_the_quickgelu_trained_weights() -> None:
    """The rule's premise, against open_clip's own registry: the file holds both ARCH and
    ARCH-quickgelu rows for a tag only when that tag's weights were trained with QuickGELU."""
    oc = pytest.importorskip("open_clip")
    path = resources.files("bench.data.published").joinpath("openclip_results.csv")
    with path.open(encoding="utf-8") as f:
        pairs = {(r["name"], r["pretrained"]) for r in csv.DictReader(f)}
    twins = [(a, t) for a, t in pairs if (a + "-quickgelu", t) in pairs]
    assert len(twins) >= 5
    for arch, tag in twins:
        assert oc.get_pretrained_cfg(arch, tag).get("quick_gelu"), (arch, tag)
