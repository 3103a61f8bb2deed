"""Models that predict on their own: every route that trains a focal model (the estimators, the
native objectives with ``with_init_score``, the Dask estimators) saves a file that the plain
library, in a process where focalboost cannot be imported, reads back into the model's raw
scores, the sigmoid / softmax of those, and contributions that add up to them."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest
from scipy.special import expit, softmax

pytest.importorskip("lightgbm")
pytest.importorskip("xgboost")
pytest.importorskip("catboost")

from focalboost import FocalLoss, MulticlassFocalLoss  # noqa: E402

LIBRARIES = ("lightgbm", "xgboost", "catboost")
SUFFIX = {"lightgbm": ".txt", "xgboost": ".json", "catboost": ".cbm"}
ROUNDS = 8
# (library, number of classes, route); the Dask routes save the boosters of the Dask estimators
# (LightGBM: ``booster_`` and ``to_local().booster_``; XGBoost: ``get_booster()``).
CASES = [(lib, k, route) for lib in LIBRARIES for k in (2, 4) for route in ("estimator", "native")]
CASES += [("lightgbm", k, route) for k in (2, 4) for route in ("dask", "dask-local")]
CASES += [("xgboost", k, "dask") for k in (2, 4)]
IDS = [f"{lib}-{k}-{route}" for lib, k, route in CASES]


def _data(n_classes: int, n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    noisy = X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=n)
    # Unbalanced classes, so that the init score is far from 0 (about -1 or less for every class).
    y = (noisy > 1.2).astype(int) if n_classes == 2 else np.digitize(noisy, [-0.8, 0.6, 1.6])
    return X, y


def _loss(k: int) -> Any:
    return FocalLoss(gamma=2.0, alpha=0.25) if k == 2 else MulticlassFocalLoss(gamma=2.0)


# -- each route: train, and return the model to save with the raw scores it must predict -----------
def _estimator(lib: str, k: int, X: np.ndarray, y: np.ndarray) -> Any:
    if lib == "lightgbm":
        from focalboost.lightgbm import FocalLGBMClassifier

        est = FocalLGBMClassifier(n_estimators=ROUNDS, num_leaves=7, min_child_samples=5, n_jobs=1, verbose=-1)
    elif lib == "xgboost":
        from focalboost.xgboost import FocalXGBClassifier

        est = FocalXGBClassifier(n_estimators=ROUNDS, max_depth=3, n_jobs=1)
    else:
        from focalboost.catboost import FocalCatBoostClassifier

        est = FocalCatBoostClassifier(
            iterations=ROUNDS, depth=3, learning_rate=0.3, thread_count=1, random_seed=0, verbose=False,
            allow_writing_files=False,
        )  # fmt: skip
    return est.fit(X, y)


def _estimator_raw(lib: str, est: Any, X: np.ndarray) -> np.ndarray:
    if lib == "lightgbm":
        return est.predict(X, raw_score=True)
    if lib == "xgboost":
        return est.predict(X, output_margin=True)
    return est.predict(X, prediction_type="RawFormulaVal")


def _saved_estimator(lib: str, est: Any) -> Any:
    """What a user saves of a fitted estimator: its booster (CatBoost: the estimator itself)."""
    if lib == "lightgbm":
        return est.booster_
    return est.get_booster() if lib == "xgboost" else est


def _native(lib: str, k: int, X: np.ndarray, y: np.ndarray, X_test: np.ndarray) -> tuple[Any, np.ndarray]:
    """Train with the library's own training function and the focal objective, from the init
    score; return ``with_init_score`` of the result and the raw scores the route documents
    (the model's own output plus the init score)."""
    from focalboost._boosting import constant_rows

    y = y.astype(float)
    if lib == "lightgbm":
        import lightgbm as lgb

        from focalboost.lightgbm import apply_init_score, focal_objective, with_init_score

        obj = focal_objective(n_classes=k, gamma=2.0, alpha=0.25 if k == 2 else None)
        dtrain = lgb.Dataset(X, y)
        init = apply_init_score(dtrain, objective=obj)
        params = {"objective": obj, "num_leaves": 7, "min_data_in_leaf": 5, "verbose": -1, "num_threads": 1}
        booster = lgb.train({**params, **({"num_class": k} if k > 2 else {})}, dtrain, ROUNDS)
        return with_init_score(booster, init), booster.predict(X_test, raw_score=True) + init
    if lib == "xgboost":
        import xgboost as xgb

        from focalboost.xgboost import apply_init_score, focal_objective, with_init_score

        obj = focal_objective(n_classes=k, gamma=2.0, alpha=0.25 if k == 2 else None)
        dtrain = xgb.DMatrix(X, y)
        init = apply_init_score(dtrain, objective=obj)
        params = {"max_depth": 3, "nthread": 1, "disable_default_eval_metric": 1}
        booster = xgb.train({**params, **({"num_class": k} if k > 2 else {})}, dtrain, ROUNDS, obj=obj)
        dtest = xgb.DMatrix(X_test, base_margin=constant_rows(len(X_test), init))
        return with_init_score(booster, init), booster.predict(dtest, output_margin=True)
    from catboost import CatBoost, Pool

    from focalboost.catboost import (
        apply_init_score,
        focal_metric,
        focal_objective,
        with_init_score,
    )

    obj = focal_objective(n_classes=k, gamma=2.0, alpha=0.25 if k == 2 else None)
    metric = focal_metric(n_classes=k, gamma=2.0, alpha=0.25 if k == 2 else None)
    pool = Pool(X, y)
    init = apply_init_score(pool, objective=obj)
    params = {"iterations": ROUNDS, "depth": 3, "learning_rate": 0.3, "thread_count": 1, "random_seed": 0}
    params.update(verbose=False, allow_writing_files=False, loss_function=obj, eval_metric=metric)
    model = CatBoost({**params, **({"classes_count": k} if k > 2 else {})}).fit(pool)
    return with_init_score(model, init), model.predict(X_test, prediction_type="RawFormulaVal") + init


def _dask(lib: str, k: int, route: str, X: np.ndarray, y: np.ndarray, X_test: np.ndarray, client: Any) -> Any:
    """The Dask estimator's booster (``to_local()``'s for ``"dask-local"``), its raw scores of
    ``X_test`` and, for ``to_local()``, the local estimator."""
    import dask.array as da

    from focalboost.dask import FocalDaskLGBMClassifier, FocalDaskXGBClassifier

    dX, dy, dX_test = da.from_array(X, chunks=200), da.from_array(y, chunks=200), da.from_array(X_test, chunks=100)
    if lib == "lightgbm":
        model = FocalDaskLGBMClassifier(
            client=client, n_estimators=ROUNDS, num_leaves=7, min_child_samples=5, verbose=-1, random_state=0
        ).fit(dX, dy)
        raw = model.predict(dX_test, raw_score=True).compute()
        if route == "dask-local":
            local = model.to_local()
            return local.booster_, raw, local
        return model.booster_, raw, None
    model = FocalDaskXGBClassifier(n_estimators=ROUNDS, max_depth=3, random_state=0)
    model.client = client
    model.fit(dX, dy)
    return model.get_booster(), model.predict(dX_test, output_margin=True).compute(), None


# What a user of the plain library runs: load the file, predict. focalboost is blocked in
# sys.modules before anything else (it may well be installed), so that any import of it, direct
# or through a hook the file might trigger, fails; the process reports whether it could.
_CHILD = textwrap.dedent(
    """
    import json, sys
    sys.modules["focalboost"] = None
    try:
        import focalboost  # noqa: F401
        importable = True
    except ImportError:
        importable = False
    import numpy as np

    def lightgbm(path, X):
        import lightgbm as lgb
        b = lgb.Booster(model_file=path)
        link = [ln for ln in open(path).read().splitlines() if ln.startswith("objective=")]
        return b.predict(X, raw_score=True), b.predict(X), b.predict(X, pred_contrib=True), link[0] if link else ""

    def xgboost(path, X):
        import xgboost as xgb
        b = xgb.Booster(model_file=path)
        d = xgb.DMatrix(X)
        link = json.loads(b.save_config())["learner"]["objective"]["name"]
        return b.predict(d, output_margin=True), b.predict(d), b.predict(d, pred_contribs=True), link

    def catboost(path, X):
        from catboost import CatBoost, Pool
        m = CatBoost().load_model(path)
        return (
            m.predict(X, prediction_type="RawFormulaVal"),
            m.predict(X, prediction_type="Probability"),
            m.get_feature_importance(Pool(X), type="ShapValues"),
            m.get_params()["loss_function"],
        )

    for job in json.loads(sys.argv[1]):
        X = np.load(job["X"])
        raw, proba, contrib, link = globals()[job["lib"]](job["model"], X)
        np.savez(job["out"], raw=raw, proba=proba, contrib=contrib, link=np.array(link))
    loaded = sorted(m for m in sys.modules if m.startswith("focalboost") and sys.modules[m] is not None)
    print(json.dumps({"importable": importable, "loaded": loaded}))
    """
)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory, client: Any) -> dict[str, Any]:
    """Train and save one model per case; predict from every file in one fresh process."""
    tmp = tmp_path_factory.mktemp("portable")
    cases: dict[str, dict[str, Any]] = {}
    jobs = []
    for case_id, (lib, k, route) in zip(IDS, CASES, strict=True):
        X, y = _data(k)
        X_test, _ = _data(k, n=200, seed=1)
        est = None
        if route == "estimator":
            est = _estimator(lib, k, X, y)
            model, raw = _saved_estimator(lib, est), _estimator_raw(lib, est, X_test)
        elif route == "native":
            model, raw = _native(lib, k, X, y, X_test)
        else:
            model, raw, est = _dask(lib, k, route, X, y, X_test, client)
        stem = tmp / case_id
        path = stem.with_suffix(SUFFIX[lib])
        model.save_model(str(path))
        np.save(stem.with_suffix(".npy"), X_test)
        jobs.append({"lib": lib, "model": str(path), "X": str(stem.with_suffix(".npy")), "out": str(stem)})
        cases[case_id] = {"est": est, "X": X_test, "expected_raw": np.asarray(raw), "out": stem.with_suffix(".npz")}
    # -I: isolated mode (no PYTHONPATH, no user site, no current directory on sys.path)
    done = subprocess.run(
        [sys.executable, "-I", "-c", _CHILD, json.dumps(jobs)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for case in cases.values():
        with np.load(case["out"]) as f:
            case.update({name: f[name] for name in f.files})
    return {"report": report, "cases": cases}


def test_the_fresh_process_cannot_import_focalboost(fresh):
    assert fresh["report"] == {"importable": False, "loaded": []}


@pytest.mark.parametrize("lib, k, route", CASES, ids=IDS)
def test_the_saved_model_predicts_the_raw_scores(fresh, lib, k, route):
    case = fresh["cases"][f"{lib}-{k}-{route}"]
    raw, expected = case["raw"], case["expected_raw"]
    assert raw.shape == expected.shape == ((200,) if k == 2 else (200, k))
    # Without the init score the raw scores would be off by more than 0.9 (every class's is below -0.9).
    init = case["est"].init_score_ if case["est"] is not None else None
    if init is not None:
        assert np.min(np.abs(np.asarray(init))) > 0.9
    if lib == "xgboost":
        # XGBoost predicts in float32: the file's margins equal the estimator's to float32 rounding.
        assert raw.dtype == np.float32
        np.testing.assert_allclose(raw, expected, rtol=2 * np.finfo(np.float32).eps, atol=0)
    else:
        np.testing.assert_allclose(raw, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("lib, k, route", CASES, ids=IDS)
def test_the_saved_model_applies_the_link(fresh, lib, k, route):
    case = fresh["cases"][f"{lib}-{k}-{route}"]
    link = {
        ("lightgbm", 2): "objective=binary sigmoid:1",
        ("lightgbm", 4): "objective=multiclass num_class:4",
        ("xgboost", 2): "binary:logistic",
        ("xgboost", 4): "multi:softprob",
        ("catboost", 2): "PythonUserDefinedPerObject",
        ("catboost", 4): "PythonUserDefinedPerObject",
    }[(lib, k)]
    assert str(case["link"]) == link
    raw = case["raw"].astype(np.float64)
    if k == 2:
        expected = expit(raw)
        if lib == "catboost":  # both columns: σ(−x) and σ(x)
            expected = np.column_stack((expit(-raw), expected))
    else:
        expected = softmax(raw, axis=1)
    proba = case["proba"]
    assert proba.shape == expected.shape
    # XGBoost applies the link in float32 (a few units in the last place); the others in float64.
    tol = {"rtol": 4e-7, "atol": 0} if lib == "xgboost" else {"rtol": 0, "atol": 1e-12}
    np.testing.assert_allclose(proba, expected, **tol)
    # ... which is focal_proba="link" of the estimator (or of the loss for the native route).
    if case["est"] is not None:
        est = copy.deepcopy(case["est"])
        est.set_params(focal_proba="link")
        mine = est.predict_proba(case["X"])
        if hasattr(mine, "compute"):
            mine = mine.compute()
        np.testing.assert_allclose(est.decision_function(case["X"]), case["expected_raw"], rtol=0, atol=1e-12)
    else:
        mine = _loss(k).predict_proba(case["expected_raw"], kind="link")
    np.testing.assert_allclose(proba, mine[:, 1] if proba.ndim == 1 else mine, **tol)


@pytest.mark.parametrize("lib, k, route", CASES, ids=IDS)
def test_the_saved_models_contributions_add_up_to_the_raw_scores(fresh, lib, k, route):
    case = fresh["cases"][f"{lib}-{k}-{route}"]
    n, n_features = case["X"].shape
    # (n, f + 1), (n, K (f + 1)) class-major, or (n, K, f + 1): all read as (n, outputs, f + 1)
    contrib = case["contrib"].reshape(n, 1 if k == 2 else k, n_features + 1)
    total = contrib.sum(axis=2).reshape(case["raw"].shape)
    if lib == "xgboost":
        # float32 sums over the trees' paths, in another order than prediction's
        np.testing.assert_allclose(total, case["raw"], rtol=0, atol=8 * np.finfo(np.float32).eps)
    else:
        np.testing.assert_allclose(total, case["raw"], rtol=0, atol=1e-12)
    if lib == "lightgbm" and case["est"] is not None and route != "dask":
        # the estimator's own SHAP values, whose expected-value column holds the init score
        expected = case["est"].predict(case["X"], pred_contrib=True)
        np.testing.assert_allclose(case["contrib"], expected, rtol=0, atol=1e-12)


# -- the native CatBoost route ------------------------------------------------------------------
def test_catboost_with_init_score_adds_to_the_bias_of_a_copy():
    from catboost import CatBoost, Pool

    from focalboost.catboost import FocalCatBoostClassifier, apply_init_score, focal_metric, focal_objective
    from focalboost.catboost import with_init_score as catboost_with_init_score

    X, y = _data(2, n=200)
    pool = Pool(X, y.astype(float))
    obj = focal_objective(gamma=2.0, alpha=0.25)
    init = apply_init_score(pool, objective=obj)
    params = dict(iterations=3, depth=2, thread_count=1, verbose=False, allow_writing_files=False)
    model = CatBoost({**params, "loss_function": obj, "eval_metric": focal_metric()}).fit(pool)
    baked = catboost_with_init_score(model, init)
    assert model.get_scale_and_bias() == (1.0, 0.0)  # the model itself is left alone
    assert baked.get_scale_and_bias() == (1.0, init)
    twice = catboost_with_init_score(baked, init)  # a bias already there is kept
    assert twice.get_scale_and_bias() == (1.0, init + init)
    with pytest.raises(ValueError, match="1 value"):
        catboost_with_init_score(model, [init, init])
    est = FocalCatBoostClassifier(**params).fit(X, y)
    with pytest.raises(ValueError, match="already holds its init score"):
        catboost_with_init_score(est, est.init_score_)
