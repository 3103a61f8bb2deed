"""The binary math core against a 100-digit reference, at the extremes, and by its identities."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from focalboost import FocalLoss
from focalboost._math.binary import sigmoid_parts

from . import reference

GAMMAS = [0.0, 0.1, 0.5, 0.9, 1.0, 2.0, 3.7, 5.0]
EPSILONS = [0.0, 1e-3, 1e-2]
ALPHAS = [0.25, 0.5, None]
LABELS = [0.0, 1.0, 0.3]
LOGITS = np.array(
    [-100.0, -60.0, -37.5, -20.0, -8.0, -2.8, -1.0, -0.3, -1e-8, 0.0, 1e-8, 0.3, 1.0, 2.8, 8.0, 20.0, 37.5, 60.0, 100.0]
)
RTOL, ATOL = 1e-10, 1e-14


@pytest.fixture(scope="module")
def reference_terms():
    """``(f, f', f'')`` at 100 digits for every (γ, ε, ±x) on the grid, computed once."""
    return {
        (g, e, x): reference.positive_term(x, g, e)
        for g in GAMMAS
        for e in EPSILONS
        for x in np.concatenate([LOGITS, -LOGITS])
    }


def _close(actual: np.ndarray, expected: list) -> np.ndarray:
    exp = np.array([float(v) for v in expected])
    return np.abs(actual - exp) <= ATOL + RTOL * np.abs(exp)


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("epsilon", EPSILONS)
def test_matches_high_precision_reference(gamma, epsilon, reference_terms, backend):
    import mpmath as mp

    for alpha, y in itertools.product(ALPHAS, LABELS):
        loss = FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian="exact")
        yy = np.full_like(LOGITS, y)
        value = loss.loss(yy, LOGITS)
        grad, hess = loss.gradient_hessian(yy, LOGITS)
        a1 = 1.0 if alpha is None else alpha
        a0 = 1.0 if alpha is None else 1.0 - alpha
        ref = []
        with mp.workdps(reference.DPS):
            for x in LOGITS:
                f1, d1, h1 = reference_terms[(gamma, epsilon, x)]
                f0, d0, h0 = reference_terms[(gamma, epsilon, -x)]
                c1, c0 = mp.mpf(a1) * mp.mpf(y), mp.mpf(a0) * (1 - mp.mpf(y))
                ref.append((c1 * f1 + c0 * f0, c1 * d1 - c0 * d0, c1 * h1 + c0 * h0))
        for k, (name, got) in enumerate([("loss", value), ("gradient", grad), ("hessian", hess)]):
            ok = _close(got, [r[k] for r in ref])
            assert ok.all(), (name, alpha, y, LOGITS[~ok], got[~ok], [float(ref[i][k]) for i in np.nonzero(~ok)[0]])


def test_reference_helper_agrees_with_mpmath_differentiation():
    """The reference's hand-derived chain rule against mpmath's own numerical differentiation."""
    import mpmath as mp

    with mp.workdps(60):
        for x, g, e in [(-3.0, 0.5, 0.0), (2.0, 2.0, 1e-3), (0.4, 3.7, 1e-2)]:

            def f(z, g=g, e=e):
                return -((1 / (1 + mp.exp(z)) + e) ** g) * mp.log(1 / (1 + mp.exp(-z)))

            ref = reference.positive_term(x, g, e)
            assert abs(ref[1] - mp.diff(f, x)) < mp.mpf(10) ** -40
            assert abs(ref[2] - mp.diff(f, x, 2)) < mp.mpf(10) ** -40


def test_gamma_zero_is_weighted_cross_entropy(backend):
    x = np.linspace(-30, 30, 121)
    for y in (0.0, 1.0, 0.3):
        yy = np.full_like(x, y)
        loss = FocalLoss(gamma=0.0, alpha=0.25, epsilon=1e-3, hessian="exact")
        p, q = 1 / (1 + np.exp(-x)), 1 / (1 + np.exp(x))  # q directly: 1 − p would cancel
        log_p, log_q = -np.logaddexp(0, -x), -np.logaddexp(0, x)
        w = 0.25 * y + 0.75 * (1 - y)
        np.testing.assert_allclose(loss.loss(yy, x), -0.25 * y * log_p - 0.75 * (1 - y) * log_q, rtol=1e-13)
        grad, hess = loss.gradient_hessian(yy, x)
        np.testing.assert_allclose(grad, -0.25 * y * q + 0.75 * (1 - y) * p, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(hess, w * p * q, rtol=1e-12, atol=1e-300)


def test_epsilon_zero_matches_lin_et_al_gradient(backend):
    """Lin et al. (2017), appendix: dFL/dx = y (1 − p)^γ (γ p log p + p − 1) for a positive."""
    x = np.linspace(-20, 20, 81)
    for gamma in (0.5, 2.0, 5.0):
        loss = FocalLoss(gamma=gamma, alpha=None, epsilon=0.0)
        p = 1 / (1 + np.exp(-x))
        expected = (1 - p) ** gamma * (gamma * p * np.log(p) + p - 1)
        np.testing.assert_allclose(loss.gradient(np.ones_like(x), x), expected, rtol=1e-9, atol=1e-15)


def test_mirror_identity(backend):
    """L(x, 0) with α equals L(−x, 1) with 1 − α, in value, and the derivatives flip accordingly."""
    x = np.linspace(-50, 50, 201)
    a = FocalLoss(gamma=1.7, alpha=0.2, epsilon=1e-3, hessian="exact")
    b = FocalLoss(gamma=1.7, alpha=0.8, epsilon=1e-3, hessian="exact")
    zeros, ones = np.zeros_like(x), np.ones_like(x)
    np.testing.assert_array_equal(a.loss(zeros, x), b.loss(ones, -x))
    ga, ha = a.gradient_hessian(zeros, x)
    gb, hb = b.gradient_hessian(ones, -x)
    np.testing.assert_array_equal(ga, -gb)
    np.testing.assert_array_equal(ha, hb)


def test_sigmoid_parts_are_stable():
    x = np.array([-1e300, -800.0, -40.0, 0.0, 40.0, 800.0, 1e300])
    p, q, log_p, log_q = sigmoid_parts(x, np)
    assert np.all((p >= 0) & (p <= 1) & (q >= 0) & (q <= 1))
    np.testing.assert_array_equal(log_p[[0, -1]], [-1e300, 0.0])
    np.testing.assert_allclose(log_p[4], -np.exp(-40.0), rtol=1e-15)  # not rounded to 0
    np.testing.assert_allclose(q[4], np.exp(-40.0) / (1 + np.exp(-40.0)), rtol=1e-15)


_HALF64 = [1e-300, 20.0, 40.0, 100.0, 745.0, 1e10, 1e300]
_HALF32 = [17.0, 20.0, 40.0, 104.0, 1e10, 1e38]
EXTREMES64 = np.array([-v for v in _HALF64] + [0.0] + _HALF64)
EXTREMES32 = np.array([-v for v in _HALF32] + [0.0] + _HALF32, dtype=np.float32)


def _assert_finite_or_true_overflow(loss_obj, y, x):
    value = loss_obj.loss(y, x)
    grad, hess = loss_obj.gradient_hessian(y, x)
    assert value.dtype == x.dtype and grad.dtype == x.dtype and hess.dtype == x.dtype
    assert np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))
    assert not np.any(np.isnan(value))
    # The loss grows like |x| (1 + ε)^γ: it must be finite wherever that is representable.
    bound = np.abs(x.astype(np.float64)) * (1 + loss_obj.epsilon) ** loss_obj.gamma * 2 + 10
    representable = bound < np.finfo(x.dtype).max
    assert np.all(np.isfinite(value[representable]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("gamma", [0.0, 0.1, 0.5, 0.9, 1.0, 2.0, 5.0, 20.0])
@pytest.mark.parametrize("epsilon", [0.0, 1e-3, 1e-2, 1.0])
def test_finite_at_extremes(dtype, gamma, epsilon, backend):
    x = (EXTREMES64 if dtype == np.float64 else EXTREMES32).astype(dtype)
    for y in (0.0, 1.0, 0.5):
        for hessian in ("exact", "positive"):
            loss = FocalLoss(gamma=gamma, alpha=0.25, epsilon=epsilon, hessian=hessian)
            _assert_finite_or_true_overflow(loss, np.full_like(x, y), x)


@settings(max_examples=300, deadline=None)
@given(
    x=st.floats(min_value=-1e300, max_value=1e300, allow_nan=False),
    y=st.floats(min_value=0.0, max_value=1.0),
    gamma=st.floats(min_value=0.0, max_value=10.0),
    epsilon=st.floats(min_value=0.0, max_value=1.0),
    alpha=st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0)),
    single=st.booleans(),
)
def test_property_finite_everywhere(x, y, gamma, epsilon, alpha, single):
    dtype = np.float32 if single else np.float64
    with np.errstate(over="ignore"):  # float64 → float32 overflow is replaced just below
        xa = np.array([x, -x, x / 1e10]).astype(dtype)
    xa[~np.isfinite(xa)] = np.sign(xa[~np.isfinite(xa)]) * np.finfo(dtype).max / 4
    loss = FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian="exact")
    _assert_finite_or_true_overflow(loss, np.full_like(xa, y), xa)


@settings(max_examples=200, deadline=None)
@given(
    x=st.floats(min_value=-700, max_value=700),
    y=st.floats(min_value=0.0, max_value=1.0),
    gamma=st.floats(min_value=0.0, max_value=6.0),
    epsilon=st.floats(min_value=0.0, max_value=0.1),
)
def test_property_positive_policy(x, y, gamma, epsilon):
    """The default policy is never below the exact Hessian, never negative, and exact at γ = 0."""
    xa, ya = np.array([x]), np.array([y])
    exact = FocalLoss(gamma=gamma, alpha=None, epsilon=epsilon, hessian="exact").gradient_hessian(ya, xa)[1]
    positive = FocalLoss(gamma=gamma, alpha=None, epsilon=epsilon).gradient_hessian(ya, xa)[1]
    assert positive[0] >= exact[0]
    assert positive[0] >= 0
    if abs(x) < 30:
        assert positive[0] > 0
    if gamma == 0:
        assert positive[0] == exact[0]


def test_positive_policy_equals_exact_on_well_classified_points():
    """Exact wherever p_t ≥ 1 / (1 + min(γ, 1)): p ≥ 1/2 for γ ≥ 1, p ≥ 1/(1 + γ) for γ < 1."""
    for gamma in (0.2, 0.5, 1.0, 2.0, 5.0):
        x = np.linspace(np.log(1 / min(gamma, 1.0)), 30, 61)  # σ(x) ≥ 1 / (1 + min(γ, 1))
        for eps in (0.0, 1e-3):
            y = np.ones_like(x)
            exact = FocalLoss(gamma=gamma, epsilon=eps, hessian="exact").gradient_hessian(y, x)[1]
            positive = FocalLoss(gamma=gamma, epsilon=eps).gradient_hessian(y, x)[1]
            np.testing.assert_array_equal(positive, exact)
            # ...and differs where the exact curvature turns negative (γ = 2: below x ≈ −2.8).
    exact = FocalLoss(gamma=2.0, epsilon=0.0, hessian="exact").gradient_hessian(np.ones(1), np.array([-5.0]))[1]
    positive = FocalLoss(gamma=2.0, epsilon=0.0).gradient_hessian(np.ones(1), np.array([-5.0]))[1]
    assert exact[0] < 0 < positive[0]
