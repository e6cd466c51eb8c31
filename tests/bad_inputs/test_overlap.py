"""Bad input to `bench overlap`: one line naming the bad value, exit 2, nothing written."""

from __future__ import annotations

from bad_inputs.conftest import snapshot


def test_missing_train_file(cli, tmp_path):
    run = cli("overlap", "--train", str(tmp_path / "nope.csv"), "--tasks", "digits", cwd=tmp_path)
    run.assert_one_line_error("nope.csv", "--train")
    assert not (tmp_path / "results").exists()


def test_unknown_task(cli, tmp_path):
    (tmp_path / "imgs").mkdir()
    run = cli("overlap", "--train", str(tmp_path / "imgs"), "--tasks", "digitz", cwd=tmp_path)
    run.assert_one_line_error("digitz", "digits")


def test_empty_image_folder(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    before = snapshot(tmp_path)
    run = cli("overlap", "--train", str(tmp_path / "empty"), "--tasks", "digits", cwd=tmp_path)
    run.assert_one_line_error("empty", "no images")
    assert snapshot(tmp_path) == before


def test_detector_model_without_model(cli, tmp_path):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.png").write_bytes(b"")
    args = ("--train", str(tmp_path / "imgs"), "--tasks", "digits", "--detector", "model")
    cli("overlap", *args, cwd=tmp_path).assert_one_line_error("--detector model", "--model")


def test_existing_result_is_not_replaced(cli, tmp_path):
    out = tmp_path / "results" / "no-model" / "digits"
    out.mkdir(parents=True)
    (out / "overlap.json").write_text("{}")
    (tmp_path / "imgs").mkdir()
    before = snapshot(tmp_path)
    run = cli("overlap", "--train", str(tmp_path / "imgs"), "--tasks", "digits", cwd=tmp_path)
    run.assert_one_line_error("overlap.json", "--force")
    assert snapshot(tmp_path) == before
