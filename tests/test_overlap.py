"""bench overlap: planted edited copies are found among unrelated training images, few false
hits; exact copies by hash; All/Clean/Overlap accuracy against an independent computation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from eval_fixtures import _one_thread, run_cli, save_tiny  # noqa: F401
from overlap_fixtures import EXACT, build_dtd, build_train
from PIL import Image

from bench.overlap import read_overlap, run_overlap
from bench.overlap.accuracy import subset_accuracy
from bench.overlap.calibrate import calibrate
from bench.overlap.pairs import read_pairs_csv
from bench.overlap.search import NearestSearch
from bench.settings import Settings
from bench.tasks import get_task


@pytest.fixture
def fixture(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("BENCH_DATA", str(data))
    files = build_dtd(data)
    return build_train(tmp_path / "train", files), files, tmp_path


def _settings() -> Settings:
    return Settings.build(device="cpu", workers=0, progress=False)


def test_planted_copies_are_found_with_few_false_hits(fixture):
    fx, _, tmp = fixture
    [(path, result)] = run_overlap(str(fx.csv), [get_task("dtd")], _settings(), out=tmp / "out")
    found = {p.test_index: p for p in read_pairs_csv(path.parent / "overlap-pairs.csv")}
    for i, row in {**fx.planted, **fx.exact}.items():
        assert i in found, f"planted copy of test image {i} not found"
        assert found[i].train_index == row
        assert found[i].train_path.endswith(f"{i:03d}.jpg")
    assert {i for i, p in found.items() if p.exact} == set(EXACT)
    false_hits = set(found) - set(fx.planted) - set(fx.exact)
    assert len(false_hits) <= 3, false_hits
    assert result.n_overlap == len(found) and result.n_test == 60
    assert result.overlap_percent == pytest.approx(100 * len(found) / 60)
    cal = result.detector["calibration"]
    assert cal["source"] == "calibrated" and cal["n_positive"] > 20 and cal["precision"] >= 0.9
    assert read_overlap(path) == result
    with Image.open(path.parent / "overlap-pairs.png") as sheet:
        assert sheet.width > 0


def test_exact_pass_finds_byte_identical_files_alone(fixture):
    fx, _, tmp = fixture
    # a threshold no cosine reaches: only the hash pass can flag anything
    [(path, result)] = run_overlap(
        str(fx.csv), [get_task("dtd")], _settings(), out=tmp / "out", threshold=1.5
    )
    found = read_pairs_csv(path.parent / "overlap-pairs.csv")
    assert {p.test_index: p.train_index for p in found} == fx.exact
    assert result.n_exact == 2 and result.detector["calibration"]["source"] == "given"


def _independent_correct(model, task, data_root) -> np.ndarray:
    """Zero-shot top-1 correctness computed here, from the model's encoders directly."""
    from bench.models import image_transform, tokenize

    dataset = task.dataset("test", root=data_root)
    transform = image_transform(model.image_resolution)
    with torch.no_grad():
        images = torch.stack([transform(dataset[i][0]) for i in range(len(dataset))])
        img = model.encode_image(images)
        img = img / img.norm(dim=-1, keepdim=True)
        cols = []
        for name in task.classnames:
            emb = model.encode_text(tokenize([t.replace("{}", name) for t in task.templates]))
            emb = (emb / emb.norm(dim=-1, keepdim=True)).mean(0)
            cols.append(emb / emb.norm())
        pred = (img @ torch.stack(cols).T).argmax(1).numpy()
    return pred == np.asarray(dataset.labels)


def test_subset_accuracies_match_an_independent_computation(fixture):
    from bench.models import load_checkpoint

    fx, _, tmp = fixture
    ckpt = save_tiny(tmp / "tiny.pt")
    code, out, err = run_cli(
        "overlap", "--train", str(fx.csv), "--tasks", "dtd", "--model", str(ckpt),
        "--out", str(tmp / "out"), "--workers", "0", "--quiet", "--json", "--allow-partial",
    )  # fmt: skip
    assert code == 0, err
    [r] = json.loads(out)
    assert r["path"].endswith("tiny/dtd/overlap.json")
    found = read_pairs_csv(tmp / "out" / "tiny" / "dtd" / "overlap-pairs.csv")
    flags = np.zeros(60, bool)
    flags[[p.test_index for p in found]] = True
    correct = _independent_correct(load_checkpoint(ckpt), get_task("dtd"), None)
    acc = r["accuracy"]
    assert acc["n_overlap"] == flags.sum() and acc["n_clean"] == (~flags).sum()
    assert acc["all"] == pytest.approx(100 * correct.mean())
    assert acc["overlap"] == pytest.approx(100 * correct[flags].mean())
    assert acc["clean"] == pytest.approx(100 * correct[~flags].mean())
    assert acc["difference"] == pytest.approx(acc["overlap"] - acc["clean"])
    assert 0 <= acc["p_two_sided"] <= 1
    # the report's table and plot read the file; the result reader leaves it alone
    from bench.report.overlap import overlap_section
    from bench.results import load_results

    tables, drawn, notes = overlap_section(tmp / "out", tmp / "report")
    row = tables[0].values.loc["tiny / dtd"]
    assert row["overlap %"] == pytest.approx(r["overlap_percent"])
    assert row["difference"] == pytest.approx(acc["difference"]) and not notes
    assert (tmp / "report" / drawn["overlap"][0]).is_file()
    assert load_results(tmp / "out").problems == []


def test_subset_accuracy_and_binomial_test_by_hand():
    correct = np.array([1, 1, 0, 1, 0, 0, 1, 1], bool)
    overlap = np.array([1, 1, 1, 0, 0, 0, 0, 0], bool)
    a = subset_accuracy(correct, overlap)
    assert a["overlap"] == pytest.approx(200 / 3) and a["clean"] == pytest.approx(60.0)
    assert a["all"] == pytest.approx(62.5) and a["difference"] == pytest.approx(200 / 3 - 60)
    # Binomial(3, 0.6): P = .064 .288 .432 .216; two-sided sums those <= P(2) = .432: all of them
    assert a["p_two_sided"] == pytest.approx(1.0)
    assert a["p_overlap_higher"] == pytest.approx(0.432 + 0.216)
    empty = subset_accuracy(correct, np.zeros(8, bool))
    assert empty["overlap"] is None and empty["p_two_sided"] is None and empty["clean"] == 62.5


def test_threshold_rule_on_known_scores():
    cal = calibrate(np.array([0.9, 0.8, 0.7]), np.array([0.5, 0.75]))
    # F1 at >=0.7: P 3/4 R 1 -> .857 beats >=0.8: P 1 R 2/3 -> .8; midway to the next score 0.5
    assert cal.threshold == pytest.approx(0.6)
    assert (cal.precision, cal.recall) == (pytest.approx(0.75), 1.0)
    assert math.isclose(calibrate(np.array([0.9]), np.array([0.5]), given=0.95).recall, 0.0)


def test_chunked_search_equals_brute_force_with_exclusions():
    g = torch.nn.functional.normalize(
        torch.randn(50, 8, generator=torch.Generator().manual_seed(0)), dim=1
    )
    q = torch.nn.functional.normalize(g[[4, 9, 30]] + 0.01, dim=1)
    exclude = torch.tensor([-1, 9, -1])
    search = NearestSearch(q, exclude, block=2)
    for lo in range(0, 50, 7):
        search.update(g[lo : lo + 7], lo)
    sims = q @ g.T
    sims[1, 9] = -2
    assert torch.equal(search.index, sims.argmax(1))
    assert torch.allclose(search.best, sims.max(1).values)
    assert search.index[0] == 4 and search.index[1] != 9
    assert search.compared == 3 * 50
