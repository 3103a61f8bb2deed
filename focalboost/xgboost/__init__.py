"""focalboost for XGBoost: the scikit-learn estimator :class:`FocalXGBClassifier`, and for
``xgb.train`` the focal objective and metric, the init score as ``base_margin`` and inside the
booster.

Requires ``xgboost >= 2`` (the ``xgboost`` extra).
"""

from __future__ import annotations

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
    swapped_attributes,
)
from .._config import missing_extra
from .._loss import BaseFocalLoss

try:
    import xgboost as xgb
    from sklearn.utils.validation import check_is_fitted
except ImportError as exc:  # pragma: no cover - exercised where the extra is missing
    raise missing_extra(__name__, "xgboost", exc) from exc

from ._native import (
    FocalMetric,
    FocalObjective,
    _SklearnMetric,
    _SklearnObjective,
    apply_init_score,
    bake_init_score,
    dmatrix_margins,
    focal_metric,
    focal_objective,
    predict_rounds,
    with_init_score,
)

__all__ = [
    "FocalMetric",
    "FocalObjective",
    "FocalXGBClassifier",
    "apply_init_score",
    "focal_metric",
    "focal_objective",
    "with_init_score",
]


#: What XGBoost makes of the focal parameters' unprefixed names (refused: see FocalClassifierMixin).
_SHADOWS = {
    "gamma": "is XGBoost's min_split_loss (pass min_split_loss= for that)",
    "alpha": "is XGBoost's reg_alpha, the L1 penalty on leaf weights (pass reg_alpha= for that)",
    "epsilon": "is not an XGBoost parameter (XGBoost would ignore it)",
}


def _wrapper_params(model: xgb.XGBModel) -> set[str]:
    """The ``get_params()`` entries XGBoost's scikit-learn wrapper keeps from the booster.

    XGBoost's private ``XGBModel._wrapper_params()``: the one private API of XGBoost this
    estimator relies on (overridden below to add the ``focal_*`` parameters); a test fails
    loudly if XGBoost changes it.
    """
    return xgb.XGBModel._wrapper_params(model)


@focal_parameters(objective=None)
class FocalXGBClassifier(xgb.XGBClassifier, FocalClassifierMixin):
    __doc__ = f"""XGBoost classifier trained with the (stabilized) focal loss.

    A drop-in for :class:`xgboost.XGBClassifier`: it accepts every parameter of it (``objective``
    must stay ``None``: the focal loss is the objective) plus the ``focal_*`` parameters below,
    which are never forwarded to the booster. Two classes train with :class:`focalboost.FocalLoss`
    on one raw margin, more with :class:`focalboost.MulticlassFocalLoss`.

    ``fit`` computes the optimal constant start (``init_score_``) and applies it as
    ``base_margin`` to the training set and every ``eval_set`` (so XGBoost's ``base_score`` never
    enters); afterwards it writes it into the booster (the first tree's leaves for two classes,
    the per-class ``base_score`` for more) with the ``binary:logistic`` / ``multi:softprob``
    link, so that ``get_booster()`` and its saved file predict the model's raw margins in any
    XGBoost runtime without focalboost (see :func:`with_init_score`). ``predict_proba`` returns
    ``focal_proba`` of the raw margins, shape ``(n_samples, n_classes)``; ``predict`` the class
    of largest probability in the caller's label space; ``decision_function`` the matching
    log-odds (log-probabilities for more classes); ``predict(X, output_margin=True)`` the raw
    margins.

    Evaluation: without ``eval_metric`` the weighted mean focal loss (``"focal_loss"``, lower is
    better) is evaluated on every ``eval_set`` and drives ``early_stopping_rounds``. With
    ``eval_metric`` (built-in names and at most one callable, as :class:`xgboost.XGBClassifier`
    takes), those are evaluated instead and the last drives early stopping, as there; built-in
    metrics see the sigmoid/softmax of the margins, a callable sees ``predict_proba``'s
    probabilities. With ``device="cuda"`` and torch installed, the gradients are computed on the GPU.

    Parameters
    ----------{FOCAL_DOC}
    objective : None, default=None
        Must stay None: the focal loss is the objective.
    **kwargs
        Every other parameter of :class:`xgboost.XGBClassifier`, same names and defaults.
        ``gamma`` and ``alpha`` (XGBoost's ``min_split_loss`` and ``reg_alpha``) and ``epsilon``
        are refused: use ``focal_gamma`` etc. for the focal loss, ``min_split_loss`` / ``reg_alpha``
        for XGBoost's.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    init_score_ : float or ndarray of shape (n_classes,)
        The constant raw margin the trees were added to (one per class for more than two
        classes); the booster holds it.
    focal_loss_ : FocalLoss or MulticlassFocalLoss
        :class:`focalboost.FocalLoss` for two classes, :class:`focalboost.MulticlassFocalLoss` for more.
    focal_scale_ : float
        The factor the gradient and Hessian were multiplied by (``focal_scale``).
    """

    # XGBoost forwards every get_params() entry except these "wrapper" ones to the booster.
    def _wrapper_params(self) -> set[str]:
        return _wrapper_params(self) | set(FOCAL_PARAMS)

    def get_xgb_params(self) -> dict[str, Any]:
        params = super().get_xgb_params()
        if getattr(self, "_focal_fitting", False):
            # During fit eval_metric may hold a callable (the focal metric, or the caller's): only
            # names go to the booster (the callable goes as custom_metric), and without names
            # XGBoost's default metric, which would read the margins as its objective's, is off.
            metric = params.pop("eval_metric", None)
            names = [metric] if isinstance(metric, str) else [m for m in metric or [] if isinstance(m, str)]
            if names:
                params["eval_metric"] = names
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

    def _eval_metric_for_fit(self, loss: BaseFocalLoss) -> Any:
        """The ``eval_metric`` XGBoost sees during fit: the focal metric when the caller gave none;
        else the caller's, a callable wrapped to receive probabilities (XGBoost hands a custom
        metric raw margins when the objective is a callable)."""
        metric = self.eval_metric
        if metric is None:
            return _SklearnMetric(loss)
        metrics = [metric] if (isinstance(metric, str) or callable(metric)) else list(metric)
        if sum(callable(m) for m in metrics) > 1:
            raise ValueError(f"eval_metric may hold at most one callable (XGBoost's limit), got {metric!r}")
        wrapped = [m if isinstance(m, str) else _ProbaMetric(m, self) for m in metrics]
        return wrapped[0] if len(wrapped) == 1 else wrapped

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
        ``xgb_model`` (continued training) is refused.
        """
        self._focal_check_params(_SHADOWS)
        if self.objective is not None:
            raise ValueError(
                f"{type(self).__name__} trains with the focal loss: objective must be None, got {self.objective!r}"
            )
        if xgb_model is not None:
            raise ValueError(
                f"{type(self).__name__} does not continue training from xgb_model (its start would be the "
                "other model's margins, not the focal init score); fit a new model"
            )
        y_enc, loss, init, scale = self._focal_setup(X, y, sample_weight)
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
        self._focal_fitting = True
        self.focal_loss_ = loss  # the wrapped eval_metric reads it during fit
        self.init_score_ = init
        self._focal_baked = False
        try:
            with swapped_attributes(
                self,
                objective=_SklearnObjective(loss, device=self.device, scale=scale),
                eval_metric=self._eval_metric_for_fit(loss),
            ):
                super().fit(
                    X,
                    y_enc,
                    sample_weight=sample_weight,
                    base_margin=train_margin,
                    eval_set=eval_set,
                    verbose=verbose,
                    xgb_model=None,
                    sample_weight_eval_set=sample_weight_eval_set,
                    base_margin_eval_set=eval_margin,
                    feature_weights=feature_weights,
                )
        finally:
            self._focal_fitting = False
        self.focal_scale_ = scale
        self._bake_init_score()
        return self

    def _bake_init_score(self) -> None:
        """The init score into the booster, or a warning where it cannot hold it (see
        :func:`~focalboost.xgboost._native.bake_init_score`): then prediction adds it."""
        self._Booster, self._focal_baked = bake_init_score(
            self.get_booster(), self.init_score_, type(self).__name__, stacklevel=3
        )

    def _margin(self, X: Any, base_margin: Any, iteration_range: Any) -> np.ndarray | None:
        """The ``base_margin`` to predict with: none when the booster holds the init score (but a
        multiclass booster's ``base_score`` is replaced by any ``base_margin``), the init score
        plus the caller's offset otherwise."""
        multiclass = np.ndim(self.init_score_) > 0
        if getattr(self, "_focal_baked", False) and (base_margin is None or not multiclass):
            return None if base_margin is None else add_offset(np.zeros(num_samples(X)), base_margin, flat_order="C")
        return add_offset(constant_rows(num_samples(X), self.init_score_), base_margin, flat_order="C")

    def _raw(self, X: Any, validate_features: bool, base_margin: Any, iteration_range: Any) -> np.ndarray:
        """Raw margins, init score included."""
        check_is_fitted(self)
        margin = self._margin(X, base_margin, iteration_range)
        if margin is not None and self.booster == "dart":  # XGBoost's inplace_predict gets these wrong
            raw = dmatrix_margins(
                self.get_booster(),
                X,
                margin,
                iteration_range=predict_rounds(self, iteration_range),
                validate_features=validate_features,
                missing=self.missing,
                nthread=self.n_jobs,
                feature_types=self.feature_types,
                enable_categorical=self.enable_categorical,
            )
        else:
            raw = xgb.XGBModel.predict(
                self,
                X,
                output_margin=True,
                validate_features=validate_features,
                base_margin=margin,
                iteration_range=iteration_range,
            )
        raw = np.asarray(raw, dtype=np.float64)
        skips_first = iteration_range is not None and iteration_range[0] > 0
        if skips_first and getattr(self, "_focal_baked", False) and np.ndim(self.init_score_) == 0:
            raw = raw + self.init_score_  # a binary booster holds it in the skipped first tree
        return raw

    def decision_function(
        self, X: Any, *, validate_features: bool = True, base_margin: Any = None, iteration_range: Any = None
    ) -> np.ndarray:
        """The decision function: shape ``(n_samples,)``, positive where :meth:`predict` gives the
        second class, or ``(n_samples, n_classes)`` whose argmax is :meth:`predict`.

        With ``focal_proba="posterior"`` the log-odds (log-probabilities) of :meth:`predict_proba`,
        with ``"link"`` the raw margins (``predict(X, output_margin=True)``)."""
        return self._focal_decision(self._raw(X, validate_features, base_margin, iteration_range))

    def predict_proba(
        self, X: Any, validate_features: bool = True, base_margin: Any = None, iteration_range: Any = None
    ) -> np.ndarray:
        """Class probabilities (``focal_proba``) of shape ``(n_samples, n_classes)``."""
        return self._focal_probabilities(self._raw(X, validate_features, base_margin, iteration_range))

    def predict_log_proba(
        self, X: Any, validate_features: bool = True, base_margin: Any = None, iteration_range: Any = None
    ) -> np.ndarray:
        """The logarithm of :meth:`predict_proba`, computed directly (exact where it underflows)."""
        return self._focal_probabilities(self._raw(X, validate_features, base_margin, iteration_range), log=True)

    def predict(
        self,
        X: Any,
        *,
        output_margin: bool = False,
        validate_features: bool = True,
        base_margin: Any = None,
        iteration_range: Any = None,
    ) -> np.ndarray:
        """Labels in the caller's label space; ``output_margin=True``: the raw margins (init score
        included)."""
        raw = self._raw(X, validate_features, base_margin, iteration_range)
        if output_margin:
            return raw
        return self._focal_labels(self._focal_probabilities(raw))


class _ProbaMetric:
    """A caller's callable ``eval_metric(y_true, y_pred)`` fed :meth:`FocalXGBClassifier.predict_proba`'s
    probabilities (the second column for two classes, as :class:`xgboost.XGBClassifier` feeds it)."""

    def __init__(self, metric: Any, estimator: FocalXGBClassifier) -> None:
        self.metric = metric
        self.estimator = estimator
        self.__name__ = getattr(metric, "__name__", type(metric).__name__)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        proba = self.estimator._focal_probabilities(y_pred)
        if proba.shape[1] == 2:
            proba = proba[:, 1]
        if sample_weight is None:
            return self.metric(y_true, proba)
        return self.metric(y_true, proba, sample_weight=sample_weight)
