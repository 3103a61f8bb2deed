"""Forward + backward time and peak extra memory: focalboost.torch vs torchvision's formula vs a copy.

For each case, in one run and on one device, this measures:

* ``copy``: ``x.clone()``, the memory-bandwidth floor of anything that reads ``x`` and writes a
  tensor of its size (a gradient);
* ``torchvision``: ``torchvision.ops.sigmoid_focal_loss``'s formula (written out below, op for op:
  torchvision does not install beside this project's torch wheel), ``reduction="sum"``, then
  ``backward()`` through autograd;
* ``focalboost``: :func:`focalboost.torch.sigmoid_focal_loss` with ``reduction="sum"`` and
  ``backward()``, through the automatic kernel choice (fused CUDA kernel on a GPU; the numba
  kernel on CPU when numba is installed);
* ``focalboost-eager`` (CPU only): the same with the fused kernels switched off (the core op by op);
* ``focalboost+compile`` (not in ``--quick``): ``torch.compile(sigmoid_focal_loss)``, which traces
  the whole loss, forward and backward, into inductor's fused kernels (C++ on CPU, Triton on CUDA);
  its one-off compile time is printed, not counted.

Time is the median over repeats of one forward + backward, synchronized, the methods taking
turns round after round (a shared machine's load falls on all alike). Peak extra memory is
the high-water mark above what the inputs already hold: ``torch.cuda.max_memory_allocated`` on
CUDA; on CPU the process's peak resident set (``VmHWM``, reset through ``/proc/self/clear_refs``),
in a first pass with glibc's mmap threshold pinned at 64 KiB so that freed tensors go back to the
system; the timings follow in a second pass with the allocator keeping freed blocks.

Cases: RetinaNet-sized ``16 × 120000 × 80`` logits (on CPU scaled to ``16 × 7812 × 80`` ≈ 10M
elements) and an MNIST-sized ``64 × 1 × 28 × 28``. Run::

    python benchmarks/bench_torch.py            # full
    python benchmarks/bench_torch.py --quick    # tiny sizes, a smoke test for CI
    python benchmarks/bench_torch.py --threads 1   # CPU: torch and numba on one thread each
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from focalboost import config_context, set_config  # noqa: E402
from focalboost.torch import sigmoid_focal_loss, softmax_focal_loss  # noqa: E402

F = torch.nn.functional


def torchvision_focal(inputs: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0):
    """torchvision.ops.sigmoid_focal_loss (v0.20), ``reduction="sum"``."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return loss.sum()


def _mallopt(mmap_threshold: int, trim_threshold: int) -> None:
    """glibc's M_MMAP_THRESHOLD (-3) and M_TRIM_THRESHOLD (-1); no-op elsewhere."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, mmap_threshold)
        libc.mallopt(-1, trim_threshold)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


def _cpu_reset_peak() -> int:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return -1
    return _status_kib("VmRSS")


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _step(fn: Callable, x: torch.Tensor, y: torch.Tensor) -> None:
    x.grad = None
    if fn is torch.Tensor.clone:
        x.detach().clone()
        return
    fn(x, y).backward()


def peak_memory(fn: Callable, x: torch.Tensor, y: torch.Tensor) -> float:
    """Peak extra MiB above the inputs of one forward + backward (after a warm-up call)."""
    device = x.device
    _step(fn, x, y)  # warm up: compilation, JIT, allocator
    _sync(device)
    x.grad = None
    gc.collect()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = _cpu_reset_peak()
    _step(fn, x, y)
    _sync(device)
    x.grad = None
    if device.type == "cuda":
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    return (_status_kib("VmHWM") - base) / 1024 if base >= 0 else float("nan")


def timings(methods: list[tuple[str, Callable]], x: torch.Tensor, y: torch.Tensor, repeats: int) -> dict[str, float]:
    """Median seconds of one forward + backward per method. The methods take turns, round after
    round, so that load from other processes on a shared machine falls on all of them alike."""
    times: dict[str, list[float]] = {m: [] for m, _ in methods}
    for _ in range(repeats):
        for m, fn in methods:
            x.grad = None
            _sync(x.device)
            t0 = time.perf_counter()
            _step(fn, x, y)
            _sync(x.device)
            times[m].append(time.perf_counter() - t0)
    x.grad = None
    return {m: statistics.median(t) for m, t in times.items()}


def _ours(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return sigmoid_focal_loss(x, y, 0.25, 2.0, "sum")


def _ours_eager(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    with config_context(fast=False):
        return sigmoid_focal_loss(x, y, 0.25, 2.0, "sum")


_COMPILED: list[Callable] = []
_COMPILE_SECONDS: dict[tuple, float] = {}


def _ours_compiled(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if not _COMPILED:
        _COMPILED.append(torch.compile(sigmoid_focal_loss, fullgraph=True))
    key = tuple(x.shape)
    if key in _COMPILE_SECONDS:
        return _COMPILED[0](x, y, 0.25, 2.0, "sum")
    t0 = time.perf_counter()  # the first call for a shape compiles (forward now, backward later)
    out = _COMPILED[0](x, y, 0.25, 2.0, "sum")
    _COMPILE_SECONDS[key] = time.perf_counter() - t0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and 2 repeats (a smoke test)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch and numba alike")
    parser.add_argument("--suite", choices=("all", "binary", "softmax"), default="all")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
        set_config(threads=args.threads)
    if args.quick:
        cases = [("16x500x80", (16, 500, 80)), ("64x1x28x28", (64, 1, 28, 28))]
        repeats = args.repeats or 2
    elif device.type == "cuda":
        cases = [("16x120000x80", (16, 120000, 80)), ("64x1x28x28", (64, 1, 28, 28))]
        repeats = args.repeats or 20
    else:
        cases = [("16x7812x80 (scaled from 16x120000x80)", (16, 7812, 80)), ("64x1x28x28", (64, 1, 28, 28))]
        repeats = args.repeats or 5
    methods: list[tuple[str, Callable]] = [("copy", torch.Tensor.clone), ("torchvision", torchvision_focal)]
    methods.append(("focalboost", _ours))
    if device.type == "cpu":
        methods.append(("focalboost-eager", _ours_eager))
    if not args.quick:
        methods.append(("focalboost+compile", _ours_compiled))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"# torch {torch.__version__}, {name}, float32, {repeats} repeats")
    if args.suite in ("all", "binary"):
        print("\n## Binary: sigmoid_focal_loss, reduction='sum', gamma=2, alpha=0.25, 1% positives\n")
        run_suite(cases, methods, _binary_data, ("copy", "torchvision"), repeats, device)
        for shape, seconds in _COMPILE_SECONDS.items():
            print(f"\ntorch.compile(sigmoid_focal_loss), first call for shape {shape}: {seconds:.1f} s (not counted)")
    if args.suite == "binary":
        return

    if args.quick:
        sm_cases = [("2x5x32x32", (2, 5, 32, 32))]
    elif device.type == "cuda":
        sm_cases = [("16x21x512x512", (16, 21, 512, 512))]
    else:
        sm_cases = [("8x5x128x128", (8, 5, 128, 128))]
    sm_methods: list[tuple[str, Callable]] = [
        ("copy", torch.Tensor.clone),
        ("cross_entropy", _cross_entropy),
        ("naive-focal", naive_softmax_focal),
        ("focalboost", _ours_softmax),
    ]
    if not args.quick:
        sm_methods.append(("focalboost+compile", _ours_softmax_compiled))
    print("\n## Softmax: softmax_focal_loss, reduction='mean', gamma=2, 5% ignored\n")
    run_suite(sm_cases, sm_methods, _softmax_data, ("copy", "naive-focal"), repeats, device)


def _binary_data(shape: tuple, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(shape, device=device, generator=gen).mul_(3).requires_grad_(True)
    y = (torch.rand(shape, device=device, generator=gen) < 0.01).float()
    return x, y


def _softmax_data(shape: tuple, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator(device=device).manual_seed(0)
    z = torch.randn(shape, device=device, generator=gen).mul_(3).requires_grad_(True)
    target_shape = (shape[0],) + tuple(shape[2:])
    t = torch.randint(0, shape[1], target_shape, device=device, generator=gen)
    t[torch.rand(target_shape, device=device, generator=gen) < 0.05] = -100
    return z, t


def _cross_entropy(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(z, t, ignore_index=-100)


def naive_softmax_focal(z: torch.Tensor, t: torch.Tensor, gamma: float = 2.0, epsilon: float = 1e-3) -> torch.Tensor:
    """The usual PyTorch softmax focal loss: log_softmax, gather, modulating factor, masked mean."""
    keep = t != -100
    logp = F.log_softmax(z, dim=1).gather(1, torch.where(keep, t, 0).unsqueeze(1)).squeeze(1)
    loss = -((1 - logp.exp() + epsilon) ** gamma) * logp
    return (loss * keep).sum() / keep.sum()


def _ours_softmax(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return softmax_focal_loss(z, t, None, 2.0, "mean")


def _ours_softmax_compiled(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    if not _COMPILED_SOFTMAX:
        _COMPILED_SOFTMAX.append(torch.compile(softmax_focal_loss, fullgraph=True))
    return _COMPILED_SOFTMAX[0](z, t, None, 2.0, "mean")


_COMPILED_SOFTMAX: list[Callable] = []


def run_suite(
    cases: list[tuple[str, tuple]],
    methods: list[tuple[str, Callable]],
    make: Callable,
    baselines: tuple[str, str],
    repeats: int,
    device: torch.device,
) -> None:
    """Measure every method on every case (memory pass, then interleaved timings) and print a table."""
    times: dict[str, dict[str, float]] = {}
    memory: dict[str, dict[str, float]] = {}
    # The memory pass first, with glibc's mmap threshold pinned at 64 KiB so that every freed
    # tensor goes back to the system and the resident-set peak sees each allocation; then the
    # timings, with large blocks kept by the allocator as glibc's default (dynamic) threshold does
    # after a warm-up, so that no method pays an mmap and page faults per temporary.
    for phase in ("memory", "time"):
        if device.type == "cpu":
            _mallopt(64 * 1024, 128 * 1024) if phase == "memory" else _mallopt(32 * 2**20, 512 * 2**20)
        for label, shape in cases:
            x, y = make(shape, device)
            if phase == "time":
                for _, fn in methods:  # warm up: compilation, JIT, allocator
                    _step(fn, x, y)
                    _sync(device)
                times[label] = timings(methods, x, y, repeats)
            else:
                memory[label] = {m: peak_memory(fn, x, y) for m, fn in methods}
            del x, y
            gc.collect()
    b0, b1 = baselines
    print(f"| case | elements | method | fwd+bwd ms | vs {b0} | vs {b1} | peak extra MiB | gradient MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for label, shape in cases:
        n = math.prod(shape)
        for m, _ in methods:
            t = times[label][m]
            print(
                f"| {label} | {n:,} | {m} | {t * 1e3:.3f} | {t / times[label][b0]:.2f}x "
                f"| {t / times[label][b1]:.2f}x | {memory[label][m]:.1f} | {n * 4 / 2**20:.1f} |"
            )


if __name__ == "__main__":
    main()
