"""`bench tasks` (issue 3, point 8)."""

from __future__ import annotations

import json

from bench.cli import main
from bench.tasks import list_tasks


def test_tasks_json_lists_every_task_with_sizes_and_presence(capsys):
    assert main(["tasks", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert sorted(rows) == [t.name for t in list_tasks()]  # every task, retrieval ones too
    assert (
        rows["flickr30k"]["num_classes"] == 0 and rows["flickr30k"]["metric"] == "retrieval_recall"
    )
    assert rows["digits"]["present"] is True
    assert rows["digits"]["sizes"] == {"train": 1080, "val": 120, "test": 597}
    assert rows["cifar100"]["num_classes"] == 100 and rows["voc2007"]["metric"] == "map_11point"
    assert rows["imagenet_r"]["val"] is None and rows["fgvc_aircraft"]["val"] == "official"


def test_tasks_tag_filter_and_table(capsys):
    assert main(["tasks", "--tag", "shifts"]) == 0
    out = capsys.readouterr().out
    assert "imagenet_vid" in out and "pm0_pm10" in out and "cifar10" not in out
    assert main(["tasks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["name", "classes", "metric", "train"]
    digits = next(line for line in lines if line.startswith("digits"))
    assert "1,080" in digits and "yes" in digits


def test_tasks_name_shows_one_task_in_full(capsys):
    assert main(["tasks", "digits"]) == 0
    out = capsys.readouterr().out
    assert "a photo of the number {}." in out and "classes (10):" in out
    assert main(["tasks", "fer2013", "--json"]) == 0
    task = json.loads(capsys.readouterr().out)
    assert task["classes"][3] == ["happy", "smiling"] and len(task["config_hash"]) == 64


def test_unknown_task_is_one_line_and_exit_2(capsys):
    assert main(["tasks", "cifar11"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'cifar10'" in err and "bench tasks" in err
