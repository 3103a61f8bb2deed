"""The private APIs of the boosting libraries that focalboost relies on: one test each.

Each test checks that the API still exists with the signature focalboost calls it with, and that
the behaviour focalboost relies on still holds; when either changes, it fails with a message naming
the API and the focalboost code to adapt, instead of letting an estimator go subtly wrong.
"""

from __future__ import annotations

import inspect
import json
import logging
import warnings

import numpy as np
import pytest


def _require(ok: bool, api: str, user: str, what: str) -> None:
    if not ok:
        pytest.fail(f"{api} {what}. {user} relies on it: adapt it to this version of the library.", pytrace=False)


def _parameters(func) -> list[str]:
    return list(inspect.signature(func).parameters)


def _binary_data(n: int = 300):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] + rng.normal(size=n) > 0).astype(int)


def test_lightgbm_process_params():
    lgb = pytest.importorskip("lightgbm")
    api = "lightgbm.LGBMModel._process_params(self, stage)"
    user = "focalboost.lightgbm._library_params (FocalLGBMClassifier._process_params)"
    method = getattr(lgb.LGBMModel, "_process_params", None)
    _require(callable(method), api, user, "is gone")
    _require(_parameters(method) == ["self", "stage"], api, user, f"now takes {_parameters(method)}")

    seen: list[tuple[str, dict]] = []
    objective_calls: list[int] = []

    def objective(raw, dataset):  # LightGBM's native signature, as focalboost's objective has
        objective_calls.append(1)
        p = 1.0 / (1.0 + np.exp(-raw))
        return p - dataset.get_label(), p * (1.0 - p)

    class Probe(lgb.LGBMClassifier):
        def _process_params(self, stage):  # what FocalLGBMClassifier does: drop, override, insert
            params = lgb.LGBMModel._process_params(self, stage)
            seen.append((stage, dict(params)))
            params.pop("probe_param", None)
            params["num_leaves"] = 3
            if stage == "fit":
                params["objective"] = objective
                params["metric"] = "None"
            return params

    X, y = _binary_data()
    est = Probe(n_estimators=4, verbose=-1, n_jobs=1, probe_param=7).fit(X, y, eval_X=(X,), eval_y=(y,))
    stages = [stage for stage, _ in seen]
    _require(stages[:1] == ["fit"], api, user, f"is no longer called with stage='fit' first by fit (calls: {stages})")
    built = seen[0][1]
    _require(
        built.get("probe_param") == 7 and built.get("num_leaves") == 31,
        api,
        user,
        "no longer builds the booster parameters from get_params(), unknown entries (the focal_* ones) included",
    )
    booster = est.booster_.params
    _require(
        booster.get("num_leaves") == 3 and "probe_param" not in booster,
        api,
        user,
        f"is no longer what the booster is built from: an override's parameters did not reach it ({booster})",
    )
    leaves = [tree["num_leaves"] for tree in est.booster_.dump_model()["tree_info"]]
    _require(leaves == [3, 3, 3, 3], api, user, f"overrides no longer shape the trees (leaves per tree: {leaves})")
    _require(
        len(objective_calls) == 4,
        api,
        user,
        f"no longer trains with the callable objective put into its output ({len(objective_calls)} calls for 4 rounds)",
    )
    _require(est.evals_result_ == {}, api, user, f"no longer switches off the metric with 'None': {est.evals_result_}")
    est.predict(X)
    stages = [stage for stage, _ in seen]
    _require("predict" in stages[1:], api, user, f"is no longer called with stage='predict' by predict ({stages})")


@pytest.mark.slow  # starts a Dask cluster
def test_lightgbm_dask_train_and_predict():
    pytest.importorskip("distributed")
    lgb = pytest.importorskip("lightgbm")
    import dask.array as da
    import lightgbm.dask as lgb_dask
    from distributed import Client, LocalCluster

    user = "focalboost.dask (FocalDaskLGBMClassifier.fit and its predictions)"
    train_api, predict_api = "lightgbm.dask._train", "lightgbm.dask._predict"
    train, predict = getattr(lgb_dask, "_train", None), getattr(lgb_dask, "_predict", None)
    _require(callable(train), train_api, user, "is gone")
    _require(callable(predict), predict_api, user, "is gone")
    used = [
        "client",
        "data",
        "label",
        "params",
        "model_factory",
        "sample_weight",
        "init_score",
        "eval_set",
        "eval_names",
        "eval_sample_weight",
        "eval_init_score",
        "eval_metric",
    ]
    for func, api, names in [
        (train, train_api, used),
        (predict, predict_api, ["model", "data", "client", "raw_score"]),
    ]:
        params = inspect.signature(func).parameters
        missing = [n for n in names if n not in params or params[n].kind is not inspect.Parameter.KEYWORD_ONLY]
        _require(not missing, api, user, f"no longer takes the keyword parameters {missing} (it takes {list(params)})")
        _require(
            any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()),
            api,
            user,
            "no longer forwards other keywords (**kwargs)",
        )

    X, y = _binary_data(400)

    def logistic(y_true, raw, weight):  # a callable objective, as focalboost's (scikit-learn signature)
        p = 1.0 / (1.0 + np.exp(-raw))
        return weight * (p - y_true), weight * p * (1.0 - p)

    def probe_metric(y_true, raw, weight):  # with a callable objective: raw scores, init score included
        return "probe", float(np.sum(weight * raw) / np.sum(weight)), False

    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=False,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")  # LightGBM ≥ 4.7 deprecates eval_set (focalboost passes eval_X there)
        dX, dy = da.from_array(X, chunks=(200, 3)), da.from_array(y.astype(float), chunks=200)
        w, offset = da.from_array(np.linspace(0.5, 2.0, 400), chunks=200), da.full(400, 0.5, chunks=200)
        model = train(
            client=client,
            data=dX,
            label=dy,
            params={"objective": logistic, "n_estimators": 3, "num_leaves": 4, "verbose": -1, "metric": "None"},
            model_factory=lgb.LGBMModel,
            sample_weight=w,
            init_score=offset,
            eval_set=[(dX, dy)],
            eval_names=["probe_set"],
            eval_sample_weight=[w],
            eval_init_score=[offset],
            eval_metric=[probe_metric],
        )
        raw = model.predict(X, raw_score=True)
        distributed_raw = predict(model=model, data=dX, client=client, raw_score=True).compute()
    _require(
        type(model) is lgb.LGBMModel and model.booster_.num_trees() == 3,
        train_api,
        user,
        f"no longer returns a fitted model_factory instance (got {type(model).__name__})",
    )
    logged = model.evals_result_.get("probe_set", {}).get("probe")
    expected = float(np.sum(np.linspace(0.5, 2.0, 400) * (raw + 0.5)) / np.sum(np.linspace(0.5, 2.0, 400)))
    _require(
        logged is not None and len(logged) == 3 and abs(logged[-1] - expected) <= 1e-9 * max(1.0, abs(expected)),
        train_api,
        user,
        "no longer evaluates eval_metric on the named eval set with its weights and init score "
        f"(logged {logged}, expected last {expected})",
    )
    _require(
        np.allclose(distributed_raw, raw, rtol=1e-12, atol=1e-12),
        predict_api,
        user,
        "no longer predicts the model's raw scores on a Dask array",
    )


def test_xgboost_wrapper_params():
    xgb = pytest.importorskip("xgboost")
    api = "xgboost.XGBModel._wrapper_params()"
    user = "focalboost.xgboost._wrapper_params (FocalXGBClassifier and FocalDaskXGBClassifier._wrapper_params)"
    method = getattr(xgb.XGBModel, "_wrapper_params", None)
    _require(callable(method), api, user, "is gone")
    _require(_parameters(method) == ["self"], api, user, f"now takes {_parameters(method)}")
    names = method(xgb.XGBClassifier())
    _require(
        isinstance(names, set) and all(isinstance(n, str) for n in names) and "n_estimators" in names,
        api,
        user,
        f"no longer returns a set of parameter names, n_estimators among them (got {names!r})",
    )

    class Probe(xgb.XGBClassifier):
        def _wrapper_params(self):  # what FocalXGBClassifier does: add names the booster must not see
            return xgb.XGBModel._wrapper_params(self) | {"eta"}

    def booster_eta(model) -> float:
        config = json.loads(model.get_booster().save_config())
        return float(config["learner"]["gradient_booster"]["tree_train_param"]["eta"])

    X, y = _binary_data()
    kw = dict(eta=0.0, n_estimators=3, max_depth=2, n_jobs=1)
    kept = Probe(**kw).fit(X, y)
    sent = xgb.XGBClassifier(**kw).fit(X, y)  # the control: eta=0.0 reaches the booster
    _require(
        "eta" in kept.get_params() and "eta" not in kept.get_xgb_params() and "eta" in sent.get_xgb_params(),
        api,
        user,
        "no longer decides which get_params() entries get_xgb_params() leaves out",
    )
    _require(
        booster_eta(sent) == 0.0 and booster_eta(kept) > 0.0,
        api,
        user,
        f"no longer keeps its names from the booster (booster eta {booster_eta(kept)}, control {booster_eta(sent)})",
    )


def test_catboost_init_params_and_canonized_params():
    catboost = pytest.importorskip("catboost")
    from focalboost.catboost import _library_params_swapped

    api = "catboost's CatBoost._init_params dict and its _canonized_params cache"
    user = "focalboost.catboost._library_params_swapped (FocalCatBoostClassifier.fit)"
    model = catboost.CatBoostClassifier(iterations=5, thread_count=1, verbose=False)
    init = getattr(model, "_init_params", None)
    _require(
        isinstance(init, dict) and init.get("iterations") == 5,
        api,
        user,
        f"no longer holds the constructor's parameters in _init_params (got {init!r})",
    )
    _require(hasattr(model, "_canonized_params"), api, user, "has no _canonized_params attribute any more")
    X, y = _binary_data()
    model.fit(X, y)
    _require(
        isinstance(model._canonized_params, dict),
        api,
        user,
        f"no longer caches the canonical parameters in _canonized_params (got {model._canonized_params!r})",
    )
    depth = model.get_all_params()["depth"]
    # The cache is filled now: the swap must reset it for CatBoost to see the new parameters.
    with _library_params_swapped(model, {"depth": 2}):
        model.fit(X, y)
    _require(
        depth != 2 and model.get_all_params()["depth"] == 2,
        api,
        user,
        f"no longer trains with the parameters swapped into _init_params (depth {model.get_all_params()['depth']})",
    )
    _require("depth" not in model.get_params(), api, user, "get_params() no longer reads _init_params back")
    model.fit(X, y)
    _require(
        model.get_all_params()["depth"] == depth,
        api,
        user,
        "still trains with the swapped parameters after they were restored",
    )
