"""What the three focal scikit-learn estimators share: parameters, labels, init score, probabilities.

Each estimator subclasses its library's classifier and this mixin. The mixin never touches a
library: it turns the ``focal_*`` parameters into a loss object, encodes the caller's labels,
computes the optimal constant start (the init score) and turns raw margins into probabilities
and labels. The library modules translate these into ``init_score`` / ``base_margin`` /
``baseline`` and into their own fit and predict signatures.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np

from ._loss import FocalLoss
from ._softmax_loss import SoftmaxFocalLoss
from ._validation import check_hessian, check_real

__all__ = ["FOCAL_PARAMS", "AnyLoss", "FocalClassifierMixin", "constant_rows", "num_samples", "swapped_attributes"]

#: The binary or the multiclass loss object.
AnyLoss = FocalLoss | SoftmaxFocalLoss

#: The parameters the estimators add to their library's; never forwarded to a booster.
FOCAL_PARAMS = ("focal_gamma", "focal_alpha", "focal_epsilon", "focal_hessian")

_FOCAL_DOC = """
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
    """Shared focal logic; see :class:`focalboost.lightgbm.FocalLGBMClassifier` for its use.

    Binary targets train with :class:`focalboost.FocalLoss` on one raw margin, more classes with
    :class:`focalboost.SoftmaxFocalLoss` on one raw score per class. Fitted attributes set by
    the library modules: ``classes_`` (the caller's labels, sorted), ``init_score_`` (the
    constant raw score every tree sum starts from: a float, or shape ``(n_classes,)``) and
    ``focal_loss_`` (the loss object used).
    """

    focal_gamma: Any
    focal_alpha: Any
    focal_epsilon: Any
    focal_hessian: Any
    _focal_classes: np.ndarray

    # -- parameters ---------------------------------------------------------------------------
    def _focal_loss(self, n_classes: int = 2) -> AnyLoss:
        """The loss object for ``n_classes`` classes, with errors naming the ``focal_*`` parameter."""
        gamma = check_real("focal_gamma", self.focal_gamma)
        epsilon = check_real("focal_epsilon", self.focal_epsilon)
        hessian = check_hessian("focal_hessian", self.focal_hessian)
        alpha = self.focal_alpha
        if n_classes == 2:
            if alpha is not None:
                alpha = check_real("focal_alpha", alpha, high=1.0)
            return FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
        if alpha is not None:
            if np.ndim(alpha) == 0:
                alpha = [check_real("focal_alpha", alpha)] * n_classes
            elif len(alpha) != n_classes:
                raise ValueError(f"focal_alpha must hold one weight per class ({n_classes} classes), got {alpha!r}")
        try:
            return SoftmaxFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"focal_{exc}") from exc

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

    def _focal_setup(self, y: Any, sample_weight: Any) -> tuple[np.ndarray, AnyLoss, float | np.ndarray]:
        """Validate parameters, encode ``y``, and compute the init score.

        Stores the sorted labels in ``_focal_classes``; the caller stores ``init_score_`` and
        ``focal_loss_`` once its library's fit has succeeded.

        Returns
        -------
        y_enc : ndarray of shape (n_samples,)
            Class indices as float64.
        loss : FocalLoss or SoftmaxFocalLoss
        init_score : float or ndarray of shape (n_classes,)
            The constant raw prediction minimizing the weighted mean loss.
        """
        classes, y_enc = self._focal_encode(y)
        loss = self._focal_loss(classes.size)
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        try:
            if isinstance(loss, FocalLoss):
                init: float | np.ndarray = loss.init_score(y_enc, sw)
            else:
                init = loss.init_score(y_enc, sw, n_classes=classes.size)
        except ValueError as exc:
            raise ValueError(
                f"{type(self).__name__} cannot fit: a class has zero total sample weight, so no finite init "
                f"score exists ({exc})"
            ) from exc
        self._focal_classes = classes
        return y_enc, loss, init

    # -- outputs ------------------------------------------------------------------------------
    def _focal_proba(self, raw: np.ndarray) -> np.ndarray:
        """Probabilities of shape ``(n, n_classes)`` from raw scores (init score included)."""
        loss: AnyLoss = self.focal_loss_  # type: ignore[attr-defined]
        raw = np.asarray(raw, dtype=np.float64)
        if isinstance(loss, SoftmaxFocalLoss):
            return np.asarray(loss.predict_proba(raw.reshape(raw.shape[0], -1)))
        # σ(−x) is computed directly, never as 1 − σ(x), so tiny probabilities keep their digits.
        return np.column_stack((loss.predict_proba(-raw), loss.predict_proba(raw)))

    def _focal_labels(self, proba: np.ndarray) -> np.ndarray:
        """Labels in the caller's label space: the class of largest probability."""
        return self._focal_classes[np.argmax(proba, axis=1)]
