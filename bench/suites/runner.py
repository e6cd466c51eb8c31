"""The runner behind ``bench run`` and ``bench demo``: resolve the tasks, check their data and the
results folder, run each leaf suite, and record per task what failed without stopping the others."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from bench.distributed import World, join
from bench.errors import BenchError, DataMissingError
from bench.features import extract_shard
from bench.models.seam import EvalModel
from bench.protocols.zero_shot import ENSEMBLE, check_prompt_mode
from bench.results import ResultFileError, load_results, model_slug
from bench.settings import Settings
from bench.suites.base import SUITES, Suite
from bench.suites.context import ModelLoadError, ModelSpec, RunContext, RunSummary
from bench.suites.models import model_spec


class ResultsFolderError(BenchError):
    """The results folder of this model's name holds another model's results.

    Attributes:
        suggested_name: A ``--name`` under which this model's results would not collide.
    """

    def __init__(self, message: str, suggested_name: str) -> None:
        self.suggested_name = suggested_name
        super().__init__(message)


def resolve_tasks(tasks: Sequence[str] | None, tag: str | None) -> list[Any] | None:
    """``--tasks`` or ``--tag`` as tasks; ``None`` when neither is given (suite defaults).

    Raises:
        UnknownNameError: an unknown task name (with close matches).
        BenchError: both given, an empty task list (``--tasks ''`` or ``','``), or an
            unknown tag.
    """
    from bench.tasks import get_task, list_tasks

    if tasks is not None and tag:
        raise BenchError("pass either --tasks or --tag, not both")
    if tasks is not None:
        names = list(dict.fromkeys(t.strip() for t in tasks if t.strip()))
        if not names:
            raise BenchError(
                f"--tasks {','.join(tasks)!r} names no task; give comma-separated task names "
                "(list them with `bench tasks`), or leave --tasks out for the suite's tasks"
            )
        return [get_task(n) for n in names]
    if tag:
        return list_tasks(tag)
    return None


def leaf_suites(suite: Suite) -> list[Suite]:
    """A composite suite's members (recursively), or the suite itself."""
    if not suite.members:
        return [suite]
    return [leaf for m in suite.members for leaf in leaf_suites(SUITES.get(m))]


def tasks_for(
    suite: Suite, explicit: list[Any] | None, summary: RunSummary, strict: bool
) -> list[Any]:
    """The tasks a leaf suite runs: the explicit ones it accepts, else its defaults.

    Raises:
        BenchError: with ``strict`` (the suite was asked for by name), for a task the suite
            cannot run, naming what the suite needs.
    """
    from bench.tasks import list_tasks

    if explicit is None:
        return [t for t in list_tasks(suite.tag) if suite.accepts(t)]
    rejected = [t.name for t in explicit if not suite.accepts(t)]
    if rejected and strict:
        raise BenchError(
            f"suite {suite.name!r} cannot run task(s) {', '.join(rejected)}: it needs "
            f"{suite.requirement}; pick another --suite, or --suite all to run what applies"
        )
    summary.not_applicable.extend((suite.name, n) for n in rejected)
    return [t for t in explicit if suite.accepts(t)]


def check_results_folder(out: Path, spec: ModelSpec) -> None:
    """Refuses a results folder that holds results of another model or other weights.

    Two model names that map to one folder, or one name used for two sets of weights, would
    mix or overwrite each other's results; ``--force`` never fixes that, another name does.

    Raises:
        ResultsFolderError: naming both models and a free ``--name``.
    """
    slug = spec.slug
    folder = out / slug
    if not folder.is_dir():
        return
    for path, r in load_results(folder).results:
        if r.model != spec.name:
            why = f"model names {spec.name!r} and {r.model!r} both map to results folder {folder}"
        elif r.weights_sha256 != spec.weights_sha256:
            why = (
                f"results folder {folder} holds {r.model!r} with weights sha256 "
                f"{str(r.weights_sha256)[:12]}..., not these weights ({spec.weights_sha256[:12]}...)"
            )
        else:
            continue
        free = _free_name(out, slug, spec.weights_sha256)
        raise ResultsFolderError(f"{why} (e.g. {path.relative_to(folder)})", free)


def _free_name(out: Path, slug: str, sha: str) -> str:
    base = f"{slug}-{sha[:8]}"
    name, n = base, 2
    while (out / model_slug(name)).exists():
        name, n = f"{base}-{n}", n + 1
    return name


def run_suite(
    model: str | os.PathLike[str] | torch.nn.Module | EvalModel,
    suite: str,
    tasks: Sequence[str] | None = None,
    out: str | os.PathLike[str] = "results",
    *,
    settings: Settings | None = None,
    model_name: str | None = None,
    weights: str | os.PathLike[str] | None = None,
    tag: str | None = None,
    prompts: str = ENSEMBLE,
    caption_prefix: str | None = None,
    world: World | None = None,
    **settings_kwargs: Any,
) -> RunSummary:
    """Runs a suite for one model and writes its results under ``out``.

    Args:
        model: A registered model name, a checkpoint path, an in-memory CLIP or an EvalModel.
        suite: A name in :data:`SUITES` (``bench run --help`` lists them).
        tasks: Task names; default the suite's own list. Exclusive with ``tag``.
        out: The results folder.
        settings: The run's settings (``bench run`` builds them once); else built from
            ``settings_kwargs`` with :meth:`Settings.build` (``device``, ``precision``,
            ``batch_size``, ``workers``, ``data_root``, ``force``, ``skip_corrupt``, ...).
        model_name: The name results carry (``--name``; default the name or file stem).
        weights: A checkpoint file evaluated under the name ``model``.
        tag: Run the tasks with this tag (``paper27``, ``shifts``, ``embedded``, ``retrieval``).
        prompts: The zero-shot suite's prompt mode: ``ensemble`` (the task's templates),
            ``single`` ("a photo of a {}.") or ``classname``; each writes its own file.
        caption_prefix: The retrieval suite's caption prefix (``None``: the paper's "a photo
            of "; ``""``: none); a non-default prefix writes its own file.
        world: This process's place in a torchrun run (default: joined from torchrun's
            environment, one process without it). Every rank extracts its share of the
            features the suites need; rank 0 then runs the suites (features from the cache)
            and writes the results while the others wait.

    Each task's data is checked first (:func:`plan_groups`): a task without data is reported
    failed with its loader's reason, and when no task is left the weights are never loaded
    (nor downloaded).

    Returns:
        What was written, skipped, not applicable, and the tasks that failed and why (on
        ranks other than 0: empty).

    Raises:
        UnknownNameError: an unknown suite, task or model.
        BenchError: other bad input, or a results folder of another model
            (:class:`ResultsFolderError`).
        RankFailedError: another rank of a distributed run died or timed out.
    """
    if settings is None:
        settings = Settings.build(**settings_kwargs)
    elif settings_kwargs:
        raise TypeError(f"pass settings or {', '.join(settings_kwargs)}, not both")
    joined = world is None
    world = join(settings.device.type) if world is None else world
    try:
        return _run(model, suite, tasks, Path(out), world.settings(settings), world, model_name,
                    weights, tag, prompts, caption_prefix)  # fmt: skip
    finally:
        if joined:
            world.close()


def _run(
    model: Any,
    suite: str,
    tasks: Sequence[str] | None,
    out: Path,
    settings: Settings,
    world: World,
    model_name: str | None,
    weights: Any,
    tag: str | None,
    prompts: str = ENSEMBLE,
    caption_prefix: str | None = None,
) -> RunSummary:
    chosen = SUITES.get(suite)
    check_prompt_mode(prompts)
    explicit = resolve_tasks(tasks, tag)
    spec = model_spec(model, settings, weights=weights, model_name=model_name, load_for_sha=False)
    summary = RunSummary()
    plan: list[tuple[Suite, list[Any], str | None]] = []
    for leaf in leaf_suites(chosen):
        assert leaf.runner is not None, f"suite {leaf.name} has no runner"
        run_tasks = tasks_for(leaf, explicit, summary, strict=not chosen.members)
        plan += plan_groups(leaf, run_tasks, settings, out / spec.slug)
    if all(why is not None for _, _, why in plan):  # e.g. no requested task has data:
        for leaf, group, why in plan:  # the weights are never loaded (downloaded)
            summary.failed.append((leaf.name, group[0].name, str(why)))
        return summary if world.is_main else RunSummary()
    spec.complete_sha()
    check_results_folder(out, spec)
    ctx = RunContext(
        spec=spec,
        settings=settings,
        out=out,
        summary=summary,
        prompts=prompts,
        caption_prefix=caption_prefix,
        prefetched=world.distributed,
    )
    if world.distributed:
        prefetch(ctx, [(leaf, group) for leaf, group, why in plan if why is None], world)
        world.barrier("extracting features")
        if not world.is_main:
            world.barrier("rank 0 fitted the probes and wrote the results")
            return RunSummary()
    for leaf, group, why in plan:
        if why is None:
            _run_group(ctx, leaf, group)
        else:
            summary.failed.append((leaf.name, group[0].name, why))
    world.barrier("rank 0 fitted the probes and wrote the results")
    return ctx.summary


def missing_data(task: Any, settings: Settings) -> str | None:
    """Why ``task`` cannot run for lack of data (its loader's one-line "data not found ...
    bench download NAME" or manual steps), or ``None`` where its data is there.

    Cheap: the loader's ``is_present``; only when that says no is the test split opened, which
    then fails at once with the loader's own message. Any other problem (a typo in the task
    file's ``source.options``, ...) is left to the suite, which reports it for that task.
    """
    try:
        if task.is_present(settings.data_root):
            return None
        task.dataset("test", settings.data_root)
    except DataMissingError as e:
        return str(e)
    except BenchError:
        return None
    return None  # is_present said no, yet the split opens: the suite decides


def plan_groups(
    leaf: Suite, tasks: list[Any], settings: Settings, results: Path
) -> list[tuple[Suite, list[Any], str | None]]:
    """The groups of ``tasks`` the leaf suite runs, in order, each with ``None`` or the reason
    its (single) task cannot run: its data is missing (:func:`missing_data`).

    Checked before the model is loaded, so that a large checkpoint is not downloaded for tasks
    that cannot run. A task whose results folder (``results``: ``<out>/<model slug>``) already
    holds results is kept: the suite skips what is there, as before.
    """
    why = {}
    for task in tasks:
        reason = missing_data(task, settings)
        why[task.name] = None if any((results / task.name).glob("*.json")) else reason
    if leaf.per_task:
        return [(leaf, [t], why[t.name]) for t in tasks]
    runnable = [t for t in tasks if why[t.name] is None]
    missing = [(leaf, [t], why[t.name]) for t in tasks if why[t.name] is not None]
    return missing + ([(leaf, runnable, None)] if runnable else [])


def prefetch(ctx: RunContext, plan: list[tuple[Suite, list[Any]]], world: World) -> int:
    """This rank's share of every split the planned suites read, extracted to the cache.

    A split that cannot be extracted (missing data, a corrupt image, ...) is left out here:
    rank 0 meets the same error when its suite runs, and reports it for that task.

    Returns:
        The images this rank extracted.
    """
    seen, done = set(), 0
    for leaf, group in plan:
        for task in group if leaf.needs is not None else []:
            try:
                needs = leaf.needs(task)
            except BenchError:
                continue
            for t, split, fold in needs:
                if (t.name, split, fold) in seen:
                    continue
                seen.add((t.name, split, fold))
                try:
                    done += extract_shard(ctx.model, t, split, ctx.settings, world, fold=fold)
                except BenchError:
                    continue
    return done


def _run_group(ctx: RunContext, leaf: Suite, group: list[Any]) -> None:
    """Runs one group of tasks; a bad input of that group fails only that group."""
    try:
        leaf.runner(ctx, group, leaf)
    except ModelLoadError:
        raise
    except (BenchError, ResultFileError) as e:
        ctx.summary.failed.append((leaf.name, ",".join(t.name for t in group), str(e)))
