"""CatBoost adapter: objective and metric objects, the init score as ``baseline``, and
:class:`FocalCatBoostClassifier`.

Translations only (DESIGN.md §4): a Python objective implements
``calc_ders_range(approxes, targets, weights)`` and returns the derivatives of the **negated**
loss (CatBoost maximizes), here as one ``(n, 2)`` numpy array per call (much faster than a list
of tuples); ``weights`` is ``None`` without sample weights and the derivatives are multiplied by
them. A metric implements ``evaluate(approxes, target, weight) -> (sum, weight_sum)``,
``get_final_error`` and ``is_max_optimal``. CatBoost's margin starts at 0 with a Python
objective: the init score goes into the Pools' ``baseline`` and is added back at prediction.
``no_jit = True`` keeps CatBoost from trying to compile these methods with numba (it cannot,
since they call the loss object); the loss object itself uses focalboost's fused kernel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from catboost import CatBoostClassifier, Pool

from ._catboost_multi import SoftmaxFocalObjective
from ._catboost_native import (  # noqa: F401  (re-exported: focalboost.catboost, focalboost._dask)
    FocalMetric,
    FocalObjective,
    apply_init_score,
    focal_metric,
    focal_objective,
    softmax_focal_metric,
    softmax_focal_objective,
)
from ._estimator import _FOCAL_DOC, AnyLoss, FocalClassifierMixin, add_offset, constant_rows, num_samples
from ._loss import FocalLoss
from ._softmax_loss import SoftmaxFocalLoss

__all__ = [
    "FocalCatBoostClassifier",
    "FocalMetric",
    "FocalObjective",
    "apply_init_score",
    "focal_metric",
    "focal_objective",
    "softmax_focal_metric",
    "softmax_focal_objective",
]


#: scikit-learn checks that FocalCatBoostClassifier fails, and why (used by tests/test_estimators.py).
EXPECTED_FAILED_CHECKS: dict[str, str] = {
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


class FocalCatBoostClassifier(FocalClassifierMixin, CatBoostClassifier):
    __doc__ = f"""CatBoost classifier trained with the (stabilized) focal loss.

    A drop-in for :class:`catboost.CatBoostClassifier`: it accepts every parameter of it
    (``loss_function`` must stay unset: the focal loss is the objective) plus the ``focal_*``
    parameters below, kept out of CatBoost's own parameters. ``fit`` computes the optimal
    constant start and applies it as ``baseline`` to the training data and every ``eval_set``;
    ``predict_proba`` adds it back and returns probabilities of shape ``(n_samples, n_classes)``;
    ``predict`` returns labels in the caller's label space. The weighted mean focal loss
    (``"FocalMetric"``, lower is better) is the default ``eval_metric`` and drives
    ``early_stopping_rounds``. ``X`` and ``eval_set`` are arrays or DataFrames (with
    ``cat_features`` etc. as fit arguments), not Pools. CatBoost picks ``learning_rate=0.03``
    for Python objectives instead of its automatic choice: set it.

    Parameters
    ----------{_FOCAL_DOC}
    **params
        Every parameter of :class:`catboost.CatBoostClassifier`, same names and defaults.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    init_score_ : float or ndarray of shape (n_classes,)
        The constant raw score the trees are added to.
    focal_loss_ : FocalLoss or SoftmaxFocalLoss
    """

    _FOCAL_NAMES = ("focal_gamma", "focal_alpha", "focal_epsilon", "focal_hessian")

    def __init__(
        self,
        *,
        focal_gamma: float = 2.0,
        focal_alpha: float | Sequence[float] | None = 0.25,
        focal_epsilon: float = 1e-3,
        focal_hessian: str = "positive",
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.focal_epsilon = focal_epsilon
        self.focal_hessian = focal_hessian

    # -- parameters: CatBoost keeps its own in _init_params; the focal ones are attributes ------
    def get_params(self, deep: bool = True, **kwargs: Any) -> dict[str, Any]:
        params = super().get_params(**kwargs)
        params.update({name: getattr(self, name) for name in self._FOCAL_NAMES})
        return params

    def set_params(self, **params: Any) -> FocalCatBoostClassifier:
        for name in self._FOCAL_NAMES:
            if name in params:
                setattr(self, name, params.pop(name))
        if params:
            super().set_params(**params)
        return self

    def __repr__(self) -> str:
        params = self.get_params()
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in sorted(params.items()))})"

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        extra = {name: getattr(self, name) for name in self._FOCAL_NAMES}
        for name in ("init_score_", "focal_loss_", "_focal_classes", "_focal_n_features"):
            if name in self.__dict__:
                extra[name] = self.__dict__[name]
        state["__focal__"] = extra
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        extra = state.pop("__focal__", {})
        super().__setstate__(state)
        self.__dict__.update(extra)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags

    # -- fit --------------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any = None,
        cat_features: Any = None,
        text_features: Any = None,
        embedding_features: Any = None,
        graph: Any = None,
        sample_weight: Any = None,
        baseline: Any = None,
        use_best_model: Any = None,
        eval_set: Any = None,
        **kwargs: Any,
    ) -> FocalCatBoostClassifier:
        """Fit on ``X, y`` with the focal loss; arguments as in :meth:`catboost.CatBoostClassifier.fit`.

        ``baseline``, when given, is added to the focal init score (a per-row offset that, as in
        CatBoost, prediction does not add back).
        """
        if isinstance(X, Pool) or (eval_set is not None and any(isinstance(e, Pool) for e in _as_list(eval_set))):
            raise TypeError(
                f"{type(self).__name__}.fit takes arrays or DataFrames (cat_features etc. as arguments), "
                "not catboost.Pool: use focalboost.catboost.focal_objective with Pools"
            )
        params = super().get_params()
        for name in ("loss_function", "objective"):
            if params.get(name) is not None:
                raise ValueError(
                    f"{type(self).__name__} trains with the focal loss: {name} must stay unset, got {params[name]!r}"
                )
        for name in ("class_weights", "auto_class_weights", "class_names", "scale_pos_weight"):
            if params.get(name) is not None:
                raise ValueError(
                    f"{type(self).__name__} does not take {name}={params[name]!r}: weigh classes with focal_alpha "
                    "or sample_weight"
                )
        X = _check_features(X)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        y_enc, loss, init = self._focal_setup(y, sample_weight)
        if y_enc.shape[0] != num_samples(X):
            raise ValueError(f"X has {num_samples(X)} samples but y has {y_enc.shape[0]}")
        features = dict(cat_features=cat_features, text_features=text_features, embedding_features=embedding_features)
        train = Pool(
            X,
            y_enc,
            weight=sample_weight,
            baseline=add_offset(constant_rows(num_samples(X), init), baseline, flat_order="C"),
            graph=graph,
            **features,
        )
        evals = None
        if eval_set is not None:
            evals = [
                Pool(
                    _check_features(vx),
                    self._focal_transform_labels(vy),
                    baseline=constant_rows(num_samples(vx), init),
                    **features,
                )
                for vx, vy in _as_list(eval_set)
            ]
        focal: dict[str, Any] = {"loss_function": _objective_for(loss)}
        if params.get("eval_metric") is None:
            focal["eval_metric"] = FocalMetric(loss)
        if isinstance(loss, SoftmaxFocalLoss):
            focal["classes_count"] = int(self._focal_classes.size)
        saved: dict[str, Any] = self._init_params  # type: ignore[has-type]
        self._init_params = {**saved, **focal}
        self._canonized_params = None
        try:
            super().fit(train, eval_set=evals, use_best_model=use_best_model, **kwargs)
        finally:
            self._init_params = saved
            self._canonized_params = None
        self.init_score_ = init
        self.focal_loss_ = loss
        self._focal_n_features = _num_features(X)
        return self

    # -- prediction -------------------------------------------------------------------------
    @property
    def classes_(self) -> Any:
        return self.__dict__.get("_focal_classes") if self.is_fitted() else None

    def decision_function(self, X: Any, ntree_start: int = 0, ntree_end: int = 0, thread_count: int = -1) -> np.ndarray:
        """Raw scores, init score included: shape ``(n_samples,)`` or ``(n_samples, n_classes)``."""
        from sklearn.exceptions import NotFittedError

        if not self.is_fitted() or "init_score_" not in self.__dict__:
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet: call fit first")
        X = _check_features(X)
        if _num_features(X) != self._focal_n_features:
            raise ValueError(
                f"X has {_num_features(X)} features, but {type(self).__name__} is expecting "
                f"{self._focal_n_features} features as input"
            )
        raw = CatBoostClassifier.predict(
            self,
            X,
            prediction_type="RawFormulaVal",
            ntree_start=ntree_start,
            ntree_end=ntree_end,
            thread_count=thread_count,
        )
        return np.asarray(raw, dtype=np.float64) + self.init_score_

    def predict_proba(
        self, X: Any, ntree_start: int = 0, ntree_end: int = 0, thread_count: int = -1, **kwargs: Any
    ) -> np.ndarray:
        """Class probabilities of shape ``(n_samples, n_classes)``."""
        return self._focal_proba(self.decision_function(X, ntree_start, ntree_end, thread_count))

    def predict_log_proba(
        self, X: Any, ntree_start: int = 0, ntree_end: int = 0, thread_count: int = -1, **kwargs: Any
    ) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X, ntree_start, ntree_end, thread_count))

    def predict(
        self,
        data: Any,
        prediction_type: str = "Class",
        ntree_start: int = 0,
        ntree_end: int = 0,
        thread_count: int = -1,
        **kwargs: Any,
    ) -> np.ndarray:
        """``"Class"``: labels in the caller's space; ``"Probability"``, ``"LogProbability"``,
        ``"RawFormulaVal"`` (init score included) as in CatBoost."""
        raw = self.decision_function(data, ntree_start, ntree_end, thread_count)
        if prediction_type == "RawFormulaVal":
            return raw
        proba = self._focal_proba(raw)
        if prediction_type == "Class":
            return self._focal_labels(proba)
        if prediction_type == "Probability":
            return proba
        if prediction_type == "LogProbability":
            with np.errstate(divide="ignore"):
                return np.log(proba)
        raise ValueError(
            "prediction_type must be 'Class', 'Probability', 'LogProbability' or 'RawFormulaVal', "
            f"got {prediction_type!r}"
        )

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Mean accuracy of :meth:`predict` on ``X, y`` (labels in the caller's space)."""
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(y, self.predict(X), sample_weight=sample_weight))


def _check_features(X: Any) -> Any:
    """What CatBoost would reject obscurely, rejected with a ValueError; other array-likes made arrays.

    DataFrames (with categorical or text columns) and scipy sparse matrices pass unchanged.
    """
    import scipy.sparse as sp

    if sp.issparse(X):
        # CatBoost takes scipy sparse matrices (not sparse arrays), with 32-bit indices
        X = sp.csr_matrix(X)
        if X.nnz < np.iinfo(np.int32).max:
            X.indices = X.indices.astype(np.int32)
            X.indptr = X.indptr.astype(np.int32)
        return X
    if not hasattr(X, "shape") or isinstance(X, np.ndarray):
        if not isinstance(X, (list, np.ndarray)) and not hasattr(X, "__array__"):
            return X
        X = np.asarray(X)
    shape: tuple[int, ...] = tuple(getattr(X, "shape", ()))
    if len(shape) != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {tuple(shape)}: Reshape your data")
    if shape[1] == 0:
        raise ValueError(f"Found array with 0 feature(s) (shape={tuple(shape)}) while a minimum of 1 is required.")
    if shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={tuple(shape)}) while a minimum of 1 is required.")
    if isinstance(X, np.ndarray) and np.iscomplexobj(X):
        raise ValueError("Complex data not supported")
    return X


def _num_features(X: Any) -> int:
    return int(X.shape[1])


def _as_list(eval_set: Any) -> list[Any]:
    if isinstance(eval_set, (tuple, Pool)):
        return [eval_set]
    return list(eval_set)


def _objective_for(loss: AnyLoss) -> FocalObjective | SoftmaxFocalObjective:
    return FocalObjective(loss) if isinstance(loss, FocalLoss) else SoftmaxFocalObjective(loss)
