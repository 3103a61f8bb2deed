"""Fixtures shared by the test modules: the fast path on and off, the input's array library, the
numba marker, and a local Dask cluster."""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

import numpy as np
import pytest

import focalboost
from focalboost._config import numba_installed

needs_numba = pytest.mark.skipif(not numba_installed(), reason="numba is not installed")


@pytest.fixture(params=["fast", "plain"])
def backend(request):
    """Run the test twice: with the fused kernels (``"fast"``; skipped without numba) and with
    the plain array code (``"plain"``)."""
    if request.param == "fast" and not numba_installed():
        pytest.skip("numba is not installed")
    with focalboost.config_context(fast=request.param == "fast"):
        yield request.param


@pytest.fixture
def plain():
    """Run the test with the fused kernels switched off (the plain array code)."""
    with focalboost.config_context(fast=False):
        yield


class ArrayLibrary:
    """Converts the test's numpy inputs to one array library and its outputs back to numpy,
    checking on the way back that an output is of that library (and on the CPU)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def asarray(self, a: Any) -> Any:
        """``a`` (a numpy array, or None) in this library, with its dtype."""
        if a is None or self.name == "numpy":
            return a
        import torch

        return torch.from_numpy(np.ascontiguousarray(a))

    def to_numpy(self, out: Any) -> np.ndarray:
        """``out`` as a numpy array, after asserting that it is an array of this library."""
        if self.name == "numpy":
            assert isinstance(out, np.ndarray), type(out)
            return out
        import torch

        assert isinstance(out, torch.Tensor), type(out)
        assert out.device.type == "cpu", out.device
        return out.numpy()


@pytest.fixture(params=["numpy", "torch"])
def array_library(request) -> ArrayLibrary:
    """Run the test with numpy arrays and with torch CPU tensors (skipped without torch) as the
    inputs; the fixture converts the inputs and checks the outputs' library."""
    if request.param == "torch" and importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed")
    return ArrayLibrary(request.param)


@pytest.fixture(scope="module")
def client():
    """A Dask client on a 2-worker ``LocalCluster`` (processes, loopback only), one per test module."""
    distributed = pytest.importorskip("distributed")

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c
