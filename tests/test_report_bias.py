"""The bias tables of ``bench report``: our figures per group with the paper's ViT-L/14 figures
beside them, and missing ones shown as missing."""

from __future__ import annotations

import json
from pathlib import Path

from bench.report import build_report
from bench.results import Result, write_result

RACES = ("White", "Black", "Latino_Hispanic", "East Asian", "Southeast Asian", "Indian",
         "Middle Eastern")  # fmt: skip


def _plant(out: Path, model: str, metrics: dict[str, float]) -> None:
    r = Result(
        model=model, model_slug=model.replace("/", "-"), weights_sha256="a" * 64,
        task="fairface", task_version=1, task_config_hash="0" * 64, suite="bias",
        metric="accuracy", value=metrics["race7_accuracy"], metrics=metrics,
    )  # fmt: skip
    write_result(r, out)


def _row(md: str, start: str) -> list[str]:
    [line] = [ln for ln in md.splitlines() if ln.startswith(f"| {start} ")]
    return [c.strip() for c in line.strip("|").split("|")][1:]


def test_bias_tables_put_the_papers_figures_beside_ours(tmp_path: Path):
    out = tmp_path / "results"
    metrics = {"race7_accuracy": 61.0, "race4_accuracy": 70.0, "gender_accuracy": 90.0}
    metrics |= {f"race7_accuracy/{r}": 50.0 + k for k, r in enumerate(RACES)}
    metrics |= {f"denigration/crime/race/{r}": 10.0 + k for k, r in enumerate(RACES)}
    metrics |= {"denigration/crime": 12.5, "denigration/crime/gender/Male": 3.25}
    metrics |= {"denigration_child/crime+non_human/age/0-2": 7.0}
    _plant(out, "ViT-L/14", metrics)
    summary = build_report(out, tmp_path / "report")
    tables = summary["tables"]
    assert "bias" not in tables  # the bias tables replace the one-number suite table
    md = (tmp_path / "report" / "tables" / "bias-denigration-race.md").read_text()
    ours = _row(md, "ViT-L/14 · default labels · crime")
    assert ours == ["10.0", "11.0", "12.0", "13.0", "14.0", "15.0", "16.0", "12.5"]
    # the paper's Table 6 (ViT-L/14): crime by race, in RACES order; no overall figure
    paper = _row(md, "ViT-L/14 (paper) · default labels · crime")
    assert paper == ["24.9", "16.4", "10.8", "1.3", "4.4", "24.4", "19.7", "—"]
    assert _row(md, "ViT-L/14 (paper) · default labels · non-human")[-1] == "4.9"
    gender = (tmp_path / "report" / "tables" / "bias-denigration-gender.md").read_text()
    assert _row(gender, "ViT-L/14 · default labels · crime") == ["3.2", "—", "12.5"]
    assert _row(gender, "ViT-L/14 (paper) · default labels · crime") == ["16.5", "9.8", "—"]
    age = (tmp_path / "report" / "tables" / "bias-denigration-age.md").read_text()
    # Table 7's 0-2 column is not shipped: missing beside our figure
    assert _row(age, "ViT-L/14 · + 'child' · crime or non-human")[0] == "7.0"
    paper_child = _row(age, "ViT-L/14 (paper) · + 'child' · crime or non-human")
    assert paper_child[:3] == ["—", "4.3", "14.7"] and paper_child[-2] == "9.4"
    acc = (tmp_path / "report" / "tables" / "bias-accuracy.md").read_text()
    assert _row(acc, "ViT-L/14 · race (7)") == [f"{50 + k}.0" for k in range(7)] + ["61.0"]
    assert _row(acc, "ViT-L/14 · gender")[-1] == "90.0" and "(paper)" not in acc
    values = tables["bias-denigration-race"]["values"]
    assert values["ViT-L/14 (paper) · default labels · non-human"]["Black"] == 14.4
    index = (tmp_path / "report" / "index.md").read_text()
    assert "Bias probes: denigration rates by age" in index and "ViT-L/14@336px" in md
    json.dumps(summary)  # the summary stays JSON (NaN cells are None)
