"""Bad input to ``bench report`` / ``bench plot``: one line naming the value, choices and what to do."""

from __future__ import annotations

from fixtures_results import make_results

from bad_inputs.conftest import run_cli, snapshot


def test_prompt_ablation_without_single_prompt_results(tmp_path):
    results = make_results(tmp_path / "results")
    before = snapshot(results)
    run = run_cli(
        "plot", "prompt-ablation", "--results", str(results), "--out", str(tmp_path / "p")
    )
    run.assert_one_line_error("single-prompt", "--prompts single")
    assert snapshot(results) == before and not (tmp_path / "p.png").exists()


def test_unknown_plot_format(tmp_path):
    results = make_results(tmp_path / "results")
    run = run_cli("plot", "few-shot", "--results", str(results), "--format", "jpg",
                  "--out", str(tmp_path / "p"))  # fmt: skip
    run.assert_one_line_error("'jpg'", "png, svg")
