"""Process-wide speed settings: the fused kernels on or off, and how many threads they use."""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator
from typing import Any

__all__ = ["config_context", "get_config", "set_config"]

_OFF = ("0", "false", "False", "no", "off")

_state: dict[str, Any] = {
    "fast": os.environ.get("FOCALBOOST_FAST", "1") not in _OFF,
    "threads": -1,
}


def numba_installed() -> bool:
    """Whether numba can be imported (without importing it)."""
    return importlib.util.find_spec("numba") is not None


def missing_extra(module: str, extra: str, error: ImportError) -> ImportError:
    """The error raised when an integration's library is missing: it names the extra to install."""
    return ImportError(f"{module} needs the {extra!r} extra ({error}): pip install 'focalboost[{extra}]'")


def get_config() -> dict[str, Any]:
    """The current settings, as a new dict (see :func:`set_config`).

    Returns
    -------
    dict
        ``{"fast": bool, "threads": int}``.

    Examples
    --------
    >>> import focalboost
    >>> sorted(focalboost.get_config())
    ['fast', 'threads']
    """
    return dict(_state)


def _check_threads(threads: Any) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise TypeError(f"threads must be an int (-1 for all cores, or >= 1), got {threads!r}")
    if threads == 0 or threads < -1:
        raise ValueError(f"threads must be -1 (all cores) or >= 1, got {threads!r}")
    return threads


def set_config(*, fast: bool | None = None, threads: int | None = None) -> None:
    """Change the speed settings for the whole process; ``None`` leaves a setting as it is.

    Parameters
    ----------
    fast : bool or None, default=None
        Use the fused kernels where they apply (default True; the environment variable
        ``FOCALBOOST_FAST=0`` sets False at import): the numba kernels for numpy arrays and CPU
        tensors (when numba is installed, the ``fast`` extra) and a ``torch.compile`` kernel for
        CUDA tensors. ``False`` runs the plain array code everywhere. Results agree to
        rounding either way.
    threads : int or None, default=None
        Threads that the numba kernels split large inputs over: ``-1`` (the default) for
        numba's thread count (``NUMBA_NUM_THREADS``, all cores unless set), or a positive int.

    See Also
    --------
    config_context : the same settings for the duration of a ``with`` block.
    get_config : the current settings.

    Examples
    --------
    >>> import focalboost
    >>> focalboost.set_config(threads=1)
    >>> focalboost.get_config()["threads"]
    1
    >>> focalboost.set_config(threads=-1)
    """
    if fast is not None:
        if not isinstance(fast, bool):
            raise TypeError(f"fast must be a bool or None, got {fast!r}")
        _state["fast"] = fast
    if threads is not None:
        _state["threads"] = _check_threads(threads)


@contextlib.contextmanager
def config_context(*, fast: bool | None = None, threads: int | None = None) -> Iterator[None]:
    """Apply :func:`set_config` inside a ``with`` block and restore the previous settings after it.

    The settings are process-wide (the kernels' thread pool and autograd's worker threads read
    them), not per thread.

    Examples
    --------
    >>> import numpy as np
    >>> from focalboost import FocalLoss, config_context
    >>> loss = FocalLoss()
    >>> y, raw = np.array([0.0, 1.0]), np.array([-1.0, 2.0])
    >>> with config_context(fast=False):  # the plain array code
    ...     plain = loss.gradient(y, raw)
    >>> bool(np.allclose(plain, loss.gradient(y, raw), rtol=1e-12))
    True
    """
    previous = get_config()
    set_config(fast=fast, threads=threads)
    try:
        yield
    finally:
        _state.update(previous)
