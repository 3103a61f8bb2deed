"""A Dask cluster: LightGBM and XGBoost, binary and 4 classes
==========================================================

The focal loss on a Dask cluster: LightGBM and XGBoost, binary and 4-class, against the
libraries' own Dask classifiers with their built-in log-loss.

Runs on a local 2-worker cluster (processes, loopback only)::

    python examples/dask_cluster.py            # ~1 minute on 2 cores
    python examples/dask_cluster.py --rows 1000000 --partitions 16

On a real cluster, replace the LocalCluster by ``Client("tcp://scheduler-host:8786")`` (or your
deployment's client: dask-kubernetes, dask-jobqueue, Coiled, ...); every worker needs focalboost
installed, and the data should be read on the workers (``dd.read_parquet``), not shipped from here.
"""

from __future__ import annotations

import argparse
import logging
import time

import dask.array as da
import lightgbm as lgb
import numpy as np
import xgboost as xgb
from distributed import Client, LocalCluster
from sklearn.metrics import average_precision_score, recall_score, roc_auc_score

from focalboost.dask import FocalDaskLGBMClassifier, FocalDaskXGBClassifier


def make_data(n: int, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Imbalanced data: a noisy linear score cut at high quantiles (binary ~3 % positive;
    4 classes ~80/12/6/2 %)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 10)).astype(np.float32)
    score = X[:, 0] + 0.6 * X[:, 1] - 0.4 * X[:, 2] + 0.3 * X[:, 3] * X[:, 4] + 0.8 * rng.normal(size=n)
    q = [0.97] if n_classes == 2 else [0.80, 0.92, 0.98]
    return X, np.digitize(score, np.quantile(score, q))


def report(name: str, y: np.ndarray, proba: np.ndarray, seconds: float) -> None:
    if proba.shape[1] == 2:
        scores = f"ROC-AUC {roc_auc_score(y, proba[:, 1]):.4f}  PR-AUC {average_precision_score(y, proba[:, 1]):.4f}"
    else:
        scores = f"ROC-AUC(ovr) {roc_auc_score(y, proba, multi_class='ovr'):.4f}"
    recall = recall_score(y, proba.argmax(axis=1), average=None)
    print(f"  {name:34s} {scores}  recall/class {np.round(recall, 3).tolist()}  fit {seconds:5.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    chunk = -(-args.rows // args.partitions)
    common = {"n_estimators": args.rounds, "learning_rate": 0.1, "random_state": 0}
    lgb_kw = {**common, "num_leaves": 31, "verbose": -1}
    xgb_kw = {**common, "max_depth": 6, "tree_method": "hist"}

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        for n_classes in (2, 4):
            X, y = make_data(args.rows, n_classes, seed=0)
            Xt, yt = make_data(args.rows // 2, n_classes, seed=1)
            dX, dy = da.from_array(X, chunks=(chunk, -1)), da.from_array(y, chunks=chunk)
            dXt = da.from_array(Xt, chunks=(chunk, -1))
            alpha = 0.25 if n_classes == 2 else None
            print(f"{n_classes} classes, {args.rows} rows, {args.partitions} partitions, 2 workers:")
            models = [
                ("lightgbm.dask built-in", lgb.DaskLGBMClassifier(client=client, **lgb_kw)),
                (
                    "focalboost FocalDaskLGBMClassifier",
                    FocalDaskLGBMClassifier(client=client, focal_gamma=2.0, focal_alpha=alpha, **lgb_kw),
                ),
                ("xgboost.dask built-in", xgb.dask.DaskXGBClassifier(**xgb_kw)),
                (
                    "focalboost FocalDaskXGBClassifier",
                    FocalDaskXGBClassifier(focal_gamma=2.0, focal_alpha=alpha, **xgb_kw),
                ),
            ]
            for name, model in models:
                t0 = time.perf_counter()
                model.fit(dX, dy)
                seconds = time.perf_counter() - t0
                report(name, yt, np.asarray(model.predict_proba(dXt).compute()), seconds)


if __name__ == "__main__":
    main()
