"""focalboost for LightGBM: the scikit-learn estimator :class:`FocalLGBMClassifier`, and for
``lgb.train`` the focal objective and metric, the init score on Datasets and inside the booster.

Requires ``lightgbm >= 4`` (the ``lightgbm`` extra).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._boosting import (
    FOCAL_DOC,
    FOCAL_PARAMS,
    FocalClassifierMixin,
    add_offset,
    constant_rows,
    focal_parameters,
    num_samples,
)
from .._config import missing_extra

try:
    import lightgbm as lgb
    from sklearn.utils.validation import check_is_fitted
except ImportError as exc:  # pragma: no cover - exercised where the extra is missing
    raise missing_extra(__name__, "lightgbm", exc) from exc

from ._native import (
    FocalMetric,
    FocalObjective,
    _SklearnMetric,
    apply_init_score,
    focal_metric,
    focal_objective,
    with_init_score,
)

__all__ = [
    "FocalLGBMClassifier",
    "FocalMetric",
    "FocalObjective",
    "apply_init_score",
    "focal_metric",
    "focal_objective",
    "with_init_score",
]

#: What LightGBM makes of the focal parameters' unprefixed names (refused: see FocalClassifierMixin).
_SHADOWS = {
    "gamma": "is not a LightGBM parameter (LightGBM would ignore it)",
    "alpha": "is LightGBM's Huber / quantile parameter, which a classifier does not use",
    "epsilon": "is not a LightGBM parameter (LightGBM would ignore it)",
}


def _library_params(model: lgb.LGBMModel, stage: str) -> dict[str, Any]:
    """The booster parameters LightGBM's scikit-learn wrapper builds from ``get_params()``.

    LightGBM's private ``LGBMModel._process_params(stage)``: the one private API of LightGBM this
    estimator relies on (it is overridden below to drop the ``focal_*`` parameters and put the
    focal objective in); a test fails loudly if LightGBM changes it.
    """
    return lgb.LGBMModel._process_params(model, stage)


@focal_parameters()
class FocalLGBMClassifier(FocalClassifierMixin, lgb.LGBMClassifier):
    __doc__ = f"""LightGBM classifier trained with the (stabilized) focal loss.

    A drop-in for :class:`lightgbm.LGBMClassifier`: it accepts every parameter of it (``objective``
    must stay ``None``: the focal loss is the objective) plus the ``focal_*`` parameters below.
    Two classes train with :class:`focalboost.FocalLoss` on one raw score, more with
    :class:`focalboost.MulticlassFocalLoss` on one raw score per class.

    ``fit`` computes the optimal constant start (``init_score_``), applies it as ``init_score`` to
    the training set and every ``eval_set``, and afterwards writes it into the booster (the first
    tree of each class) together with the sigmoid/softmax link, so that ``booster_`` and the file
    ``booster_.save_model`` writes predict the model's raw scores in any LightGBM runtime without
    focalboost (see :func:`with_init_score`). ``predict_proba`` returns ``focal_proba`` of those
    raw scores, shape ``(n_samples, n_classes)``; ``predict`` the class of largest probability, in
    the caller's label space; ``decision_function`` the matching log-odds (log-probabilities for
    more classes); ``predict(X, raw_score=True)`` the raw scores. The weighted mean focal loss
    (``"focal_loss"``, lower is better) is evaluated on every ``eval_set`` after any built-in
    metric, and early stopping (``callbacks=[lightgbm.early_stopping(k)]``) follows LightGBM's
    rules. LightGBM's default metric is switched off (``metric="None"``) unless given, since it
    would read raw scores as probabilities.

    Parameters
    ----------{FOCAL_DOC}
    **other
        Every parameter of :class:`lightgbm.LGBMClassifier`, same names and defaults. ``gamma``,
        ``alpha`` and ``epsilon`` are refused (use the ``focal_*`` names), as is a misspelled
        ``focal_*`` name.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    init_score_ : float or ndarray of shape (n_classes,)
        The constant raw score the trees were added to (one per class for more than two
        classes); ``booster_`` holds it.
    focal_loss_ : FocalLoss or MulticlassFocalLoss
        :class:`focalboost.FocalLoss` for two classes, :class:`focalboost.MulticlassFocalLoss` (one
        raw score per class) for more.
    focal_scale_ : float
        The factor the gradient and Hessian were multiplied by (``focal_scale``).
    """

    # LightGBM builds the booster's parameters from get_params(): drop ours, put the focal
    # objective in, and switch off the default metric (it would read raw scores as probabilities).
    def _process_params(self, stage: str) -> dict[str, Any]:
        params = _library_params(self, stage)
        for name in FOCAL_PARAMS:
            params.pop(name, None)
        fitting = getattr(self, "_focal_fitting", None)
        if stage == "fit" and fitting is not None:
            params["objective"] = fitting
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
        self._focal_check_params(_SHADOWS)
        if self.objective is not None:
            raise ValueError(
                f"{type(self).__name__} trains with the focal loss: objective must be None, got {self.objective!r}"
            )
        if kwargs.get("init_model") is not None:
            raise ValueError(
                f"{type(self).__name__} does not continue training from init_model (its start would be the "
                "other model's raw scores, not the focal init score); fit a new model"
            )
        weight = sample_weight
        if self.class_weight is not None:  # LightGBM multiplies these in: so must the init score
            from sklearn.utils.class_weight import compute_sample_weight

            cw = compute_sample_weight(self.class_weight, np.asarray(y).reshape(-1))
            weight = cw if sample_weight is None else np.asarray(sample_weight, dtype=np.float64) * cw
        _, loss, init, scale = self._focal_setup(X, y, weight)

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

        self._focal_fitting: FocalObjective | None = FocalObjective(loss, scale)
        try:
            with warnings.catch_warnings():
                if eval_x is not None:  # handed on as eval_set: not the caller's deprecated spelling
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
        # The init score into the booster (all iterations: num_iteration and early stopping stay
        # the caller's to choose), so that booster_ predicts on its own.
        self._Booster = with_init_score(self.booster_, init, num_iteration=-1)
        self.init_score_ = init
        self.focal_loss_ = loss
        self.focal_scale_ = scale
        return self

    def _raw(self, X: Any, start_iteration: int = 0, num_iteration: int | None = None, **kwargs: Any) -> np.ndarray:
        """Raw scores, init score included (the booster holds it in its first iteration, which
        ``start_iteration > 0`` skips: it is added back then)."""
        check_is_fitted(self)
        raw = lgb.LGBMModel.predict(
            self, X, raw_score=True, start_iteration=start_iteration, num_iteration=num_iteration, **kwargs
        )
        raw = np.asarray(raw, dtype=np.float64)
        return raw + self.init_score_ if start_iteration > 0 else raw

    def decision_function(
        self, X: Any, start_iteration: int = 0, num_iteration: int | None = None, **kwargs: Any
    ) -> np.ndarray:
        """The decision function: shape ``(n_samples,)``, positive where :meth:`predict` gives the
        second class, or ``(n_samples, n_classes)`` whose argmax is :meth:`predict`.

        With ``focal_proba="posterior"`` the log-odds (log-probabilities) of :meth:`predict_proba`,
        with ``"link"`` the raw scores (``predict(X, raw_score=True)``)."""
        return self._focal_decision(self._raw(X, start_iteration, num_iteration, **kwargs))

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
        """Class probabilities (``focal_proba``) of shape ``(n_samples, n_classes)`` (with
        ``raw_score`` etc.: as :meth:`predict`)."""
        if raw_score or pred_leaf or pred_contrib:
            return self.predict(X, raw_score, start_iteration, num_iteration, pred_leaf, pred_contrib, **kwargs)
        return self._focal_probabilities(self._raw(X, start_iteration, num_iteration, **kwargs))

    def predict_log_proba(
        self, X: Any, start_iteration: int = 0, num_iteration: int | None = None, **kwargs: Any
    ) -> np.ndarray:
        """The logarithm of :meth:`predict_proba`, computed directly (exact where it underflows)."""
        return self._focal_probabilities(self._raw(X, start_iteration, num_iteration, **kwargs), log=True)

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
        """Labels in the caller's label space; ``raw_score=True``: the raw scores (init score
        included); ``pred_contrib=True``: SHAP values, whose rows sum to the raw scores."""
        if raw_score:
            return self._raw(X, start_iteration, num_iteration, **kwargs)
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
            if pred_contrib and start_iteration > 0 and isinstance(out, np.ndarray) and not pred_leaf:
                # The expected value is the last column of each class's block of n_features + 1;
                # the init score lives in the skipped first iteration.
                init = np.atleast_1d(np.asarray(self.init_score_, dtype=np.float64))
                out = out.astype(np.float64).reshape(out.shape[0], init.size, -1)
                out[:, :, -1] += init
                out = out.reshape(out.shape[0], -1)
            return out
        return self._focal_labels(
            self.predict_proba(X, start_iteration=start_iteration, num_iteration=num_iteration, **kwargs)
        )
