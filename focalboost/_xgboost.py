"""XGBoost adapter: ``obj`` and ``custom_metric`` callables for ``xgb.train``, the init score as
``base_margin``, and :class:`FocalXGBClassifier`.

Translations only (DESIGN.md §4): ``xgb.train(params, dtrain, obj=f(predt, dmat),
custom_metric=m(predt, dmat))``; ``predt`` is a float32 numpy array of raw margins (base margin
included) when ``obj`` is given; ``dmat.get_weight()`` is an empty array when there are no
weights. A custom objective starts from ``base_score`` (a raw margin, 0.5 by default, or an
intercept XGBoost estimates) unless a ``base_margin`` is set: the init score goes there, which
replaces ``base_score`` for that DMatrix, so the default never leaks in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xgboost as xgb
from sklearn.utils.validation import check_is_fitted

from ._estimator import (
    _FOCAL_DOC,
    FOCAL_PARAMS,
    FocalClassifierMixin,
    add_offset,
    constant_rows,
    num_samples,
    swapped_attributes,
)
from ._xgboost_native import (  # noqa: F401  (re-exported: focalboost.xgboost, focalboost._dask)
    FocalMetric,
    FocalObjective,
    _derivatives,
    _SklearnMetric,
    _SklearnObjective,
    apply_init_score,
    focal_metric,
    focal_objective,
    softmax_focal_metric,
    softmax_focal_objective,
)

__all__ = [
    "FocalXGBClassifier",
    "apply_init_score",
    "focal_metric",
    "focal_objective",
    "softmax_focal_metric",
    "softmax_focal_objective",
]


class FocalXGBClassifier(xgb.XGBClassifier, FocalClassifierMixin):
    __doc__ = f"""XGBoost classifier trained with the (stabilized) focal loss.

    A drop-in for :class:`xgboost.XGBClassifier`: it accepts every parameter of it (``objective``
    must stay at its default: the focal loss is the objective) plus the ``focal_*`` parameters
    below, which are never forwarded to the booster. ``fit`` computes the optimal constant start
    and applies it as ``base_margin`` to the training set and every ``eval_set`` (so XGBoost's
    ``base_score`` never enters); ``predict_proba`` adds it back and returns probabilities of
    shape ``(n_samples, n_classes)`` (binary focal loss for two classes, softmax focal loss for
    more); ``predict`` returns labels in the caller's label space. The
    weighted mean focal loss (``"focal_loss"``, lower is better) is evaluated on every
    ``eval_set`` and drives ``early_stopping_rounds``; string ``eval_metric`` entries are
    evaluated before it, on probabilities.

    Parameters
    ----------{_FOCAL_DOC}
    **kwargs
        Every parameter of :class:`xgboost.XGBClassifier`, same names and defaults.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    init_score_ : float or ndarray of shape (n_classes,)
        The constant raw score the trees are added to (one per class for more than two classes).
    focal_loss_ : FocalLoss or SoftmaxFocalLoss
        :class:`focalboost.FocalLoss` for two classes, :class:`focalboost.SoftmaxFocalLoss` for more.
    """

    def __init__(
        self,
        *,
        focal_gamma: float = 2.0,
        focal_alpha: float | None = 0.25,
        focal_epsilon: float = 1e-3,
        focal_hessian: str = "positive",
        **kwargs: Any,
    ) -> None:
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.focal_epsilon = focal_epsilon
        self.focal_hessian = focal_hessian
        super().__init__(**kwargs)

    # XGBoost forwards every get_params() entry except these "wrapper" ones to the booster.
    def _wrapper_params(self) -> set[str]:
        return super()._wrapper_params() | set(FOCAL_PARAMS)

    def get_xgb_params(self) -> dict[str, Any]:
        params = super().get_xgb_params()
        if getattr(self, "_focal_fitting", False):
            # During fit eval_metric is [*built-in names, focal metric]: only names go to the
            # booster (the focal metric goes as custom_metric and is evaluated last).
            builtin = [m for m in params.pop("eval_metric", None) or [] if isinstance(m, str)]
            if builtin:
                params["eval_metric"] = builtin
            else:
                params["disable_default_eval_metric"] = True
        return params

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False  # one label per sample: binary or multiclass
        return tags

    @property
    def classes_(self) -> np.ndarray:
        # XGBClassifier.fit checks the (encoded) training labels against classes_: during our
        # fit those are 0 .. n-1; afterwards classes_ holds the caller's labels.
        if getattr(self, "_focal_fitting", False):
            return np.arange(self.n_classes_)
        return self._focal_classes

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        sample_weight: Any = None,
        base_margin: Any = None,
        eval_set: Any = None,
        verbose: bool | int | None = True,
        xgb_model: Any = None,
        sample_weight_eval_set: Any = None,
        base_margin_eval_set: Any = None,
        feature_weights: Any = None,
    ) -> FocalXGBClassifier:
        """Fit on ``X, y`` with the focal loss; arguments as in :meth:`xgboost.XGBClassifier.fit`.

        ``base_margin`` / ``base_margin_eval_set``, when given, are added to the focal init
        score (a per-row offset; pass the same offset as ``base_margin`` when predicting).
        """
        if self.objective not in (None, "binary:logistic", "multi:softprob"):
            raise ValueError(
                f"{type(self).__name__} trains with the focal loss: objective must stay at its default, "
                f"got {self.objective!r}"
            )
        metric = self.eval_metric
        if callable(metric) or (isinstance(metric, (list, tuple)) and any(callable(m) for m in metric)):
            raise ValueError(
                f"{type(self).__name__} evaluates the focal loss as XGBoost's one custom metric; "
                f"eval_metric may only name built-in metrics, got {metric!r}"
            )
        y_enc, loss, init = self._focal_setup(y, sample_weight)
        train_margin = add_offset(constant_rows(num_samples(X), init), base_margin, flat_order="C")
        if isinstance(eval_set, tuple):
            eval_set = [eval_set]
        eval_margin = None
        if eval_set:
            eval_set = [(vx, self._focal_transform_labels(vy)) for vx, vy in eval_set]
            given = list(base_margin_eval_set) if base_margin_eval_set is not None else [None] * len(eval_set)
            eval_margin = [
                add_offset(constant_rows(num_samples(vx), init), g, flat_order="C")
                for (vx, _), g in zip(eval_set, given, strict=True)
            ]
        builtin = [] if metric is None else [metric] if isinstance(metric, str) else list(metric)
        self._focal_fitting = True
        try:
            with swapped_attributes(
                self, objective=_SklearnObjective(loss), eval_metric=[*builtin, _SklearnMetric(loss)]
            ):
                super().fit(
                    X,
                    y_enc,
                    sample_weight=sample_weight,
                    base_margin=train_margin,
                    eval_set=eval_set,
                    verbose=verbose,
                    xgb_model=xgb_model,
                    sample_weight_eval_set=sample_weight_eval_set,
                    base_margin_eval_set=eval_margin,
                    feature_weights=feature_weights,
                )
        finally:
            self._focal_fitting = False
        self.init_score_ = init
        self.focal_loss_ = loss
        return self

    def decision_function(
        self, X: Any, *, validate_features: bool = True, base_margin: Any = None, iteration_range: Any = None
    ) -> np.ndarray:
        """Raw scores, init score included: the log-odds of the second class, shape ``(n_samples,)``,
        or one score per class, shape ``(n_samples, n_classes)``."""
        check_is_fitted(self)
        margin = add_offset(constant_rows(num_samples(X), self.init_score_), base_margin, flat_order="C")
        raw = xgb.XGBModel.predict(
            self,
            X,
            output_margin=True,
            validate_features=validate_features,
            base_margin=margin,
            iteration_range=iteration_range,
        )
        return np.asarray(raw, dtype=np.float64)

    def predict_proba(
        self, X: Any, validate_features: bool = True, base_margin: Any = None, iteration_range: Any = None
    ) -> np.ndarray:
        """Class probabilities of shape ``(n_samples, n_classes)``."""
        return self._focal_proba(
            self.decision_function(
                X, validate_features=validate_features, base_margin=base_margin, iteration_range=iteration_range
            )
        )

    def predict(
        self,
        X: Any,
        *,
        output_margin: bool = False,
        validate_features: bool = True,
        base_margin: Any = None,
        iteration_range: Any = None,
    ) -> np.ndarray:
        """Labels in the caller's label space; ``output_margin=True``: margins with the init score."""
        raw = self.decision_function(
            X, validate_features=validate_features, base_margin=base_margin, iteration_range=iteration_range
        )
        if output_margin:
            return raw
        return self._focal_labels(self._focal_proba(raw))
