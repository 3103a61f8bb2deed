"""What every boosting integration shares: the ``focal_*`` parameters, the estimator mixin, the
init score, probabilities, the focal metric, and each library's derivative conventions.

Nothing here imports a boosting library. The integration modules (``focalboost.lightgbm``,
``focalboost.xgboost``, ``focalboost.catboost``, ``focalboost.dask``) translate these into their
library's signatures, signs and shapes.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, Literal, TypeVar

import numpy as np

from ._loss import BaseFocalLoss, FocalLoss, MulticlassFocalLoss
from ._validation import PROBA_KINDS, check_choice, check_hessian, check_real, check_weights

_F = TypeVar("_F", bound=Callable[..., Any])

__all__ = [
    "FOCAL_DEFAULTS",
    "FOCAL_DOC",
    "FOCAL_PARAMS",
    "LOSS_PARAMETERS_DOC",
    "METRIC_NAME",
    "FocalClassifierMixin",
    "add_offset",
    "check_scale",
    "constant_rows",
    "decision",
    "focal_parameters",
    "init_vector",
    "loss_for",
    "loss_parameters_doc",
    "derivatives",
    "logistic_scale",
    "mean_loss",
    "num_samples",
    "probabilities",
    "swapped_attributes",
]

#: The parameters the estimators add to their library's, with their defaults; never forwarded
#: to a booster.
FOCAL_DEFAULTS: dict[str, Any] = {
    "focal_gamma": 2.0,
    "focal_alpha": 0.25,
    "focal_epsilon": 1e-3,
    "focal_hessian": "positive",
    "focal_proba": "posterior",
    "focal_scale": 1.0,
}
FOCAL_PARAMS = tuple(FOCAL_DEFAULTS)

#: Class-weighting parameters that only the libraries' built-in objectives read (LightGBM's
#: ``scale_pos_weight`` and ``is_unbalance`` with its aliases, XGBoost's and CatBoost's
#: ``scale_pos_weight``), with the values that leave them off: any other value is refused.
_CLASS_WEIGHTING: dict[str, tuple[Any, ...]] = {
    "scale_pos_weight": (None, 1, 1.0),
    "is_unbalance": (None, False),
    "unbalance": (None, False),
    "unbalanced_sets": (None, False),
}

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
    focal_proba : {"posterior", "link"}, default="posterior"
        What ``predict_proba`` returns. ``"posterior"``: the class probabilities for which the
        focal loss is minimized at the model's raw scores (see
        :meth:`focalboost.FocalLoss.predict_proba`), calibrated like a log-loss model's.
        ``"link"``: the sigmoid (softmax) of the raw scores, which the focal loss pulls toward
        0.5 (and ``α`` shifts), so not calibrated. Both rank samples alike (same ROC-AUC and
        PR-AUC); ``predict`` is the class of largest ``predict_proba`` either way, and any
        probability threshold means something different under each.
    focal_scale : "auto" or float, default=1.0
        A constant ``s > 0`` multiplying the focal gradient and Hessian during training. It does
        not move the loss's minimizer or the reported metric (always the true focal loss); it
        changes how the library's curvature-based regularization (``reg_lambda`` /
        ``l2_leaf_reg``, ``min_child_weight`` / ``min_sum_hessian_in_leaf``), tuned for
        log-loss Hessians, acts on the much smaller focal Hessians. ``"auto"`` picks ``s`` so
        that the total Hessian at the init score equals the log-loss's at its own init score.
"""

#: numpydoc entries of the loss parameters of every library's native ``focal_objective``.
LOSS_PARAMETERS_DOC = """gamma, epsilon, hessian
        As in :class:`focalboost.FocalLoss`.
    alpha : float, sequence of float or None, default=0.25
        Two classes: the weight of class 1 (class 0 gets ``1 − alpha``). More: one weight per
        class, or one float for every class alike. None: no class weights.
    scale : float, default=1.0
        A constant ``> 0`` multiplying the gradient and Hessian (the estimators' ``focal_scale``)."""


def loss_parameters_doc(func: _F) -> _F:
    """Put :data:`LOSS_PARAMETERS_DOC` in place of ``{LOSS_PARAMETERS}`` in ``func``'s docstring."""
    func.__doc__ = (func.__doc__ or "").replace("{LOSS_PARAMETERS}", LOSS_PARAMETERS_DOC)
    return func



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


def derivatives(
    loss: BaseFocalLoss, y_true: Any, raw: Any, sample_weight: Any, *, library: str, scale: float = 1.0
) -> tuple[Any, Any]:
    """Gradient and Hessian of the weighted loss at the raw scores, in ``library``'s convention,
    times ``scale`` (see ``focal_scale``).

    Arrays are passed through as the library hands them (XGBoost's float32 margins included:
    the formulas compute float32 input in float64 and round once, which is what XGBoost keeps).
    """
    grad, hess = loss.gradient_hessian(y_true, raw, sample_weight)
    factor = _multiclass_hessian_factor(library, int(hess.shape[1])) if hess.ndim == 2 else 1.0
    if scale != 1.0:
        grad *= scale  # in place: gradient_hessian returns fresh arrays
    if factor * scale != 1.0:
        hess *= factor * scale
    return grad, hess


def loss_for(
    n_classes: int,
    *,
    gamma: Any,
    alpha: Any,
    epsilon: Any,
    hessian: Any = "positive",
    prefix: str = "",
    positive_weights: bool = False,
) -> BaseFocalLoss:
    """The loss object for ``n_classes`` classes: :class:`FocalLoss` for 2 (``alpha`` a float or
    None), :class:`MulticlassFocalLoss` for more (``alpha`` one weight per class, a float for every
    class alike, or None). Errors name the parameters with ``prefix`` (``"focal_"`` for the
    estimators). ``positive_weights``: refuse a class weight of 0 (no finite init score, and the
    class would be predicted with probability 0), as the estimators do."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    gamma = check_real(f"{prefix}gamma", gamma)
    epsilon = check_real(f"{prefix}epsilon", epsilon)
    hessian = check_hessian(f"{prefix}hessian", hessian)
    if n_classes == 2:
        if alpha is not None:
            alpha = check_real(f"{prefix}alpha", alpha, high=1.0)
            if positive_weights and not 0 < alpha < 1:
                raise ValueError(
                    f"{prefix}alpha must be in (0, 1) for a binary target (0 or 1 gives a class the weight 0, "
                    f"and the model would predict it with probability 0), got {alpha!r}"
                )
        return FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
    if alpha is not None:
        if np.ndim(alpha) == 0:
            alpha = [check_real(f"{prefix}alpha", alpha)] * int(n_classes)
        elif len(alpha) != n_classes:
            raise ValueError(f"{prefix}alpha must hold one weight per class ({n_classes} classes), got {alpha!r}")
    try:
        loss = MulticlassFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{prefix}{exc}") from exc
    weights = loss.class_weights(int(n_classes))
    if positive_weights and not np.all(weights > 0):
        c = int(np.argmin(weights > 0))
        raise ValueError(
            f"{prefix}alpha must give every class a weight > 0 (a class of weight 0 would be predicted with "
            f"probability 0), got {prefix}alpha[{c}] = {weights[c]!r} in {alpha!r}"
        )
    return loss


def check_scale(scale: Any, name: str = "scale") -> float:
    """A derivative scale: a finite number > 0."""
    value = check_real(name, scale)
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {scale!r}")
    return value


def logistic_scale(loss: BaseFocalLoss, init: float | np.ndarray, masses: np.ndarray) -> float:
    """``s`` such that ``s ·`` the focal loss's total Hessian at its init score equals the log-loss's
    total Hessian at its own init score (``focal_scale="auto"``).

    Both totals depend on the labels through the class masses only (the total weight of each
    class): the log-loss's is ``Σ_c W π_c (1 − π_c)`` at its optimal constant ``π = masses / W``
    (``W p̄ (1 − p̄)`` for two classes), the focal loss's is the sum of its Hessian (under its
    policy) over one sample per class weighted by the masses, at the focal init score.
    """
    k = int(masses.size)
    total = float(masses.sum())
    pi = masses / total
    logistic = total * float(np.sum(pi * (1.0 - pi))) if k > 2 else total * float(pi[0] * pi[1])
    y = np.arange(k, dtype=np.float64)
    raw = np.full(k, float(init)) if np.ndim(init) == 0 else np.tile(np.asarray(init, dtype=np.float64), (k, 1))
    _, hess = loss.gradient_hessian(y, raw, masses)
    focal = float(np.sum(hess))
    return logistic / focal


def mean_loss(loss: BaseFocalLoss, y_true: Any, raw: Any, sample_weight: Any = None) -> float:
    """The (weighted) mean focal loss: the focal evaluation metric of every library.

    NaN when there is nothing to average (no rows, or all weights 0), as the libraries' own
    weighted metrics give.
    """
    values = np.asarray(loss.loss(y_true, raw, sample_weight), dtype=np.float64)
    total = float(values.shape[0]) if sample_weight is None else float(np.sum(sample_weight, dtype=np.float64))
    return float(np.sum(values)) / total if total > 0 else float("nan")


def init_vector(init_score: Any, n_outputs: int, where: str) -> np.ndarray:
    """The init score as float64 of shape ``(n_outputs,)``, checked against the booster."""
    init = np.asarray(init_score, dtype=np.float64).reshape(-1)
    if init.size != n_outputs:
        raise ValueError(
            f"init_score must hold {n_outputs} value(s), one per raw score of the {where}, "
            f"got shape {np.shape(init_score)}"
        )
    if not np.all(np.isfinite(init)):
        raise ValueError(f"init_score must be finite, got {init_score!r}")
    return init


# -- the estimators' constructor --------------------------------------------------------------------
def focal_parameters(**library_defaults: Any) -> Any:
    """Class decorator: the estimator's ``__init__`` is its library classifier's, with the
    ``focal_*`` parameters (:data:`FOCAL_DEFAULTS`) added as keyword-only parameters and
    ``library_defaults`` replacing some of the library's defaults (e.g. ``objective=None``).

    scikit-learn reads an estimator's parameters from the signature of its ``__init__``; the
    wrapper carries the library's signature with the focal parameters added (``__signature__``),
    so ``get_params``, ``set_params``, ``clone`` and ``repr`` see every parameter of both, and the
    focal ones are defined in one place for every estimator.
    """

    def decorate(cls: type) -> type:
        library_init = cls.__init__  # type: ignore[misc]
        signature = inspect.signature(library_init)
        params = [
            p.replace(default=library_defaults[p.name]) if p.name in library_defaults else p
            for p in signature.parameters.values()
        ]
        focal = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
            for name, default in FOCAL_DEFAULTS.items()
        ]
        extra = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
            for name, default in library_defaults.items()
            if name not in signature.parameters
        ]
        var_kw = [p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
        named = [p for p in params if p.kind is not inspect.Parameter.VAR_KEYWORD]
        positional = [p for p in named if p.kind is not inspect.Parameter.KEYWORD_ONLY]
        keyword = [p for p in named if p.kind is inspect.Parameter.KEYWORD_ONLY]

        @functools.wraps(library_init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            for name, default in FOCAL_DEFAULTS.items():
                setattr(self, name, kwargs.pop(name, default))
            for name, default in library_defaults.items():
                kwargs.setdefault(name, default)
            library_init(self, *args, **kwargs)

        __init__.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*positional, *focal, *extra, *keyword, *var_kw]
        )
        cls.__init__ = __init__  # type: ignore[misc]
        return cls

    return decorate


# -- from raw scores to what the estimators return ----------------------------------------------
def _rows(loss: BaseFocalLoss, raw: Any) -> np.ndarray:
    raw = np.asarray(raw, dtype=np.float64)
    return raw.reshape(raw.shape[0], -1) if isinstance(loss, MulticlassFocalLoss) else raw


def probabilities(loss: BaseFocalLoss, raw: Any, kind: str, *, log: bool = False) -> np.ndarray:
    """Class probabilities of shape ``(n, n_classes)`` (``kind``: ``focal_proba``) of raw scores,
    or their logarithm, computed directly."""
    kind = check_choice("focal_proba", kind, PROBA_KINDS)
    rows = _rows(loss, raw)
    return np.asarray(loss.predict_log_proba(rows, kind=kind) if log else loss.predict_proba(rows, kind=kind))


def decision(loss: BaseFocalLoss, raw: Any, kind: str) -> np.ndarray:
    """The decision function of raw scores: its sign (two classes) or argmax (more) is the class of
    largest probability. ``kind="link"``: the raw scores themselves; ``"posterior"``: the
    log-odds of the posterior (two classes) or its logarithm (more)."""
    if check_choice("focal_proba", kind, PROBA_KINDS) == "link":
        return np.asarray(raw, dtype=np.float64)
    log_proba = probabilities(loss, raw, kind, log=True)
    if isinstance(loss, MulticlassFocalLoss):
        return log_proba
    return log_proba[:, 1] - log_proba[:, 0]


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
    focal_proba: Any
    focal_scale: Any
    _focal_classes: np.ndarray

    # -- parameters ---------------------------------------------------------------------------
    def _focal_loss(self, n_classes: int = 2) -> BaseFocalLoss:
        """The loss object for ``n_classes`` classes, with errors naming the ``focal_*`` parameter."""
        return loss_for(
            n_classes,
            gamma=self.focal_gamma,
            alpha=self.focal_alpha,
            epsilon=self.focal_epsilon,
            hessian=self.focal_hessian,
            prefix="focal_",
            positive_weights=True,
        )

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
    def _focal_start(self, classes: np.ndarray, masses: np.ndarray) -> tuple[BaseFocalLoss, float | np.ndarray, float]:
        """The loss for ``len(classes)`` classes, its optimal constant raw prediction and the
        derivative scale, from the total sample weight of each class (the weighted mean loss of
        a constant depends on the labels through these masses only)."""
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
        check_choice("focal_proba", self.focal_proba, PROBA_KINDS)
        init = loss.init_score(np.arange(k), masses, n_classes=k)
        self._focal_classes = classes
        return loss, init, self._focal_scale_value(loss, init, masses)

    def _focal_scale_value(self, loss: BaseFocalLoss, init: float | np.ndarray, masses: np.ndarray) -> float:
        scale = self.focal_scale
        if isinstance(scale, str):
            if scale != "auto":
                raise ValueError(f"focal_scale must be 'auto' or a number > 0, got {scale!r}")
            return logistic_scale(loss, init, masses)
        if isinstance(scale, bool) or not isinstance(scale, (int, float, np.floating, np.integer)):
            raise TypeError(f"focal_scale must be 'auto' or a number > 0, got {scale!r}")
        return check_scale(scale, "focal_scale")

    def _focal_check_params(self, shadows: dict[str, str], params: dict[str, Any] | None = None) -> None:
        """Refuse a constructor argument that would silently do nothing for the focal loss.

        A misspelled ``focal_*`` name (a TypeError naming the right one), and an unprefixed name
        of a focal parameter (``gamma``, ``alpha``, ``epsilon``) that the library would read as
        something else or not at all (a ValueError naming the focal parameter; ``shadows`` says
        what the library makes of each). Called by ``fit``: scikit-learn estimators validate
        there, not in ``__init__``. ``params``: the parameters to check, ``get_params()`` by default.
        """
        name_of = type(self).__name__
        if params is None:
            params = self.get_params(deep=False)  # type: ignore[attr-defined]
        for name, value in params.items():
            if name in FOCAL_PARAMS:
                continue
            close = difflib.get_close_matches(name, FOCAL_PARAMS, n=1, cutoff=0.8)
            if name.startswith("focal") or close:
                hint = f"did you mean {close[0]}?" if close else f"the focal parameters are {', '.join(FOCAL_PARAMS)}"
                raise TypeError(f"{name_of} got an unexpected parameter {name}={value!r}: {hint}")
            if name in shadows and value is not None:
                raise ValueError(
                    f"{name_of} got {name}={value!r}, which {shadows[name]}: the focal loss's parameter is "
                    f"focal_{name}={value!r}"
                )
            if name in _CLASS_WEIGHTING and value not in _CLASS_WEIGHTING[name]:
                raise ValueError(
                    f"{name_of} got {name}={value!r}, which only the library's own objectives read, so the focal "
                    "objective would ignore it: weigh classes with focal_alpha or sample_weight"
                )

    def _focal_setup(
        self, X: Any, y: Any, sample_weight: Any
    ) -> tuple[np.ndarray, BaseFocalLoss, float | np.ndarray, float]:
        """Validate parameters and lengths, encode ``y``, and compute the init score.

        Stores the sorted labels in ``_focal_classes``; the caller stores ``init_score_`` and
        ``focal_loss_`` once its library's fit has succeeded.

        Returns
        -------
        y_enc : ndarray of shape (n_samples,)
            Class indices as float64.
        loss : FocalLoss or MulticlassFocalLoss
        init_score : float or ndarray of shape (n_classes,)
            The constant raw prediction minimizing the weighted mean loss.
        scale : float
            The factor for the gradient and Hessian (``focal_scale``).
        """
        classes, y_enc = self._focal_encode(y)
        n_x = num_samples(X)
        if n_x != y_enc.shape[0]:
            raise ValueError(f"X has {n_x} samples but y has {y_enc.shape[0]}: they must have the same length")
        sw = None
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            if sw.shape[0] != y_enc.shape[0]:
                raise ValueError(f"sample_weight has {sw.shape[0]} entries but y has {y_enc.shape[0]} samples")
            check_weights("sample_weight", sw, np)
            if not np.any(sw > 0):
                raise ValueError("sample_weight is zero for every sample: there is nothing to fit")
        masses = np.bincount(y_enc.astype(np.intp), weights=sw, minlength=classes.size)
        loss, init, scale = self._focal_start(classes, masses)
        return y_enc, loss, init, scale

    # -- outputs ------------------------------------------------------------------------------
    def _focal_probabilities(self, raw: Any, *, log: bool = False) -> np.ndarray:
        """Probabilities (``focal_proba``) of shape ``(n, n_classes)`` from raw scores (init score
        included), or their logarithm, computed directly."""
        return probabilities(self.focal_loss_, raw, self.focal_proba, log=log)  # type: ignore[attr-defined]

    def _focal_decision(self, raw: Any) -> np.ndarray:
        """The decision function of raw scores (see :func:`decision`)."""
        return decision(self.focal_loss_, raw, self.focal_proba)  # type: ignore[attr-defined]

    def _focal_labels(self, proba: np.ndarray) -> np.ndarray:
        """Labels in the caller's label space: the class of largest probability."""
        return self._focal_classes[np.argmax(proba, axis=1)]
