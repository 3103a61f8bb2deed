"""Fixtures shared by the test modules: the fast path on and off, and the numba marker."""

from __future__ import annotations

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
