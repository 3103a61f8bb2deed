"""XGBoost adapter: parity with XGBoost's built-in objectives, the native ``xgb.train`` route,
``base_score`` kept out, and XGBoost-specific estimator behaviour. Shared: test_estimators.py."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pytest
from sklearn.datasets import make_classification

from focalboost import FocalLoss, MulticlassFocalLoss

xgb = pytest.importorskip("xgboost")

from focalboost.xgboost import (  # noqa: E402
    FocalXGBClassifier,
    apply_init_score,
    focal_metric,
    focal_objective,
)

PARAMS = {"nthread": 1, "seed": 0, "max_depth": 3, "eta": 0.3}


def _binary(n=1500, seed=0):
    return make_classification(n, 8, n_informative=5, weights=[0.93], flip_y=0.02, random_state=seed)


def _multi(n=1500, seed=0):
    return make_classification(
        n, 8, n_informative=6, n_redundant=0, n_classes=4, weights=[0.6, 0.25, 0.1], random_state=seed
    )


def test_estimator_reproduces_builtin_binary():
    X, y = _binary()
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=y.size)
    kw = dict(n_estimators=40, max_depth=3, n_jobs=1, random_state=0)
    ours = FocalXGBClassifier(focal_gamma=0.0, focal_alpha=None, focal_epsilon=0.0, **kw).fit(X, y, sample_weight=w)
    # the built-in's intercept is the weighted base rate, the same start as the focal init score
    ref = xgb.XGBClassifier(objective="binary:logistic", base_score=np.average(y, weights=w), **kw)
    ref.fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-6)


def test_estimator_reproduces_builtin_multiclass():
    X, y = _multi()
    kw = dict(n_estimators=30, max_depth=3, n_jobs=1, random_state=0)
    ours = FocalXGBClassifier(focal_gamma=0.0, focal_alpha=None, focal_epsilon=0.0, **kw).fit(X, y)
    ref = xgb.XGBClassifier(objective="multi:softprob", **kw).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-5)


def test_native_route_reproduces_builtin_binary():
    X, y = _binary()
    obj = focal_objective(gamma=0.0, alpha=None, epsilon=0.0)
    dtrain = xgb.DMatrix(X, y)
    init = apply_init_score(dtrain, objective=obj)
    assert init == pytest.approx(np.log(y.mean() / (1 - y.mean())), abs=1e-12)
    ours = xgb.train({**PARAMS, "disable_default_eval_metric": 1}, dtrain, 30, obj=obj)
    ref = xgb.train({**PARAMS, "objective": "binary:logistic", "base_score": y.mean()}, xgb.DMatrix(X, y), 30)
    dtest = xgb.DMatrix(X, base_margin=np.full(len(X), init))
    p_ours = FocalLoss().predict_proba(ours.predict(dtest, output_margin=True), kind="link")[:, 1]
    np.testing.assert_allclose(p_ours, ref.predict(xgb.DMatrix(X)), rtol=0, atol=1e-6)


def test_native_route_reproduces_builtin_multiclass():
    X, y = _multi()
    obj = focal_objective(n_classes=4, gamma=0.0, alpha=None, epsilon=0.0)
    dtrain = xgb.DMatrix(X, y)
    init = apply_init_score(dtrain, objective=obj)
    assert init.shape == (4,)
    ours = xgb.train({**PARAMS, "num_class": 4, "disable_default_eval_metric": 1}, dtrain, 20, obj=obj)
    ref = xgb.train({**PARAMS, "objective": "multi:softprob", "num_class": 4}, xgb.DMatrix(X, y), 20)
    dtest = xgb.DMatrix(X, base_margin=np.tile(init, (len(X), 1)))
    p_ours = MulticlassFocalLoss().predict_proba(ours.predict(dtest, output_margin=True), kind="link")
    np.testing.assert_allclose(p_ours, ref.predict(xgb.DMatrix(X)), rtol=0, atol=1e-5)


@pytest.mark.parametrize("base_score", [0.1, 0.9])
def test_base_score_does_not_leak_in(base_score):
    # with base_margin set on every DMatrix, XGBoost's base_score has no effect on the model
    X, y = _binary(600)
    obj = focal_objective()
    margins = []
    for bs in (0.5, base_score):
        dtrain = xgb.DMatrix(X, y)
        init = apply_init_score(dtrain, objective=obj)
        booster = xgb.train({**PARAMS, "base_score": bs, "disable_default_eval_metric": 1}, dtrain, 10, obj=obj)
        dtest = xgb.DMatrix(X, base_margin=np.full(len(X), init))
        margins.append(booster.predict(dtest, output_margin=True))
    np.testing.assert_array_equal(margins[0], margins[1])


def test_objective_is_the_gradient_of_the_metric():
    rng = np.random.default_rng(0)
    y = (rng.random(50) < 0.3).astype(float)
    w = rng.uniform(0.5, 2.0, size=50).astype(np.float32).astype(np.float64)  # XGBoost stores float32
    raw = rng.normal(scale=3.0, size=50)
    dmat = xgb.DMatrix(np.zeros((50, 1)), y, weight=w)
    grad, hess = focal_objective(gamma=2.0, alpha=0.25, hessian="exact")(raw, dmat)
    metric = focal_metric(gamma=2.0, alpha=0.25)
    h = 1e-6
    for i in (0, 7, 33):
        up, down = raw.copy(), raw.copy()
        up[i] += h
        down[i] -= h
        fd = (metric(up, dmat)[1] - metric(down, dmat)[1]) / (2 * h) * np.sum(w)
        # rounding noise of the difference: ~1e-16 * |metric| / h * sum(w) < 1e-8
        assert grad[i] == pytest.approx(fd, rel=1e-6, abs=2e-8)
    name, value = metric(raw, dmat)
    assert name == "focal_loss"
    assert value == pytest.approx(np.sum(w * FocalLoss().loss(y, raw)) / np.sum(w), rel=1e-12)
    assert hess.shape == grad.shape == (50,)


def test_multiclass_objective_hessian_convention():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 40)
    raw = rng.normal(size=(40, 3))
    grad, hess = focal_objective(n_classes=3, gamma=2.0, alpha=None)(raw, xgb.DMatrix(np.zeros((40, 1)), y))
    g_ref, h_ref = MulticlassFocalLoss(gamma=2.0).gradient_hessian(y, raw)
    np.testing.assert_array_equal(grad, g_ref)
    np.testing.assert_allclose(hess, 2.0 * h_ref, rtol=1e-15)  # XGBoost's multi:softprob convention
    _, value = focal_metric(n_classes=3, gamma=2.0, alpha=None)(raw, xgb.DMatrix(np.zeros((40, 1)), y))
    assert value == pytest.approx(np.mean(MulticlassFocalLoss(gamma=2.0).loss(y, raw)), rel=1e-12)


def test_eval_metric_as_in_xgbclassifier():
    """Without eval_metric the focal loss is evaluated (and drives early stopping); with one, the
    caller's metrics are, the last driving early stopping, as XGBClassifier does; a callable gets
    predict_proba's probabilities, not the raw margins XGBoost hands a custom objective's metric."""
    from sklearn.metrics import log_loss

    X, y = _binary(600)
    fit = dict(eval_set=[(X[400:], y[400:])], verbose=False)
    est = FocalXGBClassifier(n_estimators=5, n_jobs=1).fit(X[:400], y[:400], **fit)
    assert list(est.evals_result_["validation_0"]) == ["focal_loss"]
    est = FocalXGBClassifier(n_estimators=5, n_jobs=1, eval_metric="auc").fit(X[:400], y[:400], **fit)
    assert list(est.evals_result_["validation_0"]) == ["auc"]
    assert est.get_params()["eval_metric"] == "auc"  # the public parameter is left as given
    seen = []

    def my_log_loss(y_true, proba):
        seen.append(proba)
        return log_loss(y_true, proba)

    est = FocalXGBClassifier(n_estimators=5, n_jobs=1, eval_metric=["auc", my_log_loss]).fit(X[:400], y[:400], **fit)
    assert list(est.evals_result_["validation_0"]) == ["auc", "my_log_loss"]
    np.testing.assert_allclose(seen[-1], est.predict_proba(X[400:])[:, 1], rtol=1e-6)
    assert (
        est.evals_result_["validation_0"]["my_log_loss"][-1]
        == pytest.approx(  # XGBoost logs 6 digits
            log_loss(y[400:], est.predict_proba(X[400:])[:, 1]), abs=1e-6
        )
    )
    with pytest.raises(ValueError, match="at most one callable"):
        FocalXGBClassifier(eval_metric=[my_log_loss, my_log_loss]).fit(X, y)


def test_objective_must_stay_default():
    X, y = _binary(200)
    with pytest.raises(ValueError, match="objective"):
        FocalXGBClassifier(objective="binary:hinge").fit(X, y)
    with pytest.raises(ValueError, match="objective must be None"):
        FocalXGBClassifier(objective="binary:logistic").fit(X, y)  # not ignored: the focal loss is the objective


def _dart_reference(booster, X, start):
    """``start`` plus the DART-weighted sum of the trees' leaf values, read from the model's JSON
    (independent of XGBoost's prediction code); ``start`` of shape ``(n,)`` or ``(n, K)``."""
    import json

    import xgboost as xgb

    model = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]
    trees, weights = model["gbtree"]["model"]["trees"], model["weight_drop"]
    groups = model["gbtree"]["model"]["tree_info"]
    leaves = booster.predict(xgb.DMatrix(X), pred_leaf=True).reshape(len(X), -1).astype(int)
    out = np.array(start, dtype=np.float64, copy=True).reshape(len(X), -1)
    for t, tree in enumerate(trees):
        out[:, groups[t]] += weights[t] * np.asarray(tree["split_conditions"], dtype=np.float64)[leaves[:, t]]
    return out[:, 0] if np.ndim(start) == 1 else out


@pytest.mark.parametrize("n_classes", [2, 3])
def test_dart_margins_are_the_weighted_trees_plus_the_init_score(n_classes):
    # XGBoost 3.2's inplace_predict (XGBModel.predict's path) returns wrong margins for a DART
    # booster given a base_margin: the estimator, which hands the init score over as base_margin
    # where the booster cannot hold it, predicted margins off by up to 7 before.
    X, y = make_classification(600, 6, n_informative=4, n_classes=n_classes, weights=None, random_state=0)
    model = FocalXGBClassifier(booster="dart", rate_drop=0.2, n_estimators=12, max_depth=3, random_state=0)
    with pytest.warns(UserWarning, match="cannot hold the init score") if n_classes == 2 else nullcontext():
        model.fit(X, y)
    init = np.asarray(model.init_score_)
    offset = np.random.default_rng(0).normal(size=(len(X),) if n_classes == 2 else (len(X), n_classes))
    for base_margin in (None, offset):
        start = np.broadcast_to(init, offset.shape) + (0 if base_margin is None else base_margin)
        if n_classes > 2 and base_margin is None:  # the booster holds the init score in base_score
            start = np.broadcast_to(np.asarray(init, dtype=np.float32), offset.shape)
        expected = _dart_reference(model.get_booster(), X, start)
        raw = model.predict(X, output_margin=True, base_margin=base_margin)
        np.testing.assert_allclose(raw, expected, rtol=1e-5, atol=1e-5)

