"""Shared behaviour of the focal scikit-learn estimators: scikit-learn's estimator checks, label
spaces, init score, probabilities, early stopping, model selection, persistence, stability.

Library-specific parity with the built-in objectives lives in test_lightgbm.py, test_xgboost.py
and test_catboost.py.
"""

from __future__ import annotations

import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

from focalboost import FocalLoss, MulticlassFocalLoss

lgb = pytest.importorskip("lightgbm")
xgb = pytest.importorskip("xgboost")

from focalboost.lightgbm import FocalLGBMClassifier  # noqa: E402
from focalboost.xgboost import FocalXGBClassifier  # noqa: E402

try:
    from focalboost.catboost import FocalCatBoostClassifier
except ImportError:  # catboost not installed
    FocalCatBoostClassifier = None


def _lgbm(**kw):
    base = dict(n_estimators=20, n_jobs=1, verbose=-1, random_state=0)
    return FocalLGBMClassifier(**{**base, **kw})


def _xgb(**kw):
    base = dict(n_estimators=20, n_jobs=1, random_state=0, max_depth=3)
    return FocalXGBClassifier(**{**base, **kw})


def _cat(**kw):
    # CatBoost uses learning_rate=0.03 for Python objectives instead of its automatic choice
    base = dict(iterations=20, learning_rate=0.3, thread_count=1, random_seed=0, verbose=False, depth=3)
    return FocalCatBoostClassifier(**{**base, **kw})


FACTORIES = {"lightgbm": _lgbm, "xgboost": _xgb}
if FocalCatBoostClassifier is not None:
    FACTORIES["catboost"] = _cat


@pytest.fixture(params=sorted(FACTORIES))
def make(request):
    return FACTORIES[request.param]


def _data(n=600, weights=(0.9,), n_classes=2, seed=0):
    return make_classification(
        n,
        6,
        n_informative=4,
        n_redundant=0,
        n_classes=n_classes,
        weights=list(weights),
        flip_y=0.02,
        random_state=seed,
    )


# -- scikit-learn's estimator checks ----------------------------------------------------------------
# LightGBM trains a custom objective only when some feature is usable; the checks' data sets are
# tiny (10-30 rows), so the instance allows leaves and bins of one or two rows.
_LGBM_CHECKED = FocalLGBMClassifier(n_estimators=5, n_jobs=1, verbose=-1, min_child_samples=2, min_data_in_bin=1)
_LGBM_EXPECTED = {
    "check_no_attributes_set_in_init": (
        "LightGBM's own: LGBMModel.__init__ stores **kwargs (here min_data_in_bin, verbose) as attributes; "
        "LGBMClassifier with the same arguments fails it too"
    ),
    "check_sample_weight_equivalence_on_dense_data": (
        "LightGBM's own: bins and min_child_samples count rows, not weights, so weight 2 is not two rows; "
        "LGBMClassifier fails it too"
    ),
    "check_sample_weight_equivalence_on_sparse_data": "as check_sample_weight_equivalence_on_dense_data",
}
_CHECKED = [_LGBM_CHECKED, FocalXGBClassifier(n_estimators=5, n_jobs=1)]
_EXPECTED = {"FocalLGBMClassifier": _LGBM_EXPECTED, "FocalXGBClassifier": {}}
# scikit-learn checks that FocalCatBoostClassifier fails, and why.
_CAT_EXPECTED: dict[str, str] = {
    "check_do_not_raise_errors_in_init_or_set_params": (
        "the check passes the name of the **params catch-all ('params') as a parameter; CatBoostClassifier's "
        "__init__ (which receives **params) accepts its named parameters only"
    ),
    "check_sample_weight_equivalence_on_dense_data": (
        "CatBoost's own: feature borders and its ordered statistics count rows, so weight 2 is not two rows "
        "(CatBoostClassifier with Logloss differs by up to 0.19 in probability on such data, measured)"
    ),
    "check_sample_weight_equivalence_on_sparse_data": "as check_sample_weight_equivalence_on_dense_data",
    "check_dtype_object": (
        "CatBoost's own: object columns must be declared as cat_features; CatBoostClassifier fails it"
    ),
    "check_n_features_in": (
        "CatBoost's own: n_features_in_ is a property of the model that exists (as None) before fit; "
        "CatBoostClassifier fails it"
    ),
}

if FocalCatBoostClassifier is not None:
    _CHECKED.append(FocalCatBoostClassifier(iterations=5, learning_rate=0.5, thread_count=1, verbose=False))
    _EXPECTED["FocalCatBoostClassifier"] = _CAT_EXPECTED


@parametrize_with_checks(_CHECKED, expected_failed_checks=lambda est: _EXPECTED[type(est).__name__])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


# -- labels, probabilities, init score ------------------------------------------------------------------
@pytest.mark.parametrize("labels", [("no", "yes"), (-1, 1), (2, 7), (False, True)])
def test_label_spaces(make, labels):
    X, y = _data(300)
    y_user = np.asarray(labels, dtype=object if isinstance(labels[0], str) else None)[y]
    est = make().fit(X, y_user)
    assert list(est.classes_) == sorted(labels)
    pred = est.predict(X)
    assert set(np.unique(pred)) <= set(labels)
    proba = est.predict_proba(X)
    assert proba.shape == (300, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all((proba > 0) & (proba < 1))
    np.testing.assert_array_equal(pred, est.classes_[np.argmax(proba, axis=1)])
    # decision_function is the log-odds of predict_proba, its sign the prediction
    decision = est.decision_function(X)
    np.testing.assert_allclose(decision, np.log(proba[:, 1] / proba[:, 0]), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(pred, est.classes_[(decision > 0).astype(int)])
    # with focal_proba="link" decision_function is the raw margin (the init score included) and
    # predict_proba its sigmoid; the default predict_proba is the focal posterior of that margin
    est.set_params(focal_proba="link")
    margin = est.decision_function(X)
    np.testing.assert_allclose(est.predict_proba(X)[:, 1], 1.0 / (1.0 + np.exp(-margin)), rtol=1e-12)
    np.testing.assert_allclose(proba, FocalLoss(gamma=2.0, alpha=0.25).predict_proba(margin), rtol=1e-12)
    assert set(np.unique(est.predict(X))) <= set(labels)


def test_init_score_is_the_loss_minimizer(make):
    X, y = _data(500)
    w = np.random.default_rng(1).uniform(0.5, 2.0, size=y.shape)
    est = make(focal_gamma=2.0, focal_alpha=0.25).fit(X, y, sample_weight=w)
    # a brute-force minimizer of the weighted mean loss over constants, independent of init_score
    grid = np.linspace(-6, 6, 24001)
    loss = FocalLoss(gamma=2.0, alpha=0.25)
    # the loss is linear in y: sum_i w_i L(c, y_i) = S1 L(c, 1) + S0 L(c, 0)
    s1, s0 = np.sum(w * y), np.sum(w * (1 - y))
    values = s1 * loss.loss(np.ones_like(grid), grid) + s0 * loss.loss(np.zeros_like(grid), grid)
    assert abs(est.init_score_ - grid[int(np.argmin(values))]) < 1e-3
    assert est.focal_loss_ == loss


def test_multiclass(make):
    X, y = _data(800, weights=(0.6, 0.25, 0.1), n_classes=4)
    names = np.array(["ant", "bee", "cat", "dog"])
    est = make(focal_alpha=[1.0, 1.0, 2.0, 2.0]).fit(X, names[y])
    assert list(est.classes_) == list(names)
    proba = est.predict_proba(X)
    assert proba.shape == (800, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert isinstance(est.focal_loss_, MulticlassFocalLoss)
    assert np.asarray(est.init_score_).shape == (4,)
    np.testing.assert_array_equal(est.predict(X), names[np.argmax(proba, axis=1)])
    assert np.mean(est.predict(X) == names[y]) > 0.7


def test_multiclass_alpha_length_is_checked(make):
    X, y = _data(300, weights=(0.5, 0.3), n_classes=3)
    with pytest.raises(ValueError, match="focal_alpha"):
        make(focal_alpha=[0.5, 0.5]).fit(X, y)


@pytest.mark.parametrize(
    "param, value, exc",
    [
        ("focal_gamma", -1.0, ValueError),
        ("focal_alpha", 1.5, ValueError),
        ("focal_epsilon", "x", TypeError),
        ("focal_hessian", "diag", ValueError),
    ],
)
def test_bad_focal_parameters(make, param, value, exc):
    X, y = _data(200)
    with pytest.raises(exc, match=param):
        make(**{param: value}).fit(X, y)


def test_focal_parameters_never_reach_the_booster(make):
    X, y = _data(300)
    est = make(focal_gamma=0.0, focal_alpha=None, focal_epsilon=0.0).fit(X, y)
    params = est.get_params()
    assert params["focal_gamma"] == 0.0 and params["focal_alpha"] is None
    # XGBoost would read a forwarded "gamma"/"alpha" as min_split_loss/reg_alpha
    if isinstance(est, FocalXGBClassifier):
        assert not set(est.get_xgb_params()) & {"focal_gamma", "focal_alpha", "focal_epsilon", "focal_hessian"}


def test_zero_weight_class_is_a_clear_error(make):
    X, y = _data(200)
    w = np.where(y == 1, 0.0, 1.0)
    with pytest.raises(ValueError, match="class"):
        make().fit(X, y, sample_weight=w)


# -- eval sets, early stopping -------------------------------------------------------------------------
def _fit_with_eval(est, X, y, Xv, yv, rounds):
    if isinstance(est, FocalLGBMClassifier):
        return est.fit(X, y, eval_set=[(Xv, yv)], callbacks=[lgb.early_stopping(rounds, verbose=False)])
    if isinstance(est, FocalXGBClassifier):
        return est.set_params(early_stopping_rounds=rounds).fit(X, y, eval_set=[(Xv, yv)], verbose=False)
    return est.set_params(early_stopping_rounds=rounds).fit(X, y, eval_set=(Xv, yv))


def _valid_curve(est):
    """The focal metric on the (one) eval set, per round: named "focal_loss" in every library."""
    if isinstance(est, (FocalLGBMClassifier, FocalXGBClassifier)):
        (result,) = est.evals_result_.values()
    else:
        result = est.get_evals_result()
        result = result["validation" if "validation" in result else "learn"]
    return np.asarray(result["focal_loss"])


def test_early_stopping_on_the_focal_metric(make):
    X, y = _data(1200, seed=3)
    rng = np.random.default_rng(0)
    yv = np.where(rng.random(400) < 0.3, 1 - y[:400], y[:400])  # noisy validation labels: overfitting shows
    est = _fit_with_eval(
        make(n_estimators=300, learning_rate=0.3) if not _is_cat(make) else make(iterations=300, learning_rate=0.3),
        X[400:],
        y[400:],
        X[:400],
        yv,
        5,
    )
    curve = _valid_curve(est)
    assert np.all(np.isfinite(curve))
    assert len(curve) < 300  # it stopped
    # The valid curve is the focal loss of the eval set with its init score: the first value is the
    # loss of (init score + first tree), close to the constant's loss.
    loss = FocalLoss()
    const = float(np.mean(loss.loss(yv.astype(float), np.full(400, est.init_score_))))
    assert abs(curve[0] - const) < 0.05 * const


def _is_cat(make):
    return make is FACTORIES.get("catboost")


# -- model selection and persistence -------------------------------------------------------------------
def test_clone_get_set_params(make):
    est = make(focal_gamma=1.5, focal_alpha=None)
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    twin.set_params(focal_gamma=3.0, focal_epsilon=0.0)
    assert twin.get_params()["focal_gamma"] == 3.0 and est.get_params()["focal_gamma"] == 1.5


def test_grid_search_over_focal_parameters(make):
    X, y = _data(300)
    grid = GridSearchCV(
        make(), {"focal_gamma": [0.0, 2.0], "focal_alpha": [None, 0.25]}, cv=2, scoring="average_precision"
    )
    grid.fit(X, y)
    assert set(grid.best_params_) == {"focal_gamma", "focal_alpha"}
    assert len(grid.cv_results_["params"]) == 4


def test_pickle_and_joblib(make):
    X, y = _data(300)
    est = make().fit(X, np.array(["a", "b"])[y])
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
    buf = io.BytesIO()
    joblib.dump(est, buf)
    buf.seek(0)
    np.testing.assert_array_equal(joblib.load(buf).predict(X), est.predict(X))


def test_pandas_input(make):
    pd = pytest.importorskip("pandas")
    X, y = _data(300)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    ys = pd.Series(np.where(y == 1, "pos", "neg"))
    est = make().fit(df, ys)
    proba = est.predict_proba(df)
    np.testing.assert_allclose(proba, est.predict_proba(X), rtol=1e-12)
    assert set(est.predict(df)) <= {"pos", "neg"}


# -- stability with a negative exact Hessian -----------------------------------------------------------
def _fit_with_offset(est, X, y, offset):
    """Fit with a per-row raw-score offset (a warm start), evaluating on the training set."""
    if isinstance(est, FocalLGBMClassifier):
        return est.fit(X, y, init_score=offset, eval_set=[(X, y)], eval_init_score=[offset])
    if isinstance(est, FocalXGBClassifier):
        return est.fit(X, y, base_margin=offset, eval_set=[(X, y)], base_margin_eval_set=[offset], verbose=False)
    return est.fit(X, y, baseline=offset)  # CatBoost evaluates eval_metric on the training data too


@pytest.mark.parametrize("gamma", [0.5, 2.0, 5.0])
def test_training_stays_stable_on_badly_misclassified_points(make, gamma):
    # A warm start from a confidently wrong model: a tenth of the positives start at a raw score
    # 8 below the init score (p ~ 1e-4), deep in the region where the exact Hessian is negative.
    X, y = _data(800, weights=(0.9,), seed=5)
    wrong = (y == 1) & (np.arange(y.size) % 10 == 0)
    offset = np.where(wrong, -8.0, 0.0)
    rounds = {"iterations": 40} if _is_cat(make) else {"n_estimators": 40}
    est = _fit_with_offset(make(focal_gamma=gamma, focal_epsilon=0.0, **rounds), X, y, offset)
    start = est.init_score_ + offset
    _, h_exact = FocalLoss(gamma=gamma, epsilon=0.0, hessian="exact").gradient_hessian(y.astype(float), start)
    assert np.all(h_exact[wrong] < 0)
    curve = _valid_curve(est)
    assert np.all(np.isfinite(curve)) and np.all(np.isfinite(est.decision_function(X)))
    # the training loss decreases (up to float noise) at every round, and clearly overall
    # (CatBoost's symmetric depth-3 trees at gamma=5 go slowest: about -16% in 40 rounds)
    assert np.all(np.diff(curve) <= 1e-9 * curve[:-1])
    assert curve[-1] < 0.9 * curve[0]
