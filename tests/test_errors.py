"""Input that cannot do what the caller means is refused, before any training, with an error that
names the parameter or the problem; and a few parameters that earlier versions dropped or
misapplied now do what they say. Each group says what the code did before."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_classification

pytest.importorskip("lightgbm")
pytest.importorskip("xgboost")
pytest.importorskip("catboost")

import lightgbm as lgb  # noqa: E402
import xgboost as xgb  # noqa: E402
from catboost import CatBoost, CatBoostClassifier, Pool  # noqa: E402

from focalboost.catboost import FocalCatBoostClassifier  # noqa: E402
from focalboost.lightgbm import FocalLGBMClassifier  # noqa: E402
from focalboost.xgboost import FocalXGBClassifier  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LIBS = ("lightgbm", "xgboost", "catboost")


def _data(n: int = 200, n_classes: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    score = X[:, 0] + 0.5 * rng.normal(size=n)
    y = (score > 0.5).astype(int) if n_classes == 2 else np.digitize(score, [-0.5, 0.5])
    return X, y


def _make(lib: str, **params: Any) -> Any:
    """A small single-machine estimator of ``lib``."""
    if lib == "lightgbm":
        return FocalLGBMClassifier(n_estimators=3, num_leaves=4, n_jobs=1, verbose=-1, **params)
    if lib == "xgboost":
        return FocalXGBClassifier(n_estimators=3, max_depth=2, n_jobs=1, **params)
    quiet = dict(verbose=False, allow_writing_files=False)
    return FocalCatBoostClassifier(iterations=3, depth=2, thread_count=1, **quiet, **params)


def _make_dask(kind: str, client: Any, **params: Any) -> Any:
    from focalboost.dask import FocalDaskLGBMClassifier, FocalDaskXGBClassifier

    if kind == "lightgbm":
        return FocalDaskLGBMClassifier(client=client, n_estimators=3, num_leaves=4, verbose=-1, **params)
    model = FocalDaskXGBClassifier(n_estimators=3, max_depth=2, **params)
    model.client = client
    return model


def _within(seconds: float, fn: Any) -> Any:
    """``fn()``, failing the test if it has not returned within ``seconds`` (a hung distributed fit
    must fail, not block the run: the thread is a daemon, left behind)."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # handed back to the test's thread
            out["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"no answer within {seconds} s: the cluster hangs")
    if "error" in out:
        raise out["error"]
    return out["value"]


# -- unprefixed and misspelled focal parameters ---------------------------------------------------
# Before: LightGBM ignored gamma and epsilon (unknown parameters) and took alpha as its Huber /
# quantile parameter, which a classifier does not use; XGBoost read gamma as min_split_loss and
# alpha as reg_alpha, and ignored epsilon; focal_gama went the same way as an unknown parameter;
# CatBoost's constructor raised a bare "unexpected keyword argument 'gamma'" TypeError. All of them
# trained, or failed, without naming the focal parameter; the Dask estimators as their library's.
SHADOWED = [("gamma", "focal_gamma"), ("alpha", "focal_alpha"), ("epsilon", "focal_epsilon")]


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("name, focal", SHADOWED)
def test_unprefixed_focal_parameter_is_refused(lib, name, focal):
    X, y = _data()
    with pytest.raises(ValueError, match=rf"{name}=0\.5.*the focal loss's parameter is {focal}=0\.5"):
        _make(lib, **{name: 0.5}).fit(X, y)


@pytest.mark.parametrize("lib", LIBS)
def test_misspelled_focal_parameter_is_refused(lib):
    X, y = _data()
    with pytest.raises(TypeError, match="focal_gama=0.5: did you mean focal_gamma"):
        _make(lib, focal_gama=0.5).fit(X, y)


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("name, focal", [*SHADOWED, ("focal_gama", "focal_gamma")])
def test_dask_unprefixed_or_misspelled_focal_parameter_is_refused(client, kind, name, focal):
    import dask.array as da

    X, y = _data()
    exc, match = (TypeError, f"did you mean {focal}") if name.startswith("focal") else (ValueError, f"{focal}=0.5")
    with pytest.raises(exc, match=match):
        _within(60, lambda: _make_dask(kind, client, **{name: 0.5}).fit(da.from_array(X), da.from_array(y)))


# -- class weighting inside the libraries' own objectives ------------------------------------------
# Before: FocalLGBMClassifier(scale_pos_weight=10), (is_unbalance=True) and
# FocalXGBClassifier(scale_pos_weight=10) trained the very model of the defaults (probabilities
# equal to the last bit): only the built-in objectives read these parameters.
CLASS_WEIGHTING = [
    ("lightgbm", "scale_pos_weight", 10.0),
    ("lightgbm", "is_unbalance", True),
    ("xgboost", "scale_pos_weight", 10.0),
    ("catboost", "scale_pos_weight", 10.0),
]


@pytest.mark.parametrize("lib, name, value", CLASS_WEIGHTING)
def test_class_weighting_of_the_builtin_objectives_is_refused(lib, name, value):
    X, y = _data()
    with pytest.raises(ValueError, match=rf"{name}={value!r}.*focal_alpha or sample_weight"):
        _make(lib, **{name: value}).fit(X, y)


@pytest.mark.parametrize("kind, name, value", [c for c in CLASS_WEIGHTING if c[0] != "catboost"])
def test_dask_class_weighting_of_the_builtin_objectives_is_refused(client, kind, name, value):
    import dask.array as da

    X, y = _data()
    with pytest.raises(ValueError, match=rf"{name}={value!r}"):
        _within(60, lambda: _make_dask(kind, client, **{name: value}).fit(da.from_array(X), da.from_array(y)))


@pytest.mark.parametrize("lib", ["lightgbm", "xgboost"])
def test_class_weighting_left_at_its_default_is_accepted(lib):
    X, y = _data()
    _make(lib, scale_pos_weight=1.0).fit(X, y)


# -- objective -------------------------------------------------------------------------------------
# Before: FocalXGBClassifier(objective="binary:logistic") trained with the focal loss and ignored
# the objective without a word.
def test_xgboost_objective_is_refused():
    X, y = _data()
    with pytest.raises(ValueError, match="objective must be None, got 'binary:logistic'"):
        FocalXGBClassifier(objective="binary:logistic").fit(X, y)


# -- CatBoost: cat_features given to the constructor ----------------------------------------------
# Before: fit built its Pool from fit's cat_features only, so the constructor's were lost and
# CatBoost failed on the string column; and get_params deep-copied every parameter, so
# scikit-learn's clone refused the estimator (GridSearchCV, cross_val_score).
def _origin_frame(n: int = 300) -> tuple[Any, np.ndarray]:
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "origin": rng.choice(["us", "eu", "jp"], n)})
    y = ((df["a"] + (df["origin"] == "eu") + 0.5 * rng.normal(size=n)) > 0.8).astype(int).to_numpy()
    return df, y


CAT = dict(iterations=20, depth=3, learning_rate=0.2, random_seed=0, thread_count=1, verbose=False)


def test_catboost_constructor_cat_features_train_like_catboost():
    from sklearn.metrics import log_loss

    df, y = _origin_frame()
    ours = FocalCatBoostClassifier(
        cat_features=["origin"], focal_gamma=0.0, focal_alpha=None, focal_epsilon=0.0, allow_writing_files=False, **CAT
    ).fit(df, y)
    ref = CatBoostClassifier(
        cat_features=["origin"], loss_function="Logloss", boost_from_average=True, allow_writing_files=False, **CAT
    ).fit(df, y)
    # the same trees on the same categorical statistics; CatBoost's boost_from_average rounds its
    # start (about 3e-8 off the exact log-odds), which is all that differs
    np.testing.assert_allclose(ours.predict_proba(df), ref.predict_proba(df), rtol=0, atol=1e-7)
    assert log_loss(y, ours.predict_proba(df)) == pytest.approx(log_loss(y, ref.predict_proba(df)), rel=1e-8)


def test_catboost_constructor_cat_features_in_model_selection():
    from sklearn.model_selection import GridSearchCV, cross_val_score

    df, y = _origin_frame()
    est = FocalCatBoostClassifier(cat_features=["origin"], allow_writing_files=False, **CAT)
    scores = cross_val_score(est, df, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.7
    search = GridSearchCV(est, {"focal_gamma": [0.5, 2.0]}, cv=2).fit(df, y)
    assert search.best_estimator_.get_params()["cat_features"] == ["origin"]
    assert search.best_score_ > 0.7


# -- XGBoost early stopping on the caller's eval_metric ------------------------------------------
# Before: the focal metric was evaluated after the caller's and, last, drove early stopping, so
# eval_metric="aucpr" was reported but did not choose the iteration.
def test_xgboost_early_stopping_follows_the_callers_eval_metric():
    X, y = make_classification(1500, 8, n_informative=5, weights=[0.9], flip_y=0.05, random_state=0)
    fit = dict(eval_set=[(X[1000:], y[1000:])], verbose=False)
    kw = dict(n_estimators=300, max_depth=4, learning_rate=0.3, n_jobs=1, random_state=0)
    kw.update(eval_metric="aucpr", early_stopping_rounds=10)
    # gamma 0, no alpha, no epsilon: XGBoost's log-loss from the same start, so the same trees,
    # the same aucpr curve and the same best iteration as XGBClassifier's
    ours = FocalXGBClassifier(focal_gamma=0.0, focal_alpha=None, focal_epsilon=0.0, **kw).fit(X[:1000], y[:1000], **fit)
    ref = xgb.XGBClassifier(base_score=y[:1000].mean(), **kw).fit(X[:1000], y[:1000], **fit)
    assert list(ours.evals_result()["validation_0"]) == ["aucpr"]
    assert ours.best_iteration == ref.best_iteration
    # ... and predicts with it, as XGBClassifier does
    np.testing.assert_allclose(ours.predict_proba(X[1000:]), ref.predict_proba(X[1000:]), rtol=0, atol=1e-6)
    # With the focal loss, the iteration of largest aucpr (the first one, as XGBoost keeps it).
    focal = FocalXGBClassifier(**kw).fit(X[:1000], y[:1000], **fit)
    curve = focal.evals_result()["validation_0"]["aucpr"]
    assert focal.best_iteration == int(np.argmax(curve)) and len(curve) == focal.best_iteration + 11


# -- CatBoost: gamma 0 is CatBoost's Logloss, leaf estimation included -------------------------------
# Before: CatBoost gave the Python objective 1 Newton step per leaf where its Logloss takes 10
# (runs of at least 200 iterations, or on at least 20 features), so gamma=0 trained another model.
@pytest.mark.parametrize("n_features", [25, 5], ids=["10 Newton steps", "1 Newton step"])
def test_catboost_gamma_zero_trains_like_logloss(n_features):
    from sklearn.metrics import log_loss

    X, y = make_classification(400, n_features, n_informative=3, random_state=0)
    kw = dict(iterations=60, depth=4, learning_rate=0.1, random_seed=0, thread_count=1, verbose=False)
    kw.update(allow_writing_files=False)
    ours = FocalCatBoostClassifier(focal_gamma=0.0, focal_alpha=None, focal_epsilon=0.0, **kw).fit(X, y)
    ref = CatBoostClassifier(loss_function="Logloss", boost_from_average=True, **kw).fit(X, y)
    steps = ref.get_all_params()["leaf_estimation_iterations"]
    assert steps == (10 if n_features >= 20 else 1)
    assert ours.get_all_params()["leaf_estimation_iterations"] == steps
    assert log_loss(y, ours.predict_proba(X)) == pytest.approx(log_loss(y, ref.predict_proba(X)), rel=1e-9)


# -- lengths ---------------------------------------------------------------------------------------
# Before: X and y of different lengths failed in scikit-learn's check ("Found input variables with
# inconsistent numbers of samples: [200, 150]", LightGBM) or inside XGBoost's DMatrix (an
# XGBoostError, "Invalid size for `label`"), naming neither; CatBoost already said "X has 200
# samples but y has 150". A sample_weight of the wrong length failed in the init score under the
# headline "a class has zero total sample weight", which is not the problem.
@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("n_x, n_y", [(200, 150), (150, 200)])
def test_x_and_y_of_different_lengths(lib, n_x, n_y):
    X, y = _data(max(n_x, n_y))
    with pytest.raises(ValueError, match=rf"X has {n_x} samples but y has {n_y}"):
        _make(lib).fit(X[:n_x], y[:n_y])


@pytest.mark.parametrize("n_w", [150, 250])
def test_xgboost_sample_weight_of_the_wrong_length(n_w):
    X, y = _data()
    with pytest.raises(ValueError, match=rf"sample_weight has {n_w} entries but y has 200 samples") as info:
        _make("xgboost").fit(X, y, sample_weight=np.ones(n_w))
    assert "zero total sample weight" not in str(info.value)


# -- three classes given to a binary objective --------------------------------------------------
# Before: "y_true must hold values in [0, 1] and no NaN, got 2.0", no word of the multiclass loss.
HINT = r"got 2\.0; labels above 1 look like class indices.*focal_objective\(n_classes=K\)"


def test_binary_objectives_given_three_classes_hint_at_the_multiclass_loss():
    import focalboost.catboost as fcb
    import focalboost.lightgbm as flgb
    import focalboost.xgboost as fxgb

    X, y = _data(n_classes=3)
    y = y.astype(float)
    assert set(np.unique(y)) == {0.0, 1.0, 2.0}
    with pytest.raises(ValueError, match=HINT):
        flgb.apply_init_score(lgb.Dataset(X, y), objective=flgb.focal_objective())
    with pytest.raises(ValueError, match=HINT):
        lgb.train({"objective": flgb.focal_objective(), "verbose": -1, "num_threads": 1}, lgb.Dataset(X, y), 2)
    with pytest.raises(ValueError, match=HINT):
        fxgb.apply_init_score(xgb.DMatrix(X, y), objective=fxgb.focal_objective())
    with pytest.raises(ValueError, match=HINT):
        xgb.train({"nthread": 1}, xgb.DMatrix(X, y), 2, obj=fxgb.focal_objective())
    with pytest.raises(ValueError, match=HINT):
        fcb.apply_init_score(Pool(X, y), objective=fcb.focal_objective())
    # CatBoost wraps an objective's exception in its own CatBoostError: the objective, called as it would
    with pytest.raises(ValueError, match=HINT):
        fcb.focal_objective().calc_ders_range(np.zeros(len(y)), y, None)


# -- a missing library ---------------------------------------------------------------------------
# Before: the bare ModuleNotFoundError / ImportError of the missing library, no word of the extra.
_IMPORT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    sys.modules[sys.argv[3]] = None  # the library is not installed
    try:
        __import__(sys.argv[2])
    except ImportError as exc:
        print(f"{type(exc).__name__}: {exc}")
    else:
        print("imported")
    """
)


@pytest.mark.parametrize(
    "module, missing, extra",
    [
        ("focalboost.lightgbm", "lightgbm", "lightgbm"),
        ("focalboost.xgboost", "xgboost", "xgboost"),
        ("focalboost.catboost", "catboost", "catboost"),
        ("focalboost.dask", "dask", "dask"),
        ("focalboost.dask", "distributed", "dask"),
        ("focalboost.dask", "lightgbm", "dask"),
        ("focalboost.torch", "torch", "torch"),
    ],
)
def test_missing_library_names_the_extra(module, missing, extra):
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT, str(ROOT), module, missing],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.strip()
    assert out.startswith("ImportError: ") and f"pip install 'focalboost[{extra}]'" in out, out
    assert missing in out  # and which library is missing


# -- native objectives and metrics given what no label or score can be --------------------------
# LightGBM itself turns NaN labels and weights into 0 when it constructs a Dataset, so lgb.train
# never hands them to an objective: the checks that matter are on the Dataset as the caller built
# it (apply_init_score reads it before construction; the objective and metric, called on it, too).
# Before: the same errors, except the multiclass apply_init_score on a NaN label: "cannot convert
# float NaN to integer", naming neither the labels nor the problem.
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("bad", ["label", "weight"])
def test_lightgbm_native_route_refuses_nan_labels_and_weights(n_classes, bad):
    import focalboost.lightgbm as flgb

    X, y = _data(n_classes=n_classes)
    y, w = y.astype(float), np.ones(len(y))
    (y if bad == "label" else w)[3] = np.nan
    if n_classes == 2:
        objective, metric, preds = flgb.focal_objective(), flgb.focal_metric(), np.zeros(len(y))
    else:
        objective, metric = flgb.focal_objective(n_classes=n_classes), flgb.focal_metric(n_classes=n_classes)
        preds = np.zeros((len(y), n_classes))
    match = r"y_true must hold .*got nan" if bad == "label" else r"sample_weight must be finite and >= 0, got nan"
    with pytest.raises(ValueError, match=match):
        flgb.apply_init_score(lgb.Dataset(X, y, weight=w), objective=objective)
    with pytest.raises(ValueError, match=match):
        objective(preds, lgb.Dataset(X, y, weight=w))
    with pytest.raises(ValueError, match=match):
        metric(preds, lgb.Dataset(X, y, weight=w))


# Before: CatBoost's multiclass objective took any target and score: a negative or fractional
# class label gave derivatives as if it were a class, a NaN or infinite score NaN derivatives, a
# label past the last class an IndexError.
@pytest.mark.parametrize(
    "approx, target, match",
    [
        ([0.0, 0.0, 0.0], -1.0, r"target must be a class index in \[0, 3\), got -1\.0"),
        ([0.0, 0.0, 0.0], 1.5, r"target must be a class index in \[0, 3\), got 1\.5"),
        ([0.0, 0.0, 0.0], 3.0, r"target must be a class index in \[0, 3\), got 3\.0"),
        ([0.0, math.nan, 0.0], 1.0, "approx must be finite"),
        ([0.0, math.inf, 0.0], 1.0, "approx must be finite"),
        ([0.0, -math.inf, 0.0], 1.0, "approx must be finite"),
    ],
)
def test_catboost_multiclass_objective_refuses_bad_targets_and_scores(approx, target, match):
    from focalboost.catboost import focal_objective

    with pytest.raises(ValueError, match=match):
        focal_objective(n_classes=3, alpha=None).calc_ders_multi(approx, target, 1.0)


# -- class weights of 0, bad sample weights --------------------------------------------------------
# Before: focal_alpha 0 or 1 (or a per-class 0) failed in the init score under the headline "a
# class has zero total sample weight", then "y_true has no positive weight" or "alpha_c * sum of
# its sample weights = 0": the sample weights blamed, focal_alpha not named. A negative or NaN
# sample_weight failed there too, under the same wrong headline.
@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("alpha, n_classes", [(0.0, 2), (1.0, 2), ([1.0, 0.0, 1.0], 3)])
def test_class_weight_zero_is_refused_naming_focal_alpha(lib, alpha, n_classes):
    X, y = _data(n_classes=n_classes)
    with pytest.raises(ValueError, match=r"^focal_alpha must .*(in \(0, 1\)|give every class a weight > 0)") as info:
        _make(lib, focal_alpha=alpha).fit(X, y)
    assert "zero total sample weight" not in str(info.value)


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("bad", [-1.0, math.nan])
def test_negative_or_nan_sample_weight_is_refused(lib, bad):
    X, y = _data()
    w = np.ones(len(y))
    w[5] = bad
    with pytest.raises(ValueError, match=rf"sample_weight must be finite and >= 0, got {bad!r}") as info:
        _make(lib).fit(X, y, sample_weight=w)
    assert "zero total sample weight" not in str(info.value)


# -- Dask: bad input fails before training, and the cluster stays usable --------------------------
# Before: LightGBM: the input reached the workers, whose failure inside distributed training left
# them waiting for each other (the fit, and every later fit on the cluster, hung; a negative weight
# was refused by the init score but the next fit hung all the same); XGBoost: XGBoostErrors from
# inside training ("Invalid size for label", a base_margin shape check), an AssertionError for a
# NaN label, and a continuous y trained as if each value were a class.
def _bad_inputs() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None, Any, str]]:
    X, y = _data(400)
    w = np.ones(400)
    w[5] = -1.0
    y_nan = y.astype(float)
    y_nan[7] = np.nan
    rows = r"X and y are partitioned differently: partition \d has 200 rows of X and \d+ labels"
    return {
        "negative weight": (X, y, w, 200, r"sample_weight must be finite and >= 0, got -1\.0"),
        "y shorter than X": (X, y[:300], None, 150, rows),
        "y one row short": (X, y[:399], None, 200, rows),
        "2-D y": (X, np.column_stack([y, y]), None, (200, 2), r"y must be 1-D .*2 dimensions"),
        "NaN in y": (X, y_nan, None, 200, r"y holds NaN"),
        "continuous y": (X, X[:, 1], None, 200, r"Unknown label type: 'continuous'"),
        "chunked unlike X": (X, y, None, (100, 300), rows),
    }


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("case", list(_bad_inputs()))
def test_dask_bad_input_fails_before_training_and_the_next_fit_works(client, monkeypatch, kind, case):
    import dask.array as da
    import lightgbm.dask
    import xgboost.dask

    X, y, w, y_chunks, match = _bad_inputs()[case]
    dX = da.from_array(X, chunks=200)
    dy = da.from_array(y, chunks=y_chunks)
    dw = None if w is None else da.from_array(w, chunks=200)

    def training(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("training started on input that should have been refused")

    with monkeypatch.context() as patched:
        patched.setattr(lightgbm.dask, "_train", training)
        patched.setattr(xgboost.dask.DaskXGBClassifier, "fit", training)
        with pytest.raises(ValueError, match=match):
            _within(60, lambda: _make_dask(kind, client).fit(dX, dy, sample_weight=dw))
    # the next valid fit on the same cluster trains and predicts
    X_ok, y_ok = _data(400)
    dX_ok = da.from_array(X_ok, chunks=200)

    def fit_and_predict() -> np.ndarray:
        model = _make_dask(kind, client).fit(dX_ok, da.from_array(y_ok, chunks=200))
        return model.predict_proba(dX_ok).compute()

    proba = _within(60, fit_and_predict)
    assert proba.shape == (400, 2) and np.all(np.isfinite(proba))


# -- CatBoost's metric and multiclass objective -------------------------------------------------
# Before: the focal metric divided by the total weight (ZeroDivisionError when every weight of an
# evaluation set is 0); the multiclass objective read a per-class alpha of the wrong length as far
# as it went: no error, or an IndexError for a sample of a class past its end.
@pytest.mark.parametrize("n_classes", [2, 3])
def test_catboost_metric_with_all_zero_weights_is_nan(n_classes):
    from focalboost.catboost import focal_metric

    metric = focal_metric(n_classes=n_classes)
    y = np.arange(6.0) % n_classes
    error, weight = metric.evaluate([np.zeros(6)] * (1 if n_classes == 2 else n_classes), y, np.zeros(6))
    assert math.isnan(metric.get_final_error(error, weight))


def test_catboost_multiclass_objective_refuses_alpha_of_the_wrong_length():
    from focalboost import MulticlassFocalLoss
    from focalboost.catboost import MulticlassFocalObjective, focal_objective

    objective = focal_objective(n_classes=3, alpha=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"alpha has 3 class weights but there are 4 classes"):
        objective.calc_ders_multi([0.0, 0.0, 0.0, 0.0], 1.0, 1.0)
    with pytest.raises(ValueError, match=r"alpha has 3 class weights but there are 2 classes"):
        objective.calc_ders_multi([0.0, 0.0], 1.0, 1.0)
    # in training, CatBoost hands it on inside its own CatBoostError
    from catboost import CatBoostError

    from focalboost.catboost import focal_metric

    X, y = _data(n_classes=3)
    wrong = MulticlassFocalObjective(MulticlassFocalLoss(alpha=[1.0, 2.0]))
    params = {"loss_function": wrong, "eval_metric": focal_metric(n_classes=3, alpha=None)}
    params.update(classes_count=3, iterations=2, verbose=False, allow_writing_files=False, thread_count=1)
    with pytest.raises(CatBoostError, match="alpha has 2 class weights but there are 3 classes"):
        CatBoost(params).fit(Pool(X, y))
