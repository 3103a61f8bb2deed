"""Per-round time of the XGBoost focal objective on GPU arrays against the CPU path.

Run on a machine with a CUDA GPU: ``python benchmarks/bench_gpu_objective.py [-n 10000000]``.
Both devices are timed in one run (best of ``--repeat``); the GPU result is also compared with the
CPU one (float32 precision). Without CUDA it says so and exits.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000_000, help="rows (default 10M)")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per device, best taken")
    args = parser.parse_args()

    import torch

    from focalboost import FocalLoss
    from focalboost.xgboost._native import _SklearnObjective as XGBObjective

    if not torch.cuda.is_available():
        print("no CUDA device: nothing to measure")
        return
    rng = np.random.default_rng(0)
    y = (rng.random(args.n) < 0.05).astype(np.float32)
    pred = rng.normal(0, 3, args.n).astype(np.float32)
    loss = FocalLoss(gamma=2.0, alpha=0.25)
    results = {}
    for device in ("cpu", "cuda"):
        obj = XGBObjective(loss, device=device)
        out = obj(y, pred)  # warm-up (compiles the kernels)
        torch.cuda.synchronize()
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            out = obj(y, pred)
            torch.cuda.synchronize()
            best = min(best, time.perf_counter() - start)
        results[device] = (best, [np.asarray(torch.as_tensor(a).cpu()) for a in out])
        print(f"{device:5s} {best * 1e3:9.2f} ms per round ({args.n:,} rows)")
    print(f"cpu / cuda: {results['cpu'][0] / results['cuda'][0]:.1f}x")
    for name, a, b in zip(("gradient", "hessian"), results["cpu"][1], results["cuda"][1], strict=True):
        print(f"{name}: max relative difference {np.max(np.abs(a - b) / (np.abs(a) + 1e-30)):.2e}")


if __name__ == "__main__":
    main()
