"""The fused CPU kernels (focalboost._math.kernels) against the plain array code, and the plain code on its own.

The kernel compiles :func:`focalboost._math.binary.positive_term` itself; what it adds (the scalar
sigmoid parts, the Hessian policy, the mirrored combination, weights) is pinned here to the
array originals, and the whole path to the generic one to 1e-12 relative. The 100-digit
reference tests of test_core.py and test_softmax.py and the battery of test_losses.py run
through both paths (the ``backend`` fixture), so that each passes them on its own.

Every test here runs with the fast path switched on (``fast_path`` below), whatever
``FOCALBOOST_FAST`` says; those comparing the paths switch with :func:`focalboost.config_context`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import focalboost
from focalboost import FocalLoss, MulticlassFocalLoss, config_context
from focalboost._math import binary as _core
from focalboost._math import kernels as _fast

from .conftest import needs_numba

RNG = np.random.default_rng(7)


@pytest.fixture(autouse=True)
def fast_path():
    """The fast path on (it is the default unless ``FOCALBOOST_FAST=0``): the tests below that
    do not switch it themselves test the kernel, and would pass vacuously on the plain code."""
    with config_context(fast=True):
        yield


# Logits from the centre to the float64 extremes, both signs, plus random ones.
_HALF = [1e-300, 1e-8, 0.3, 1.0, 2.8, 8.0, 17.0, 20.0, 37.5, 40.0, 100.0, 745.0, 800.0, 1e10, 1e300]
LOGITS = np.concatenate([[0.0], _HALF, [-v for v in _HALF], RNG.normal(0.0, 6.0, 400)])


def _both(loss, y, x, w=None):
    """``(loss, grad, hess)`` through the fast path and through the generic core."""
    with config_context(fast=True):
        fast = (loss.loss(y, x, w), *loss.gradient_hessian(y, x, w))
    with config_context(fast=False):
        slow = (loss.loss(y, x, w), *loss.gradient_hessian(y, x, w))
    return fast, slow


# -- the scalar primitives against their array originals -------------------------------------
def _scalar(name: str, compiled: bool):
    return getattr(_fast, name + "_nb") if compiled else getattr(_fast, name)


COMPILED = [False, pytest.param(True, marks=needs_numba)]


@pytest.mark.parametrize("compiled", COMPILED)
def test_exp_matches_libm(compiled):
    f = _scalar("_exp_nonpos", compiled)
    t = np.concatenate([[0.0, -0.0, -1e-300, -708.0, -709.5, -745.0, -745.1, -745.2, -746.0, -1e300]])
    t = np.concatenate([t, -np.geomspace(1e-18, 745.0, 3000), -RNG.uniform(0, 50, 1000)])
    got = np.array([f(float(v)) for v in t])
    ref = np.exp(t)
    normal = ref >= np.finfo(np.float64).tiny
    np.testing.assert_allclose(got[normal], ref[normal], rtol=3.5e-16, atol=0)  # ≤ 2 ulps (measured ≤ 1)
    # subnormal results: the same to one unit in the last place of the subnormal grid
    np.testing.assert_allclose(got[~normal], ref[~normal], rtol=0, atol=5e-324)


@pytest.mark.parametrize("compiled", COMPILED)
def test_log1p_matches_libm(compiled):
    f = _scalar("_log1p_unit", compiled)
    e = np.concatenate([[0.0, 5e-324, 1e-320, 2.2e-308, 1e-17, 1.0], np.geomspace(1e-300, 1.0, 3000), RNG.random(1000)])
    got = np.array([f(float(v)) for v in e])
    np.testing.assert_allclose(got, np.log1p(e), rtol=4.5e-16, atol=0)  # ≤ 2 ulps


@pytest.mark.parametrize("compiled", COMPILED)
def test_scalar_sigmoid_parts_match_core(compiled):
    f = _scalar("_sigmoid_parts", compiled)
    x = np.concatenate([LOGITS, np.geomspace(1e-20, 50.0, 300), -np.geomspace(1e-20, 50.0, 300)])
    got = np.array([f(float(v)) for v in x]).T
    expected = _core.sigmoid_parts(x, np)
    for name, a, b in zip(("p", "q", "log p", "log q"), got, expected, strict=True):
        # A few ulps: exp and log1p as above, and e / d computed as e · (1 / d).
        np.testing.assert_allclose(a, b, rtol=6e-16, atol=5e-324, err_msg=name)


def test_scalar_combine_hessian_matches_core():
    hb = RNG.uniform(0.0, 1.0, 200)
    ht = RNG.uniform(-1.0, 1.0, 200)
    for policy in ("exact", "positive"):
        exact = policy == "exact"
        got = np.array([_fast._combine_hessian_nb(a, b, exact) for a, b in zip(hb, ht, strict=True)])
        np.testing.assert_array_equal(got, _core.combine_hessian(hb, ht, exact))
        np.testing.assert_array_equal(got, hb + (ht if exact else np.maximum(ht, 0.0)))


# -- the whole fast path against the generic core ---------------------------------------------
@needs_numba
@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 2.5, 3.0])
@pytest.mark.parametrize("epsilon", [0.0, 1e-3])
@pytest.mark.parametrize("hessian", ["exact", "positive"])
def test_fast_matches_generic_float64(gamma, epsilon, hessian):
    n = LOGITS.size
    # Hard labels (one term) and soft labels (both terms) mixed, as in the kernel's branches.
    y = np.where(RNG.random(n) < 0.7, (RNG.random(n) < 0.3).astype(float), RNG.random(n))
    hard = (y == 0) | (y == 1)
    w = RNG.uniform(0.0, 3.0, n)
    for alpha in (0.25, None):
        loss = FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
        for weights in (None, w):
            fast, slow = _both(loss, y, LOGITS, weights)
            for name, a, b in zip(("loss", "gradient", "hessian"), fast, slow, strict=True):
                assert a.dtype == np.float64 and a.shape == LOGITS.shape
                np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b), err_msg=name)
                ok = np.isfinite(b) & hard
                np.testing.assert_allclose(a[ok], b[ok], rtol=1e-12, atol=1e-300, err_msg=name)
                # Soft labels: the two terms (each of size ≲ 1) cancel near the minimum, so the
                # rounding of the primitives (1e-16) shows at 1e-16 absolute, not relative.
                ok = np.isfinite(b) & ~hard
                np.testing.assert_allclose(a[ok], b[ok], rtol=1e-12, atol=1e-15, err_msg=name)


@needs_numba
@pytest.mark.parametrize("gamma", [0.5, 2.0, 3.7])
def test_fast_float32_is_the_float64_result_rounded(gamma):
    """float32 rows are computed in float64 and stored as float32: within one float32 ulp of the
    float64 generic result on the same (float32) inputs."""
    x32 = np.concatenate([LOGITS[np.abs(LOGITS) < 3e38], [-1e38, 1e38]]).astype(np.float32)
    y32 = (RNG.random(x32.size) < 0.3).astype(np.float32)
    y32[::5] = 0.4
    w32 = RNG.uniform(0.0, 2.0, x32.size).astype(np.float32)
    loss = FocalLoss(gamma=gamma, alpha=0.25, epsilon=1e-3, hessian="exact")
    fast, _ = _both(loss, y32, x32, w32)
    _, slow64 = _both(loss, y32.astype(np.float64), x32.astype(np.float64), w32.astype(np.float64))
    for name, a, b in zip(("loss", "gradient", "hessian"), fast, slow64, strict=True):
        assert a.dtype == np.float32, name
        with np.errstate(over="ignore"):
            b32 = b.astype(np.float32)
        np.testing.assert_allclose(a, b32, rtol=1.2e-7, atol=np.finfo(np.float32).tiny, err_msg=name)


@needs_numba
def test_shapes_layouts_and_output_selection():
    loss = FocalLoss(gamma=2.0, alpha=0.25)
    x = RNG.normal(0, 4, (30, 8))
    y = (RNG.random((30, 8)) < 0.5).astype(float)
    for xs, ys in [(x, y), (x.T, y.T), (x[:, ::3], y[:, ::3]), (x[0], y[0]), (np.float64(0.7), np.float64(1.0))]:
        fast, slow = _both(loss, ys, xs)
        for a, b in zip(fast, slow, strict=True):
            assert np.shape(a) == np.shape(xs)
            np.testing.assert_allclose(a, b, rtol=1e-12)
    # gradient() alone equals the gradient of gradient_hessian()
    np.testing.assert_array_equal(loss.gradient(y, x), loss.gradient_hessian(y, x)[0])
    empty = loss.gradient_hessian(np.empty(0), np.empty(0))
    assert all(e.shape == (0,) for e in empty)


@needs_numba
def test_row_blocks_on_threads_equal_one_thread():

    n = 4 * _fast._MIN_BLOCK + 7
    x = RNG.normal(0, 5, n)
    y = (RNG.random(n) < 0.2).astype(float)
    y[::1000] = 0.25  # soft labels in every block
    w = RNG.uniform(0, 2, n)
    loss = FocalLoss(gamma=2.0)
    with config_context(threads=1):
        one = (loss.loss(y, x, w), *loss.gradient_hessian(y, x, w))
    with config_context(threads=4):
        many = (loss.loss(y, x, w), *loss.gradient_hessian(y, x, w))
    for a, b in zip(one, many, strict=True):
        np.testing.assert_array_equal(a, b)
    _, slow = _both(loss, y, x, w)
    for a, b in zip(many, slow, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@needs_numba
def test_kernel_source_runs_as_python():
    """The kernel's own source, run by the Python interpreter (as it is without numba)."""
    rows = _fast._make_binary_rows(_fast._CORE_STAMP, None)
    x = LOGITS[:60]
    y = np.where(np.arange(60) % 3 == 0, 0.35, (np.arange(60) % 2).astype(float))
    w = RNG.uniform(0, 2, 60)
    outs = [np.empty(60) for _ in range(3)]
    rows(y, x, w, *outs, 2.0, 1e-3, 0.25, 0.75, False)
    fast = FocalLoss(gamma=2.0, alpha=0.25)
    _, slow = _both(fast, y, x, w)
    for a, b in zip(outs, slow, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


# -- dispatch --------------------------------------------------------------------------------
@needs_numba
def test_dispatch_uses_the_kernel_for_numpy_floats_only(monkeypatch):
    calls = []
    original = _fast.binary_focal

    def spy(*args, **kwargs):
        calls.append(args[1].dtype)
        return original(*args, **kwargs)

    monkeypatch.setattr(_fast, "binary_focal", spy)
    loss = FocalLoss()
    loss.gradient_hessian(np.array([0.0, 1.0]), np.array([0.5, -0.5], dtype=np.float32))
    loss.gradient_hessian([0, 1], [1, 2])  # lists and integers become float64 arrays
    assert calls == [np.float32, np.float64]
    loss.gradient_hessian(np.array([0.0, 1.0]), np.array([0.5, -0.5], dtype=np.longdouble))
    assert len(calls) == 2  # extended precision: the generic core keeps it
    with config_context(fast=False):
        loss.gradient_hessian(np.array([0.0, 1.0]), np.array([0.5, -0.5]))
    assert len(calls) == 2


@pytest.mark.slow
def test_environment_variable_disables_the_fast_path():
    code = "import focalboost; print(focalboost.get_config()['fast'])"
    for value, expected in (("0", "False"), ("1", "True")):
        env = dict(os.environ, FOCALBOOST_FAST=value)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == expected


def test_cache_stamp_follows_the_core():
    """The kernels' disk cache is keyed on a hash of the core's code: a changed formula changes it."""

    def changed(p, q, log_p, gamma, epsilon):
        return _core.positive_term(p, q, log_p, gamma, epsilon + 0.0)

    assert _fast._code_stamp(_core.positive_term, _core.combine_hessian) == _fast._CORE_STAMP
    assert _fast._code_stamp(changed) != _fast._CORE_STAMP


@needs_numba
def test_no_temporaries_beyond_the_outputs():
    """Peak memory of gradient_hessian on a large input: the two outputs and nothing else."""
    n = 500_000
    x = RNG.normal(0, 3, n)
    y = (RNG.random(n) < 0.2).astype(float)
    w = RNG.uniform(0, 1, n)
    loss = FocalLoss()
    loss.gradient_hessian(y[:10], x[:10], w[:10])  # compile outside the measurement
    tracemalloc.start()
    try:
        grad, hess = loss.gradient_hessian(y, x, w)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    outputs = grad.nbytes + hess.nbytes
    assert outputs <= peak <= outputs + 64 * 1024, (peak, outputs)


# -- softmax ---------------------------------------------------------------------------------
def _softmax_logits(n: int, k: int) -> np.ndarray:
    z = RNG.normal(0, 3, (n, k))
    z[: n // 4] *= 30  # one logit dominating by hundreds: s and 1 − p_c underflow
    z[n // 4 : n // 3, 0] = 800.0
    return z


@needs_numba
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.7])
@pytest.mark.parametrize("epsilon", [0.0, 1e-3])
@pytest.mark.parametrize("hessian", ["exact", "positive"])
def test_softmax_fast_matches_generic(gamma, epsilon, hessian):
    k = 4
    z = _softmax_logits(300, k)
    y = RNG.integers(0, k, 300)
    w = RNG.uniform(0, 2, 300)
    for alpha in (None, [0.25, 0.5, 1.0, 2.0]):
        loss = MulticlassFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
        for weights in (None, w):
            fast, slow = _both(loss, y, z, weights)
            for name, a, b in zip(("loss", "gradient", "hessian"), fast, slow, strict=True):
                assert a.shape == b.shape and a.dtype == b.dtype, name
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300, err_msg=name)


@needs_numba
def test_softmax_fast_layouts_float32_and_threads():

    loss = MulticlassFocalLoss(gamma=2.0, alpha=[0.2, 0.3, 0.5])
    n = 2 * _fast._MIN_BLOCK // 3 + 11  # two row blocks with 2 threads
    z = _softmax_logits(n, 3)
    y = RNG.integers(0, 3, n)
    fast, slow = _both(loss, y, np.asfortranarray(z))  # LightGBM's layout
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300)
    with config_context(threads=1):
        one = loss.gradient_hessian(y, z)
    for a, b in zip(one, fast[1:], strict=True):
        np.testing.assert_array_equal(a, b)
    # float32: rows computed in float64, rounded once
    z32 = z[:500].astype(np.float32)
    fast32, _ = _both(loss, y[:500], z32)
    _, slow64 = _both(loss, y[:500], z32.astype(np.float64))
    for a, b in zip(fast32, slow64, strict=True):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b.astype(np.float32), rtol=1.2e-7, atol=np.finfo(np.float32).tiny)
    # unchecked out-of-range labels give NaN rows, not a stray memory read
    bad = loss.gradient_hessian(np.array([0, 7]), z[:2], check_input=False)[0]
    assert np.isfinite(bad[0]).all() and np.isnan(bad[1]).all()


# -- fused input checks ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_all_valid_agrees_with_the_generic_checks(dtype):
    """The fused check passes exactly the inputs the generic checks pass (then those run and
    raise with their messages: test_loss.py::test_bad_arrays goes through this path)."""
    x = RNG.normal(0, 3, 1000).astype(dtype)
    y = (RNG.random(1000) < 0.3).astype(dtype)
    y[::7] = 0.5
    w = RNG.uniform(0, 2, 1000).astype(dtype)
    assert _fast.all_valid(y, x, w) and _fast.all_valid(y, x, None)
    cases = [(y, [np.nan, -0.1, 1.0001, np.inf]), (x, [np.nan, np.inf, -np.inf]), (w, [np.nan, -1.0, np.inf])]
    for arr, values in cases:
        for v in values:
            original = arr[123]
            arr[123] = v
            assert not _fast.all_valid(y, x, w), (v, arr is y, arr is x)
            with pytest.raises(ValueError, match="must"):
                FocalLoss().gradient_hessian(y, x, w)
            arr[123] = original
    assert _fast.all_valid(y, x, w)


@pytest.mark.slow
@needs_numba
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_thread_pool_survives_fork():
    """A process forked after the pool started (multiprocessing's default on Linux) gets a
    pool of its own instead of waiting forever on the parent's threads."""
    import multiprocessing

    n = 4 * _fast._MIN_BLOCK
    x = RNG.normal(0, 3, n)
    y = (RNG.random(n) < 0.5).astype(float)
    expected = FocalLoss().gradient(y, x)  # starts the pool in this process
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        got = pool.apply_async(_gradient_in_child, (y, x)).get(timeout=120)
    np.testing.assert_array_equal(got, expected)


def _gradient_in_child(y, x):
    return FocalLoss().gradient(y, x)


@pytest.mark.slow
@needs_numba
def test_fast_path_leaves_torchs_thread_count_alone():
    """numba's OpenMP layer, once started, resets the OpenMP thread count torch shares; the fast
    path must not start it (torch training ran several times slower after one FocalLoss call)."""
    torch = pytest.importorskip("torch")
    code = (
        "import numpy as np, torch; torch.set_num_threads(1); assert torch.get_num_threads() == 1\n"
        "from focalboost import FocalLoss\n"
        "x = np.linspace(-5, 5, 300_000); y = (x > 0).astype(float)\n"
        "FocalLoss().gradient_hessian(y, x)\n"
        "print(torch.get_num_threads())\n"
    )
    env = dict(os.environ, FOCALBOOST_FAST="1")  # the fast path on in the child too
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
    del torch


@pytest.mark.parametrize("n", [0, -2, 1.5, True, "2"])
def test_set_config_rejects_bad_thread_counts(n):
    with pytest.raises((TypeError, ValueError), match="threads must be"):
        focalboost.set_config(threads=n)
    assert focalboost.get_config()["threads"] == -1


def test_set_config_rejects_a_non_bool_fast():
    with pytest.raises(TypeError, match="fast must be a bool"):
        focalboost.set_config(fast=1)


def test_config_context_restores_the_settings_after_an_error():
    before = focalboost.get_config()
    with pytest.raises(RuntimeError), config_context(fast=not before["fast"], threads=3):
        assert focalboost.get_config() == {"fast": not before["fast"], "threads": 3}
        raise RuntimeError
    assert focalboost.get_config() == before


@needs_numba
@pytest.mark.parametrize("alpha", [0.3, None])
def test_float32_labels_give_the_same_derivatives_on_both_paths(alpha):
    # LightGBM hands float32 labels with float64 scores: the plain path used to form α·y in float32
    # (4e-8 relative away from the kernel, which computes in float64).
    rng = np.random.default_rng(0)
    x = 3 * rng.normal(size=20_000)
    y = (rng.random(20_000) < 0.2).astype(np.float32)
    loss = FocalLoss(gamma=2.0, alpha=alpha)
    with focalboost.config_context(fast=True):
        fast = loss.gradient_hessian(y, x)
    with focalboost.config_context(fast=False):
        plain = loss.gradient_hessian(y, x)
    for a, b in zip(fast, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=0)
