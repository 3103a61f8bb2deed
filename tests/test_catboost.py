"""CatBoost adapter: the objective's derivatives against CatBoost's built-in ``Focal`` loss and
``Logloss``, CatBoost's sign convention, the native route with Pools, and the estimator's
CatBoost-specific behaviour. Shared estimator behaviour: test_estimators.py."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification

from focalboost import FocalLoss, MulticlassFocalLoss

catboost = pytest.importorskip("catboost")
from catboost import CatBoost, CatBoostClassifier, Pool  # noqa: E402

from focalboost.catboost import (  # noqa: E402
    FocalCatBoostClassifier,
    apply_init_score,
    focal_metric,
    focal_objective,
)

COMMON = dict(iterations=10, learning_rate=0.1, depth=3, thread_count=1, random_seed=0, verbose=False)


def _binary(n=1000, seed=0):
    X, y = make_classification(n, 6, n_informative=4, weights=[0.9], flip_y=0.02, random_state=seed)
    return X, y.astype(float)


@pytest.mark.parametrize("gamma, alpha", [(0.5, 0.25), (2.0, 0.25), (5.0, 0.6)])
def test_matches_builtin_focal_with_epsilon_zero(gamma, alpha):
    # CatBoost's built-in Focal (no epsilon, no Hessian guard, start at 0) against our objective
    # with epsilon=0, the exact Hessian and no init score: identical derivatives give identical
    # trees, so the two models' raw predictions agree to rounding.
    X, y = _binary()
    params = dict(
        COMMON,
        leaf_estimation_method="Newton",
        leaf_estimation_iterations=1,
        leaf_estimation_backtracking="No",
        boost_from_average=False,
    )
    ref = CatBoost({**params, "loss_function": f"Focal:focal_alpha={alpha};focal_gamma={gamma}"}).fit(Pool(X, y))
    ours = CatBoost(
        {
            **params,
            "loss_function": focal_objective(gamma=gamma, alpha=alpha, epsilon=0.0, hessian="exact"),
            "eval_metric": focal_metric(gamma=gamma, alpha=alpha, epsilon=0.0),
        }
    ).fit(Pool(X, y))
    r_ref = ref.predict(X, prediction_type="RawFormulaVal")
    r_ours = ours.predict(X, prediction_type="RawFormulaVal")
    assert np.abs(r_ref).max() > 0.1  # the models did learn something
    np.testing.assert_allclose(r_ours, r_ref, rtol=0, atol=1e-12)


def test_estimator_matches_builtin_logloss():
    # gamma=0, alpha=None, epsilon=0 is cross-entropy; CatBoost's Logloss starts at 0 unless
    # boost_from_average=True, which is the focal init score for gamma=0.
    X, y = _binary(2000)
    kw = dict(iterations=60, learning_rate=0.1, depth=4, thread_count=1, random_seed=0, verbose=False)
    ours = FocalCatBoostClassifier(focal_gamma=0.0, focal_alpha=None, focal_epsilon=0.0, **kw).fit(X, y)
    ref = CatBoostClassifier(loss_function="Logloss", boost_from_average=True, **kw).fit(X, y)
    loss = FocalLoss(gamma=0.0, alpha=None, epsilon=0.0)
    ll_ours = np.mean(loss.loss(y, ours.decision_function(X)))
    ll_ref = np.mean(loss.loss(y, ref.predict(X, prediction_type="RawFormulaVal")))
    assert abs(ll_ours / ll_ref - 1) < 0.01
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-6)
    # CatBoost's default Logloss (start at 0) is not better than the focal route's optimal start
    plain = CatBoostClassifier(loss_function="Logloss", **kw).fit(X, y)
    assert ll_ours <= np.mean(loss.loss(y, plain.predict(X, prediction_type="RawFormulaVal"))) * 1.01


def test_objective_sign_convention_and_weights(backend):
    # CatBoost wants the derivatives of the negated loss, weighted, as an (n, 2) array; with or
    # without focalboost's numba kernel.
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.3).astype(float)
    raw = rng.normal(scale=4.0, size=200)
    w = rng.uniform(0.5, 2.0, size=200)
    ders = focal_objective(gamma=2.0, alpha=0.25).calc_ders_range(raw, y, w)
    unweighted = focal_objective(gamma=2.0, alpha=0.25).calc_ders_range(raw, y, None)
    grad, hess = FocalLoss(gamma=2.0, alpha=0.25).gradient_hessian(y, raw)
    assert ders.shape == (200, 2)
    np.testing.assert_allclose(ders[:, 0], -w * grad, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(ders[:, 1], -w * hess, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(unweighted, np.column_stack((-grad, -hess)), rtol=1e-13, atol=1e-300)


def test_metric_is_the_weighted_mean_loss():
    rng = np.random.default_rng(1)
    y = (rng.random(100) < 0.3).astype(float)
    raw = rng.normal(size=100)
    w = rng.uniform(0.5, 2.0, size=100)
    metric = focal_metric(gamma=2.0, alpha=0.25)
    err, wsum = metric.evaluate([raw], y, w)
    assert metric.get_final_error(err, wsum) == pytest.approx(np.sum(w * FocalLoss().loss(y, raw)) / np.sum(w))
    assert metric.is_max_optimal() is False


def test_native_route_with_pools_and_init_score():
    X, y = _binary(800)
    obj = focal_objective()
    train, valid = Pool(X[:600], y[:600]), Pool(X[600:], y[600:])
    init = apply_init_score(train, valid, objective=obj)
    assert init == FocalLoss().init_score(y[:600])
    # Pools store the baseline in float32
    np.testing.assert_array_equal(valid.get_baseline().reshape(-1), np.float32(init))
    model = CatBoost({**COMMON, "loss_function": obj, "eval_metric": focal_metric()}).fit(train, eval_set=valid)
    curve = model.get_evals_result()["validation"]["focal_loss"]
    # the first evaluation is after one tree on top of the init score: close to the constant's loss
    const = np.mean(FocalLoss().loss(y[600:], np.full(200, init)))
    assert abs(curve[0] - const) < 0.05 * const
    with pytest.raises(TypeError, match="objective"):
        apply_init_score(train, objective="Logloss")


def test_multiclass_objective_per_object():
    rng = np.random.default_rng(2)
    raw = rng.normal(size=3)
    obj = focal_objective(n_classes=3, gamma=2.0, alpha=[1.0, 2.0, 0.5])
    der1, der2 = obj.calc_ders_multi(list(raw), 1.0, 2.0)
    g, h = MulticlassFocalLoss(gamma=2.0, alpha=[1.0, 2.0, 0.5]).gradient_hessian(np.array([1]), raw[None, :])
    np.testing.assert_allclose(der1, -2.0 * g[0], rtol=1e-14)
    np.testing.assert_allclose(der2, np.diag(-2.0 * h[0]), rtol=1e-14)
    metric = focal_metric(n_classes=3, gamma=2.0, alpha=None)
    err, wsum = metric.evaluate([raw[:1], raw[1:2], raw[2:]], [1.0], None)
    assert err / wsum == pytest.approx(float(MulticlassFocalLoss(gamma=2.0).loss(np.array([1]), raw[None, :])[0]))


@pytest.mark.parametrize(
    "gamma, epsilon, alpha, hessian",
    [
        (2.0, 1e-3, None, "positive"),
        (0.5, 0.0, [1.0, 2.0, 0.5, 3.0], "exact"),
        (5.0, 1e-3, None, "exact"),
        (0.0, 0.0, None, "positive"),
    ],
)
def test_multiclass_per_object_route_is_pinned_to_the_loss(gamma, epsilon, alpha, hessian):
    # The per-object route recomputes the softmax primitives with plain floats: it must agree with
    # MulticlassFocalLoss (the array route), logits dominating by hundreds included.
    rng = np.random.default_rng(3)
    loss = MulticlassFocalLoss(gamma=gamma, epsilon=epsilon, alpha=alpha, hessian=hessian)
    obj = focal_objective(n_classes=4, gamma=gamma, epsilon=epsilon, alpha=alpha, hessian=hessian)
    for scale in (1.0, 10.0, 100.0, 800.0):
        z = rng.normal(scale=scale, size=(40, 4))
        y = rng.integers(0, 4, 40)
        w = rng.uniform(0.5, 2.0, 40)
        g, h = loss.gradient_hessian(y, z, w)
        for i in range(40):
            d1, d2 = obj.calc_ders_multi(list(z[i]), float(y[i]), w[i])
            assert np.all(np.isfinite(d1)) and np.all(np.isfinite(d2))
            np.testing.assert_allclose(d1, -g[i], rtol=1e-12, atol=1e-300)
            np.testing.assert_allclose(np.diag(d2), -h[i], rtol=1e-12, atol=1e-300)
            assert np.count_nonzero(np.asarray(d2) - np.diag(np.diag(d2))) == 0


def test_estimator_refuses_pools_and_loss_function():
    X, y = _binary(200)
    with pytest.raises(TypeError, match="Pool"):
        FocalCatBoostClassifier(iterations=2, verbose=False).fit(Pool(X, y))
    with pytest.raises(ValueError, match="loss_function"):
        FocalCatBoostClassifier(iterations=2, verbose=False, loss_function="Logloss").fit(X, y)
    with pytest.raises(ValueError, match="auto_class_weights"):
        FocalCatBoostClassifier(iterations=2, verbose=False, auto_class_weights="Balanced").fit(X, y)


def test_cat_features_and_prediction_types():
    pd = pytest.importorskip("pandas")
    X, y = _binary(400)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    df["colour"] = np.where(X[:, 0] > 0, "red", "blue")
    est = FocalCatBoostClassifier(iterations=10, learning_rate=0.3, verbose=False, thread_count=1)
    est.fit(df, np.where(y == 1, "yes", "no"), cat_features=["colour"])
    proba = est.predict(df, prediction_type="Probability")
    np.testing.assert_allclose(proba, est.predict_proba(df), rtol=0)
    np.testing.assert_allclose(est.predict(df, prediction_type="LogProbability"), np.log(proba), rtol=1e-12)
    raw = est.predict(df, prediction_type="RawFormulaVal")
    np.testing.assert_allclose(est.decision_function(df), np.log(proba[:, 1]) - np.log(proba[:, 0]), rtol=1e-9)
    np.testing.assert_allclose(est.set_params(focal_proba="link").decision_function(df), raw, rtol=0)
    assert set(est.predict(df)) <= {"yes", "no"}
    with pytest.raises(ValueError, match="prediction_type"):
        est.predict(df, prediction_type="Exponent")
