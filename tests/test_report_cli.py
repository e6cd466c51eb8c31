"""`bench report` and `bench plot`: outputs, --json, and one-line errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures_results import make_results, write_future_schema
from PIL import Image

from bench.cli import main

# Tables and the zero-shot vs linear-probe plot only: quick, and enough for the CLI's plumbing.
QUICK = ["--suite", "zero-shot", "--suite", "linear-probe"]


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return make_results(tmp_path / "results")


def test_report_writes_index_and_lists_skipped_files(results, tmp_path, capsys):
    write_future_schema(results)
    out = tmp_path / "rep"
    assert main(["report", "--results", str(results), "--out", str(out), *QUICK]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}/index.md" in printed
    assert "skipped future-model/cifar10/zero-shot.json: schema version 99" in printed
    assert (out / "tables" / "zero-shot.tex").is_file()
    assert (out / "plots" / "zs-vs-lp.svg").is_file()
    assert "[csv](tables/linear-probe.csv)" in (out / "index.md").read_text(encoding="utf-8")


def test_report_json_summary(results, tmp_path, capsys):
    out = tmp_path / "rep"
    args = ["report", "--results", str(results), "--out", str(out), "--models", "tiny-vit"]
    assert main([*args, *QUICK, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["models"] == ["tiny-vit"]
    assert summary["tables"]["zero-shot"]["values"]["tiny-vit"]["cifar10"] == 31.0
    assert summary == json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_report_for_models_without_results_exits_2_naming_found_and_command(
    results, tmp_path, capsys
):
    code = main(["report", "--results", str(results), "--models", "RN50,ViT-B/32"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "no results for model(s) RN50" in err
    assert "found results for: ViT-B/32, tiny-vit" in err
    assert f"`bench run --model RN50 --suite zero-shot --out {results}`" in err


def test_report_missing_folder_and_missing_suite_exit_2(results, tmp_path, capsys):
    assert main(["report", "--results", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert (
        main(["report", "--results", str(results), "--suite", "few-shot", "--models", "tiny-vit"])
        == 2
    )
    assert "bench run --model tiny-vit --suite few-shot" in capsys.readouterr().err


def test_plot_draws_one_plot(results, tmp_path, capsys):
    stem = tmp_path / "fig5"
    args = ["plot", "zs-vs-lp", "--results", str(results), "--out", str(stem), "--format", "png"]
    assert main(args) == 0
    assert f"wrote {stem}.png (2080x570 px)" in capsys.readouterr().out
    assert not stem.with_suffix(".svg").exists()
    with Image.open(stem.with_suffix(".png")) as im:
        assert im.size == (2080, 570)


def test_plot_effective_robustness_one_shift_says_why_no_fit(results, tmp_path, capsys):
    stem = tmp_path / "er"
    args = ["plot", "effective-robustness", "--results", str(results), "--out", str(stem)]
    assert main([*args, "--shift", "objectnet", "--bootstrap", "20"]) == 0
    printed = capsys.readouterr().out
    assert "note: effective-robustness: no line through your models on ObjectNet" in printed
    assert stem.with_suffix(".png").is_file() and stem.with_suffix(".svg").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plot", "nope"], "unknown plot kind 'nope'; valid choices: effective-robustness"),
        (
            ["plot", "few-shot", "--models", "tiny-vit"],
            "bench run --model tiny-vit --suite few-shot",
        ),
        (["plot", "effective-robustness", "--shift", "imagenet-r"], "did you mean 'imagenet_r'"),
        (["plot", "zs-vs-lp", "--format", "pdf"], "unknown plot format 'pdf'; valid choices"),
    ],
)
def test_plot_errors_are_one_line_exit_2(results, tmp_path, capsys, argv, message):
    out = ["--out", str(tmp_path / "p")]
    assert main([*argv, "--results", str(results), *out]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("command", ["report", "plot"])
def test_help_has_examples(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert f"bench {command}" in capsys.readouterr().out.split("examples:")[1]
