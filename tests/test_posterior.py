"""The class posterior of a focal-trained score: a high-precision reference, stationarity, monotonicity,
extremes, identities, torch.

The reference never uses the closed form under test (``logit η = log(α₀/α₁) + x + χ(−x) − χ(x)`` and
``η = softmax(z − χ(u) − log α)``); it goes back to the definitions, in 80-digit (binary) and 60-digit
(softmax) arithmetic:

* Binary. ``f(t) = −(σ(−t) + ε)^γ log σ(t)`` with ``σ(−t) = 1/(1 + e^t)`` and
  ``log σ(t) = −log1p(e^{−t})`` (so nothing cancels at large ``|t|``); the loss of label ``y`` is
  ``L(x, y) = α₁ y f(x) + α₀ (1 − y) f(−x)``. A sample with posterior ``η`` has expected loss
  ``η L(x, 1) + (1 − η) L(x, 0)``, stationary in ``x`` where ``η g₁ + (1 − η) g₀ = 0`` with
  ``g₁ = ∂L(x, 1)/∂x`` and ``g₀ = ∂L(x, 0)/∂x``, i.e. ``η = g₀ / (g₀ − g₁)`` and
  ``1 − η = −g₁ / (g₀ − g₁)`` (``g₁ < 0 < g₀``, no cancellation). ``g₁`` and ``g₀`` are mpmath's
  numerical derivatives (``mp.diff``) of the loss definition itself;
  ``test_binary_reference_derivatives`` pins them to the textbook chain rule of ``tests.reference``.
* Softmax. With ``q = softmax(z)`` and ``ℓ_k(q) = −α_k (1 − q + ε)^γ log q``, the expected loss
  ``Σ_k η_k ℓ_k(q_k(z))`` has ``∂/∂z_j = Σ_k η_k ℓ_k'(q_k) q_k (δ_kj − q_j)``, zero for every ``j``
  iff ``η_k ℓ_k'(q_k)`` is the same for all ``k``, so ``η_k = (1/|ℓ_k'(q_k)|) / Σ_j (1/|ℓ_j'(q_j)|)``
  with the textbook derivative ``ℓ_k'(q) = α_k (γ r^(γ−1) log q − r^γ / q)``, ``r = 1 − q + ε``.
  ``1 − q_k`` is summed from the other classes and ``log q_k = log1p(−(1 − q_k))``, so a class ahead
  by 10⁴ (``1 − q_k ≈ e^{−10⁴}``, well inside mpmath's exponent range) keeps all 60 digits; both
  terms of ``ℓ_k'`` are negative, so nothing cancels. ``test_softmax_reference_derivative`` pins
  ``ℓ_k'`` to ``mp.diff`` of the definition.
"""

from __future__ import annotations

import functools
import itertools
import math

import mpmath as mp
import numpy as np
import pytest

from focalboost._math.binary import binary_focal, log_neg_dloss_dp, sigmoid_parts
from focalboost._math.binary import posterior as binary_posterior
from focalboost._math.binary import posterior_logit as binary_posterior_logit
from focalboost._math.softmax import class_logits, softmax, softmax_focal
from focalboost._math.softmax import log_posterior as log_softmax_posterior
from focalboost._math.softmax import posterior as softmax_posterior
from focalboost._validation import namespace
from tests import reference

RTOL = 1e-10
TINY = 1e-300  # absolute slack only for values that underflow float64 (the reference keeps them)
GAMMAS = [0.0, 0.1, 0.5, 0.9, 1.0, 2.0, 3.7, 5.0]
EPSILONS = [0.0, 1e-3, 1e-2]
BINARY_ALPHAS = [(1.0, 1.0), (0.25, 0.75), (0.9, 0.1), (3.0, 0.02)]  # (α₁, α₀)
XS = sorted(set(np.linspace(-60.0, 60.0, 41).tolist()) | {s * v for s in (-1, 1) for v in (1e-8, 0.3, 1.7, 13.1, 37.5)})


# -- the reference ----------------------------------------------------------------------------
def _f_def(t, g, e):
    """``f(t) = −(σ(−t) + ε)^γ log σ(t)``, the positive term of the loss, in mpmath."""
    return -((1 / (1 + mp.exp(t)) + e) ** g) * -mp.log1p(mp.exp(-t))


@functools.cache
def _binary_grads(x: float, gamma: float, epsilon: float) -> tuple[mp.mpf, mp.mpf]:
    """``(∂f(x)/∂x, ∂f(−x)/∂x)`` at 80 digits, by numerical differentiation of the definition."""
    with mp.workdps(80):
        g, e, t = mp.mpf(gamma), mp.mpf(epsilon), mp.mpf(x)
        return mp.diff(lambda s: _f_def(s, g, e), t), mp.diff(lambda s: _f_def(-s, g, e), t)


def _binary_reference(x, gamma, epsilon, a1, a0):
    """``(η, 1 − η, logit η)`` at 80 digits (see the module docstring)."""
    d1, d0 = _binary_grads(float(x), float(gamma), float(epsilon))
    with mp.workdps(80):
        g1, g0 = mp.mpf(a1) * d1, mp.mpf(a0) * d0
        return g0 / (g0 - g1), -g1 / (g0 - g1), mp.log(g0 / -g1)


@functools.cache
def _softmax_reference_cached(z, gamma, epsilon, alpha):
    with mp.workdps(60):
        z = [mp.mpf(v) for v in z]
        g, e = mp.mpf(gamma), mp.mpf(epsilon)
        m = max(z)
        ex = [mp.exp(v - m) for v in z]
        total = mp.fsum(ex)
        inv = []
        for k in range(len(z)):
            s = mp.fsum(ex[j] for j in range(len(z)) if j != k) / total  # 1 − q_k, never by subtraction
            q = ex[k] / total
            # log q_k from whichever of q_k and 1 − q_k is small (each is computed directly).
            log_q = mp.log1p(-s) if s < 0.5 else (z[k] - m) - mp.log(total)
            r = s + e
            d = mp.mpf(alpha[k]) * (g * r ** (g - 1) * log_q - r**g / q)
            inv.append(1 / -d)
        total_inv = mp.fsum(inv)
        return [v / total_inv for v in inv]


def _softmax_reference(z, gamma, epsilon, alpha=None):
    """``η`` (list of mpf) for one row of logits, at 60 digits (see the module docstring)."""
    a = tuple([1.0] * len(z)) if alpha is None else tuple(float(v) for v in alpha)
    return _softmax_reference_cached(tuple(float(v) for v in z), float(gamma), float(epsilon), a)


def _psi_reference(u, gamma, epsilon):
    """``ψ(u) = log(−∂F/∂p)`` of ``F(p) = −(1 − p + ε)^γ log p`` at ``p = σ(u)``, 60 digits, textbook."""
    with mp.workdps(60):
        u, g, e = mp.mpf(u), mp.mpf(gamma), mp.mpf(epsilon)
        p = 1 / (1 + mp.exp(-u))
        r = 1 / (1 + mp.exp(u)) + e
        log_p = -mp.log1p(mp.exp(-u))
        return mp.log(-(g * r ** (g - 1) * log_p - r**g / p))


def _assert_close(got, ref, rtol=RTOL, atol=TINY):
    exp = np.array([float(v) for v in np.ravel(ref)]).reshape(np.shape(got))
    err = np.abs(np.asarray(got, dtype=np.float64) - exp)
    bad = ~(err <= atol + rtol * np.abs(exp))
    assert not bad.any(), f"{int(bad.sum())} values off; worst: got {np.asarray(got)[bad][:3]}, want {exp[bad][:3]}"


def test_binary_reference_derivatives():
    """mp.diff of the definition against the 100-digit textbook chain rule of ``tests.reference``."""
    for x, g, e in itertools.product([-60.0, -3.3, 0.1, 45.0, 60.0], [0.1, 2.0, 3.7], [0.0, 1e-3]):
        d1, d0 = _binary_grads(x, g, e)
        with mp.workdps(80):
            assert abs(d1 / reference.positive_term(x, g, e)[1] - 1) < mp.mpf(10) ** -60
            assert abs(d0 / -reference.positive_term(-x, g, e)[1] - 1) < mp.mpf(10) ** -60
    # γ = 0, equal weights: the reference is σ(x).
    for x in [-30.0, -1.0, 0.5, 20.0]:
        eta, _, _ = _binary_reference(x, 0.0, 0.0, 1.0, 1.0)
        with mp.workdps(80):
            assert abs(eta / (1 / (1 + mp.exp(-mp.mpf(x)))) - 1) < mp.mpf(10) ** -60


def test_softmax_reference_derivative():
    """The textbook ``ℓ'`` inside the softmax reference against mp.diff of the definition: the
    reference's ``η`` must make ``Σ_k η_k ℓ_k(q_k(z))`` stationary in every ``z_j``."""
    for z, g, e, alpha in [
        ([0.3, -1.0, 2.0], 0.5, 0.0, None),
        ([1.0, 2.0, -0.5, 0.1], 2.0, 1e-3, [0.5, 1.0, 0.1, 3.0]),
        ([30.0, 0.0, 1.0], 0.9, 0.0, [2.0, 1.0, 0.25]),
    ]:
        eta = _softmax_reference(z, g, e, alpha)
        a = [1.0] * len(z) if alpha is None else alpha
        with mp.workdps(60):

            def risk(t, j, z=z, g=g, e=e, a=a, eta=eta):
                zz = [mp.mpf(v) for v in z]
                zz[j] = t
                m = max(zz)
                ex = [mp.exp(v - m) for v in zz]
                qs = [v / mp.fsum(ex) for v in ex]
                return mp.fsum(
                    eta[k] * -mp.mpf(a[k]) * (1 - qs[k] + mp.mpf(e)) ** mp.mpf(g) * mp.log(qs[k]) for k in range(len(z))
                )

            for j in range(len(z)):
                assert abs(mp.diff(lambda t, j=j: risk(t, j), mp.mpf(z[j]))) < mp.mpf(10) ** -40
            assert abs(mp.fsum(eta) - 1) < mp.mpf(10) ** -50


# -- agreement with the reference -------------------------------------------------------------
@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("epsilon", EPSILONS)
@pytest.mark.parametrize("alpha", BINARY_ALPHAS)
def test_binary_matches_high_precision_reference(gamma, epsilon, alpha):
    a1, a0 = alpha
    x = np.array(XS)
    refs = [_binary_reference(v, gamma, epsilon, a1, a0) for v in XS]
    eta, eta_c = binary_posterior(x, gamma=gamma, epsilon=epsilon, alpha_pos=a1, alpha_neg=a0, xp=np)
    t = binary_posterior_logit(x, gamma=gamma, epsilon=epsilon, alpha_pos=a1, alpha_neg=a0, xp=np)
    _assert_close(eta, [r[0] for r in refs])
    _assert_close(eta_c, [r[1] for r in refs])
    # The logit crosses 0: there the absolute error (a few ulp of the χ terms) is what counts.
    _assert_close(t, [r[2] for r in refs], atol=1e-13)


# Rows of logits, K = 2..5: ties, small and large spreads, and a class ahead by 10³ and 10⁴.
ROWS = [
    [0.0, 0.0],
    [0.3, -1.2],
    [40.0, 0.0],
    [-17.0, 25.0],
    [0.3, -1.2, 2.1],
    [5.0, -3.0, 1e-8],
    [20.0, 19.0, -20.0],
    [100.0, -100.0, 3.0],
    [1e3, 0.0, -5.0],
    [0.5, 0.25, -0.75, 1.5],
    [60.0, 59.0, -60.0, 0.0],
    [1e4, 0.0, 1.0, -2.0],
    [-3.0, 1e4, -1e4, 2.0],
    [1.0, 2.0, 3.0, 4.0, 5.0],
    [-3.0, 0.0, 0.0, 0.0, 7.0],
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [30.0, -30.0, 29.5, 1.0, -1.0],
]
SOFTMAX_ALPHAS = [None, [0.25, 1.0, 2.5, 0.5, 4.0], [3.0, 0.1, 1.0, 7.0, 0.02]]  # the first K used


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("epsilon", EPSILONS)
@pytest.mark.parametrize("alpha", SOFTMAX_ALPHAS)
def test_softmax_matches_high_precision_reference(gamma, epsilon, alpha):
    for z in ROWS:
        k = len(z)
        a = None if alpha is None else np.array(alpha[:k])
        zz = np.array([z])
        ref = _softmax_reference(z, gamma, epsilon, a)
        _assert_close(softmax_posterior(zz, gamma=gamma, epsilon=epsilon, alpha=a, xp=np), ref)
        with mp.workdps(60):
            log_ref = [mp.log(v) for v in ref]
        # log η is exact where η underflows (−3·10⁴ for a class 10⁴ behind); near η = 1 it is
        # tiny (−1e-300 and below, when the leader is 10³ ahead) and an absolute 1e-15 applies.
        _assert_close(log_softmax_posterior(zz, gamma=gamma, epsilon=epsilon, alpha=a, xp=np), log_ref, atol=1e-15)


def test_log_neg_dloss_dp_matches_reference_for_every_finite_logit():
    """ψ (also the softmax init score's) is finite and accurate far beyond |u| = 700, in both
    branches, including where e^{−u} underflows (ε = 0 takes the limit, not 0/0)."""
    u = np.array(
        [-1e300, -1e20, -1e4, -745.5, -700.0, -40.0, -1.3, 0.0, 0.7, 36.0, 700.0, 745.5, 800.0, 1e4, 1e20, 1e300]
    )
    for gamma, epsilon in itertools.product(GAMMAS, EPSILONS):
        got = log_neg_dloss_dp(u, gamma, epsilon, np)
        ref = [_psi_reference(v, gamma, epsilon) for v in u]
        # ψ crosses 0 near u = 0 (γ > 0): an absolute 1e-14 there.
        _assert_close(got, ref, rtol=1e-13, atol=1e-14)
    for dtype, gamma, epsilon in itertools.product([np.float32, np.float64], GAMMAS, [0.0, 1e-46, 1e-40, 1e-3]):
        big = float(np.finfo(dtype).max)
        mags = np.concatenate([np.geomspace(1e-30, 0.99 * big, 400), [big]])
        u = np.concatenate([-mags[::-1], [0.0], mags]).astype(dtype)
        psi = log_neg_dloss_dp(u, gamma, epsilon, np)
        assert psi.dtype == dtype and np.all(np.isfinite(psi))
        # Non-increasing, up to rounding: near u = 0, steps of 1e-7 in u move ψ = χ − log σ(u)
        # by less than the rounding of its two terms (each of order 1).
        assert np.all(np.diff(psi) <= 4 * np.finfo(dtype).eps * (1.0 + np.abs(psi[1:])))


# -- stationarity -----------------------------------------------------------------------------
@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("epsilon", EPSILONS)
def test_binary_expected_loss_is_stationary_at_the_posterior(gamma, epsilon):
    """At η(x), ``∂/∂x [η L(x, 1) + (1 − η) L(x, 0)] = 0`` to rounding, with the core's gradient."""
    x = np.linspace(-60.0, 60.0, 2401)
    for a1, a0 in BINARY_ALPHAS:
        eta, eta_c = binary_posterior(x, gamma=gamma, epsilon=epsilon, alpha_pos=a1, alpha_neg=a0, xp=np)
        kw = dict(gamma=gamma, epsilon=epsilon, alpha_pos=a1, alpha_neg=a0, xp=np, loss=False, hessian=None)
        _, g1, _ = binary_focal(np.ones_like(x), x, **kw)
        _, g0, _ = binary_focal(np.zeros_like(x), x, **kw)
        grad = eta * g1 + eta_c * g0
        scale = eta * np.abs(g1) + eta_c * np.abs(g0)
        # η carries the logit's rounding, a few ulp of its size (up to (1 + γ)·60 here).
        assert np.all(np.abs(grad) <= 1e-13 * scale * (1.0 + np.abs(x)))


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("epsilon", EPSILONS)
def test_softmax_expected_loss_is_stationary_at_the_posterior(gamma, epsilon):
    """At η(z), ``Σ_k η_k ∂L(z, k)/∂z = 0`` to rounding, with the core's gradient."""
    rng = np.random.default_rng(3)
    for k in range(2, 6):
        z = np.concatenate([rng.normal(0.0, 4.0, (40, k)), rng.normal(0.0, 25.0, (40, k))])
        for alpha in SOFTMAX_ALPHAS:
            a = None if alpha is None else np.array(alpha[:k])
            eta = softmax_posterior(z, gamma=gamma, epsilon=epsilon, alpha=a, xp=np)
            grads = np.stack(
                [
                    softmax_focal(
                        np.full(len(z), c), z, gamma=gamma, epsilon=epsilon, alpha=a, xp=np, loss=False, hessian=None
                    )[1]
                    for c in range(k)
                ]
            )  # (K labels, n, K logits)
            total = np.einsum("ni,inj->nj", eta, grads)
            scale = np.einsum("ni,inj->nj", eta, np.abs(grads))
            spread = (z.max(axis=1) - z.min(axis=1))[:, None]
            assert np.all(np.abs(total) <= 1e-13 * scale * (1.0 + spread))


# -- monotonicity -----------------------------------------------------------------------------
@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("epsilon", EPSILONS)
@pytest.mark.parametrize("alpha", BINARY_ALPHAS)
def test_binary_posterior_is_increasing(gamma, epsilon, alpha):
    """``logit η`` strictly increases in ``x`` (ψ strictly decreases, as F is strictly convex in
    p), on a fine grid and on a geometric one out to 10³⁰⁰; ``η`` and ``1 − η`` are monotone."""
    a1, a0 = alpha
    kw = dict(gamma=gamma, epsilon=epsilon, alpha_pos=a1, alpha_neg=a0, xp=np)
    fine = np.linspace(-80.0, 80.0, 160_001)
    wide = np.concatenate([-np.geomspace(1e300, 1e-12, 3000), [0.0], np.geomspace(1e-12, 1e300, 3000)])
    for x in (fine, wide):
        t = binary_posterior_logit(x, **kw)
        assert np.all(np.diff(t) > 0)
        eta, eta_c = binary_posterior(x, **kw)
        assert np.all(np.diff(eta) >= 0) and np.all(np.diff(eta_c) <= 0)
    # float32, out to ±3.4e38 (the logit saturates at ±max for ε = 0): non-decreasing up to the
    # rounding of the logit x + c + χ(−x) − χ(x), whose χ terms (of size up to ~γ) carry an
    # absolute error of a few float32 ulp while x moves by less near 0.
    x32 = np.concatenate([-np.geomspace(3.4e38, 1e-12, 3000), [0.0], np.geomspace(1e-12, 3.4e38, 3000)])
    t = binary_posterior_logit(x32.astype(np.float32), **kw)
    tol = 8 * np.finfo(np.float32).eps * (1.0 + gamma + np.abs(t[1:]))
    assert np.all(np.isfinite(t)) and np.all(np.diff(t) >= -tol)


# -- extremes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
@pytest.mark.parametrize("epsilon", [0.0, 1e-46, 1e-3])
def test_binary_extremes(dtype, gamma, epsilon):
    fi = np.finfo(dtype)
    big = 1e38 if dtype == np.float32 else 1e300
    x = np.array([0.0, 1e4, big, float(fi.max)], dtype=dtype)
    x = np.concatenate([-x[::-1], x])
    for a1, a0 in BINARY_ALPHAS:
        kw = dict(gamma=gamma, epsilon=epsilon, alpha_pos=a1, alpha_neg=a0, xp=np)
        t = binary_posterior_logit(x, **kw)
        eta, eta_c = binary_posterior(x, **kw)
        for v in (t, eta, eta_c):
            assert v.dtype == dtype and np.all(np.isfinite(v))
        assert np.all((eta >= 0) & (eta <= 1) & (eta_c >= 0) & (eta_c <= 1))
        np.testing.assert_allclose(eta + eta_c, 1.0, rtol=2 * fi.eps)
        far = np.abs(x) >= 1e4
        assert np.all(eta[far & (x > 0)] == 1) and np.all(eta_c[far & (x > 0)] == 0)
        assert np.all(eta[far & (x < 0)] == 0) and np.all(eta_c[far & (x < 0)] == 1)
        assert np.all(np.sign(t[far]) == np.sign(x[far]))
        # For ε = 0 (or an ε that rounds to 0 in float32) the logit far out is
        # (1 + γ) x − sign(x) log1p(γ) + log(α₀/α₁) (up to e^{−|x|}), until it saturates at ±max.
        if epsilon == 0 or dtype == np.float32 and epsilon < 1e-45:
            x64 = x.astype(np.float64)
            with np.errstate(over="ignore"):  # (1 + γ) max: the saturated entries are clipped next
                want = (1.0 + gamma) * x64 - np.sign(x64) * math.log1p(gamma) + math.log(a0 / a1)
            want = np.clip(want, -float(fi.max), float(fi.max))
            np.testing.assert_allclose(t[far], want[far], rtol=4 * fi.eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
@pytest.mark.parametrize("epsilon", [0.0, 1e-3])
def test_softmax_extremes(dtype, gamma, epsilon):
    fi = np.finfo(dtype)
    big = 1e38 if dtype == np.float32 else 1e300
    z = np.array(
        [
            [1e3, 0.0, 0.0],
            [0.0, 1e3, 1e3 - 1.0],
            [-1e4, 1e4, 0.0],
            [1e4, 1e4, -1e4],
            [big, 0.0, -big],
            [-big, -big, big],
            [0.0, 1e4, 2.0],
        ],
        dtype=dtype,
    )
    lead = np.array([0, 1, 1, 0, 0, 2, 1])
    for alpha in (None, np.array([0.25, 1.0, 2.5], dtype=dtype)):
        eta = softmax_posterior(z, gamma=gamma, epsilon=epsilon, alpha=alpha, xp=np)
        log_eta = log_softmax_posterior(z, gamma=gamma, epsilon=epsilon, alpha=alpha, xp=np)
        u = class_logits(z, np)
        for v in (eta, log_eta, u):
            assert v.dtype == dtype and np.all(np.isfinite(v))
        assert np.all((eta >= 0) & (eta <= 1))
        np.testing.assert_allclose(eta.sum(axis=1), 1.0, rtol=4 * fi.eps)
        single = np.array([0, 2, 4, 5, 6])  # rows with one leader: it takes everything
        assert np.all(eta[single, lead[single]] == 1) and np.all(log_eta[single, lead[single]] == 0)
        # Two tied leaders 1e4 ahead (row 3) share the mass in proportion to 1/α.
        w = np.ones(3) if alpha is None else 1.0 / alpha.astype(np.float64)
        np.testing.assert_allclose(eta[3, :2], w[:2] / w[:2].sum(), rtol=8 * fi.eps)
    with np.errstate(over="ignore"):  # z − max z overflows to −∞: the exact value is out of range
        z = np.array([[fi.max, 0.0, -fi.max], [-fi.max, fi.max, fi.max]], dtype=dtype)
        eta = softmax_posterior(z, gamma=gamma, epsilon=epsilon, alpha=None, xp=np)
        log_eta = log_softmax_posterior(z, gamma=gamma, epsilon=epsilon, alpha=None, xp=np)
    assert np.all(np.isfinite(eta)) and np.all(np.isfinite(log_eta))
    np.testing.assert_array_equal(eta, [[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])


def test_class_logits_are_exact():
    """u_k = z_k − logsumexp_{j≠k} z_j without cancellation or underflow, against 60 digits."""
    rows = [[0.0, 0.0], [3.0, -2.0], [40.0, 0.0, -1.0], [1e4, 1e4 - 1e-9, 0.0], [1e300, -1e300, 0.0], [5.0, 5.0, 5.0]]
    rows += [[2.0, -1.0, 0.5, 1.999], [-800.0, 0.0, 1.0, -0.5, 800.0]]
    for row in rows:
        got = class_logits(np.array([row]), np)[0]
        with mp.workdps(60):
            zz = [mp.mpf(float(v)) for v in row]
            for k in range(len(zz)):
                want = zz[k] - mp.log(mp.fsum(mp.exp(zz[j]) for j in range(len(zz)) if j != k))
                assert abs(got[k] - want) <= 1e-15 * max(1.0, abs(float(want)))


# -- identities -------------------------------------------------------------------------------
def test_gamma_zero_is_the_sigmoid_and_the_softmax():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 10, 500), [-1e300, -40.0, 0.0, 1e-300, 37.0, 1e300]])
    for epsilon in EPSILONS:
        kw = dict(gamma=0.0, epsilon=epsilon, xp=np)
        t = binary_posterior_logit(x, alpha_pos=0.7, alpha_neg=0.7, **kw)
        np.testing.assert_array_equal(t, x)  # χ ≡ 0: bit for bit
        eta, eta_c = binary_posterior(x, alpha_pos=1.0, alpha_neg=1.0, **kw)
        p, q, _, _ = sigmoid_parts(x, np)
        np.testing.assert_array_equal(eta, p)
        np.testing.assert_array_equal(eta_c, q)
        # Unequal weights: σ(x + log α₀ − log α₁), bit for bit.
        eta, _ = binary_posterior(x, alpha_pos=0.25, alpha_neg=0.75, **kw)
        np.testing.assert_array_equal(eta, sigmoid_parts(x + (math.log(0.75) - math.log(0.25)), np)[0])
        for k in range(2, 6):
            z = rng.normal(0, 10, (200, k))
            np.testing.assert_array_equal(softmax_posterior(z, alpha=None, **kw), softmax(z, np))
            # With weights, log α is subtracted from z − max z (logits up to ~40 here) rather than
            # from z: the same to a few ulp of the logits.
            np.testing.assert_allclose(softmax_posterior(z, alpha=np.full(k, 2.5), **kw), softmax(z, np), rtol=1e-13)
            a = rng.uniform(0.1, 5.0, k)
            np.testing.assert_allclose(softmax_posterior(z, alpha=a, **kw), softmax(z - np.log(a), np), rtol=1e-13)


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("epsilon", EPSILONS)
def test_two_classes_equal_the_binary_posterior(gamma, epsilon):
    """K = 2 with ``z = (0, x)``: class 1 is the positive class, class 0 the negative one."""
    x = np.concatenate([np.linspace(-60.0, 60.0, 1201), [-1e4, 1e4, -1e300, 1e300]])
    z = np.stack([np.zeros_like(x), x], axis=1)
    for a1, a0 in BINARY_ALPHAS:
        eta, eta_c = binary_posterior(x, gamma=gamma, epsilon=epsilon, alpha_pos=a1, alpha_neg=a0, xp=np)
        t = binary_posterior_logit(x, gamma=gamma, epsilon=epsilon, alpha_pos=a1, alpha_neg=a0, xp=np)
        alpha = None if a1 == a0 == 1.0 else np.array([a0, a1])
        got = softmax_posterior(z, gamma=gamma, epsilon=epsilon, alpha=alpha, xp=np)
        log_got = log_softmax_posterior(z, gamma=gamma, epsilon=epsilon, alpha=alpha, xp=np)
        np.testing.assert_allclose(got[:, 1], eta, rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(got[:, 0], eta_c, rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(log_got[:, 1] - log_got[:, 0], t, rtol=1e-13, atol=1e-13)


# -- torch ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("gamma, epsilon", [(0.0, 0.0), (0.5, 0.0), (2.0, 1e-3), (5.0, 0.0), (3.7, 1e-2)])
def test_torch_matches_numpy(dtype, gamma, epsilon):
    torch = pytest.importorskip("torch")
    np_dtype = np.dtype(dtype)
    t_dtype = getattr(torch, dtype)
    big = 1e38 if dtype == "float32" else 1e300
    # float32 runs differ in the last bits of exp/log between the libraries; relative to the
    # logits' size (up to (1 + γ)·60) that is a few float32 ulp.
    rtol = 1e-5 if dtype == "float32" else 1e-13
    x = np.concatenate([np.linspace(-60.0, 60.0, 241), [-big, -1e4, 1e4, big]]).astype(np_dtype)
    kw = dict(gamma=gamma, epsilon=epsilon, alpha_pos=0.25, alpha_neg=0.75)
    t_np = binary_posterior_logit(x, xp=np, **kw)
    xp = namespace(torch.from_numpy(x))  # the array-api-compat namespace, as the loss objects use
    t_t = binary_posterior_logit(torch.from_numpy(x), xp=xp, **kw)
    assert t_t.dtype == t_dtype
    np.testing.assert_allclose(t_t.numpy(), t_np, rtol=rtol, atol=rtol)
    for a, b in zip(binary_posterior(torch.from_numpy(x), xp=xp, **kw), binary_posterior(x, xp=np, **kw), strict=True):
        assert a.dtype == t_dtype
        np.testing.assert_allclose(a.numpy(), b, rtol=rtol * 60 * (1 + gamma), atol=1e-30)
    rng = np.random.default_rng(1)
    for k in range(2, 6):
        z = np.concatenate([rng.normal(0.0, 8.0, (50, k)), np.diag(np.full(k, 1e4))[: min(k, 3)]]).astype(np_dtype)
        alpha = rng.uniform(0.2, 4.0, k).astype(np_dtype)
        for a in (None, alpha):
            at = None if a is None else torch.from_numpy(a)
            kw2 = dict(gamma=gamma, epsilon=epsilon)
            got = softmax_posterior(torch.from_numpy(z), alpha=at, xp=xp, **kw2)
            want = softmax_posterior(z, alpha=a, xp=np, **kw2)
            assert got.dtype == t_dtype
            np.testing.assert_allclose(got.numpy(), want, rtol=rtol * 60 * (1 + gamma), atol=1e-30)
            got = log_softmax_posterior(torch.from_numpy(z), alpha=at, xp=xp, **kw2)
            want = log_softmax_posterior(z, alpha=a, xp=np, **kw2)
            np.testing.assert_allclose(got.numpy(), want, rtol=rtol, atol=rtol * 60 * (1 + gamma))


# -- the public faces: the loss objects and focalboost.torch -------------------------------------------
def test_loss_objects_predict_the_posterior_by_default():
    from focalboost import FocalLoss, MulticlassFocalLoss

    x = np.linspace(-30.0, 30.0, 61)
    loss = FocalLoss(gamma=2.0, alpha=0.25, epsilon=1e-3)
    proba = loss.predict_proba(x)
    eta, one_minus = binary_posterior(x, gamma=2.0, epsilon=1e-3, alpha_pos=0.25, alpha_neg=0.75, xp=np)
    np.testing.assert_array_equal(proba, np.stack((one_minus, eta), axis=-1))
    np.testing.assert_array_equal(loss.predict_proba(x, kind="posterior"), proba)
    link = loss.predict_proba(x, kind="link")
    p, q, _, _ = sigmoid_parts(x, np)
    np.testing.assert_array_equal(link, np.stack((q, p), axis=-1))
    # the same order: rankings do not change (ties only where both saturate at 1.0)
    assert np.all(np.diff(proba[:, 1]) >= 0) and np.all(np.diff(link[:, 1]) >= 0)
    assert np.all(np.diff(proba[:, 0]) <= 0) and np.all(np.diff(link[:, 0]) <= 0)
    assert proba[-1, 0] > 0 and link[-1, 0] > 0  # the small column is computed directly, not as 1 − 1.0
    rng = np.random.default_rng(3)
    z = rng.normal(0, 4, (50, 4))
    m = MulticlassFocalLoss(gamma=0.5, alpha=[1.0, 2.0, 0.5, 1.0], epsilon=0.0)
    expected = softmax_posterior(z, gamma=0.5, epsilon=0.0, alpha=np.array([1.0, 2.0, 0.5, 1.0]), xp=np)
    np.testing.assert_array_equal(m.predict_proba(z), expected)
    np.testing.assert_array_equal(m.predict_proba(z, kind="link"), softmax(z, np))


def test_posterior_refuses_a_class_of_weight_zero_and_unknown_kinds():
    from focalboost import FocalLoss, MulticlassFocalLoss

    for alpha in (0.0, 1.0):
        with pytest.raises(ValueError, match=rf"alpha={alpha} gives class {int(alpha == 0.0)} the weight 0"):
            FocalLoss(alpha=alpha).predict_proba(np.zeros(3))
        FocalLoss(alpha=alpha).predict_proba(np.zeros(3), kind="link")  # the link needs no weights
    with pytest.raises(ValueError, match=r"gives class 1 the weight 0"):
        MulticlassFocalLoss(alpha=[1.0, 0.0, 1.0]).predict_proba(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"kind must be one of \('posterior', 'link'\), got 'sigmoid'"):
        FocalLoss().predict_proba(np.zeros(3), kind="sigmoid")
    with pytest.raises(TypeError, match=r"kind must be one of"):
        FocalLoss().predict_proba(np.zeros(3), kind=None)


@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
def test_torch_posteriors_match_numpy(dtype_name):
    torch = pytest.importorskip("torch")
    from focalboost.torch import sigmoid_focal_posterior, softmax_focal_posterior

    dtype = getattr(torch, dtype_name)
    rng = np.random.default_rng(5)
    x = rng.normal(0, 8, 300)
    tol = {"rtol": 1e-12, "atol": 1e-300} if dtype == torch.float64 else {"rtol": 2e-5, "atol": 1e-30}
    for gamma, epsilon, alpha in [(2.0, 1e-3, 0.25), (0.5, 0.0, None), (5.0, 1e-2, 0.9)]:
        a1, a0 = (1.0, 1.0) if alpha is None else (alpha, 1 - alpha)
        ref, _ = binary_posterior(x, gamma=gamma, epsilon=epsilon, alpha_pos=a1, alpha_neg=a0, xp=np)
        got = sigmoid_focal_posterior(torch.tensor(x, dtype=dtype), alpha, gamma, epsilon=epsilon)
        assert got.dtype == dtype
        np.testing.assert_allclose(got.double().numpy(), ref, **tol)
    z = rng.normal(0, 5, (7, 3, 4, 5))  # (N, C, H, W)
    flat = np.moveaxis(z, 1, -1).reshape(-1, 3)
    for gamma, epsilon, alpha in [(2.0, 1e-3, None), (0.5, 0.0, [0.2, 1.0, 3.0])]:
        a = None if alpha is None else np.array(alpha)
        ref = softmax_posterior(flat, gamma=gamma, epsilon=epsilon, alpha=a, xp=np)
        got = softmax_focal_posterior(torch.tensor(z, dtype=dtype), alpha, gamma, epsilon=epsilon)
        assert got.shape == z.shape and got.dtype == dtype
        np.testing.assert_allclose(np.moveaxis(got.double().numpy(), 1, -1).reshape(-1, 3), ref, **tol)
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\)"):
        sigmoid_focal_posterior(torch.zeros(2), alpha=1.0)
    with pytest.raises(ValueError, match=r"alpha\[0\] must be > 0"):
        softmax_focal_posterior(torch.zeros(2, 2), alpha=[0.0, 1.0])
