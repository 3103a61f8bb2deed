"""MulticlassFocalLoss and its core: a high-precision reference, extremes, identities, init score, validation.

The reference (``_reference``) is derived independently of :mod:`focalboost._math.softmax`: the loss
is a function of the true class's probability only, ``L = α_c f(p_c)`` with
``f(p) = −(1 − p + ε)^γ log p`` and ``r = 1 − p + ε``, so (textbook route, in probability space)

    f'(p)  = γ r^(γ−1) log p − r^γ / p
    f''(p) = −γ (γ − 1) r^(γ−2) log p + 2 γ r^(γ−1) / p + r^γ / p²

and with ``∂p_c/∂z_j = p_c (δ_cj − p_j)`` and ``∂/∂z_j [p_c (δ_cj − p_j)] = p_c (δ_cj − p_j)² − p_c p_j (1 − p_j)``:

    ∂L/∂z_j   = α_c f'(p_c) p_c (δ_cj − p_j)
    ∂²L/∂z_j² = α_c [f''(p_c) p_c² (δ_cj − p_j)² + f'(p_c) (p_c (δ_cj − p_j)² − p_c p_j (1 − p_j))]

These hold the singular powers ``r^(γ−1)``, ``r^(γ−2)`` and the cancellations that break float
arithmetic; the working precision is raised with the logit spread ``D`` (``1 − p_c`` can be as small
as ``e^{−D}`` and the Hessian cancels up to ``~2D/ln 10`` digits), keeping 60 correct digits.
``test_reference_agrees_with_mpmath_differentiation`` pins this derivation to mpmath's numerical
differentiation of the loss definition itself.
"""

from __future__ import annotations

import functools
import itertools
import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.special import log_softmax
from scipy.special import softmax as scipy_softmax

from focalboost import FocalLoss, MulticlassFocalLoss
from focalboost._math.softmax import softmax_focal

RTOL, ATOL = 1e-10, 1e-14
GAMMAS = [0.0, 0.1, 0.5, 0.9, 1.0, 2.0, 3.7, 5.0]
EPSILONS = [0.0, 1e-3, 1e-2]


# -- the reference ----------------------------------------------------------------------------
def _dps(z) -> int:
    spread = float(max(z) - min(z))
    return 60 + int(2 * spread / math.log(10)) + 20


def _loss_def(z, c, gamma, epsilon, alpha_c):
    """The loss definition, ``−α_c (1 − p_c + ε)^γ log p_c``, in the current mpmath precision."""
    m = max(z)
    e = [mp.exp(v - m) for v in z]
    p_c = e[c] / mp.fsum(e)
    return -mp.mpf(alpha_c) * (1 - p_c + mp.mpf(epsilon)) ** mp.mpf(gamma) * mp.log(p_c)


def _reference(z, c, gamma, epsilon, alpha_c=1.0):
    """``(L, ∂L/∂z, diag ∂²L/∂z²)`` as mpf values (see the module docstring); cached, as the
    thousands of digits needed for a logit ahead by 10⁴ take a while."""
    return _reference_cached(tuple(float(v) for v in z), int(c), float(gamma), float(epsilon), float(alpha_c))


@functools.cache
def _reference_cached(z, c, gamma, epsilon, alpha_c):
    with mp.workdps(_dps(z)):
        z = [mp.mpf(float(v)) for v in z]
        g, eps, a = mp.mpf(gamma), mp.mpf(epsilon), mp.mpf(alpha_c)
        m = max(z)
        e = [mp.exp(v - m) for v in z]
        total = mp.fsum(e)
        p = [v / total for v in e]
        pc = p[c]
        r = 1 - pc + eps
        lp = mp.log(pc)
        f = -(r**g) * lp
        f_p = g * r ** (g - 1) * lp - r**g / pc
        f_pp = -g * (g - 1) * r ** (g - 2) * lp + 2 * g * r ** (g - 1) / pc + r**g / pc**2
        grad, hess = [], []
        for j, pj in enumerate(p):
            d = (1 if j == c else 0) - pj
            grad.append(a * f_p * pc * d)
            hess.append(a * (f_pp * pc**2 * d**2 + f_p * (pc * d**2 - pc * pj * (1 - pj))))
        return a * f, grad, hess


def _close(got, ref) -> np.ndarray:
    exp = np.array([float(v) for v in ref])
    return np.abs(np.asarray(got) - exp) <= ATOL + RTOL * np.abs(exp)


def test_reference_agrees_with_mpmath_differentiation():
    """The hand-derived chain rule against mpmath's numerical differentiation of the definition."""
    for z, c, g, e in [
        ([0.3, -1.0, 2.0], 0, 0.5, 0.0),
        ([1.0, 2.0, -0.5, 0.1], 3, 2.0, 1e-3),
        ([4.0, -3.0], 0, 3.7, 1e-2),
        ([30.0, 0.0, 1.0], 0, 0.9, 0.0),
    ]:
        with mp.workdps(60):
            _, grad, hess = _reference(z, c, g, e, 0.7)
            for j in range(len(z)):

                def along(t, j=j, z=z, c=c, g=g, e=e):
                    zz = [mp.mpf(v) for v in z]
                    zz[j] = t
                    return _loss_def(zz, c, g, e, 0.7)

                assert abs(grad[j] - mp.diff(along, mp.mpf(z[j]))) < mp.mpf(10) ** -35
                assert abs(hess[j] - mp.diff(along, mp.mpf(z[j]), 2)) < mp.mpf(10) ** -30


# Rows of logits (K = 3 and 4) with spreads from 0 to 300; every class is made the true class.
ROWS = [
    [0.0, 0.0, 0.0],
    [0.3, -1.2, 2.1],
    [5.0, -3.0, 1e-8],
    [20.0, 19.0, -20.0],
    [-37.5, 0.0, 2.0],
    [40.0, 0.0, 0.0],
    [100.0, -100.0, 3.0],
    [300.0, 1.0, -2.0],
    [0.5, 0.25, -0.75, 1.5],
    [60.0, 59.0, -60.0, 0.0],
]
ALPHA3, ALPHA4 = [0.25, 1.0, 2.5], [0.5, 1.0, 0.1, 3.0]


@pytest.fixture(scope="module")
def reference_rows():
    """Reference values for every (row, true class, γ, ε), α excluded (the loss is linear in α_c)."""
    out = {}
    for i, z in enumerate(ROWS):
        for c, g, e in itertools.product(range(len(z)), GAMMAS, EPSILONS):
            out[(i, c, g, e)] = _reference(z, c, g, e)
    return out


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("epsilon", EPSILONS)
def test_matches_high_precision_reference(gamma, epsilon, reference_rows, backend):
    for k in (3, 4):
        rows = [(i, z) for i, z in enumerate(ROWS) if len(z) == k]
        alpha = ALPHA3 if k == 3 else ALPHA4
        z = np.array([zz for _, zz in rows for _ in range(k)])
        y = np.array([c for _ in rows for c in range(k)])
        for a in (None, alpha):
            loss = MulticlassFocalLoss(gamma=gamma, alpha=a, epsilon=epsilon, hessian="exact")
            value = loss.loss(y, z)
            grad, hess = loss.gradient_hessian(y, z)
            scale = np.ones(len(y)) if a is None else np.asarray(a)[y]
            for n, ((i, _), c) in enumerate((row, c) for row in rows for c in range(k)):
                f, g, h = reference_rows[(i, c, gamma, epsilon)]
                s = scale[n]
                assert _close([value[n]], [s * f]).all(), ("loss", ROWS[i], c, a, value[n], float(s * f))
                assert _close(grad[n], [s * v for v in g]).all(), ("grad", ROWS[i], c, a, grad[n], g)
                assert _close(hess[n], [s * v for v in h]).all(), ("hess", ROWS[i], c, a, hess[n], h)


@pytest.mark.parametrize("spread", [745.0, 1000.0, 1e4])
@pytest.mark.parametrize("gamma, epsilon", [(0.5, 0.0), (2.0, 0.0), (2.0, 1e-3), (0.0, 0.0)])
def test_reference_when_one_logit_dominates_by_thousands(spread, gamma, epsilon, backend):
    """A class ahead by more than e^{−745} can resolve: values, not just finiteness, for both the
    dominating class being the true one and being a wrong one."""
    z = np.array([[spread, 0.0, -1.0]] * 3)
    y = np.array([0, 1, 2])
    loss = MulticlassFocalLoss(gamma=gamma, epsilon=epsilon, hessian="exact")
    value = loss.loss(y, z)
    grad, hess = loss.gradient_hessian(y, z)
    for n in range(3):
        f, g, h = _reference(z[n], int(y[n]), gamma, epsilon)
        assert _close([value[n]], [f]).all(), (n, value[n], float(f))
        assert _close(grad[n], g).all(), (n, grad[n], [float(v) for v in g])
        assert _close(hess[n], h).all(), (n, hess[n], [float(v) for v in h])


# -- finite everywhere ------------------------------------------------------------------------
def _extreme_rows(big: float, dtype) -> np.ndarray:
    return np.array(
        [
            [big, 0.0, -big],
            [-big, big, 0.0],
            [big, big, -big],
            [-big, -big, -big],
            [big, 1.0, 2.0],
            [-big, 1.0, 2.0],
            [0.0, 0.0, 0.0],
        ],
        dtype=dtype,
    )


@pytest.mark.parametrize(
    "dtype, big",
    [
        (np.float64, 1e4),
        (np.float64, 1e300),
        (np.float64, 745.0),
        (np.float32, 104.0),
        (np.float32, 1e4),
        (np.float32, 1e30),
    ],
)
@pytest.mark.parametrize("gamma", [0.0, 0.1, 0.5, 0.9, 1.0, 2.0, 5.0, 20.0])
@pytest.mark.parametrize("epsilon", [0.0, 1e-3, 1.0])
def test_finite_at_extremes(dtype, big, gamma, epsilon, backend):
    z = _extreme_rows(big, dtype)
    for c, hessian, alpha in itertools.product(range(3), ("exact", "positive"), (None, [0.2, 1.0, 3.0])):
        loss = MulticlassFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
        y = np.full(len(z), c)
        value = loss.loss(y, z)
        grad, hess = loss.gradient_hessian(y, z)
        assert value.dtype == grad.dtype == hess.dtype == dtype
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))
        assert np.all(value >= 0)
        if hessian == "positive":
            assert np.all(hess >= 0)
        # Shift invariance of softmax: every row of the gradient sums to 0 (to rounding of its size).
        np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=4 * np.finfo(dtype).eps * (np.abs(grad).max() + 1))


def test_dominated_true_class_has_the_exact_loss_and_unit_gradient():
    """True class behind by D = 1e300: L = (1 + ε)^γ D, and the gradient is −(1 + ε)^γ at c,
    +(1 + ε)^γ at the dominating class (p_c = 0 exactly, F = −r^γ)."""
    for gamma, eps in [(2.0, 1e-3), (0.5, 0.0), (0.0, 0.0)]:
        loss = MulticlassFocalLoss(gamma=gamma, epsilon=eps)
        z = np.array([[-1e300, 1e300, 0.0]])
        w = (1 + eps) ** gamma
        np.testing.assert_allclose(loss.loss([0], z), [2e300 * w], rtol=1e-15)
        np.testing.assert_allclose(loss.gradient([0], z), [[-w, w, 0.0]], rtol=1e-15)


def test_epsilon_that_rounds_to_zero_in_float32(backend):
    """ε = 1e-300 is 0 in float32: where s = 1 − p_c underflows too, s + ε = 0 must not give 0/0;
    the result is the ε = 0 loss computed in float32."""
    z = np.array([[0.0, 0.0, 0.0, 104.0], [0.0, 0.0, 0.0, 2.0]], dtype=np.float32)
    y = np.array([3, 3])
    for gamma in (0.0, 0.5, 2.0):
        tiny = MulticlassFocalLoss(gamma=gamma, epsilon=1e-300, hessian="exact")
        zero = MulticlassFocalLoss(gamma=gamma, epsilon=0.0, hessian="exact")
        for a, b in zip(tiny.gradient_hessian(y, z), zero.gradient_hessian(y, z), strict=True):
            assert np.all(np.isfinite(a))
            np.testing.assert_array_equal(a, b)


# -- identities -------------------------------------------------------------------------------
def _cross_entropy_reference(z, c):
    """``−log softmax(z)_c``, ``softmax(z) − onehot`` and ``p (1 − p)`` in mpmath, to float64."""
    with mp.workdps(_dps(z)):
        zz = [mp.mpf(float(v)) for v in z]
        m = max(zz)
        e = [mp.exp(v - m) for v in zz]
        total = mp.fsum(e)
        p = [v / total for v in e]
        return (
            float(-mp.log(p[c])),
            [float(pj - (1 if j == c else 0)) for j, pj in enumerate(p)],
            [float(pj * (1 - pj)) for pj in p],
        )


def test_gamma_zero_epsilon_zero_is_softmax_cross_entropy(backend):
    rng = np.random.default_rng(0)
    z = rng.normal(0, 8, (150, 5))
    z[:10, 2] += 500.0
    y = rng.integers(0, 5, 150)
    alpha = [0.5, 1.0, 2.0, 0.25, 1.5]
    refs = [_cross_entropy_reference(z[n], int(y[n])) for n in range(150)]
    ce = np.array([r[0] for r in refs])
    ce_grad = np.array([r[1] for r in refs])
    ce_hess = np.array([r[2] for r in refs])
    # scipy's log_softmax as a second, everyday reference (it loses digits when p_c ≈ 1)
    np.testing.assert_allclose(ce, -log_softmax(z, axis=1)[np.arange(150), y], rtol=1e-9, atol=1e-15)
    for a in (None, alpha):
        loss = MulticlassFocalLoss(gamma=0.0, alpha=a, epsilon=0.0, hessian="exact")
        s = np.ones(150) if a is None else np.asarray(alpha)[y]
        np.testing.assert_allclose(loss.loss(y, z), s * ce, rtol=RTOL, atol=1e-300)
        grad, hess = loss.gradient_hessian(y, z)
        np.testing.assert_allclose(grad, s[:, None] * ce_grad, rtol=RTOL, atol=1e-300)
        np.testing.assert_allclose(hess, s[:, None] * ce_hess, rtol=RTOL, atol=1e-300)
        # γ = 0 has no turning part: both policies agree.
        positive = MulticlassFocalLoss(gamma=0.0, alpha=a, epsilon=0.0).gradient_hessian(y, z)[1]
        np.testing.assert_array_equal(positive, hess)


@pytest.mark.parametrize("gamma, epsilon", [(0.0, 0.0), (0.5, 0.0), (2.0, 1e-3), (0.3, 1e-2), (5.0, 0.0)])
@pytest.mark.parametrize("hessian", ["exact", "positive"])
def test_two_classes_equal_the_binary_focal_loss(gamma, epsilon, hessian, backend):
    """K = 2 with logits (0, x) is FocalLoss(alpha=None) at x (label 1 for class 1), both Hessian
    policies included, from ordinary logits to ±800."""
    x = np.concatenate([np.linspace(-40, 40, 81), [-800.0, -200.0, 200.0, 800.0]])
    z = np.stack([np.zeros_like(x), x], axis=1)
    soft = MulticlassFocalLoss(gamma=gamma, epsilon=epsilon, hessian=hessian)
    binary = FocalLoss(gamma=gamma, alpha=None, epsilon=epsilon, hessian=hessian)
    for c in (0, 1):
        y = np.full(len(x), c)
        yb = y.astype(float)
        np.testing.assert_allclose(soft.loss(y, z), binary.loss(yb, x), rtol=1e-13, atol=1e-300)
        gs, hs = soft.gradient_hessian(y, z)
        gb, hb = binary.gradient_hessian(yb, x)
        np.testing.assert_allclose(gs[:, 1], gb, rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(gs[:, 0], -gb, rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(hs[:, 1], hb, rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(hs[:, 0], hb, rtol=1e-13, atol=1e-300)


def test_epsilon_zero_matches_the_naive_formula_at_ordinary_logits():
    """Lin et al.'s loss written the obvious way (fine where nothing saturates)."""
    rng = np.random.default_rng(2)
    z = rng.normal(0, 2, (200, 3))
    y = rng.integers(0, 3, 200)
    p_c = scipy_softmax(z, axis=1)[np.arange(200), y]
    for gamma in (0.5, 2.0):
        naive = -((1 - p_c) ** gamma) * np.log(p_c)
        np.testing.assert_allclose(MulticlassFocalLoss(gamma=gamma, epsilon=0.0).loss(y, z), naive, rtol=1e-12)


def test_positive_policy():
    """Never below the exact diagonal, positive, and equal to it where nothing is misclassified badly."""
    rng = np.random.default_rng(3)
    z = rng.normal(0, 6, (500, 4))
    y = rng.integers(0, 4, 500)
    for gamma, eps in [(0.5, 0.0), (2.0, 1e-3), (5.0, 0.0)]:
        exact = MulticlassFocalLoss(gamma=gamma, epsilon=eps, hessian="exact").gradient_hessian(y, z)[1]
        positive = MulticlassFocalLoss(gamma=gamma, epsilon=eps).gradient_hessian(y, z)[1]
        assert np.all(positive >= exact) and np.all(positive > 0)
        assert np.any(exact < 0)  # the exact diagonal does turn negative, so the policy matters
        # Where the exact value is non-negative and the true class is confidently predicted,
        # the policy changes nothing.
        p_c = scipy_softmax(z, axis=1)[np.arange(500), y]
        sure = p_c >= 0.9
        np.testing.assert_array_equal(positive[sure], exact[sure])


# -- labels, probabilities, array libraries ------------------------------------------------------
def test_float_labels_with_integral_values_are_class_indices():
    """LightGBM and XGBoost hand the labels over as floats."""
    rng = np.random.default_rng(4)
    z = rng.normal(0, 3, (50, 3))
    y = rng.integers(0, 3, 50)
    loss = MulticlassFocalLoss(gamma=2.0, alpha=[1.0, 2.0, 0.5])
    np.testing.assert_array_equal(loss.loss(y.astype(np.float32), z), loss.loss(y, z))
    np.testing.assert_array_equal(loss.gradient(y.astype(np.float64), z), loss.gradient(y, z))


def test_predict_proba():
    loss = MulticlassFocalLoss()
    z = np.array([[1.0, 2.0, 3.0], [1e300, -1e300, 0.0], [1000.0, 1000.0, -5.0], [0.0, 0.0, 0.0]])
    p = loss.predict_proba(z, kind="link")
    np.testing.assert_allclose(p, scipy_softmax(z, axis=1), rtol=1e-15)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    z32 = np.array([[1.0, 2.0, 3.0], [1e30, -1e30, 0.0]], dtype=np.float32)
    p32 = loss.predict_proba(z32, kind="link")
    assert p32.dtype == np.float32
    np.testing.assert_allclose(p32, scipy_softmax(z32.astype(np.float64), axis=1), rtol=1e-6)


def test_torch_autograd_of_the_definition():
    """torch autograd of the plain definition (at logits where it does not overflow) is an
    independent reference for the gradient and the diagonal; the core runs on float32 tensors.
    (Tensors in, tensors equal to numpy's out: test_losses.py.)"""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    z = rng.normal(0, 3, (20, 4))
    y = rng.integers(0, 4, 20)
    alpha = np.array([0.5, 1.0, 2.0, 0.3])
    gamma, eps = 1.5, 1e-3
    loss = MulticlassFocalLoss(gamma=gamma, alpha=list(alpha), epsilon=eps, hessian="exact")
    zt, yt = torch.tensor(z), torch.tensor(y)
    g_np, h_np = loss.gradient_hessian(y, z)
    _, g32, _ = softmax_focal(
        yt, zt.float(), gamma=gamma, epsilon=eps, alpha=torch.tensor(alpha).float(), xp=_torch_ns(), loss=False
    )
    assert g32.dtype == torch.float32

    def definition(row, c):
        p = torch.softmax(row, 0)
        return -alpha[c] * (1 - p[c] + eps) ** gamma * torch.log(p[c])

    for n in range(20):
        row = zt[n].clone().requires_grad_(True)
        c = int(y[n])
        (g,) = torch.autograd.grad(definition(row, c), row, create_graph=True)
        diag = [torch.autograd.grad(g[j], row, retain_graph=True)[0][j].item() for j in range(4)]
        np.testing.assert_allclose(g.detach().numpy(), g_np[n], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(diag, h_np[n], rtol=1e-9, atol=1e-13)


def _torch_ns():
    import array_api_compat
    import torch

    return array_api_compat.array_namespace(torch.zeros(1))


# -- init score -------------------------------------------------------------------------------
def _brute_force_init(y, w, alpha, gamma, eps, k):
    """Minimize the weighted mean loss of a constant raw prediction with scipy (b_0 = 0 fixed),
    through the plain definition."""
    mass = np.bincount(y, weights=w, minlength=k) * (np.ones(k) if alpha is None else np.asarray(alpha))

    def objective(b_rest):
        b = np.concatenate([[0.0], b_rest])
        p = scipy_softmax(b)
        return float(np.sum(-mass * (1 - p + eps) ** gamma * np.log(p))) / mass.sum()

    res = minimize(
        objective,
        np.zeros(k - 1),
        method="Nelder-Mead",
        options={"xatol": 1e-11, "fatol": 1e-15, "maxiter": 40000, "maxfev": 40000},
    )
    return scipy_softmax(np.concatenate([[0.0], res.x])), res.fun


@pytest.mark.parametrize(
    "gamma, epsilon, alpha", [(2.0, 1e-3, None), (0.5, 0.0, None), (2.0, 0.0, [0.25, 1.0, 4.0]), (5.0, 1e-2, None)]
)
def test_init_score_minimizes_the_weighted_mean_loss(gamma, epsilon, alpha):
    rng = np.random.default_rng(6)
    y = rng.choice(3, 400, p=[0.8, 0.15, 0.05])
    w = rng.uniform(0.5, 2.0, 400)
    loss = MulticlassFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon)
    b = loss.init_score(y, w)
    assert b.shape == (3,) and b.dtype == np.float64
    np.testing.assert_allclose(np.log(np.sum(np.exp(b))), 0.0, atol=1e-14)  # the fixed convention
    pi_ref, best = _brute_force_init(y, w, alpha, gamma, epsilon, 3)
    np.testing.assert_allclose(np.exp(b), pi_ref, rtol=1e-5)
    mean = float(np.sum(w * loss.loss(y, np.tile(b, (400, 1)))) / w.sum())
    assert mean <= best + 1e-13
    # Stationarity, to rounding: the weighted gradient summed over samples vanishes at b.
    g = np.sum(w[:, None] * loss.gradient(y, np.tile(b, (400, 1))), axis=0) / w.sum()
    np.testing.assert_allclose(g, 0.0, atol=1e-12)


def test_init_score_gamma_zero_is_log_class_frequency_and_extremes():
    y = np.array([0] * 90 + [1] * 9 + [2] * 1)
    b = MulticlassFocalLoss(gamma=0.0).init_score(y)
    np.testing.assert_allclose(b, np.log([0.9, 0.09, 0.01]), rtol=1e-14)
    b = MulticlassFocalLoss(gamma=0.0, alpha=[1.0, 10.0, 90.0]).init_score(y)
    np.testing.assert_allclose(b, np.log([90.0, 90.0, 90.0]) - np.log(270.0), rtol=1e-14, atol=1e-15)
    # n_classes from alpha, or given; a tiny class far from the others still gives a finite score.
    w = np.concatenate([np.full(99, 1.0), [1e-12]])
    for gamma, eps in [(2.0, 0.0), (0.5, 1e-3), (2.0, 1e-3)]:
        loss = MulticlassFocalLoss(gamma=gamma, epsilon=eps)
        b = loss.init_score(y, w)
        assert np.all(np.isfinite(b)) and b[2] < b[1] < b[0]
        g = np.sum(w[:, None] * loss.gradient(y, np.tile(b, (100, 1))), axis=0)
        np.testing.assert_allclose(g, 0.0, atol=1e-9)
    assert MulticlassFocalLoss(alpha=[1.0, 1.0, 1.0, 1.0]).init_score(np.array([0, 1, 2, 3])).shape == (4,)
    b = MulticlassFocalLoss(gamma=0.0).init_score([0, 1, 2, 3, 3], n_classes=4)
    np.testing.assert_allclose(b, np.log([0.2, 0.2, 0.2, 0.4]), rtol=1e-14)


# -- validation -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"gamma": -0.1}, ValueError, "gamma must be >= 0, got -0.1"),
        ({"gamma": float("nan")}, ValueError, "gamma must be finite"),
        ({"epsilon": -1e-3}, ValueError, "epsilon must be >= 0, got -0.001"),
        ({"hessian": "abs"}, ValueError, "hessian must be one of .*got 'abs'"),
        ({"alpha": [1.0, -0.5]}, ValueError, r"alpha\[1\] must be >= 0, got -0.5"),
        ({"alpha": [1.0]}, ValueError, "alpha must hold one weight per class"),
        ({"alpha": 0.25}, TypeError, "alpha must be None or a sequence of per-class weights, got 0.25"),
        ({"alpha": "ab"}, TypeError, "alpha must be None or a sequence"),
        ({"alpha": [[1.0, 2.0]]}, TypeError, "alpha must be None or a 1-D sequence"),
        ({"gamma": "2"}, TypeError, "gamma must be a real number, got '2'"),
    ],
)
def test_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        MulticlassFocalLoss(**kwargs)


def test_parameters_are_stored_as_validated():
    loss = MulticlassFocalLoss(gamma=np.float32(0.5), alpha=np.array([1, 2, 3]), epsilon=0)
    assert (loss.gamma, loss.alpha, loss.epsilon, loss.hessian) == (0.5, (1.0, 2.0, 3.0), 0.0, "positive")
    assert type(loss.gamma) is float and all(type(a) is float for a in loss.alpha)
    np.testing.assert_array_equal(loss.class_weights(), [1.0, 2.0, 3.0])


Z = np.zeros((3, 3))


@pytest.mark.parametrize("method", ["loss", "gradient", "gradient_hessian"])
@pytest.mark.parametrize(
    "y, z, w, exc, match",
    [
        ([0, 1, 0.5], Z, None, ValueError, "y_true must hold integer class labels, got 0.5"),
        ([0, 1, np.nan], Z, None, ValueError, "y_true must hold integer class labels, got nan"),
        ([0, 1, 3], Z, None, ValueError, r"y_true must hold class labels in \[0, 3\).*got 3"),
        ([0, -1, 2], Z, None, ValueError, r"y_true must hold class labels in \[0, 3\).*got -1"),
        (["a", "b", "c"], Z, None, TypeError, "y_true must hold integer class labels, got dtype"),
        ([0, 1], Z, None, ValueError, r"y_true must have shape \(n_samples,\) = \(3,\)"),
        ([[0, 1, 2]], Z, None, ValueError, "y_true must be 1-D class labels .*got shape"),
        ([0, 1, 2], np.zeros(3), None, ValueError, r"raw_prediction must have shape \(n_samples, n_classes\)"),
        ([0, 0, 0], np.zeros((3, 1)), None, ValueError, "raw_prediction must have shape .*n_classes >= 2"),
        ([0, 1, 2], np.array([[0, 0, np.inf]] * 3), None, ValueError, "raw_prediction must be finite.*inf"),
        ([0, 1, 2], np.array([[0, np.nan, 0]] * 3), None, ValueError, "raw_prediction must be finite.*nan"),
        ([0, 1, 2], Z, [1.0, -1.0, 1.0], ValueError, "sample_weight must be finite and >= 0, got -1.0"),
        ([0, 1, 2], Z, [1.0, 1.0], ValueError, r"sample_weight must have shape \(n_samples,\)"),
        ([0, 1, 2], np.array([["a"] * 3] * 3), None, TypeError, "raw_prediction must hold real numbers"),
    ],
)
def test_bad_arrays(method, y, z, w, exc, match):
    with pytest.raises(exc, match=match):
        getattr(MulticlassFocalLoss(), method)(np.asarray(y), z, w)


def test_alpha_length_must_match_the_classes():
    loss = MulticlassFocalLoss(alpha=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"alpha has 2 class weights but there are 3 classes"):
        loss.loss([0, 1, 2], Z)
    with pytest.raises(ValueError, match=r"alpha has 2 class weights but there are 3 classes"):
        loss.init_score([0, 1, 2], n_classes=3)
    with pytest.raises(ValueError, match=r"y_true must hold class labels in \[0, 2\).*got 2"):
        loss.init_score([0, 1, 2])


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([0, 0, 1],), {"n_classes": 3}, "class 2 has no samples with positive weight"),
        (([0, 1, 1], [0.0, 1.0, 1.0]), {}, "class 0 has no samples with positive weight"),
        (([0, 1, 1], [1.0, -1.0, 1.0]), {}, "sample_weight must be finite and >= 0, got -1.0"),
        (([0, 1, 1], [1.0, 1.0]), {}, "sample_weight must have the shape of y_true"),
        (([0, 1, 1],), {"n_classes": 1}, "n_classes must be an integer >= 2, got 1"),
        (([0, 1, 1],), {"n_classes": 2.5}, "n_classes must be an integer >= 2, got 2.5"),
        (([0, 1, 5],), {"n_classes": 3}, r"y_true must hold class labels in \[0, 3\).*got 5"),
        (([0, 1, -1],), {}, "y_true must hold class labels >= 0, got -1"),
        (([],), {}, "y_true must hold at least one label"),
        (([0.5, 1.0],), {}, "y_true must hold integer class labels, got 0.5"),
    ],
)
def test_bad_init_score_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        MulticlassFocalLoss().init_score(*args, **kwargs)


# -- properties -------------------------------------------------------------------------------
_logit = st.one_of(
    st.floats(min_value=-1e300, max_value=1e300, allow_nan=False),
    st.floats(min_value=-50, max_value=50),
    st.sampled_from([0.0, 745.0, -745.0, 1e4, -1e4]),
)


@settings(max_examples=300, deadline=None)
@given(
    row=st.lists(_logit, min_size=2, max_size=6),
    data=st.data(),
    gamma=st.floats(min_value=0.0, max_value=10.0),
    epsilon=st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=1.0)),
    single=st.booleans(),
)
def test_property_finite_and_consistent(row, data, gamma, epsilon, single):
    dtype = np.float32 if single else np.float64
    with np.errstate(over="ignore"):
        z = np.array([row], dtype=np.float64).astype(dtype)
    z[~np.isfinite(z)] = np.sign(z[~np.isfinite(z)]) * np.finfo(dtype).max / 4
    # Logits spread over more than the float range give a true overflow of z_c − max z.
    if float(z.max()) - float(z.min()) > np.finfo(dtype).max / 2:
        z = z / 4
    c = data.draw(st.integers(0, len(row) - 1))
    y = np.array([c])
    exact = MulticlassFocalLoss(gamma=gamma, epsilon=epsilon, hessian="exact")
    positive = MulticlassFocalLoss(gamma=gamma, epsilon=epsilon)
    value = exact.loss(y, z)
    grad, h_exact = exact.gradient_hessian(y, z)
    _, h_pos = positive.gradient_hessian(y, z)
    for a in (grad, h_exact, h_pos):
        assert np.all(np.isfinite(a)), (z, c, a)
    # The loss grows like (1 + ε)^γ (max z − z_c): finite wherever that is representable.
    bound = (1 + epsilon) ** gamma * (float(z.max()) - float(z.min())) * 2 + 10
    assert not np.isnan(value[0]) and value[0] >= 0
    assert np.isfinite(value[0]) or bound >= float(np.finfo(dtype).max), (z, c, value)
    # The true class is pushed up, the others down; the row sums to 0 (shift invariance).
    assert grad[0, c] <= 0 and np.all(np.delete(grad[0], c) >= 0)
    assert abs(float(grad.sum())) <= 8 * np.finfo(dtype).eps * (float(np.abs(grad).max()) + 1e-30)
    assert np.all(h_pos >= h_exact) and np.all(h_pos >= 0)
    if gamma == 0:
        np.testing.assert_array_equal(h_pos, h_exact)
