"""FocalLoss: parameters, validation, soft labels, dtypes, shapes, probabilities, init score.

What every loss object shares (derivatives, weights, init score stationarity, probabilities,
representation, float32 and torch) is tested over both losses in test_losses.py."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from focalboost import FocalLoss

RNG = np.random.default_rng(42)


# -- parameters -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"gamma": -0.1}, "gamma must be >= 0, got -0.1"),
        ({"gamma": float("nan")}, "gamma must be finite"),
        ({"gamma": float("inf")}, "gamma must be finite"),
        ({"alpha": 1.5}, r"alpha must be \[0, 1\], got 1.5"),
        ({"alpha": -0.25}, r"alpha must be \[0, 1\], got -0.25"),
        ({"epsilon": -1e-3}, "epsilon must be >= 0, got -0.001"),
        ({"hessian": "abs"}, "hessian must be one of .*got 'abs'"),
    ],
)
def test_bad_parameter_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FocalLoss(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"gamma": "2"}, "gamma must be a real number, got '2'"),
        ({"alpha": [0.25]}, "alpha must be a real number"),
        ({"epsilon": True}, "epsilon must be a real number"),
        ({"hessian": 1}, "hessian must be one of"),
    ],
)
def test_bad_parameter_types(kwargs, match):
    with pytest.raises(TypeError, match=match):
        FocalLoss(**kwargs)


def test_parameters_are_stored_as_validated():
    loss = FocalLoss(gamma=np.float32(0.5), alpha=None, epsilon=0)
    assert (loss.gamma, loss.alpha, loss.epsilon, loss.hessian) == (0.5, None, 0.0, "positive")
    assert type(loss.gamma) is float and type(loss.epsilon) is float
    np.testing.assert_array_equal(loss.class_weights(), [1.0, 1.0])
    np.testing.assert_array_equal(FocalLoss(alpha=0.25).class_weights(), [0.75, 0.25])  # class order


# -- array validation ------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["loss", "gradient", "gradient_hessian"])
def test_bad_arrays(method):
    loss = FocalLoss()
    call = getattr(loss, method)
    y, x = np.array([0.0, 1.0, 1.0]), np.array([0.1, -0.2, 3.0])
    with pytest.raises(ValueError, match=r"y_true must hold values in \[0, 1\] and no NaN, got 1.5"):
        call(np.array([0.0, 1.5, 1.0]), x)
    with pytest.raises(ValueError, match=r"y_true must hold values in \[0, 1\] and no NaN, got -1.0"):
        call(np.array([0.0, -1.0, 1.0]), x)
    with pytest.raises(ValueError, match="y_true .*got nan"):
        call(np.array([0.0, np.nan, 1.0]), x)
    with pytest.raises(ValueError, match="raw_prediction must be finite .*got nan"):
        call(y, np.array([0.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="raw_prediction must be finite .*got -inf"):
        call(y, np.array([0.0, -np.inf, 1.0]))
    with pytest.raises(ValueError, match="sample_weight must be finite and >= 0, got -2.0"):
        call(y, x, np.array([1.0, -2.0, 1.0]))
    with pytest.raises(ValueError, match=r"shape.*\(2,\).*\(3,\)"):
        call(y[:2], x)
    with pytest.raises(ValueError, match="sample_weight and raw_prediction must have the same shape"):
        call(y, x, np.ones(4))
    with pytest.raises(TypeError, match="raw_prediction must hold real numbers"):
        call(y, np.array(["a", "b", "c"]))


def test_check_input_false_skips_validation_only():
    loss = FocalLoss(gamma=1.5)
    y, x = RNG.integers(0, 2, 50).astype(float), RNG.normal(size=50)
    np.testing.assert_array_equal(loss.loss(y, x, check_input=False), loss.loss(y, x))


# -- weights, dtypes, shapes -----------------------------------------------------------------
def test_soft_labels_are_linear_interpolation():
    loss = FocalLoss(gamma=2.0, alpha=0.25)
    x = RNG.normal(0, 4, 100)
    y = RNG.uniform(0, 1, 100)
    mix = y * loss.loss(np.ones_like(x), x) + (1 - y) * loss.loss(np.zeros_like(x), x)
    np.testing.assert_allclose(loss.loss(y, x), mix, rtol=1e-13)


def test_dtypes_and_list_input():
    loss = FocalLoss()
    x32 = np.array([-3.0, 0.0, 2.0], dtype=np.float32)
    for out in (loss.loss([0, 1, 1], x32), *loss.gradient_hessian([0, 1, 1], x32)):
        assert out.dtype == np.float32
    out = loss.loss([0, 1, 1], [-3, 0, 2])  # integers become float64
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, loss.loss(np.array([0.0, 1, 1]), x32.astype(np.float64)), rtol=1e-15)
    np.testing.assert_allclose(loss.loss([0, 1, 1], x32), out, rtol=1e-6)


def test_two_dimensional_input_is_elementwise():
    loss = FocalLoss()
    y, x = RNG.integers(0, 2, (7, 3)).astype(float), RNG.normal(size=(7, 3))
    g, h = loss.gradient_hessian(y, x)
    assert g.shape == h.shape == (7, 3)
    np.testing.assert_array_equal(g.ravel(), loss.gradient(y.ravel(), x.ravel()))


def test_predict_proba_is_stable_sigmoid():
    proba = FocalLoss().predict_proba(np.array([-800.0, -1.0, 0.0, 1.0, 800.0, 700.0]), kind="link")
    assert proba.shape == (6, 2)
    p = [0.0, 1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-1)), 1.0, 1.0]
    np.testing.assert_allclose(proba[:, 1], p, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(proba[:, 0], [1.0, *p[3:0:-1], 0.0, np.exp(-700.0)], rtol=1e-15, atol=1e-300)
    # class 0 is σ(−x) computed directly: its tiny values keep their digits (not 1 − 1.0 = 0)
    assert proba[5, 0] > 0


# -- init score ------------------------------------------------------------------------------
def _brute_force_minimizer(loss, y, w):
    def mean_loss(c):
        return float(np.sum(loss.loss(y, np.full_like(y, c), w)))

    grid = np.linspace(-40, 40, 801)
    c0 = grid[np.argmin([mean_loss(c) for c in grid])]
    res = minimize_scalar(mean_loss, bounds=(c0 - 0.15, c0 + 0.15), method="bounded", options={"xatol": 1e-12})
    return res.x, mean_loss


@pytest.mark.parametrize("gamma", [0.0, 0.3, 1.0, 2.0, 5.0])
@pytest.mark.parametrize("epsilon", [0.0, 1e-3])
@pytest.mark.parametrize("alpha", [0.25, None])
@pytest.mark.parametrize("weighted", [False, True])
def test_init_score_is_the_minimizer(gamma, epsilon, alpha, weighted):
    rng = np.random.default_rng(int(gamma * 10) + weighted)
    y = (rng.random(1000) < 0.03).astype(float)
    y[:50] = rng.random(50)  # a few soft labels
    w = rng.uniform(0.1, 2.0, y.size) if weighted else None
    loss = FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon)
    c = loss.init_score(y, w)
    brute, mean_loss = _brute_force_minimizer(loss, y, w)
    # The brute-force optimizer is only accurate to ~1e-7 in c (the minimum is flat); the
    # exactness claim is checked on the derivative: the total gradient vanishes at c.
    assert abs(c - brute) < 1e-6
    assert mean_loss(c) <= mean_loss(brute) + 1e-12 * abs(mean_loss(brute))
    total_grad = float(np.sum(loss.gradient(y, np.full_like(y, c), w)))
    scale = float(np.sum(np.abs(loss.gradient(y, np.full_like(y, c), w))))
    assert abs(total_grad) <= 1e-12 * scale


def test_init_score_gamma_zero_is_weighted_logit_of_the_mean():
    y = (RNG.random(1000) < 0.1).astype(float)
    w = RNG.uniform(0, 2, 1000)
    loss = FocalLoss(gamma=0.0, alpha=None, epsilon=0.0)
    ybar = np.sum(w * y) / np.sum(w)
    assert loss.init_score(y, w) == pytest.approx(np.log(ybar / (1 - ybar)), rel=1e-12, abs=1e-12)
    ybar = y.mean()
    assert loss.init_score(y) == pytest.approx(np.log(ybar / (1 - ybar)), rel=1e-12, abs=1e-12)


def test_init_score_extreme_imbalance_and_degenerate_labels():
    y = np.zeros(1_000_000)
    y[:3] = 1.0
    for gamma in (0.0, 2.0):
        c = FocalLoss(gamma=gamma, alpha=None, epsilon=0.0).init_score(y)
        g = FocalLoss(gamma=gamma, alpha=None, epsilon=0.0).gradient(y, np.full_like(y, c)).sum()
        scale = np.abs(FocalLoss(gamma=gamma, alpha=None, epsilon=0.0).gradient(y, np.full_like(y, c))).sum()
        assert np.isfinite(c) and c < -4 and abs(g) <= 1e-12 * scale
    with pytest.raises(ValueError, match="class 1 has no samples with positive weight"):
        FocalLoss().init_score(np.zeros(10))
    with pytest.raises(ValueError, match="class 0 has no samples with positive weight"):
        FocalLoss().init_score(np.ones(10))
    with pytest.raises(ValueError, match=r"alpha=0.0 gives class 1 the weight 0"):
        FocalLoss(alpha=0.0).init_score(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"alpha=1.0 gives class 0 the weight 0"):
        FocalLoss(alpha=1.0).init_score(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="sample_weight must be finite and >= 0"):
        FocalLoss().init_score(np.array([0.0, 1.0]), np.array([1.0, -1.0]))
