"""What every boosting integration shares: the ``focal_*`` parameters, the estimator mixin, the
init score, probabilities, the focal metric, and each library's derivative conventions.

Nothing here imports a boosting library. The integration modules (``focalboost.lightgbm``,
``focalboost.xgboost``, ``focalboost.catboost``, ``focalboost.dask``) translate these into their
library's signatures, signs and shapes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np

from ._loss import BaseFocalLoss, FocalLoss, MulticlassFocalLoss
from ._validation import check_hessian, check_real, check_weights

__all__ = [
    "FOCAL_DOC",
    "FOCAL_PARAMS",
    "METRIC_NAME",
    "FocalClassifierMixin",
    "add_offset",
    "constant_rows",
    "derivatives",
    "mean_loss",
    "num_samples",
    "swapped_attributes",
]

#: The parameters the estimators add to their library's; never forwarded to a booster.
FOCAL_PARAMS = ("focal_gamma", "focal_alpha", "focal_epsilon", "focal_hessian")

#: The name of the focal evaluation metric, in every library's evaluation results.
METRIC_NAME = "focal_loss"

#: numpydoc entries of the ``focal_*`` parameters, shared by every estimator's docstring.
FOCAL_DOC = """
    focal_gamma : float, default=2.0
        Focusing parameter ``γ ≥ 0`` of the focal loss (``0`` is cross-entropy). Prefixed
        because XGBoost reads ``gamma`` as ``min_split_loss``.
    focal_alpha : float, sequence of float or None, default=0.25
        Binary targets: weight ``α ∈ [0, 1]`` of the positive class (the second entry of
        ``classes_``); the negative class gets ``1 − α``. More than two classes: one weight per
        class, in the order of ``classes_`` (a single float weighs every class alike, which only
        rescales the loss). ``None`` weighs every class 1. Prefixed because XGBoost reads
        ``alpha`` as ``reg_alpha`` and LightGBM as the Huber parameter.
    focal_epsilon : float, default=1e-3
        Smoothing constant ``ε ≥ 0`` of the stabilized focal loss (``0`` is Lin et al.'s loss).
    focal_hessian : {"positive", "exact"}, default="positive"
        Hessian policy of :class:`focalboost.FocalLoss`. ``"positive"`` keeps Newton steps
        bounded on badly misclassified points.
"""


# -- each library's conventions -------------------------------------------------------------------
def _multiclass_hessian_factor(library: str, n_classes: int) -> float:
    """The factor each library's own softmax objective applies to the diagonal Hessian.

    LightGBM's ``multiclass`` scales it by ``K / (K − 1)`` (Friedman's ``(K − 1) / K`` shrinkage
    of multiclass Newton steps, which all move at once); XGBoost's ``multi:softprob`` uses twice
    the diagonal (a bound on the full Hessian's curvature); CatBoost takes it as it is. The focal
    objectives follow the same convention, so that ``gamma=0`` reproduces the built-in objective.
    """
    if library == "lightgbm":
        return n_classes / (n_classes - 1.0)
    if library == "xgboost":
        return 2.0
    return 1.0


def derivatives(loss: BaseFocalLoss, y_true: Any, raw: Any, sample_weight: Any, *, library: str) -> tuple[Any, Any]:
    """Gradient and Hessian of the weighted loss at the raw scores, in ``library``'s convention.

    Arrays are passed through as the library hands them (XGBoost's float32 margins included:
    the formulas compute float32 input in float64 and round once, which is what XGBoost keeps).
    """
    grad, hess = loss.gradient_hessian(y_true, raw, sample_weight)
    if hess.ndim == 2:
        hess = hess * _multiclass_hessian_factor(library, int(hess.shape[1]))
    return grad, hess


def mean_loss(loss: BaseFocalLoss, y_true: Any, raw: Any, sample_weight: Any = None) -> float:
    """The (weighted) mean focal loss: the focal evaluation metric of every library.

    NaN when there is nothing to average (no rows, or all weights 0), as the libraries' own
    weighted metrics give.
    """
    values = np.asarray(loss.loss(y_true, raw, sample_weight), dtype=np.float64)
    total = float(values.shape[0]) if sample_weight is None else float(np.sum(sample_weight, dtype=np.float64))
    return float(np.sum(values)) / total if total > 0 else float("nan")


# -- helpers for estimators -------------------------------------------------------------------------
@contextlib.contextmanager
def swapped_attributes(obj: Any, **values: Any) -> Iterator[None]:
    """Set attributes for the duration of a block and restore them afterwards, even on error.

    The estimators hand their library's ``fit`` a callable objective and metric this way, so
    that the public parameters (``objective``, ``eval_metric``, ...) are never modified.
    """
    saved = {name: getattr(obj, name) for name in values}
    try:
        for name, value in values.items():
            setattr(obj, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(obj, name, value)


def num_samples(X: Any) -> int:
    """Number of rows of an array-like, DataFrame or sparse matrix."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    try:
        return len(X)
    except TypeError:  # array-likes with __array__ only
        return int(np.asarray(X).shape[0])


def constant_rows(n: int, init: float | np.ndarray) -> np.ndarray:
    """The init score repeated for ``n`` rows: shape ``(n,)`` (binary) or ``(n, K)`` (multiclass)."""
    init_arr = np.asarray(init, dtype=np.float64)
    return np.full(n, float(init_arr)) if init_arr.ndim == 0 else np.tile(init_arr, (n, 1))


def add_offset(rows: np.ndarray, offset: Any, *, flat_order: Literal["C", "F"] = "F") -> np.ndarray:
    """``rows`` plus a user's per-row raw-score offset (``None``: none), reshaped like ``rows``.

    A flat multiclass offset is class-major (``flat_order="F"``, LightGBM's layout) or
    sample-major (``"C"``, XGBoost's); a 2-D one is ``(n_samples, n_classes)``.
    """
    if offset is None:
        return rows
    off = np.asarray(offset, dtype=np.float64)
    if off.size != rows.size:
        raise ValueError(f"the raw-score offset must have {rows.size} entries {rows.shape}, got shape {off.shape}")
    order: Literal["C", "F"] = "C" if off.ndim > 1 else flat_order
    return rows + off.reshape(rows.shape, order=order)


class FocalClassifierMixin:
    """The focal half of every focalboost estimator (single machine and Dask).

    Turns the ``focal_*`` parameters into a loss object (binary targets train with
    :class:`focalboost.FocalLoss` on one raw margin, more classes with
    :class:`focalboost.MulticlassFocalLoss` on one raw score per class), encodes the caller's
    labels, computes the optimal constant start (the init score) and turns raw scores into
    probabilities and labels. It never touches a library. Fitted attributes set by the
    integrations: ``classes_``, ``init_score_`` (a float, or shape ``(n_classes,)``) and
    ``focal_loss_``.
    """

    focal_gamma: Any
    focal_alpha: Any
    focal_epsilon: Any
    focal_hessian: Any
    _focal_classes: np.ndarray

    # -- parameters ---------------------------------------------------------------------------
    def _focal_loss(self, n_classes: int = 2) -> BaseFocalLoss:
        """The loss object for ``n_classes`` classes, with errors naming the ``focal_*`` parameter."""
        gamma = check_real("focal_gamma", self.focal_gamma)
        epsilon = check_real("focal_epsilon", self.focal_epsilon)
        hessian = check_hessian("focal_hessian", self.focal_hessian)
        alpha = self.focal_alpha
        if n_classes == 2:
            if alpha is not None:
                alpha = check_real("focal_alpha", alpha, high=1.0)
                if not 0 < alpha < 1:
                    # α = 0 or 1 gives one class the weight 0: the loss then ignores it, and its
                    # optimal raw score (the init score too) is infinite.
                    raise ValueError(
                        f"focal_alpha must be in (0, 1) for a binary target (0 or 1 gives a class the weight 0, "
                        f"and the model would predict it with probability 0), got {alpha!r}"
                    )
            return FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
        if alpha is not None:
            if np.ndim(alpha) == 0:
                alpha = [check_real("focal_alpha", alpha)] * n_classes
            elif len(alpha) != n_classes:
                raise ValueError(f"focal_alpha must hold one weight per class ({n_classes} classes), got {alpha!r}")
        try:
            loss = MulticlassFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"focal_{exc}") from exc
        weights = loss.class_weights(n_classes)
        if not np.all(weights > 0):
            c = int(np.argmin(weights > 0))
            raise ValueError(
                f"focal_alpha must give every class a weight > 0 (a class of weight 0 would be predicted with "
                f"probability 0), got focal_alpha[{c}] = {weights[c]!r} in {alpha!r}"
            )
        return loss

    # -- labels -------------------------------------------------------------------------------
    def _focal_encode(self, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """``classes`` (sorted unique labels) and ``y`` as class indices, float64."""
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import column_or_1d

        y_arr = column_or_1d(y, warn=True)
        check_classification_targets(y_arr)
        classes, y_enc = np.unique(y_arr, return_inverse=True)
        if classes.size == 0:
            raise ValueError(f"{type(self).__name__} needs at least 1 sample; got y of shape {y_arr.shape}")
        if classes.size < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in y; got 1 class: {classes[0]!r}"
            )
        return classes, y_enc.astype(np.float64)

    def _focal_transform_labels(self, y: Any, name: str = "eval_set") -> np.ndarray:
        """Class indices of labels from an evaluation set, in the training label space."""
        from sklearn.utils.validation import column_or_1d

        classes = self._focal_classes
        y_arr = column_or_1d(y)
        idx = np.searchsorted(classes, y_arr)
        idx = np.clip(idx, 0, classes.size - 1)
        unknown = classes[idx] != y_arr
        if np.any(unknown):
            raise ValueError(
                f"{name} holds labels not seen in y: {np.unique(y_arr[unknown])[:5].tolist()!r}; "
                f"classes are {classes.tolist()!r}"
            )
        return idx.astype(np.float64)

    # -- the start ----------------------------------------------------------------------------
    def _focal_start(self, classes: np.ndarray, masses: np.ndarray) -> tuple[BaseFocalLoss, float | np.ndarray]:
        """The loss for ``len(classes)`` classes and its optimal constant raw prediction, from the
        total sample weight of each class (the weighted mean loss of a constant depends on the
        labels through these masses only)."""
        k = int(classes.size)
        if k < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in y; got {classes.tolist()!r}"
            )
        loss = self._focal_loss(k)
        empty = np.nonzero(~(masses > 0))[0]
        if empty.size:
            c = int(empty[0])
            label = classes[c].item() if isinstance(classes[c], np.generic) else classes[c]
            raise ValueError(
                f"{type(self).__name__} cannot fit: class {label!r} has zero total sample_weight; every class "
                "needs a positive total weight (its optimal raw score is infinite otherwise)"
            )
        self._focal_classes = classes
        return loss, loss.init_score(np.arange(k), masses, n_classes=k)

    def _focal_setup(self, y: Any, sample_weight: Any) -> tuple[np.ndarray, BaseFocalLoss, float | np.ndarray]:
        """Validate parameters, encode ``y``, and compute the init score.

        Stores the sorted labels in ``_focal_classes``; the caller stores ``init_score_`` and
        ``focal_loss_`` once its library's fit has succeeded.

        Returns
        -------
        y_enc : ndarray of shape (n_samples,)
            Class indices as float64.
        loss : FocalLoss or MulticlassFocalLoss
        init_score : float or ndarray of shape (n_classes,)
            The constant raw prediction minimizing the weighted mean loss.
        """
        classes, y_enc = self._focal_encode(y)
        sw = None
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            if sw.shape[0] != y_enc.shape[0]:
                raise ValueError(f"sample_weight has {sw.shape[0]} entries but y has {y_enc.shape[0]} samples")
            check_weights("sample_weight", sw, np)
            if not np.any(sw > 0):
                raise ValueError("sample_weight is zero for every sample: there is nothing to fit")
        masses = np.bincount(y_enc.astype(np.intp), weights=sw, minlength=classes.size)
        loss, init = self._focal_start(classes, masses)
        return y_enc, loss, init

    # -- outputs ------------------------------------------------------------------------------
    def _focal_proba(self, raw: Any) -> np.ndarray:
        """Probabilities of shape ``(n, n_classes)`` from raw scores (init score included)."""
        loss: BaseFocalLoss = self.focal_loss_  # type: ignore[attr-defined]
        raw = np.asarray(raw, dtype=np.float64)
        if isinstance(loss, MulticlassFocalLoss):
            raw = raw.reshape(raw.shape[0], -1)
        return np.asarray(loss.predict_proba(raw))

    def _focal_labels(self, proba: np.ndarray) -> np.ndarray:
        """Labels in the caller's label space: the class of largest probability."""
        return self._focal_classes[np.argmax(proba, axis=1)]
