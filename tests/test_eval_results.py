"""The result schema: validation, old versions, files of another schema, `bench results`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_fixtures import _one_thread, error_lines, run_cli, run_json, save_tiny  # noqa: F401

from bench import results
from bench.results import (
    SCHEMA_VERSION,
    Result,
    ResultFileError,
    existing_result,
    load_results,
    model_slug,
    read_result,
    result_relpath,
    write_result,
)

EXAMPLE = Path(__file__).parent / "data" / "results_example_v1.json"


def _result(**over) -> Result:
    base = dict(
        model="ViT-B/32",
        model_slug="ViT-B-32",
        weights_sha256="f" * 64,
        task="digits",
        task_version=1,
        task_config_hash="c" * 64,
        suite="zero-shot",
        metric="accuracy",
        value=42.5,
        top1=42.5,
        top5=90.0,
        split_sizes={"test": 597},
        prompts={"classnames": ["0", "1"], "templates": ["a {}."]},
    )
    base.update(over)
    return Result(**base)


def test_committed_example_file_loads():
    """Old results must keep loading: this file was written by schema version 1."""
    assert json.loads(EXAMPLE.read_text())["schema_version"] == 1
    r = read_result(EXAMPLE)  # migrated in memory: version 1 knew nothing of partial data
    assert r.schema_version == SCHEMA_VERSION == 4
    assert (r.partial, r.n_found, r.n_expected) == (False, {}, {})
    assert (r.n, r.ci, r.variant) == (None, None, None)  # version 4: intervals unknown before
    assert (r.task, r.suite, r.metric) == ("digits", "linear-probe", "accuracy")
    assert r.probe["C"] in [c for c, _ in r.probe["search"]]
    assert r.split_sizes == {"train": 1080, "val": 120, "test": 597}
    assert len(r.weights_sha256) == 64 and 0 <= r.value <= 100


def test_v3_prompt_mode_results_migrate_to_their_variant():
    d = _result(prompts={"classnames": [], "templates": ["{}"], "mode": "classname"},
                variant="classname").to_dict()  # fmt: skip
    v3 = {k: v for k, v in d.items() if k not in ("n", "ci", "variant")} | {"schema_version": 3}
    back = Result.from_dict(results.upgrade(v3))
    assert (back.variant, back.n, back.ci) == ("classname", None, None)
    assert back.relpath().name == "zero-shot-classname.json"


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"ci": {"level": 0.995, "low": 1.0, "high": 2.0, "method": "wald"}, "n": 5}, "method"),
        ({"ci": {"level": 0.995, "low": 1.0, "high": 2.0, "method": "bootstrap"}, "n": 5},
         "resamples"),
        ({"ci": {"level": 0.995, "low": 1.0, "high": 2.0, "method": "clopper-pearson"}}, "its n"),
        ({"prompts": {"classnames": [], "templates": [], "mode": "single"}}, "variant 'single'"),
        ({"variant": "../x"}, "lowercase words"),
    ],
)  # fmt: skip
def test_bad_ci_and_variant_are_refused(over, message):
    with pytest.raises(ValueError, match=message):
        _result(**over).to_dict()


def test_round_trip_and_layout(tmp_path: Path):
    r = _result()
    path = write_result(r, tmp_path)
    assert path == tmp_path / "ViT-B-32" / "digits" / "zero-shot.json"
    back = read_result(path)
    assert back == r
    assert set(json.loads(path.read_text())) == set(results._TYPES)
    assert r.bench_version and r.created
    # The commit is recorded only when bench is imported from a git checkout (editable install);
    # an installed wheel has no commit to name.
    from_checkout = (Path(results.__file__).resolve().parents[1] / ".git").exists()
    assert (r.git_commit is not None) == from_checkout


def test_paths():
    assert result_relpath("m", "t", "few-shot", 4, 2) == Path("m/t/few-shot-4shot-seed2.json")
    assert result_relpath("m", "t", "few-shot", 16) == Path("m/t/few-shot-16shot.json")
    assert result_relpath("m", "t", "linear-probe") == Path("m/t/linear-probe.json")
    assert result_relpath("m", "t", "zero-shot", variant="single") == Path(
        "m/t/zero-shot-single.json"
    )
    assert model_slug("ViT-L/14@336px") == "ViT-L-14-336px"
    assert model_slug("/tmp/x/tiny.pt") == "tiny"
    assert model_slug("RN50x4") == "RN50x4"


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda d: d.pop("metric"), "missing field(s) metric"),
        (lambda d: d.update(surprise=1), "unknown field(s) surprise"),
        (lambda d: d.update(value="high"), "field 'value' is 'high'; expected int or float"),
        (lambda d: d.update(task_version=True), "field 'task_version' is True"),
        (lambda d: d.update(value=float("nan")), "expected a finite number"),
        (lambda d: d.update(probe={"search": []}), "probe['C']"),
        (lambda d: d.update(timings={"total": "1s"}), "timings['total']"),
    ],
)
def test_bad_files_say_exactly_why(tmp_path: Path, change, reason):
    d = _result().to_dict()
    change(d)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ResultFileError) as info:
        read_result(path)
    assert reason in str(info.value) and str(path) in str(info.value)


def test_newer_and_unmigratable_versions_are_reported(tmp_path: Path):
    d = _result().to_dict()
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({**d, "schema_version": SCHEMA_VERSION + 1}))
    older = tmp_path / "older.json"
    older.write_text(json.dumps({**d, "schema_version": 0}))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "ok.json").write_text(json.dumps(d))
    found = load_results(tmp_path)
    assert [p.name for p, _ in found.results] == ["ok.json"]
    why = {p.name: reason for p, reason in found.problems}
    assert "newer than this bench's" in why["newer.json"] and "upgrade bench" in why["newer.json"]
    assert "no migration" in why["older.json"]
    assert "cannot be read as JSON" in why["broken.json"]


def test_old_versions_are_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A (hypothetical) version 0 that called the value 'score' loads through MIGRATIONS."""
    d = _result().to_dict()
    d["score"] = d.pop("value")
    d["schema_version"] = 0

    def v0_to_v1(old: dict) -> dict:
        old["value"] = old.pop("score")
        old["schema_version"] = 1
        return old

    monkeypatch.setitem(results.MIGRATIONS, 0, v0_to_v1)
    path = tmp_path / "v0.json"
    path.write_text(json.dumps(d))
    assert read_result(path).value == 42.5


def test_existing_results_of_other_weights_or_schema_are_not_overwritten(tmp_path: Path):
    r = _result()
    path = write_result(r, tmp_path)
    same = existing_result(path, weights_sha256="f" * 64, task_config_hash="c" * 64)
    assert same == r
    with pytest.raises(ResultFileError, match="weights sha256 f+, not 0+; pass --force"):
        existing_result(path, weights_sha256="0" * 64, task_config_hash="c" * 64)
    with pytest.raises(ResultFileError, match="task changed"):
        existing_result(path, weights_sha256="f" * 64, task_config_hash="d" * 64)
    with pytest.raises(ResultFileError, match="exists already"):
        write_result(r, tmp_path)


def test_run_refuses_to_overwrite_a_file_of_another_schema(tmp_path: Path):
    ckpt = save_tiny(tmp_path / "tiny.pt")
    out = tmp_path / "results"
    path = out / "tiny" / "digits" / "zero-shot.json"
    path.parent.mkdir(parents=True)
    alien = json.dumps({**_result().to_dict(), "schema_version": SCHEMA_VERSION + 1})
    path.write_text(alien)
    code, _, err = run_cli(
        "run", "--model", str(ckpt), "--tasks", "digits", "--suite", "zero-shot",
        "--out", str(out), "--workers", "0", "--quiet",
    )  # fmt: skip
    assert code == 2
    assert len(error_lines(err)) == 1
    assert str(path) in err and "newer than this bench" in err and "--force" in err
    assert path.read_text() == alien  # untouched


def test_bench_results_lists_and_reports_problems(tmp_path: Path):
    write_result(_result(), tmp_path)
    write_result(_result(suite="few-shot", shots=4, seed=1, prompts=None), tmp_path)
    bad = tmp_path / "ViT-B-32" / "digits" / "linear-probe.json"
    bad.write_text(json.dumps({"schema_version": 99}))
    listing = run_json("results", "--out", str(tmp_path))
    assert sorted(r["suite"] for r in listing["results"]) == ["few-shot", "zero-shot"]
    assert listing["problems"][0]["path"] == str(bad)
    assert "schema version 99" in listing["problems"][0]["reason"]
    code, out, err = run_cli("results", "--out", str(tmp_path))
    assert code == 0 and "zero-shot" in out and "42.50" in out
    assert f"cannot read {bad}" in err
    code, out, _ = run_cli("results", "--out", str(tmp_path / "nothing"))
    assert code == 0 and "no results" in out
