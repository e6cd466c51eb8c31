"""Validation of task files (``tasks/<name>.yaml``) into frozen :class:`~bench.tasks.task.Task`.

Every key of a task file is known here; an unknown or misspelt key is an error naming the key,
the file and the valid keys, so a typo can never silently change an evaluation. See
docs/ARCHITECTURE.md ("Task files and loaders") for the format.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import yaml

from bench import metrics
from bench.datasets._download import ARCHIVE_SUFFIXES
from bench.errors import BenchError
from bench.tasks.task import (
    DATASET_SPLITS,
    MIRROR_AGREEMENT,
    FileSpec,
    Mirror,
    Source,
    Task,
    ValSpec,
)

TAGS = ("paper27", "shifts", "embedded", "retrieval", "bias", "user")
#: Task kinds: ``classification`` (the default when ``kind`` is absent) has classes and
#: templates; ``retrieval`` (image-text retrieval, paper Table 13) has captions per image
#: from its loader and neither classes nor templates.
KINDS = ("classification", "retrieval")
_KIND_LABELS = {"classification": ("class", "multi_hot", "binary", "frames"),
                "retrieval": ("retrieval",)}  # fmt: skip
USER_TAG = "user"  # the only tag of a task file from outside the package (--tasks-dir)
NUM_IMAGENET_CLASSES = 1000
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_REPO_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")

# key -> required?
TOP_KEYS = {
    "name": True,
    "title": True,
    "version": True,
    "tags": True,
    "kind": False,
    "metric": True,
    "multilabel": False,
    "classes": False,  # required for kind classification, absent for retrieval
    "templates": False,  # likewise
    "splits": True,
    "source_splits": False,
    "val": False,
    "probe_folds": False,
    "imagenet_pool": False,
    "source": True,
    "citation": True,
    "licence": True,
    "notes": False,
    "mirror": False,
}
VAL_KEYS = {"official": True, "size": True, "seed": False, "within_train": False}
SOURCE_KEYS = {"loader": True, "options": False, "homepage": False, "manual": False, "files": False}
FILE_KEYS = {"url": True, "filename": True, "checksum": True, "extract": False, "extract_to": False}
URL_SCHEMES = ("http://", "https://", "file://")
_CHECKSUM_RE = re.compile(r"^(md5:[0-9a-fA-F]{32}|sha256:[0-9a-fA-F]{64})$")
SPLIT_KEYS = {"train": False, "test": True}
MIRROR_KEYS = {"repo": True, "splits": True, "notes": False}


class TaskFileError(BenchError):
    """A task file that is not valid; the message names the file, the key and the fix."""


def _fail(where: str, msg: str) -> TaskFileError:
    return TaskFileError(f"task file {where}: {msg}")


def check_keys(data: Any, spec: Mapping[str, bool], where: str, what: str) -> dict[str, Any]:
    """Returns ``data`` as a dict after checking it has the required keys of ``spec`` only.

    Raises:
        TaskFileError: naming an unknown key (with the valid keys) or a missing one.
    """
    if not isinstance(data, Mapping):
        raise _fail(where, f"{what} must be a mapping, got {data!r}")
    for key in data:
        if key not in spec:
            valid = ", ".join(spec)
            raise _fail(
                where, f"unknown key {key!r} in {what}; valid keys: {valid}; fix or remove it"
            )
    for key, required in spec.items():
        if required and key not in data:
            raise _fail(where, f"missing required key {key!r} in {what}; add it")
    return dict(data)


def typed(value: Any, kind: type, where: str, key: str, optional: bool = False) -> Any:
    """Checks ``isinstance(value, kind)`` (a YAML ``true`` never passes as an int)."""
    if optional and value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _fail(where, f"{key} must be {kind.__name__}, got {value!r}")
    return value


def _positive(value: Any, where: str, key: str) -> int:
    if typed(value, int, where, key) < 1:
        raise _fail(where, f"{key} must be a positive integer, got {value!r}")
    return value


def _names(value: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _fail(where, f"{key} must be a non-empty list of strings, got {value!r}")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise _fail(where, f"{key} holds {item!r}; every entry must be a non-empty string")
    return tuple(value)


def parse_classes(value: Any, where: str) -> tuple[tuple[str, ...], ...]:
    """Each class is a name, or a list of names of the same class (as FER2013's)."""
    if not isinstance(value, list) or not value:
        raise _fail(where, f"classes must be a non-empty list, got {value!r}")
    return tuple(
        _names([item] if isinstance(item, str) else item, where, f"classes[{i}]")
        for i, item in enumerate(value)
    )


def parse_templates(value: Any, where: str) -> tuple[str, ...]:
    templates = _names(value, where, "templates")
    for t in templates:
        if t.count("{}") != 1:
            raise _fail(where, f"template {t!r} must contain '{{}}' exactly once")
    return templates


def parse_splits(value: Any, where: str, key: str) -> Mapping[str, int]:
    data = check_keys(value, SPLIT_KEYS, where, key)
    return MappingProxyType(
        {k: _positive(data[k], where, f"{key}.{k}") for k in SPLIT_KEYS if k in data}
    )


def parse_val(value: Any, splits: Mapping[str, int], where: str) -> ValSpec | None:
    """The ``val`` block: required when there is a training split, absent otherwise."""
    if "train" not in splits:
        if value is not None:
            raise _fail(where, "val must be null for a task without a train split")
        return None
    if value is None:
        raise _fail(where, "a task with a train split needs val: {official: ..., size: ...}")
    data = check_keys(value, VAL_KEYS, where, "val")
    spec = ValSpec(
        official=typed(data["official"], bool, where, "val.official"),
        size=_positive(data["size"], where, "val.size"),
        seed=typed(data.get("seed", 0), int, where, "val.seed"),
        within_train=typed(data.get("within_train", True), bool, where, "val.within_train"),
    )
    if spec.official and "seed" in data:
        raise _fail(where, "val.seed applies only to a carved split (official: false); remove it")
    if not spec.within_train and not spec.official:
        raise _fail(where, "a carved val split is always within train; remove val.within_train")
    if spec.within_train and spec.size >= splits["train"]:
        raise _fail(
            where, f"val.size {spec.size} must be smaller than splits.train {splits['train']}"
        )
    return spec


def parse_pool(value: Any, num_classes: int, where: str) -> tuple[tuple[int, ...], ...] | None:
    """``null``, ``all`` (the 1,000 ImageNet classes in order) or one index list per class."""
    if value is None:
        return None
    if value == "all":
        if num_classes != NUM_IMAGENET_CLASSES:
            raise _fail(where, f"imagenet_pool 'all' needs 1000 classes, found {num_classes}")
        return tuple((i,) for i in range(NUM_IMAGENET_CLASSES))
    if not isinstance(value, list) or len(value) != num_classes:
        raise _fail(
            where, f"imagenet_pool must be null, 'all' or one list per class ({num_classes})"
        )
    pool = []
    for i, indices in enumerate(value):
        if not isinstance(indices, list) or any(
            isinstance(j, bool) or not isinstance(j, int) or not 0 <= j < NUM_IMAGENET_CLASSES
            for j in indices
        ):
            raise _fail(
                where,
                f"imagenet_pool[{i}] must be a list of ImageNet indices 0-999, got {indices!r}",
            )
        pool.append(tuple(indices))
    return tuple(pool)


def _relative(value: str, where: str, key: str, folders: bool) -> str:
    """A name under the task's data folder: no absolute path, no ``..``, no ``\\``."""
    parts = value.split("/")
    if (
        "\\" in value
        or value.startswith("/")
        or any(p in ("", ".", "..") for p in parts)
        or (not folders and len(parts) > 1)
    ):
        what = "a relative folder without '..'" if folders else "a plain file name (no '/')"
        raise _fail(where, f"{key} {value!r} must be {what}")
    return value


def parse_file(value: Any, where: str, key: str) -> FileSpec:
    """One entry of ``source.files``: ``url``, ``filename``, ``checksum`` (``md5:<hex>``,
    ``sha256:<hex>`` or null where none is published), ``extract`` and ``extract_to``.

    Raises:
        TaskFileError: naming the file, the entry and the bad key.
    """
    data = check_keys(value, FILE_KEYS, where, key)
    url = typed(data["url"], str, where, f"{key}.url")
    if not url.startswith(URL_SCHEMES) or not url.partition("//")[2]:
        schemes = ", ".join(URL_SCHEMES)
        raise _fail(where, f"{key}.url {url!r} must be an address starting with {schemes}")
    filename = typed(data["filename"], str, where, f"{key}.filename")
    _relative(filename, where, f"{key}.filename", folders=False)
    checksum = typed(data["checksum"], str, where, f"{key}.checksum", optional=True)
    if checksum is not None and not _CHECKSUM_RE.match(checksum):
        raise _fail(
            where,
            f"{key}.checksum {checksum!r} must be 'md5:' and 32 hex digits, 'sha256:' and 64 "
            "hex digits, or null where the publisher gives none",
        )
    extract = typed(data.get("extract", True), bool, where, f"{key}.extract")
    if extract and not filename.lower().endswith(ARCHIVE_SUFFIXES):
        raise _fail(
            where,
            f"{key}.extract: {filename!r} is not an archive ({', '.join(ARCHIVE_SUFFIXES)}); "
            "set extract: false to keep it as it is",
        )
    extract_to = typed(data.get("extract_to", ""), str, where, f"{key}.extract_to")
    if extract_to and not extract:
        raise _fail(where, f"{key}.extract_to applies only to an extracted archive; remove it")
    if extract_to:
        _relative(extract_to, where, f"{key}.extract_to", folders=True)
    return FileSpec(url, filename, checksum, extract, extract_to)


def parse_files(value: Any, where: str) -> tuple[FileSpec, ...]:
    """``source.files``: a list of :func:`parse_file` entries with distinct file names."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(where, f"source.files must be a list of files, got {value!r}")
    files = tuple(parse_file(f, where, f"source.files[{i}]") for i, f in enumerate(value))
    names = [f.filename for f in files]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise _fail(where, f"source.files[{i}].filename {name!r} is listed twice")
    return files


def parse_source(value: Any, where: str) -> Source:
    data = check_keys(value, SOURCE_KEYS, where, "source")
    loader = typed(data["loader"], str, where, "source.loader")
    if not _NAME_RE.match(loader):
        raise _fail(where, f"source.loader {loader!r} must be a module name such as 'cifar'")
    options = data.get("options") or {}
    typed(options, dict, where, "source.options")
    return Source(
        loader=loader,
        options=MappingProxyType(dict(options)),
        homepage=typed(data.get("homepage"), str, where, "source.homepage", optional=True),
        manual=typed(data.get("manual"), str, where, "source.manual", optional=True),
        files=parse_files(data.get("files"), where),
    )


def parse_mirror(value: Any, task: Task, where: str) -> Mirror | None:
    """The ``mirror`` block: which loader splits the mirror holds and whether each is the paper's.

    Raises:
        TaskFileError: an unknown key, a split the task's loader does not have, an agreement
            other than ``same``/``differs``/``unknown``, or no ``notes`` where one is not ``same``.
    """
    if value is None:
        return None
    data = check_keys(value, MIRROR_KEYS, where, "mirror")
    repo = typed(data["repo"], str, where, "mirror.repo")
    if not _REPO_RE.match(repo):
        raise _fail(where, f"mirror.repo {repo!r} must be a hub repository 'owner/name'")
    splits = data["splits"]
    if not isinstance(splits, Mapping) or not splits:
        raise _fail(where, f"mirror.splits must be a mapping split -> agreement, got {splits!r}")
    loader_splits = set(task.expected_sizes()) - (
        set() if task.val is not None and task.val.official else {"val"}
    )
    for split, agreement in splits.items():
        if split not in loader_splits:
            valid = ", ".join(s for s in DATASET_SPLITS if s in loader_splits)
            raise _fail(where, f"mirror.splits names split {split!r}; valid splits: {valid}")
        if agreement not in MIRROR_AGREEMENT:
            raise _fail(
                where,
                f"mirror.splits.{split} is {agreement!r}; valid: {', '.join(MIRROR_AGREEMENT)}",
            )
    notes = typed(data.get("notes") or "", str, where, "mirror.notes")
    if not notes and any(a != "same" for a in splits.values()):
        raise _fail(where, "mirror.notes must say how a split differs or why it is unknown")
    return Mirror(repo=repo, splits=MappingProxyType(dict(splits)), notes=notes)


def _parse_tags(value: Any, where: str, user: bool) -> tuple[str, ...]:
    if user:  # a user's task never joins the paper's averages or the built-in suites' lists
        if value is None:
            return (USER_TAG,)
        if value != [USER_TAG]:
            raise _fail(where, f"tags of a user task file must be [{USER_TAG}] (or omitted)")
    tags = _names(value, where, "tags")
    for tag in tags:
        if tag not in TAGS or (tag == USER_TAG and not user):
            raise _fail(where, f"unknown tag {tag!r}; valid tags: {', '.join(TAGS)}")
    return tags


def _parse_metric(value: Any, where: str, kind: str) -> str:
    valid = metrics.names()  # the metrics registry is the one list of metric names
    if value not in valid:
        raise _fail(where, f"unknown metric {value!r}; valid metrics: {', '.join(valid)}")
    if metrics.get_metric(value).labels not in _KIND_LABELS[kind]:
        fits = [m for m in valid if metrics.get_metric(m).labels in _KIND_LABELS[kind]]
        raise _fail(
            where, f"metric {value!r} does not score a {kind} task; valid: {', '.join(fits)}"
        )
    return value


def _parse_kind(data: dict[str, Any], where: str) -> str:
    """``kind`` (default classification) and the keys that kind requires or forbids."""
    kind = data.get("kind", KINDS[0])
    if kind not in KINDS:
        raise _fail(where, f"unknown kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    if kind == "classification":
        for key in ("classes", "templates"):
            if key not in data:
                raise _fail(
                    where,
                    f"missing required key {key!r} in the task file; add it",
                )
        return kind
    for key in ("classes", "templates", "imagenet_pool", "multilabel", "val", "probe_folds"):
        if data.get(key) is not None:
            raise _fail(
                where, f"a {kind} task has no {key!r} (its loader gives the captions); remove it"
            )
    splits = data["splits"]
    if not isinstance(splits, Mapping) or set(splits) != {"test"}:
        raise _fail(where, f"a {kind} task has only a test split: splits: {{test: N}}")
    return kind


def parse_task(
    raw: bytes, where: str, expected_name: str | None = None, origin: str | None = None
) -> Task:
    """Parses and validates the bytes of a task file.

    Args:
        raw: The file's bytes (hashed into ``config_hash``).
        where: The file's name, for messages.
        expected_name: The file's stem, which must equal the ``name`` key.
        origin: None for a built-in task file, else the path of the user's file (its
            ``tags`` may then only be ``[user]``, the default).

    Returns:
        The frozen :class:`Task`.

    Raises:
        TaskFileError: naming the file and the bad key or value.
    """
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise _fail(where, f"is not valid YAML ({e}); fix the syntax") from e
    if origin is not None and isinstance(data, dict):
        data.setdefault("tags", None)  # optional in a user's file: [user]
    data = check_keys(data, TOP_KEYS, where, "the task file")
    kind = _parse_kind(data, where)
    name = typed(data["name"], str, where, "name")
    if not _NAME_RE.match(name) or (expected_name is not None and name != expected_name):
        raise _fail(
            where, f"name {name!r} must be lowercase and equal the file name {expected_name!r}"
        )
    classes = parse_classes(data["classes"], where) if kind == "classification" else ()
    templates = parse_templates(data["templates"], where) if kind == "classification" else ()
    splits = parse_splits(data["splits"], where, "splits")
    source_splits = data.get("source_splits")
    source_splits = (
        splits if source_splits is None else parse_splits(source_splits, where, "source_splits")
    )
    if set(source_splits) != set(splits):
        raise _fail(
            where, f"source_splits must name the same splits as splits ({', '.join(splits)})"
        )
    task = Task(
        name=name,
        title=typed(data["title"], str, where, "title"),
        version=_positive(data["version"], where, "version"),
        tags=_parse_tags(data["tags"], where, user=origin is not None),
        metric=_parse_metric(data["metric"], where, kind),
        multilabel=typed(data.get("multilabel", False), bool, where, "multilabel"),
        class_prompts=classes,
        templates=templates,
        splits=splits,
        source_splits=source_splits,
        val=parse_val(data.get("val"), source_splits, where),
        probe_folds=_positive(data.get("probe_folds", 1), where, "probe_folds"),
        imagenet_pool=parse_pool(data.get("imagenet_pool"), len(classes), where),
        source=parse_source(data["source"], where),
        citation=typed(data["citation"], str, where, "citation"),
        licence=typed(data["licence"], str, where, "licence"),
        notes=typed(data.get("notes") or "", str, where, "notes"),
        config_hash=hashlib.sha256(raw).hexdigest(),
        origin=origin or "built-in",
        kind=kind,
    )
    return dataclasses.replace(task, mirror=parse_mirror(data.get("mirror"), task, where))
