"""Objective throughput: focalboost's gradient+Hessian against two numpy baselines, in one run.

Prints, for float64 input and γ ∈ {0.5, 2}, the rows per second (best of ``--repeat``) and the
peak memory of one call of

* ``focalboost``: ``FocalLoss(gamma=γ).gradient_hessian(y, x, check_input=False)``, the call the
  LightGBM/XGBoost/CatBoost adapters make once per boosting round (the fused numba kernel when
  numba is installed);
* ``focalboost generic``: the same call with the fast path switched off (the array-generic core);
* ``textbook numpy``: the straightforward vectorized focal gradient and Hessian of blog posts
  (chain rule through ``p``, ``ε = 0``), written below;
* ``numpy logistic``: ``p − y`` and ``p (1 − p)``, the cost of a plain logistic objective,

and the ratios of focalboost to the baselines. It also measures the first call in a fresh process
(numba compiling the kernel, or loading it from its disk cache).

Usage::

    python benchmarks/bench_objective.py            # n = 10M, best of 5
    python benchmarks/bench_objective.py --quick    # n = 200k, best of 2: a smoke run for CI
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from focalboost import FocalLoss, config_context
from focalboost._math import dispatch


def textbook_focal(y: np.ndarray, x: np.ndarray, gamma: float, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """The textbook vectorized focal objective (hard labels, ε = 0), as published in blog posts.

    ``L = −α_t (1 − p_t)^γ log p_t`` with ``p_t = p`` for positives and ``1 − p`` for negatives,
    differentiated through ``p_t`` (``dp_t/dx = s p (1 − p)`` with ``s = 2y − 1``).
    """
    p = 1.0 / (1.0 + np.exp(-x))
    pt = np.where(y == 1, p, 1.0 - p)
    at = np.where(y == 1, alpha, 1.0 - alpha)
    s = 2.0 * y - 1.0
    u = 1.0 - pt
    log_pt = np.log(pt)
    d1 = at * (gamma * u ** (gamma - 1.0) * log_pt - u**gamma / pt)
    d2 = at * (
        -gamma * (gamma - 1.0) * u ** (gamma - 2.0) * log_pt + 2.0 * gamma * u ** (gamma - 1.0) / pt + u**gamma / pt**2
    )
    dpt = s * p * (1.0 - p)
    d2pt = s * p * (1.0 - p) * (1.0 - 2.0 * p)
    return d1 * dpt, d2 * dpt**2 + d1 * d2pt


def numpy_logistic(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A plain numpy logistic objective: gradient ``p − y``, Hessian ``p (1 − p)``."""
    p = 1.0 / (1.0 + np.exp(-x))
    return p - y, p * (1.0 - p)


def best_time(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up (and JIT compile)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def best_cpu_time(fn: Callable[[], Any], repeat: int) -> float:
    """Best CPU time of the process for one call: on a shared machine, the cost per core."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def peak_memory(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated by one call (numpy's buffers are traced by tracemalloc)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def first_call_seconds(cache_dir: str) -> float:
    """Import + first gradient_hessian call in a fresh process with numba's cache in ``cache_dir``."""
    code = (
        "import time, numpy as np; t = time.perf_counter(); from focalboost import FocalLoss; "
        "FocalLoss(gamma=2.0).gradient_hessian(np.zeros(8), np.zeros(8)); print(time.perf_counter() - t)"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small n and few repeats (CI smoke run)")
    parser.add_argument("-n", type=int, default=None, help="rows (default 10M, 200k with --quick)")
    parser.add_argument("--repeat", type=int, default=None, help="timed repeats, best taken (default 5, 2)")
    args = parser.parse_args(argv)
    n = args.n or (200_000 if args.quick else 10_000_000)
    repeat = args.repeat or (2 if args.quick else 5)

    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 3.0, n)
    y = (rng.random(n) < 0.1).astype(np.float64)
    print(f"# objective throughput: n = {n:,} float64 rows, best of {repeat}")
    kernels = dispatch.kernels()
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, numpy {np.__version__}, fast path: {kernels is not None}")
    if kernels is not None:
        import numba

        print(f"# numba {numba.__version__}, {kernels._threads()} kernel threads")
    out_mb = 2 * x.nbytes / 2**20
    print(f"# peak memory of one call, in MiB (the two outputs alone: {out_mb:.0f} MiB)")
    print()
    header = f"| {'gamma':>5} | {'method':<20} | {'M rows/s':>9} | {'peak MiB':>9} |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    ratios = []
    for gamma in (0.5, 2.0):
        loss = FocalLoss(gamma=gamma, alpha=0.25)

        def fast(loss: FocalLoss = loss) -> Any:
            return loss.gradient_hessian(y, x, check_input=False)

        def generic(loss: FocalLoss = loss) -> Any:
            with config_context(fast=False):
                return loss.gradient_hessian(y, x, check_input=False)

        def textbook(gamma: float = gamma) -> Any:
            with np.errstate(all="ignore"):  # the textbook formula divides by zero at saturation
                return textbook_focal(y, x, gamma, 0.25)

        rates = {}
        for name, fn in [
            ("focalboost", fast),
            ("focalboost generic", generic),
            ("textbook numpy", textbook),
            ("numpy logistic", lambda: numpy_logistic(y, x)),
        ]:
            rates[name] = n / best_time(fn, repeat) / 1e6
            peak = peak_memory(fn) / 2**20
            print(f"| {gamma:>5} | {name:<20} | {rates[name]:>9.1f} | {peak:>9.0f} |")
        fb = rates["focalboost"]
        ratios.append(
            f"gamma = {gamma}: focalboost / textbook numpy = {fb / rates['textbook numpy']:.1f}x, "
            f"/ numpy logistic = {fb / rates['numpy logistic']:.2f}x, "
            f"/ generic = {fb / rates['focalboost generic']:.1f}x"
        )
    print()
    print("# throughput ratios, measured in this run:")
    for line in ratios:
        print(f"#   {line}")
    if kernels is not None:
        # Per core: CPU seconds with one kernel thread, so that other processes on the machine do not
        # enter the comparison (wall-clock ratios above also credit the kernel's second thread).
        with config_context(threads=1):
            print()
            print("# per core (CPU time, 1 kernel thread), M rows per CPU-second:")
            for gamma in (0.5, 2.0):
                loss = FocalLoss(gamma=gamma, alpha=0.25)
                fb = n / best_cpu_time(lambda loss=loss: loss.gradient_hessian(y, x, check_input=False), repeat)
                with np.errstate(all="ignore"):
                    tb = n / best_cpu_time(lambda gamma=gamma: textbook_focal(y, x, gamma, 0.25), repeat)
                lg = n / best_cpu_time(lambda: numpy_logistic(y, x), repeat)
                print(
                    f"#   gamma = {gamma}: focalboost {fb / 1e6:.1f}, textbook numpy {tb / 1e6:.1f}, numpy logistic "
                    f"{lg / 1e6:.1f}; focalboost / textbook = {fb / tb:.1f}x, / logistic = {fb / lg:.2f}x"
                )
    if kernels is not None and not args.quick:
        with tempfile.TemporaryDirectory() as cache:
            cold = first_call_seconds(cache)
            warm = first_call_seconds(cache)
        print()
        print(f"# first call in a fresh process (import + one call): {cold:.2f} s compiling, {warm:.2f} s cached")


if __name__ == "__main__":
    main()
