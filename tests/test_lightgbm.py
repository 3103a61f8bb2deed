"""LightGBM adapter: parity with LightGBM's built-in objectives, the native ``lgb.train`` route,
and LightGBM-specific estimator behaviour. Shared estimator behaviour: test_estimators.py."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification

from focalboost import FocalLoss, MulticlassFocalLoss

lgb = pytest.importorskip("lightgbm")

from focalboost.lightgbm import (  # noqa: E402
    FocalLGBMClassifier,
    apply_init_score,
    focal_metric,
    focal_objective,
)

PARAMS = {"verbose": -1, "num_threads": 1, "seed": 0, "deterministic": True}


def _binary(n=1500, seed=0):
    return make_classification(n, 8, n_informative=5, weights=[0.93], flip_y=0.02, random_state=seed)


def _multi(n=1500, seed=0):
    return make_classification(
        n, 8, n_informative=6, n_redundant=0, n_classes=4, weights=[0.6, 0.25, 0.1], random_state=seed
    )


@pytest.mark.slow
def test_estimator_reproduces_builtin_binary():
    X, y = _binary()
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=y.size)
    kw = dict(n_estimators=40, num_leaves=15, learning_rate=0.2, n_jobs=1, random_state=0, verbose=-1)
    ours = FocalLGBMClassifier(focal_gamma=0.0, focal_alpha=None, focal_epsilon=0.0, **kw).fit(X, y, sample_weight=w)
    ref = lgb.LGBMClassifier(objective="binary", **kw).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))


@pytest.mark.slow
def test_estimator_reproduces_builtin_multiclass():
    X, y = _multi()
    kw = dict(n_estimators=30, num_leaves=15, n_jobs=1, random_state=0, verbose=-1)
    ours = FocalLGBMClassifier(focal_gamma=0.0, focal_alpha=None, focal_epsilon=0.0, **kw).fit(X, y)
    ref = lgb.LGBMClassifier(objective="multiclass", **kw).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-5)


@pytest.mark.slow
def test_native_route_reproduces_builtin_binary():
    X, y = _binary()
    obj = focal_objective(gamma=0.0, alpha=None, epsilon=0.0)
    dtrain = lgb.Dataset(X, y)
    init = apply_init_score(dtrain, objective=obj)
    assert init == pytest.approx(np.log(y.mean() / (1 - y.mean())), abs=1e-12)
    ours = lgb.train({**PARAMS, "objective": obj, "metric": "None"}, dtrain, 30)
    ref = lgb.train({**PARAMS, "objective": "binary"}, lgb.Dataset(X, y), 30)
    p_ours = FocalLoss().predict_proba(ours.predict(X, raw_score=True) + init, kind="link")[:, 1]
    np.testing.assert_allclose(p_ours, ref.predict(X), rtol=0, atol=1e-6)


@pytest.mark.slow
def test_native_route_reproduces_builtin_multiclass():
    X, y = _multi()
    obj = focal_objective(n_classes=4, gamma=0.0, alpha=None, epsilon=0.0)
    dtrain = lgb.Dataset(X, y)
    init = apply_init_score(dtrain, objective=obj)
    assert init.shape == (4,)
    ours = lgb.train({**PARAMS, "objective": obj, "num_class": 4, "metric": "None"}, dtrain, 20)
    ref = lgb.train({**PARAMS, "objective": "multiclass", "num_class": 4}, lgb.Dataset(X, y), 20)
    p_ours = MulticlassFocalLoss().predict_proba(ours.predict(X, raw_score=True) + init, kind="link")
    np.testing.assert_allclose(p_ours, ref.predict(X), rtol=0, atol=1e-5)


def test_objective_is_the_gradient_of_the_metric():
    # finite differences of the weighted metric give the weighted gradient, sign and weights included
    rng = np.random.default_rng(0)
    y = (rng.random(50) < 0.3).astype(float)
    w = rng.uniform(0.5, 2.0, size=50)
    raw = rng.normal(scale=3.0, size=50)
    ds = lgb.Dataset(np.zeros((50, 1)), y, weight=w).construct()
    grad, hess = focal_objective(gamma=2.0, alpha=0.25, hessian="exact")(raw, ds)
    metric = focal_metric(gamma=2.0, alpha=0.25)
    h = 1e-6
    for i in (0, 7, 33):
        up, down = raw.copy(), raw.copy()
        up[i] += h
        down[i] -= h
        fd = (metric(up, ds)[1] - metric(down, ds)[1]) / (2 * h) * np.sum(w)
        # rounding noise of the difference: ~1e-16 * |metric| / h * sum(w) < 1e-8
        assert grad[i] == pytest.approx(fd, rel=1e-6, abs=2e-8)
    name, value, higher_better = metric(raw, ds)
    assert (name, higher_better) == ("focal_loss", False)
    w32 = w.astype(np.float32).astype(np.float64)  # LightGBM stores weights as float32
    assert value == pytest.approx(np.sum(w32 * FocalLoss().loss(y, raw)) / np.sum(w32), rel=1e-12)
    assert hess.shape == grad.shape == (50,)


def test_multiclass_objective_shapes_and_hessian_convention():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 40)
    raw = rng.normal(size=(40, 3))
    ds = lgb.Dataset(np.zeros((40, 1)), y).construct()
    grad, hess = focal_objective(n_classes=3, gamma=2.0, alpha=None)(raw, ds)
    g_ref, h_ref = MulticlassFocalLoss(gamma=2.0).gradient_hessian(y, raw)
    np.testing.assert_array_equal(grad, g_ref)
    np.testing.assert_allclose(hess, h_ref * 3 / 2, rtol=1e-15)  # LightGBM's K / (K - 1)
    name, value, _ = focal_metric(n_classes=3, gamma=2.0, alpha=None)(raw, ds)
    assert value == pytest.approx(np.mean(MulticlassFocalLoss(gamma=2.0).loss(y, raw)), rel=1e-12)


def test_apply_init_score_sets_every_dataset():
    X, y = _binary(400)
    obj = focal_objective()
    dtrain, dvalid = lgb.Dataset(X[:300], y[:300]), lgb.Dataset(X[300:], y[300:])
    init = apply_init_score(dtrain, dvalid, objective=obj)
    assert init == pytest.approx(FocalLoss().init_score(y[:300].astype(float)), abs=0)
    np.testing.assert_array_equal(dvalid.get_init_score(), np.full(100, init))
    with pytest.raises(TypeError, match="objective"):
        apply_init_score(dtrain, objective="binary")


def test_eval_X_spelling_and_string_labels():
    """The eval set given as LightGBM ≥ 4.7's ``eval_X``/``eval_y``, with string labels: the logged
    focal metric is, at every iteration, the mean focal loss of the booster's raw scores then
    (the booster holds the init score) against the labels encoded in ``classes_`` order."""
    X, y = _binary(600)
    ys = np.where(y == 1, "pos", "neg")
    est = FocalLGBMClassifier(n_estimators=10, verbose=-1, n_jobs=1)
    est.fit(X[:400], ys[:400], eval_X=(X[400:],), eval_y=(ys[400:],))
    assert list(est.classes_) == ["neg", "pos"]
    (curve,) = est.evals_result_.values()
    curve = np.asarray(curve["focal_loss"])
    assert curve.shape == (10,)
    y_valid = (ys[400:] == "pos").astype(float)
    recomputed = [
        np.mean(FocalLoss().loss(y_valid, est.booster_.predict(X[400:], raw_score=True, num_iteration=i + 1)))
        for i in range(10)
    ]
    np.testing.assert_allclose(curve, recomputed, rtol=1e-12)
    assert curve[-1] < curve[0]


def test_objective_must_stay_none():
    X, y = _binary(200)
    with pytest.raises(ValueError, match="objective"):
        FocalLGBMClassifier(objective="binary", verbose=-1).fit(X, y)


def test_user_init_score_is_an_offset_and_contrib_includes_the_start():
    X, y = _binary(500)
    est = FocalLGBMClassifier(n_estimators=10, verbose=-1, n_jobs=1).fit(X, y)
    contrib = est.predict(X, pred_contrib=True)
    np.testing.assert_allclose(contrib.sum(axis=1), est.predict(X, raw_score=True), rtol=1e-10, atol=1e-10)
    shifted = FocalLGBMClassifier(n_estimators=10, verbose=-1, n_jobs=1).fit(X, y, init_score=np.full(500, 0.0))
    np.testing.assert_allclose(shifted.predict_proba(X), est.predict_proba(X), rtol=0, atol=1e-12)
