"""Generates tasks/<name>.yaml from OpenAI's published prompts and the robustness metadata.

A development tool, never used at run time: it documents where every class name, template and
ImageNet class pool in the task files comes from, and checks that they still match.

Sources (read from ../shared/reference, see its README):
- clip/prompts.md: class names and templates of 26 datasets (OpenAI CLIP, MIT licence).
- clip/imagenet_prompts.json: ImageNet's 1,000 names and 80 templates (same origin).
- robustness/derived/imagenet_{r,a}_class_sublist.json, robustness/imagenet-testbed/
  {objectnet,imagenet-vid-robust,ytbb-robust}_metadata/*.json: the shifts' class subsets
  (imagenet-testbed, MIT licence; ObjectNet's mapping files, ObjectNet's terms).

Usage:
    python tools/make_tasks.py            # write the task files that do not exist yet
    python tools/make_tasks.py --check    # compare classes/templates/pools of existing files
    python tools/make_tasks.py --force cifar10   # rewrite one file (loses edits to it!)

Existing files are never overwritten without --force: after generation the files are edited
by hand (the ``source:`` blocks, with their ``files`` and ``manual`` entries, are written by hand).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from task_meta import META, PROMPTS_HEADING  # noqa: E402

REF = ROOT.parent / "shared" / "reference"
TASKS_DIR = ROOT / "tasks"
ROBUST = REF / "robustness"
TESTBED = ROBUST / "imagenet-testbed"
VID_NAMES = (
    "airplane antelope bear bicycle bird bus car cattle dog domestic_cat elephant fox "
    "giant_panda hamster horse lion lizard monkey motorcycle rabbit red_panda sheep snake "
    "squirrel tiger train turtle watercraft whale zebra"
).split()
HEADER_PROMPTS = (
    "# Class names and templates: OpenAI CLIP, data/prompts.md (github.com/openai/CLIP),\n"
    "# MIT licence, Copyright (c) 2021 OpenAI; copied verbatim by tools/make_tasks.py.\n"
)
HEADER_IMAGENET = (
    "# Class names and the 80 templates: OpenAI CLIP, notebooks/Prompt_Engineering_for_ImageNet\n"
    "# .ipynb (github.com/openai/CLIP), MIT licence, Copyright (c) 2021 OpenAI; copied verbatim\n"
    "# by tools/make_tasks.py.\n"
)


def read_prompts_md() -> dict[str, dict[str, list]]:
    """The ``classes`` and ``templates`` lists of each ``## Heading`` of prompts.md."""
    text = (REF / "clip" / "prompts.md").read_text(encoding="utf-8")
    out = {}
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        heading = section.split("\n", 1)[0].strip()
        code = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
        lists = {
            m.group(1): ast.literal_eval(m.group(2))
            for m in re.finditer(r"^(\w+) = (\[.*?^\])", code, re.S | re.M)
        }
        out[heading] = lists
    return out


def _json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def shift_classes(name: str, imagenet: list[str]) -> tuple[list[str], list[list[int]] | str]:
    """Class names and ImageNet pools of a distribution shift."""
    if name in ("imagenetv2", "imagenet_sketch"):
        return imagenet, "all"
    if name in ("imagenet_r", "imagenet_a"):
        sub = _json(ROBUST / "derived" / f"{name}_class_sublist.json")["indices"]
        return [imagenet[i] for i in sub], [[i] for i in sub]
    if name == "objectnet":
        meta = TESTBED / "objectnet_metadata"
        to_index = {label: int(i) for i, label in _json(meta / "imagenet_to_labels.json").items()}
        mapping = _json(meta / "objectnet_to_imagenet_1k.json")
        names = list(mapping)
        return names, [sorted(to_index[s] for s in mapping[n].split("; ")) for n in names]
    if name == "imagenet_vid":
        rev = _json(TESTBED / "imagenet-vid-robust_metadata" / "rev_class_idx_map.json")
        assert sorted(map(int, rev)) == list(range(30))
        return [n.replace("_", " ") for n in VID_NAMES], [sorted(rev[str(i)]) for i in range(30)]
    if name == "ytbb":
        meta = TESTBED / "ytbb-robust_metadata"
        names = _json(meta / "ytbb_class_index.json")
        rev = _json(meta / "rev_class_idx_map.json")
        n = len(names)
        return [names[str(i)] for i in range(n)], [sorted(rev.get(str(i), [])) for i in range(n)]
    raise KeyError(name)


def reference_data(name: str) -> dict:
    """classes, templates, imagenet_pool and header of task ``name`` from the references."""
    meta = META[name]
    imagenet = _json(REF / "clip" / "imagenet_prompts.json")
    if name == "digits":
        return {
            "classes": meta["classes"],
            "templates": meta["templates"],
            "pool": None,
            "header": "",
        }
    if name == "imagenet":
        return {
            "classes": imagenet["classes"],
            "templates": imagenet["templates"],
            "pool": None,
            "header": HEADER_IMAGENET,
        }
    if "shifts" in meta["tags"]:
        classes, pool = shift_classes(name, imagenet["classes"])
        return {
            "classes": classes,
            "templates": imagenet["templates"],
            "pool": pool,
            "header": HEADER_IMAGENET,
        }
    lists = read_prompts_md()[PROMPTS_HEADING.get(name, name)]
    return {
        "classes": lists["classes"],
        "templates": lists["templates"],
        "pool": None,
        "header": HEADER_PROMPTS,
    }


def q(value) -> str:
    """A YAML scalar: JSON strings are valid double-quoted YAML scalars."""
    return json.dumps(value, ensure_ascii=False)


def long_text(key: str, value: str, indent: str = "") -> str:
    """``key: value``, as a folded block scalar when the value is long (same string once parsed)."""
    if len(value) <= 80 or "\n" in value or value != value.strip() or "  " in value:
        return f"{indent}{key}: {q(value)}"
    lines = textwrap.wrap(
        value, width=96 - len(indent), break_long_words=False, break_on_hyphens=False
    )
    return f"{indent}{key}: >-\n" + "\n".join(f"{indent}  {line}" for line in lines)


def _block(key: str, items: list, fmt=q) -> list[str]:
    return [f"{key}:"] + [f"  - {fmt(item)}" for item in items]


def _mapping(value: dict) -> str:
    return "{" + ", ".join(f"{k}: {q(v)}" for k, v in value.items()) + "}"


def _pool_lines(pool, classes) -> list[str]:
    if pool is None:
        return ["imagenet_pool: null"]
    if pool == "all":
        return ["imagenet_pool: all   # the 1,000 ImageNet classes, in order"]
    lines = ["imagenet_pool:   # per class: ImageNet indices whose logits are max-pooled"]
    for idx, cls in zip(pool, classes, strict=True):
        lines.append(
            f"  - {json.dumps(idx)}   # {cls}" + ("  (no ImageNet class: -inf)" if not idx else "")
        )
    return lines


def render(name: str) -> str:
    """The text of ``tasks/<name>.yaml``."""
    meta, ref = META[name], reference_data(name)
    src = meta["source"]
    lines = [
        f"# {meta['title']}: task file of `bench` (format: docs/ARCHITECTURE.md).",
        ref["header"].rstrip("\n"),
    ]
    lines += [
        f"name: {name}",
        f"title: {q(meta['title'])}",
        "version: 1",
        f"tags: [{', '.join(meta['tags'])}]",
        f"metric: {meta['metric']}",
        f"multilabel: {str(meta.get('multilabel', False)).lower()}",
        *_block("classes", ref["classes"]),
        *_block("templates", ref["templates"]),
        f"splits: {_mapping(meta['splits'])}   # {meta.get('splits_comment', 'the paper, Table 9')}",
        f"source_splits: {_mapping(meta['source_splits']) if meta.get('source_splits') else 'null'}",
        f"val: {_mapping(meta['val']) if meta.get('val') else 'null'}"
        + (f"   # {meta['val_comment']}" if meta.get("val_comment") else ""),
        f"probe_folds: {meta.get('probe_folds', 1)}",
        *_pool_lines(ref["pool"], ref["classes"]),
        "source:",
        f"  loader: {src['loader']}",
        f"  options: {_mapping(src.get('options', {}))}",
        f"  homepage: {q(src['homepage'])}",
        long_text("manual", src["manual"], "  ") if src.get("manual") else "  manual: null",
        long_text("citation", meta["citation"]),
        long_text("licence", meta["licence"]),
        long_text("notes", meta.get("notes", "")),
    ]
    return "\n".join(line for line in lines if line) + "\n"


def check(name: str) -> list[str]:
    """Differences between tasks/<name>.yaml and the references (empty when they agree)."""
    data = yaml.safe_load((TASKS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    ref = reference_data(name)
    problems = []
    if data["classes"] != ref["classes"]:
        problems.append(f"{name}: classes differ from the reference")
    if data["templates"] != ref["templates"]:
        problems.append(f"{name}: templates differ from the reference")
    if data.get("imagenet_pool") != ref["pool"]:
        problems.append(f"{name}: imagenet_pool differs from the reference")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help="tasks to process (default: all)")
    parser.add_argument(
        "--check", action="store_true", help="compare existing files, write nothing"
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    args = parser.parse_args(argv)
    names = args.names or list(META)
    if args.check:
        problems = [p for n in names for p in check(n)]
        print("\n".join(problems) or f"{len(names)} task files match the references")
        return 1 if problems else 0
    for name in names:
        path = TASKS_DIR / f"{name}.yaml"
        if path.exists() and not args.force:
            print(f"kept {path.relative_to(ROOT)} (exists; --force to overwrite)")
            continue
        path.write_text(render(name), encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
