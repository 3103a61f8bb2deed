"""focalboost for CatBoost: the scikit-learn estimator :class:`FocalCatBoostClassifier`, and for
CatBoost's own API the focal objective and metric objects, the init score as Pool ``baseline``
and inside a trained model.

Requires ``catboost >= 1.2`` (the ``catboost`` extra).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .._boosting import FOCAL_DOC, FOCAL_PARAMS, FocalClassifierMixin, add_offset, constant_rows, num_samples
from .._config import missing_extra
from .._loss import BaseFocalLoss, FocalLoss, MulticlassFocalLoss

try:
    from catboost import CatBoostClassifier, Pool
except ImportError as exc:  # pragma: no cover - exercised where the extra is missing
    raise missing_extra(__name__, "catboost", exc) from exc

from ._native import (
    FocalMetric,
    FocalObjective,
    MulticlassFocalObjective,
    _FocalLossMetric,
    apply_init_score,
    focal_metric,
    focal_objective,
    with_init_score,
)

__all__ = [
    "FocalCatBoostClassifier",
    "FocalMetric",
    "FocalObjective",
    "MulticlassFocalObjective",
    "apply_init_score",
    "focal_metric",
    "focal_objective",
    "with_init_score",
]


#: What CatBoost makes of the focal parameters' unprefixed names (refused: see FocalClassifierMixin).
_SHADOWS = {
    "gamma": "is not a CatBoost parameter",
    "alpha": "is not a CatBoost parameter",
    "epsilon": "is not a CatBoost parameter",
}


def _logloss_leaf_iterations(params: dict[str, Any], n_features: int, n_classes: int) -> int | None:
    """The Newton steps per leaf CatBoost would take for its own log-loss on this fit, where they
    differ from the one step it gives a Python objective; None where they do not (or the caller
    chose a leaf estimation).

    CatBoost (1.2) defaults ``Logloss`` to 10 Newton steps, ``MultiClass`` and Python objectives
    to 1, and resets an unset count to 1 for runs of fewer than 200 iterations on fewer than 20
    features. So that ``focal_gamma=0`` trains as ``CatBoostClassifier`` does with its log-loss,
    the estimator passes the same count.
    """
    if params.get("leaf_estimation_iterations") is not None or params.get("leaf_estimation_method") is not None:
        return None
    if n_classes > 2:
        return None
    iterations = next(
        (
            params[k]
            for k in ("iterations", "n_estimators", "num_boost_round", "num_trees")
            if params.get(k) is not None
        ),
        1000,
    )
    if iterations < 200 and n_features < 20:
        return None
    return 10


@contextlib.contextmanager
def _library_params_swapped(model: CatBoostClassifier, extra: dict[str, Any]) -> Iterator[None]:
    """Fit with ``extra`` added to CatBoost's own parameters, restored afterwards, even on error.

    CatBoost keeps the constructor's parameters in the private ``_init_params`` dict (and a
    cache of their canonical form in ``_canonized_params``): the one private API of CatBoost this
    estimator relies on; a test fails loudly if CatBoost changes it.
    """
    saved: dict[str, Any] = model._init_params
    model._init_params = {**saved, **extra}
    model._canonized_params = None
    try:
        yield
    finally:
        model._init_params = saved
        model._canonized_params = None


class FocalCatBoostClassifier(FocalClassifierMixin, CatBoostClassifier):
    __doc__ = f"""CatBoost classifier trained with the (stabilized) focal loss.

    A drop-in for :class:`catboost.CatBoostClassifier`: it accepts every parameter of it
    (``loss_function`` must stay unset: the focal loss is the objective) plus the ``focal_*``
    parameters below, kept out of CatBoost's own parameters. ``fit`` computes the optimal
    constant start and applies it as ``baseline`` to the training data and every ``eval_set``;
    ``predict_proba`` adds it back and returns probabilities of shape ``(n_samples, n_classes)``;
    ``predict`` returns labels in the caller's label space. The weighted mean focal loss
    (``"focal_loss"``, lower is better) is the default ``eval_metric`` and drives
    ``early_stopping_rounds``. ``X`` and ``eval_set`` are arrays or DataFrames (with
    ``cat_features`` etc. given to the constructor or to ``fit``), not Pools. CatBoost picks ``learning_rate=0.03``
    for Python objectives instead of its automatic choice: set it.

    Parameters
    ----------{FOCAL_DOC}
    **params
        Every parameter of :class:`catboost.CatBoostClassifier`, same names and defaults.
        ``gamma``, ``alpha`` and ``epsilon`` are refused (use the ``focal_*`` names), as is a
        misspelled ``focal_*`` name.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    init_score_ : float or ndarray of shape (n_classes,)
        The constant raw score the trees are added to.
    focal_loss_ : FocalLoss or MulticlassFocalLoss
    """

    def __init__(
        self,
        *,
        focal_gamma: float = 2.0,
        focal_alpha: float | Sequence[float] | None = 0.25,
        focal_epsilon: float = 1e-3,
        focal_hessian: str = "positive",
        focal_proba: str = "posterior",
        focal_scale: Any = 1.0,
        **params: Any,
    ) -> None:
        # CatBoost's constructor refuses names it does not know with a bare TypeError: name the
        # focal parameter meant by a misspelled or unprefixed one first.
        self._focal_check_params(_SHADOWS, params)
        super().__init__(**params)
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.focal_epsilon = focal_epsilon
        self.focal_hessian = focal_hessian
        self.focal_proba = focal_proba
        self.focal_scale = focal_scale

    # -- parameters: CatBoost keeps its own in _init_params; the focal ones are attributes ------
    def get_params(self, deep: bool = True, **kwargs: Any) -> dict[str, Any]:
        # CatBoost returns a deep copy whatever ``deep`` says; scikit-learn's clone asks for
        # deep=False and needs the objects given to the constructor (a list of cat_features too).
        params = super().get_params(**kwargs) if deep else dict(self._init_params)
        params.update({name: getattr(self, name) for name in FOCAL_PARAMS})
        return params

    def set_params(self, **params: Any) -> FocalCatBoostClassifier:
        for name in FOCAL_PARAMS:
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
        extra = {name: getattr(self, name) for name in FOCAL_PARAMS}
        for name in ("init_score_", "focal_loss_", "focal_scale_", "_focal_classes", "_focal_n_features"):
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
        CatBoost, prediction does not add back). ``cat_features``, ``text_features`` and
        ``embedding_features`` given here or to the constructor apply to ``X`` and every
        ``eval_set``. ``init_model`` (continued training) is refused.
        """
        self._focal_check_params(_SHADOWS)
        if kwargs.get("init_model") is not None:
            raise ValueError(
                f"{type(self).__name__} does not continue training from init_model (its start would be the "
                "other model's raw scores, not the focal init score); fit a new model"
            )
        if isinstance(X, Pool) or (eval_set is not None and any(isinstance(e, Pool) for e in _as_list(eval_set))):
            raise TypeError(
                f"{type(self).__name__}.fit takes arrays or DataFrames (cat_features etc. as parameters), "
                "not catboost.Pool: use focalboost.catboost.focal_objective with Pools"
            )
        params = super().get_params()
        for name in ("loss_function", "objective"):
            if params.get(name) is not None:
                raise ValueError(
                    f"{type(self).__name__} trains with the focal loss: {name} must stay unset, got {params[name]!r}"
                )
        for name in ("class_weights", "auto_class_weights", "class_names"):
            if params.get(name) is not None:
                raise ValueError(
                    f"{type(self).__name__} does not take {name}={params[name]!r}: weigh classes with focal_alpha "
                    "or sample_weight"
                )
        X = _check_features(X)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        y_enc, loss, init, scale = self._focal_setup(X, y, sample_weight)
        # The column lists of fit, else the constructor's (CatBoostClassifier reads both; the
        # Pools built here must carry them).
        given = dict(cat_features=cat_features, text_features=text_features, embedding_features=embedding_features)
        features = {name: value if value is not None else params.get(name) for name, value in given.items()}
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
        focal: dict[str, Any] = {"loss_function": _objective_for(loss, scale)}
        if params.get("eval_metric") is None:
            focal["eval_metric"] = _FocalLossMetric(loss)
        if isinstance(loss, MulticlassFocalLoss):
            focal["classes_count"] = int(self._focal_classes.size)
        leaf_iterations = _logloss_leaf_iterations(params, _num_features(X), int(self._focal_classes.size))
        if leaf_iterations is not None:
            focal["leaf_estimation_iterations"] = leaf_iterations
        with _library_params_swapped(self, focal):
            super().fit(train, eval_set=evals, use_best_model=use_best_model, **kwargs)
        # The init score into the model's bias, so that the model (and the file save_model
        # writes) predicts the raw scores on its own.
        model_scale, bias = self.get_scale_and_bias()
        new_bias = np.atleast_1d(np.asarray(bias, dtype=np.float64)) + np.atleast_1d(init)
        self.set_scale_and_bias(model_scale, float(new_bias[0]) if np.ndim(init) == 0 else new_bias.tolist())
        self.init_score_ = init
        self.focal_loss_ = loss
        self.focal_scale_ = scale
        self._focal_n_features = _num_features(X)
        return self

    # -- prediction -------------------------------------------------------------------------
    @property
    def classes_(self) -> Any:
        return self.__dict__.get("_focal_classes") if self.is_fitted() else None

    def _raw(self, X: Any, ntree_start: int = 0, ntree_end: int = 0, thread_count: int = -1) -> np.ndarray:
        """Raw scores, init score included (the model's bias holds it; CatBoost adds the bias only
        from the first tree on, so it is added back for ``ntree_start > 0``)."""
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
        raw = np.asarray(raw, dtype=np.float64)
        return raw + self.init_score_ if ntree_start > 0 else raw

    def decision_function(self, X: Any, ntree_start: int = 0, ntree_end: int = 0, thread_count: int = -1) -> np.ndarray:
        """The decision function: shape ``(n_samples,)``, positive where :meth:`predict` gives the
        second class, or ``(n_samples, n_classes)`` whose argmax is :meth:`predict`.

        With ``focal_proba="posterior"`` the log-odds (log-probabilities) of :meth:`predict_proba`,
        with ``"link"`` the raw scores (``predict(X, prediction_type="RawFormulaVal")``)."""
        return self._focal_decision(self._raw(X, ntree_start, ntree_end, thread_count))

    def predict_proba(
        self, X: Any, ntree_start: int = 0, ntree_end: int = 0, thread_count: int = -1, **kwargs: Any
    ) -> np.ndarray:
        """Class probabilities (``focal_proba``) of shape ``(n_samples, n_classes)``."""
        return self._focal_probabilities(self._raw(X, ntree_start, ntree_end, thread_count))

    def predict_log_proba(
        self, X: Any, ntree_start: int = 0, ntree_end: int = 0, thread_count: int = -1, **kwargs: Any
    ) -> np.ndarray:
        """The logarithm of :meth:`predict_proba`, computed directly (exact where it underflows)."""
        return self._focal_probabilities(self._raw(X, ntree_start, ntree_end, thread_count), log=True)

    def predict(
        self,
        data: Any,
        prediction_type: str = "Class",
        ntree_start: int = 0,
        ntree_end: int = 0,
        thread_count: int = -1,
        **kwargs: Any,
    ) -> np.ndarray:
        """``"Class"``: labels in the caller's space; ``"Probability"`` / ``"LogProbability"``:
        :meth:`predict_proba` / its logarithm; ``"RawFormulaVal"``: the raw scores (init score
        included)."""
        kinds = ("Class", "Probability", "LogProbability", "RawFormulaVal")
        if prediction_type not in kinds:
            raise ValueError(f"prediction_type must be one of {kinds}, got {prediction_type!r}")
        raw = self._raw(data, ntree_start, ntree_end, thread_count)
        if prediction_type == "RawFormulaVal":
            return raw
        if prediction_type == "LogProbability":
            return self._focal_probabilities(raw, log=True)
        proba = self._focal_probabilities(raw)
        return self._focal_labels(proba) if prediction_type == "Class" else proba

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


def _objective_for(loss: BaseFocalLoss, scale: float) -> FocalObjective | MulticlassFocalObjective:
    if isinstance(loss, MulticlassFocalLoss):
        return MulticlassFocalObjective(loss, scale)
    assert isinstance(loss, FocalLoss)
    return FocalObjective(loss, scale)
