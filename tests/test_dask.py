"""The Dask estimators on a 2-worker LocalCluster (processes, loopback): accuracy against the
single-machine models, the global init score, Dask in and out, errors, and the GPU objective."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("distributed")
pytest.importorskip("lightgbm")
pytest.importorskip("xgboost")

import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from focalboost import FocalLoss, MulticlassFocalLoss  # noqa: E402
from focalboost.dask import FocalDaskLGBMClassifier, FocalDaskXGBClassifier  # noqa: E402
from focalboost.dask import _global_classes as global_classes  # noqa: E402
from focalboost.xgboost._native import _cuda_derivatives as torch_derivatives  # noqa: E402
from focalboost.xgboost._native import _SklearnObjective as XGBObjective  # noqa: E402

N_ROUNDS = 30
LGBM_KW = {"n_estimators": N_ROUNDS, "num_leaves": 15, "verbose": -1, "random_state": 0}
XGB_KW = {"n_estimators": N_ROUNDS, "max_depth": 4, "tree_method": "hist", "random_state": 0}


def _data(n_classes: int, n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Imbalanced data: the label is a noisy threshold of a linear score (classes ~70/15/10/5 %)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    score = X[:, 0] + 0.5 * X[:, 1] - 0.3 * X[:, 2] + 0.7 * rng.normal(size=n)
    cuts = [1.3] if n_classes == 2 else list(np.quantile(score, [0.7, 0.85, 0.95][: n_classes - 1]))
    return X, np.digitize(score, cuts)


def _auc(y: np.ndarray, proba: np.ndarray) -> float:
    if proba.shape[1] == 2:
        return float(roc_auc_score(y, proba[:, 1]))
    return float(roc_auc_score(y, proba, multi_class="ovr"))


def _single_machine(kind: str, X: np.ndarray, y: np.ndarray, **focal):
    """focalboost's single-machine estimator with the same parameters."""
    if kind == "lgbm":
        lgbm = pytest.importorskip("focalboost.lightgbm")
        return lgbm.FocalLGBMClassifier(**focal, **LGBM_KW).fit(X, y)
    xgbm = pytest.importorskip("focalboost.xgboost")
    return xgbm.FocalXGBClassifier(**focal, **XGB_KW).fit(X, y)


def _dask_model(kind: str, client, **focal):
    if kind == "lgbm":
        return FocalDaskLGBMClassifier(client=client, **focal, **LGBM_KW)
    model = FocalDaskXGBClassifier(**focal, **XGB_KW)
    model.client = client
    return model


@pytest.mark.parametrize("kind", ["lgbm", "xgb"])
@pytest.mark.parametrize("n_classes", [2, 4])
def test_roc_auc_matches_the_single_machine_model(client, kind, n_classes):
    X, y = _data(n_classes)
    Xt, yt = _data(n_classes, n=2000, seed=1)
    focal = {"focal_gamma": 2.0, "focal_alpha": 0.25 if n_classes == 2 else None}
    single = _single_machine(kind, X, y, **focal)
    model = _dask_model(kind, client, **focal).fit(da.from_array(X, chunks=750), da.from_array(y, chunks=750))
    proba = model.predict_proba(da.from_array(Xt, chunks=500))
    assert isinstance(proba, da.Array)
    proba = proba.compute()
    assert proba.shape == (len(yt), n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    auc_dask, auc_single = _auc(yt, proba), _auc(yt, single.predict_proba(Xt))
    assert auc_single > 0.8
    assert abs(auc_dask - auc_single) <= 0.01, (auc_dask, auc_single)
    # The same global start as the single-machine model's, from the whole collection.
    np.testing.assert_allclose(model.init_score_, single.init_score_, rtol=1e-12, atol=1e-12)
    labels = model.predict(da.from_array(Xt, chunks=500)).compute()
    np.testing.assert_array_equal(labels, np.argmax(proba, axis=1))


@pytest.mark.parametrize("kind", ["lgbm", "xgb"])
def test_init_score_is_global_and_applied_on_every_worker(client, kind):
    """Rows sorted by class, so that each partition (and worker) holds one or two classes only.

    The init score must be the optimum over the whole collection (checked against
    MulticlassFocalLoss.init_score on all labels and weights), and each worker must start from it.
    The features carry no signal, so trees started at the optimum barely move the mean
    probability away from the optimal constant ``π`` (the summed gradient is 0 there); trees
    started at 0 move it by ~30 % (measured on one machine with the same settings).
    """
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2000, 6))
    y = np.sort(rng.choice(4, 2000, p=[0.7, 0.15, 0.1, 0.05]))
    w = rng.uniform(0.5, 2.0, len(y))
    loss = MulticlassFocalLoss(gamma=2.0, alpha=[1.0, 2.0, 3.0, 4.0])
    expected = loss.init_score(y, w)
    # the link probabilities: their mean at the optimal constant is π = softmax(init)
    model = _dask_model(kind, client, focal_gamma=2.0, focal_alpha=[1.0, 2.0, 3.0, 4.0], focal_proba="link")
    model.set_params(n_estimators=3, learning_rate=0.3, **({"num_leaves": 4} if kind == "lgbm" else {"max_depth": 2}))
    dX, dy, dw = (da.from_array(a, chunks=500) for a in (X, y, w))
    model.fit(dX, dy, sample_weight=dw)
    np.testing.assert_allclose(model.init_score_, expected, rtol=1e-12, atol=1e-12)
    proba = model.predict_proba(dX).compute()
    drift = np.abs(np.average(proba, axis=0, weights=w) / np.exp(expected) - 1)
    assert drift.max() < 0.05, drift


def test_dataframes_in_labels_out_and_eval_set(client):
    X, y = _data(2)
    names = np.array(["neg", "pos"])[y]
    df = dd.from_pandas(pd.DataFrame(X, columns=[f"f{j}" for j in range(6)]), npartitions=4)
    ys = dd.from_pandas(pd.Series(names, name="y"), npartitions=4)
    model = FocalDaskLGBMClassifier(client=client, **LGBM_KW)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # LightGBM ≥ 4.7 deprecates eval_set: it is translated
        model.fit(df, ys, eval_set=[(df, ys)])
    assert list(model.classes_) == ["neg", "pos"]
    curve = model.evals_result_["valid_0"]["focal_loss"]
    assert len(curve) == N_ROUNDS and curve[-1] < curve[0]
    pred = model.predict(df).compute()
    assert set(np.unique(pred)) <= {"neg", "pos"} and (pred == names).mean() > 0.85

    xmodel = _dask_model("xgb", client).fit(df, ys, eval_set=[(df, ys)], verbose=False)
    assert list(xmodel.classes_) == ["neg", "pos"]
    proba = xmodel.predict_proba(df).compute()
    assert proba.shape == (len(y), 2) and _auc(y, proba) > 0.9
    # XGBoost evaluates its default metric on the margins with the init score as base_margin.
    assert len(xmodel.evals_result()["validation_0"]["logloss"]) == N_ROUNDS


def test_parameters_clone_and_pickle(client):
    model = FocalDaskLGBMClassifier(focal_gamma=0.5, focal_alpha=None, client=client, **LGBM_KW)
    params = model.get_params()
    assert params["focal_gamma"] == 0.5 and params["n_estimators"] == N_ROUNDS
    assert clone(model).get_params()["focal_alpha"] is None
    xmodel = FocalDaskXGBClassifier(focal_epsilon=0.0, **XGB_KW)
    assert clone(xmodel).get_params()["focal_epsilon"] == 0.0
    assert "focal_epsilon" not in xmodel.get_xgb_params()
    X, y = _data(2, n=1000)
    dX, dy = da.from_array(X, chunks=500), da.from_array(y, chunks=500)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no unknown-parameter or n_jobs warnings
        model.fit(dX, dy)
    assert model.objective is None and model.get_params()["focal_alpha"] is None
    local = model.to_local()
    assert type(local).__name__ == "FocalLGBMClassifier" and local.get_params()["focal_gamma"] == 0.5
    np.testing.assert_allclose(local.predict_proba(X), model.predict_proba(dX).compute(), rtol=1e-12)
    copy = pickle.loads(pickle.dumps(model))
    copy.client = client
    np.testing.assert_allclose(copy.predict_proba(dX).compute(), model.predict_proba(dX).compute())


@pytest.mark.parametrize(
    "make, n_classes, exc, match",
    [
        (lambda c: FocalDaskLGBMClassifier(client=c, objective="binary"), 2, ValueError, "objective must be None"),
        (lambda c: FocalDaskLGBMClassifier(client=c, class_weight="balanced"), 2, ValueError, "class_weight"),
        (lambda c: FocalDaskLGBMClassifier(client=c, focal_gamma=-1.0), 2, ValueError, "focal_gamma must be >= 0"),
        (lambda c: FocalDaskLGBMClassifier(client=c, focal_alpha=[1.0, 2.0]), 2, TypeError, "focal_alpha must be"),
        (lambda c: FocalDaskLGBMClassifier(client=c, focal_alpha=[1.0, 2.0]), 4, ValueError, "one weight per class"),
        (lambda c: FocalDaskXGBClassifier(objective="reg:squarederror"), 2, ValueError, "objective must be None"),
        (lambda c: FocalDaskXGBClassifier(focal_alpha=1.5), 2, ValueError, r"focal_alpha must be \[0, 1\]"),
        (lambda c: FocalDaskXGBClassifier(focal_hessian="abs"), 4, ValueError, "focal_hessian must be one of"),
    ],
)
def test_bad_parameters(client, make, n_classes, exc, match):
    X, y = _data(n_classes, n=400)
    with pytest.raises(exc, match=match):
        make(client).fit(da.from_array(X, chunks=200), da.from_array(y, chunks=200))


def test_one_class_and_unseen_eval_labels(client):
    X, y = _data(2, n=400)
    dX = da.from_array(X, chunks=200)
    with pytest.raises(ValueError, match="at least 2 classes"):
        FocalDaskLGBMClassifier(client=client).fit(dX, da.zeros(400, chunks=200))
    with pytest.raises(ValueError, match=r"eval_set\[0\] holds labels not seen in the training y: \[5, 6\]"):
        FocalDaskLGBMClassifier(client=client, **LGBM_KW).fit(
            dX, da.from_array(y, chunks=200), eval_set=[(dX, da.from_array(y + 5, chunks=200))]
        )


def test_global_classes_sums_weights_across_partitions(client):
    y = da.from_array(np.array([2, 2, 0, 7, 7, 7, 0, 2]), chunks=3)
    w = da.from_array(np.arange(1.0, 9.0), chunks=3)
    classes, masses = global_classes(client, y, w)
    np.testing.assert_array_equal(classes, [0, 2, 7])
    np.testing.assert_array_equal(masses, [3.0 + 7.0, 1.0 + 2.0 + 8.0, 4.0 + 5.0 + 6.0])


# -- the GPU objective ----------------------------------------------------------------------------
def _margins(n_classes: int, n: int = 5000):
    rng = np.random.default_rng(7)
    shape = (n,) if n_classes == 2 else (n, n_classes)
    y = rng.integers(0, n_classes, n).astype(np.float32)
    return y, rng.normal(0, 4, shape).astype(np.float32), rng.uniform(0.5, 2, n).astype(np.float32)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_torch_route_agrees_with_the_cpu_route_to_float32_precision(n_classes):
    """The route the GPU takes (torch, float32), run on the CPU here."""
    pytest.importorskip("torch")
    loss = FocalLoss(gamma=2.0, alpha=0.25) if n_classes == 2 else MulticlassFocalLoss(gamma=2.0)
    y, pred, w = _margins(n_classes)
    grad_cpu, hess_cpu = XGBObjective(loss)(y, pred, sample_weight=w)
    grad_t, hess_t = torch_derivatives(loss, y, pred, w, "cpu")
    assert grad_t.dtype == hess_t.dtype == __import__("torch").float32 and grad_t.shape == grad_cpu.shape
    np.testing.assert_allclose(grad_t.numpy(), grad_cpu, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(hess_t.numpy(), hess_cpu, rtol=2e-5, atol=1e-6)
    # Without a GPU a "cuda" objective falls back to the CPU path.
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        grad_fb, _ = XGBObjective(loss, device="cuda")(y, pred, sample_weight=w)
        assert isinstance(grad_fb, np.ndarray)
        np.testing.assert_array_equal(grad_fb, grad_cpu)


@pytest.mark.gpu
@pytest.mark.parametrize("n_classes", [2, 4])
def test_gpu_objective_returns_cuda_arrays_that_agree_with_the_cpu(n_classes):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    loss = FocalLoss(gamma=2.0, alpha=0.25) if n_classes == 2 else MulticlassFocalLoss(gamma=2.0)
    y, pred, w = _margins(n_classes)
    grad_cpu, hess_cpu = XGBObjective(loss)(y, pred, sample_weight=w)
    grad, hess = XGBObjective(loss, device="cuda")(y, pred, sample_weight=w)
    assert grad.is_cuda and hess.is_cuda and hasattr(grad, "__cuda_array_interface__")
    np.testing.assert_allclose(grad.cpu().numpy(), grad_cpu, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(hess.cpu().numpy(), hess_cpu, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["lgbm", "xgb"])
def test_multiclass_dataframes_with_string_labels(client, kind):
    X, y = _data(4, n=2000)
    names = np.array(["a", "b", "c", "d"])[y]
    df = dd.from_pandas(pd.DataFrame(X, columns=[f"f{j}" for j in range(6)]), npartitions=3)
    ys = dd.from_pandas(pd.Series(names, name="y"), npartitions=3)
    w = dd.from_pandas(pd.Series(np.where(y == 3, 2.0, 1.0), name="w"), npartitions=3)
    model = _dask_model(kind, client, focal_alpha=[1.0, 1.0, 2.0, 2.0])
    model.fit(df, ys, sample_weight=w, eval_set=[(df, ys)], **({} if kind == "lgbm" else {"verbose": False}))
    assert list(model.classes_) == ["a", "b", "c", "d"]
    expected = MulticlassFocalLoss(alpha=[1.0, 1.0, 2.0, 2.0]).init_score(y, np.where(y == 3, 2.0, 1.0))
    np.testing.assert_allclose(model.init_score_, expected, rtol=1e-12, atol=1e-12)
    proba = model.predict_proba(df).compute()
    assert proba.shape == (2000, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert _auc(y, proba) > 0.85
    pred = model.predict(df).compute()
    np.testing.assert_array_equal(pred, np.array(["a", "b", "c", "d"])[np.argmax(proba, axis=1)])


@pytest.mark.parametrize("n_classes", [2, 4])
def test_objectives_equal_the_single_machine_adapters(n_classes):
    """The Dask objectives translate exactly as focalboost.lightgbm / focalboost.xgboost do."""
    import lightgbm as lgb

    from focalboost.lightgbm import FocalObjective
    from focalboost.lightgbm._native import _SklearnObjective as LGBMObjective

    loss = FocalLoss(gamma=2.0, alpha=0.25) if n_classes == 2 else MulticlassFocalLoss(gamma=2.0)
    y, pred, w = _margins(n_classes, n=500)
    ds = lgb.Dataset(np.zeros((500, 1)), label=y, weight=w, params={"verbose": -1}).construct()
    for a, b in zip(
        LGBMObjective(loss)(y, pred.astype(np.float64), w),
        FocalObjective(loss)(pred.astype(np.float64), ds),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n_classes", [4])
def test_lightgbm_contributions_add_up_to_the_raw_score(client, n_classes):
    X, y = _data(n_classes, n=1200)
    dX = da.from_array(X, chunks=400)
    model = FocalDaskLGBMClassifier(client=client, **LGBM_KW).fit(dX, da.from_array(y, chunks=400))
    raw = model.predict(dX, raw_score=True).compute()
    contrib = model.predict(dX, pred_contrib=True).compute()
    assert contrib.shape == (1200, (n_classes if n_classes > 2 else 1) * 7)
    total = contrib.reshape(1200, -1, 7).sum(axis=2)
    np.testing.assert_allclose(total.reshape(raw.shape), raw, rtol=1e-9, atol=1e-9)
    leaves = model.predict(dX, pred_leaf=True).compute()
    assert leaves.shape[0] == 1200 and leaves.dtype.kind == "i"


def test_dart_margins_through_a_dmatrix(client):
    # XGBoost 3.2's inplace_predict returns wrong margins for a DART booster given a base_margin;
    # a binary DART booster cannot hold the init score, so each partition is given it that way.
    import xgboost as xgb

    X, y = _data(2)
    model = _dask_model("xgb", client, booster="dart", rate_drop=0.2)
    with pytest.warns(UserWarning, match="cannot hold the init score"):
        model.fit(da.from_array(X, chunks=750), da.from_array(y, chunks=750))
    booster = model.get_booster()
    expected = booster.predict(xgb.DMatrix(X, base_margin=np.full(len(X), model.init_score_)), output_margin=True)
    proba = model.predict_proba(da.from_array(X, chunks=500)).compute()
    np.testing.assert_allclose(proba, model.focal_loss_.predict_proba(expected), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_xgboost_predicts_with_the_best_iteration_after_early_stopping(client, n_classes):
    # As xgboost.dask.DaskXGBClassifier and FocalXGBClassifier do; all rounds were used before.
    import xgboost as xgb

    X, y = _data(n_classes)
    Xv, yv = _data(n_classes, n=1000, seed=1)
    model = _dask_model("xgb", client, learning_rate=0.8, early_stopping_rounds=3)
    model.set_params(n_estimators=200)
    model.fit(
        da.from_array(X, chunks=750),
        da.from_array(y, chunks=750),
        eval_set=[(da.from_array(Xv, chunks=500), da.from_array(yv, chunks=500))],
    )
    best, rounds = model.best_iteration, model.get_booster().num_boosted_rounds()
    assert best + 1 < rounds, (best, rounds)  # stopped early, with rounds after the best one
    booster = model.get_booster()
    expected = booster.predict(xgb.DMatrix(Xv), output_margin=True, iteration_range=(0, best + 1))
    proba = model.predict_proba(da.from_array(Xv, chunks=500)).compute()
    np.testing.assert_allclose(proba, model.focal_loss_.predict_proba(expected), rtol=1e-6, atol=1e-7)
