"""A study: a grid of runs, trained one by one or as batched ensembles, resumable.

:func:`expand_grid` turns the lists of a study (losses × γ × thresholds × noise levels) into
:class:`RunConfig` objects; :func:`run_study` trains those without a row in ``results.csv``
and appends each row the moment its run ends. With ``batched=True`` (the default) and more than
one run to do, runs that share an architecture and schedule are trained together by
:func:`focalboost.experiments.train_ensemble`, in chunks of at most ``max_members``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch

from ._data import MnistData
from ._ensemble import train_ensemble
from ._runs import ResultsFile, RunConfig, RunResult
from ._train import build_model, torch_dtype, train_run

# Without a measurement, the number of members per ensemble on the CPU: memory is plentiful
# there, but a larger ensemble does not run faster per member.
CPU_MEMBERS = 32


def expand_grid(
    *,
    task: str,
    losses: Iterable[str],
    gammas: Iterable[float],
    noises: Iterable[float],
    thresholds: Iterable[int | None] = (None,),
    **shared: Any,
) -> list[RunConfig]:
    """Every combination of ``losses × gammas × thresholds × noises`` as :class:`RunConfig`.

    Parameters
    ----------
    task : {"classification", "segmentation"}
    losses, gammas, noises, thresholds : iterables
        The axes of the grid (``thresholds`` is ``(None,)`` for segmentation).
    **shared
        The remaining :class:`RunConfig` fields (``alpha``, ``epsilon``, ``epochs``, ``lr``,
        ``batch_size``, ``seed``, ...), the same for every run.

    Returns
    -------
    list of RunConfig, losses varying slowest and noise fastest.
    """
    return [
        RunConfig(task=task, loss=loss, gamma=float(g), threshold=th, noise=float(nz), **shared)
        for loss, g, th, nz in itertools.product(losses, gammas, thresholds, noises)
    ]


def member_bytes(config: RunConfig, device: Any) -> int | None:
    """Peak CUDA memory of one training step of one run (``None`` off CUDA).

    Measured with a throw-away model: one forward and backward pass on a zero batch.
    """
    device = torch.device(device)
    if device.type != "cuda":
        return None
    dtype = torch_dtype(config.dtype)
    model = build_model(config).to(device=device, dtype=dtype)
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    x = torch.zeros((config.batch_size, 1, 28, 28), device=device, dtype=dtype)
    model(x).sum().backward()
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - before
    del model, x
    # parameters, their gradients and momentum buffers stay; activations are the peak's bulk.
    return int(peak * 1.5)


def auto_members(config: RunConfig, device: Any, *, memory_fraction: float = 0.6) -> int:
    """How many members of ``config``'s kind fit in one ensemble on ``device``."""
    need = member_bytes(config, device)
    if need is None:
        return CPU_MEMBERS
    free, _ = torch.cuda.mem_get_info(torch.device(device))
    return max(1, int(free * memory_fraction // max(need, 1)))


def _check_data(config: RunConfig, data: MnistData) -> None:
    """Refuse a run whose settings do not describe ``data``: its row would record a data
    source, number of training images, dtype or batch size it did not train with."""
    n = len(data.train_images)
    if config.data != data.source:
        raise ValueError(f"a run has data={config.data!r} but the data comes from {data.source!r}")
    if config.n_train is not None and config.n_train != n:
        raise ValueError(f"a run has n_train={config.n_train} but the data holds {n} training images")
    if torch_dtype(config.dtype) != data.train_images.dtype:
        raise ValueError(f"a run has dtype={config.dtype!r} but the data is {data.train_images.dtype}")
    if config.batch_size > n:
        raise ValueError(f"a run has batch_size={config.batch_size}, which is more than the {n} training images "
                         f"(every mini-batch would hold fewer)")


def _progress_hook(bar: Any) -> Callable[[int], None]:
    """The callback the runners report finished run-epochs to (a seam for tests)."""
    return bar.update


def _chunks(configs: Sequence[RunConfig], size: int) -> list[list[RunConfig]]:
    groups: dict[tuple[Any, ...], list[RunConfig]] = {}
    for c in configs:
        groups.setdefault(c.group_key(), []).append(c)
    return [g[i : i + size] for g in groups.values() for i in range(0, len(g), size)]


def run_study(
    configs: Sequence[RunConfig],
    data: MnistData,
    out: str | os.PathLike[str],
    *,
    batched: bool = True,
    max_members: int | None = None,
    quiet: bool = False,
    on_result: Callable[[RunResult], None] | None = None,
) -> list[RunResult]:
    """Train the runs of ``configs`` that ``out/results.csv`` does not hold yet.

    Parameters
    ----------
    configs : sequence of RunConfig
    data : MnistData
        On the training device, in the runs' dtype; its source and number of training images
        must be the runs' ``data`` and ``n_train`` (checked before any run starts).
    out : path-like
        The output folder; ``results.csv`` there gets one row per finished run.
    batched : bool, default=True
        Train runs together as batched ensembles when more than one is to do.
    max_members : int, optional
        Largest ensemble; by default measured on CUDA (:func:`auto_members`), 32 on the CPU.
    quiet : bool, default=False
        No progress bar.
    on_result : callable, optional
        Called with each :class:`RunResult` after its row is written.

    Returns
    -------
    list of RunResult
        The runs trained now (finished runs that were skipped are not included).
    """
    if max_members is not None and (isinstance(max_members, bool) or not isinstance(max_members, int)
                                    or max_members < 1):
        raise ValueError(f"max_members must be an int >= 1 or None, got {max_members!r}")
    results_file = ResultsFile(os.path.join(os.fspath(out), "results.csv"))
    done = results_file.finished()
    todo, seen = [], set(done)
    for c in configs:
        if c.run_id not in seen:  # a grid listing a run twice trains it once
            seen.add(c.run_id)
            todo.append(c)
    for c in todo:
        _check_data(c, data)
    finished: list[RunResult] = []

    def finish(result: RunResult) -> None:
        results_file.append(result)
        finished.append(result)
        if on_result:
            on_result(result)

    if not todo:
        return finished
    from tqdm.auto import tqdm

    bar = tqdm(total=sum(c.epochs for c in todo), unit="run-epoch", disable=quiet, dynamic_ncols=True,
               desc=f"{len(todo)} runs ({len(configs) - len(todo)} done before)")
    try:
        if batched and len(todo) > 1:
            size = max_members or auto_members(todo[0], data.train_images.device)
            for chunk in _chunks(todo, size):
                train_ensemble(chunk, data, on_finish=finish, progress=_progress_hook(bar))
        else:
            for c in todo:
                finish(train_run(c, data, progress=_progress_hook(bar)))
    finally:
        bar.close()
    return finished
