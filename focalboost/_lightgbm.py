"""LightGBM adapter: objective and metric callables for ``lgb.train``, the init score, and
:class:`FocalLGBMClassifier`.

Translations only (DESIGN.md §4): LightGBM ≥ 4 takes a callable objective in
``params["objective"]`` as ``f(preds, dataset) -> (grad, hess)`` (``fobj=`` was removed in 4.0);
metrics go through ``feval=f(preds, dataset) -> (name, value, is_higher_better)``; ``preds`` are
raw scores that include the dataset's ``init_score``; ``predict`` never adds ``init_score`` back.
"""

from __future__ import annotations

import warnings
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._estimator import _FOCAL_DOC, FOCAL_PARAMS, AnyLoss, FocalClassifierMixin, add_offset, constant_rows, num_samples
from ._lightgbm_native import (  # noqa: F401  (re-exported: focalboost.lightgbm, focalboost._dask)
    FocalMetric,
    FocalObjective,
    _SklearnMetric,
    apply_init_score,
    focal_metric,
    focal_objective,
    softmax_focal_metric,
    softmax_focal_objective,
)

__all__ = [
    "FocalLGBMClassifier",
    "apply_init_score",
    "focal_metric",
    "focal_objective",
    "softmax_focal_metric",
    "softmax_focal_objective",
]


class FocalLGBMClassifier(FocalClassifierMixin, lgb.LGBMClassifier):
    __doc__ = f"""LightGBM classifier trained with the (stabilized) focal loss.

    A drop-in for :class:`lightgbm.LGBMClassifier`: it accepts every parameter of it (``objective``
    must stay ``None``: the focal loss is the objective) plus the ``focal_*`` parameters below.
    ``fit`` computes the optimal constant start and applies it as ``init_score`` to the training
    set and every ``eval_set``; ``predict_proba`` adds it back and returns probabilities of shape
    ``(n_samples, n_classes)`` (binary focal loss for two classes, softmax focal loss for more);
    ``predict`` returns labels in the caller's label space; the weighted mean focal loss
    (``"focal_loss"``, lower is better) is always evaluated on ``eval_set`` and drives early
    stopping (``callbacks=[lightgbm.early_stopping(k)]``). LightGBM's built-in metric is switched
    off (``metric="None"``) unless given, since it would read raw scores as probabilities.

    Parameters
    ----------{_FOCAL_DOC}
    **other
        Every parameter of :class:`lightgbm.LGBMClassifier`, same names and defaults.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    init_score_ : float or ndarray of shape (n_classes,)
        The constant raw score the trees are added to (one per class for more than two classes).
    focal_loss_ : FocalLoss or SoftmaxFocalLoss
        :class:`focalboost.FocalLoss` for two classes, :class:`focalboost.SoftmaxFocalLoss` (one
        raw score per class) for more.
    """

    def __init__(
        self,
        *,
        focal_gamma: float = 2.0,
        focal_alpha: float | None = 0.25,
        focal_epsilon: float = 1e-3,
        focal_hessian: str = "positive",
        boosting_type: str = "gbdt",
        num_leaves: int = 31,
        max_depth: int = -1,
        learning_rate: float = 0.1,
        n_estimators: int = 100,
        subsample_for_bin: int = 200000,
        objective: Any = None,
        class_weight: Any = None,
        min_split_gain: float = 0.0,
        min_child_weight: float = 1e-3,
        min_child_samples: int = 20,
        subsample: float = 1.0,
        subsample_freq: int = 0,
        colsample_bytree: float = 1.0,
        reg_alpha: float = 0.0,
        reg_lambda: float = 0.0,
        random_state: Any = None,
        n_jobs: int | None = None,
        importance_type: str = "split",
        **kwargs: Any,
    ) -> None:
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.focal_epsilon = focal_epsilon
        self.focal_hessian = focal_hessian
        super().__init__(
            boosting_type=boosting_type,
            num_leaves=num_leaves,
            max_depth=max_depth,
            learning_rate=learning_rate,
            n_estimators=n_estimators,
            subsample_for_bin=subsample_for_bin,
            objective=objective,
            class_weight=class_weight,
            min_split_gain=min_split_gain,
            min_child_weight=min_child_weight,
            min_child_samples=min_child_samples,
            subsample=subsample,
            subsample_freq=subsample_freq,
            colsample_bytree=colsample_bytree,
            reg_alpha=reg_alpha,
            reg_lambda=reg_lambda,
            random_state=random_state,
            n_jobs=n_jobs,
            importance_type=importance_type,
            **kwargs,
        )

    # LightGBM builds the booster's parameters from get_params(): drop ours, put the focal
    # objective in, and switch off the default metric (it would read raw scores as probabilities).
    def _process_params(self, stage: str) -> dict[str, Any]:
        params = super()._process_params(stage)
        for name in FOCAL_PARAMS:
            params.pop(name, None)
        fitting = getattr(self, "_focal_fitting", None)
        if stage == "fit" and fitting is not None:
            params["objective"] = FocalObjective(fitting)
            if not any(k in self.get_params() for k in ("metric", "metrics", "metric_types")):
                params["metric"] = "None"
        return params

    def fit(  # type: ignore[override]
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        init_score: Any = None,
        eval_set: Any = None,
        eval_names: Any = None,
        eval_sample_weight: Any = None,
        eval_class_weight: Any = None,
        eval_init_score: Any = None,
        eval_metric: Any = None,
        **kwargs: Any,
    ) -> FocalLGBMClassifier:
        """Fit on ``X, y`` with the focal loss; arguments as in :meth:`lightgbm.LGBMClassifier.fit`.

        ``init_score`` / ``eval_init_score``, when given, are added to the focal init score (a
        per-row offset; as in LightGBM, it is not added back by ``predict``). ``eval_metric``
        is evaluated after the focal metric.
        """
        if self.objective is not None:
            raise ValueError(
                f"{type(self).__name__} trains with the focal loss: objective must be None, got {self.objective!r}"
            )
        weight = sample_weight
        if self.class_weight is not None:  # LightGBM multiplies these in: so must the init score
            from sklearn.utils.class_weight import compute_sample_weight

            cw = compute_sample_weight(self.class_weight, np.asarray(y).reshape(-1))
            weight = cw if sample_weight is None else np.asarray(sample_weight, dtype=np.float64) * cw
        _, loss, init = self._focal_setup(y, weight)

        eval_x, eval_y = kwargs.pop("eval_X", None), kwargs.pop("eval_y", None)
        if eval_x is not None:
            # LightGBM ≥ 4.7's other spelling of eval_set. LGBMClassifier encodes the labels of
            # eval_set only, so it is handed on as eval_set (without the deprecation warning).
            xs = eval_x if isinstance(eval_x, tuple) else (eval_x,)
            ys = eval_y if isinstance(eval_y, tuple) else (eval_y,)
            eval_set = list(zip(xs, ys, strict=True))
        if isinstance(eval_set, tuple):
            eval_set = [eval_set]
        train_init = add_offset(constant_rows(num_samples(X), init), init_score)
        valid_init: list[Any] | None = None
        if eval_set:
            given = list(eval_init_score) if eval_init_score is not None else [None] * len(eval_set)
            valid_init = [
                add_offset(constant_rows(num_samples(vx), init), g) for (vx, _), g in zip(eval_set, given, strict=True)
            ]
            for _, vy in eval_set:
                self._focal_transform_labels(vy)  # a clear error for labels unseen in y
        metrics: list[Any] = [_SklearnMetric(loss)]
        if eval_metric is not None:
            metrics += list(eval_metric) if isinstance(eval_metric, list) else [eval_metric]

        self._focal_fitting: AnyLoss | None = loss
        try:
            with warnings.catch_warnings():
                if eval_x is not None:
                    warnings.filterwarnings("ignore", message=".*'eval_set' is deprecated")
                super().fit(
                    X,
                    y,
                    sample_weight=sample_weight,
                    init_score=train_init,
                    eval_set=eval_set,
                    eval_names=eval_names,
                    eval_sample_weight=eval_sample_weight,
                    eval_class_weight=eval_class_weight,
                    eval_init_score=valid_init,
                    eval_metric=metrics,
                    **kwargs,
                )
        finally:
            self._focal_fitting = None
        self.init_score_ = init
        self.focal_loss_ = loss
        return self

    def decision_function(
        self, X: Any, start_iteration: int = 0, num_iteration: int | None = None, **kwargs: Any
    ) -> np.ndarray:
        """Raw scores, init score included: the log-odds of the second class, shape ``(n_samples,)``,
        or one score per class, shape ``(n_samples, n_classes)``."""
        check_is_fitted(self)
        raw = lgb.LGBMModel.predict(
            self, X, raw_score=True, start_iteration=start_iteration, num_iteration=num_iteration, **kwargs
        )
        return np.asarray(raw, dtype=np.float64) + self.init_score_

    def predict_proba(  # type: ignore[override]
        self,
        X: Any,
        raw_score: bool = False,
        start_iteration: int = 0,
        num_iteration: int | None = None,
        pred_leaf: bool = False,
        pred_contrib: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Class probabilities of shape ``(n_samples, 2)`` (with ``raw_score`` etc.: as ``predict``)."""
        if raw_score or pred_leaf or pred_contrib:
            return self.predict(X, raw_score, start_iteration, num_iteration, pred_leaf, pred_contrib, **kwargs)
        return self._focal_proba(self.decision_function(X, start_iteration, num_iteration, **kwargs))

    def predict(  # type: ignore[override]
        self,
        X: Any,
        raw_score: bool = False,
        start_iteration: int = 0,
        num_iteration: int | None = None,
        pred_leaf: bool = False,
        pred_contrib: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Labels in the caller's label space; ``raw_score=True``: margins with the init score;
        ``pred_contrib=True``: SHAP values whose last column (the expected value) includes it."""
        if raw_score:
            return self.decision_function(X, start_iteration, num_iteration, **kwargs)
        if pred_leaf or pred_contrib:
            out = lgb.LGBMModel.predict(
                self,
                X,
                start_iteration=start_iteration,
                num_iteration=num_iteration,
                pred_leaf=pred_leaf,
                pred_contrib=pred_contrib,
                **kwargs,
            )
            if pred_contrib and isinstance(out, np.ndarray) and not pred_leaf:
                # The expected value is the last column of each class's block of n_features + 1.
                init = np.atleast_1d(np.asarray(self.init_score_, dtype=np.float64))
                out = out.astype(np.float64).reshape(out.shape[0], init.size, -1)
                out[:, :, -1] += init
                out = out.reshape(out.shape[0], -1)
            return out
        return self._focal_labels(
            self.predict_proba(X, start_iteration=start_iteration, num_iteration=num_iteration, **kwargs)
        )
