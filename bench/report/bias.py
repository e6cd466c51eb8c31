"""The bias probes in reports: accuracy by FairFace group and the denigration rates, with the
paper's published figures beside ours.

Reads the ``bias`` result files (``<model>/fairface/bias.json``, :mod:`bench.suites.bias`) from
the collected frame only. Published figures (``bench/data/published/clip_paper_bias.csv``, see
the README there) are the paper's Tables 6-7 (Agarwal et al. 2021, Tables 2-3) and the overall
figures of that paper's text, all for OpenAI's ViT-L/14 (the model the paper's denigration probe
used, not ViT-L/14@336px); its Tables 3-5 (accuracy by group, ViT-L/14@336px) are not shipped,
so the accuracy table has no published rows. A figure the CSV lacks is shown as missing.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib import resources

import pandas as pd

from bench.datasets.fairface import AGES, GENDERS, RACES
from bench.report.tables import MISSING, Table
from bench.suites.bias import CATEGORIES, DENIGRATION_SETS
from bench.suites.bias import SUITE as BIAS_SUITE

PUBLISHED_MODEL = "ViT-L/14"
ALL = "all"
SET_TITLES = {"denigration": "default labels", "denigration_child": "+ 'child'"}
CATEGORY_TITLES = {
    "non_human": "non-human", "crime": "crime", "crime+non_human": "crime or non-human",
    "child": "child",
}  # fmt: skip
ACCURACY_ROWS = (
    ("race (7)", "race7_accuracy", None), ("race (4)", "race4_accuracy", None),
    ("gender", "gender_accuracy", None), ("gender, men", "gender_accuracy", "Male"),
    ("gender, women", "gender_accuracy", "Female"), ("age", "age_accuracy", None),
)  # fmt: skip
ATTRIBUTES = {"race": RACES, "gender": GENDERS, "age": AGES}
PUBLISHED_NOTE = (
    f"'{PUBLISHED_MODEL} (paper)': the paper's denigration probe used {PUBLISHED_MODEL}, not "
    "the ViT-L/14@336px of its other tables (Radford et al. 2021, Tables 6-7 = Agarwal et al. 2021, Tables 2-3, and the overall "
    f"figures of Agarwal et al. §2.1); {MISSING} where it gives no figure."
)


@functools.cache
def published_bias() -> dict[tuple[str, str, str, str], float]:
    """``(label_set, category, attribute, group) -> percent`` from the shipped CSV
    (``attribute`` and ``group`` are ``all`` for an overall figure)."""
    path = resources.files("bench.data.published").joinpath("clip_paper_bias.csv")
    with path.open("r", encoding="utf-8") as f:
        raw = pd.read_csv(f)
    raw = raw[raw["model"] == PUBLISHED_MODEL]
    keys = zip(raw["label_set"], raw["category"], raw["attribute"], raw["group"], strict=True)
    return {k: float(v) for k, v in zip(keys, raw["value"], strict=True)}


def _runs(df: pd.DataFrame) -> list[tuple[str, dict[str, float]]]:
    """``(row label, metrics)`` of each bias result, in the frame's (path) order."""
    rows = df[df["suite"] == BIAS_SUITE]
    tasks = set(rows["task"])
    return [
        (m if tasks == {"fairface"} else f"{m} ({t})", dict(metrics))
        for m, t, metrics in zip(rows["model"], rows["task"], rows["metrics"], strict=True)
    ]


def accuracy_table(runs: Sequence[tuple[str, dict[str, float]]]) -> Table:
    """Zero-shot accuracy (percent) of each probe by FairFace race (the paper's Tables 3-5)."""
    values = {}
    for label, m in runs:
        for row, key, gender in ACCURACY_ROWS:
            suffix = "" if gender is None else f"/{gender}"
            cells = [m.get(f"{key}/{race}{suffix}") for race in RACES]
            values[f"{label} · {row}"] = [*cells, m.get(f"{key}{suffix}")]
    notes = [
        "Zero-shot accuracy on FairFace's validation images by race (CLIP §7.1, Tables 3-5 "
        "style); 'race (4)' is FairFace's 4-race view read off the 7-race prediction (Asian = "
        "East + Southeast Asian; Latino/Hispanic and Middle Eastern images are not in it).",
        "The paper's Tables 3-5 (ViT-L/14@336px) are not shipped: the transcription could not "
        "be checked (bench/data/published/README.md).",
    ]
    frame = pd.DataFrame.from_dict(values, orient="index", columns=[*RACES, ALL])
    return Table("bias-accuracy", "Bias probes: accuracy by race", frame.astype(float), notes=notes)


def rates_table(runs: Sequence[tuple[str, dict[str, float]]], attribute: str) -> Table:
    """Percent of images classified into each added category by ``attribute`` (race, gender or
    age), with and without 'child' (the paper's Tables 6-7), the paper's figures below ours."""
    groups = ATTRIBUTES[attribute]
    published = published_bias()
    values = {}
    for set_name in DENIGRATION_SETS:
        for cat in CATEGORIES:
            title = f"{SET_TITLES[set_name]} · {CATEGORY_TITLES[cat]}"
            for label, m in runs:
                prefix = f"{set_name}/{cat}"
                cells = [m.get(f"{prefix}/{attribute}/{g}") for g in groups]
                if any(c is not None for c in cells):
                    values[f"{label} · {title}"] = [*cells, m.get(prefix)]
            paper = [published.get((set_name, cat, attribute, g)) for g in groups]
            if any(c is not None for c in paper):
                overall = published.get((set_name, cat, ALL, ALL))
                values[f"{PUBLISHED_MODEL} (paper) · {title}"] = [*paper, overall]
    notes = [
        f"Percent of FairFace images classified into each added category, by {attribute} "
        "(CLIP §7.1, Tables 6-7 style): labels are the 7 races x 2 genders plus non-human "
        "('animal', 'gorilla', 'chimpanzee', 'orangutan') and crime-related ('thief', "
        "'criminal', 'suspicious person'), and in '+ 'child'' also 'child'.",
        PUBLISHED_NOTE,
    ]
    frame = pd.DataFrame.from_dict(values, orient="index", columns=[*groups, ALL])
    return Table(
        f"bias-denigration-{attribute}",
        f"Bias probes: denigration rates by {attribute}",
        frame.astype(float),
        notes=notes,
    )


def bias_tables(df: pd.DataFrame) -> list[Table]:
    """The bias tables of a report (none without ``bias`` results)."""
    runs = _runs(df)
    if not runs:
        return []
    return [accuracy_table(runs), *(rates_table(runs, a) for a in ATTRIBUTES)]
