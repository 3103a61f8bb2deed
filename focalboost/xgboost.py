"""focalboost for XGBoost: ``obj`` and ``custom_metric`` callables for ``xgb.train``, the init
score as ``base_margin``, and the scikit-learn estimator :class:`FocalXGBClassifier`.

Translations only. ``xgb.train(params, dtrain, obj=f(predt, dmat), custom_metric=m(predt, dmat))``;
``predt`` is a float32 numpy array of raw margins (base margin included) when ``obj`` is given;
``dmat.get_weight()`` is an empty array when there are no weights. A custom objective starts
from ``base_score`` (a raw margin, 0.5 by default, or an intercept XGBoost estimates) unless a
``base_margin`` is set: the init score goes there, which replaces ``base_score`` for that
DMatrix, so the default never leaks in. Requires ``xgboost >= 2`` (the ``xgboost`` extra).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._boosting import (
    FOCAL_PARAMS,
    METRIC_NAME,
    FocalClassifierMixin,
    add_offset,
    constant_rows,
    derivatives,
    init_vector,
    mean_loss,
    num_samples,
    swapped_attributes,
)
from ._boosting import (
    check_scale as _check_scale,
)
from ._loss import BaseFocalLoss, FocalLoss, MulticlassFocalLoss

try:
    import xgboost as xgb
    from sklearn.utils.validation import check_is_fitted
except ImportError as exc:  # pragma: no cover - exercised where the extra is missing
    raise ImportError(
        f"focalboost.xgboost needs XGBoost and scikit-learn ({exc}): pip install 'focalboost[xgboost]'"
    ) from exc

__all__ = [
    "FocalMetric",
    "FocalObjective",
    "FocalXGBClassifier",
    "with_init_score",
    "apply_init_score",
    "focal_metric",
    "focal_objective",
    "multiclass_focal_metric",
    "multiclass_focal_objective",
]


def _weight(dmat: xgb.DMatrix) -> np.ndarray | None:
    w = dmat.get_weight()
    return None if w.size == 0 else w


def _on_cuda(device: Any) -> bool:
    """True when XGBoost trains on a GPU (``device="cuda"`` / ``"cuda:1"`` / ``"gpu"``) and torch
    sees one; without a GPU the objective computes on the CPU."""
    if not isinstance(device, str) or not device.startswith(("cuda", "gpu")):
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _cuda_derivatives(
    loss: BaseFocalLoss, y_true: Any, y_pred: Any, weight: Any, device: str, scale: float = 1.0
) -> tuple[Any, Any]:
    """Gradient and Hessian of XGBoost's float32 margins computed with torch on a CUDA ``device``;
    the results stay there and reach XGBoost through ``__cuda_array_interface__``."""
    import torch

    def tensor(a: Any) -> Any:
        # Host arrays are copied to the device once; device arrays (cupy) are taken as they are.
        if hasattr(a, "__cuda_array_interface__"):
            return torch.as_tensor(a, device=device).to(torch.float32)
        return torch.as_tensor(np.asarray(a, dtype=np.float32), device=device)

    w = None if weight is None else tensor(weight)
    grad, hess = derivatives(loss, tensor(y_true), tensor(y_pred), w, library="xgboost", scale=scale)
    return grad.contiguous(), hess.contiguous()


def _xgb_derivatives(
    loss: BaseFocalLoss, y_true: Any, y_pred: Any, weight: Any, device: Any, scale: float
) -> tuple[Any, Any]:
    if _on_cuda(device):
        return _cuda_derivatives(loss, y_true, y_pred, weight, "cuda" if device == "gpu" else str(device), scale)
    return derivatives(loss, y_true, y_pred, weight, library="xgboost", scale=scale)


class FocalObjective:
    """``obj`` callable for ``xgb.train``: ``(predt, dmat) -> (grad, hess)``.

    Create it with :func:`focal_objective` (shapes ``(n_samples,)``) or
    :func:`multiclass_focal_objective` (shapes ``(n_samples, n_classes)``, with
    ``params["num_class"]``). Gradients and Hessians are multiplied by the weights. With
    ``device`` naming a CUDA device (as XGBoost's ``device`` parameter) and torch installed,
    they are computed there and handed to XGBoost as CUDA arrays.
    """

    def __init__(self, loss: BaseFocalLoss, device: Any = None, scale: float = 1.0) -> None:
        self.loss = loss
        self.device = device
        self.scale = float(scale)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r}, device={self.device!r}, scale={self.scale!r})"

    def __call__(self, predt: np.ndarray, dmat: xgb.DMatrix) -> tuple[Any, Any]:
        return _xgb_derivatives(self.loss, dmat.get_label(), predt, _weight(dmat), self.device, self.scale)


class _SklearnObjective(FocalObjective):
    """``objective`` form for ``XGBClassifier``: ``(y_true, y_pred, sample_weight=None)``."""

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> tuple[Any, Any]:
        return _xgb_derivatives(self.loss, y_true, y_pred, sample_weight, self.device, self.scale)


class FocalMetric:
    """``custom_metric`` callable for ``xgb.train``: ``("focal_loss", weighted mean loss)``.

    Lower is better (XGBoost's early stopping minimizes metrics not named like AUC).
    """

    __name__ = METRIC_NAME  # XGBoost's scikit-learn wrapper names a metric by its __name__

    def __init__(self, loss: BaseFocalLoss) -> None:
        self.loss = loss

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r})"

    def __call__(self, predt: np.ndarray, dmat: xgb.DMatrix) -> tuple[str, float]:
        return METRIC_NAME, mean_loss(self.loss, dmat.get_label(), predt, _weight(dmat))


class _SklearnMetric(FocalMetric):
    """``eval_metric`` form for ``XGBClassifier``: ``(y_true, y_pred, sample_weight=None) -> float``."""

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:  # type: ignore[override]
        return mean_loss(self.loss, y_true, y_pred, sample_weight)


def focal_objective(
    *,
    gamma: float = 2.0,
    alpha: float | None = 0.25,
    epsilon: float = 1e-3,
    hessian: str = "positive",
    scale: float = 1.0,
    device: Any = None,
) -> FocalObjective:
    """The binary focal loss as an XGBoost objective, for ``xgb.train(..., obj=...)``.

    Parameters
    ----------
    gamma, alpha, epsilon, hessian
        As in :class:`focalboost.FocalLoss`.
    scale : float, default=1.0
        A constant ``> 0`` multiplying the gradient and Hessian (the estimators' ``focal_scale``).
    device : str or None, default=None
        XGBoost's ``device``: with ``"cuda"`` (and torch installed) the derivatives are computed
        on the GPU and handed to XGBoost as CUDA arrays.

    Returns
    -------
    FocalObjective
        ``obj(predt, dmat) -> (grad, hess)``, each of shape ``(n_samples,)``.

    Notes
    -----
    Call :func:`apply_init_score` on every DMatrix first (it sets ``base_margin``, which keeps
    XGBoost's ``base_score`` out) and give any DMatrix you predict on the same ``base_margin``.
    Adding the constant to predictions made *without* a ``base_margin`` is wrong: XGBoost then
    adds its ``base_score`` (0.5, or an intercept it estimated) to the margin.

    Examples
    --------
    >>> import numpy as np, xgboost as xgb
    >>> from focalboost import FocalLoss
    >>> from focalboost.xgboost import focal_objective, focal_metric, apply_init_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)); y = (X[:, 0] + rng.normal(size=500) > 1.5).astype(float)
    >>> dtrain = xgb.DMatrix(X, y)
    >>> obj = focal_objective(gamma=2.0, alpha=0.25)
    >>> init = apply_init_score(dtrain, objective=obj)
    >>> booster = xgb.train({"disable_default_eval_metric": 1}, dtrain, 10, obj=obj,
    ...                     custom_metric=focal_metric(gamma=2.0, alpha=0.25),
    ...                     evals=[(dtrain, "train")], verbose_eval=False)
    >>> dtest = xgb.DMatrix(X, base_margin=np.full(len(X), init))  # the start, instead of base_score
    >>> proba = FocalLoss(gamma=2.0, alpha=0.25).predict_proba(booster.predict(dtest, output_margin=True))
    >>> proba.shape, bool(((proba > 0) & (proba < 1)).all())
    ((500, 2), True)
    """
    loss = FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
    return FocalObjective(loss, device=device, scale=_check_scale(scale))


def focal_metric(*, gamma: float = 2.0, alpha: float | None = 0.25, epsilon: float = 1e-3) -> FocalMetric:
    """The (weighted) mean binary focal loss as an XGBoost ``custom_metric``: ``("focal_loss", value)``.

    Parameters
    ----------
    gamma, alpha, epsilon
        As in :class:`focalboost.FocalLoss`.
    """
    return FocalMetric(FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon))


def multiclass_focal_objective(
    *,
    gamma: float = 2.0,
    alpha: Sequence[float] | None = None,
    epsilon: float = 1e-3,
    hessian: str = "positive",
    scale: float = 1.0,
    device: Any = None,
) -> FocalObjective:
    """The multiclass (softmax) focal loss as an XGBoost objective; set ``params["num_class"]``.

    Parameters
    ----------
    gamma, alpha, epsilon, hessian
        As in :class:`focalboost.MulticlassFocalLoss`.
    scale : float, default=1.0
        A constant ``> 0`` multiplying the gradient and Hessian (the estimators' ``focal_scale``).
    device : str or None, default=None
        XGBoost's ``device``: with ``"cuda"`` (and torch installed) the derivatives are computed
        on the GPU and handed to XGBoost as CUDA arrays.

    Returns
    -------
    FocalObjective
        ``obj(predt, dmat) -> (grad, hess)`` of shape ``(n_samples, n_classes)``; the Hessian is
        twice the diagonal, XGBoost's convention for ``multi:softprob``.

    Examples
    --------
    >>> import numpy as np, xgboost as xgb
    >>> from focalboost import MulticlassFocalLoss
    >>> from focalboost.xgboost import multiclass_focal_objective, multiclass_focal_metric, apply_init_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 3)); y = np.digitize(X[:, 0] + rng.normal(size=600), [-1.0, 1.0])
    >>> dtrain = xgb.DMatrix(X, y)
    >>> obj = multiclass_focal_objective(gamma=2.0)
    >>> init = apply_init_score(dtrain, objective=obj)  # shape (3,)
    >>> booster = xgb.train({"num_class": 3, "disable_default_eval_metric": 1}, dtrain, 10, obj=obj,
    ...                     custom_metric=multiclass_focal_metric(gamma=2.0))
    >>> dtest = xgb.DMatrix(X, base_margin=np.tile(init, (len(X), 1)))
    >>> proba = MulticlassFocalLoss(gamma=2.0).predict_proba(booster.predict(dtest, output_margin=True))
    >>> proba.shape, bool(np.allclose(proba.sum(axis=1), 1.0))
    ((600, 3), True)
    """
    loss = MulticlassFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
    return FocalObjective(loss, device=device, scale=_check_scale(scale))


def multiclass_focal_metric(
    *, gamma: float = 2.0, alpha: Sequence[float] | None = None, epsilon: float = 1e-3
) -> FocalMetric:
    """The (weighted) mean multiclass focal loss as an XGBoost ``custom_metric`` (lower is better).

    Parameters
    ----------
    gamma, alpha, epsilon
        As in :class:`focalboost.MulticlassFocalLoss`.
    """
    return FocalMetric(MulticlassFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon))


def apply_init_score(train_set: xgb.DMatrix, *eval_sets: xgb.DMatrix, objective: FocalObjective) -> float | np.ndarray:
    """Compute the optimal constant start from ``train_set`` and set it as ``base_margin`` of all sets.

    Parameters
    ----------
    train_set : xgboost.DMatrix
        Training data with labels (``{0, 1}``, or class indices for a multiclass objective) and
        optional weights.
    *eval_sets : xgboost.DMatrix
        The evaluation sets you pass to ``xgb.train(evals=...)``; each gets the same constant as
        ``base_margin``.
    objective : FocalObjective
        The objective to train with, from :func:`focal_objective` or :func:`multiclass_focal_objective`.

    Returns
    -------
    float or ndarray of shape (n_classes,)
        The init score. Set it (repeated per row) as ``base_margin`` of every DMatrix you
        predict on: without one, XGBoost adds its ``base_score`` instead.
    """
    if not isinstance(objective, FocalObjective):
        raise TypeError(f"objective must come from focal_objective or multiclass_focal_objective, got {objective!r}")
    label = train_set.get_label()
    if label.size == 0:
        raise ValueError("train_set has no label: apply_init_score needs the training labels")
    init = objective.loss.init_score(label.astype(np.float64), _weight(train_set))
    for dm in (train_set, *eval_sets):
        dm.set_base_margin(constant_rows(dm.num_row(), init))
    return init


# -- the init score inside the booster ---------------------------------------------------------------
def _f32(value: float) -> float:
    """``value`` rounded to float32, as a Python float that writes back exactly."""
    return float(np.float32(value))


def with_init_score(
    booster: xgb.Booster, init_score: float | np.ndarray, *, num_iteration: int | None = None
) -> xgb.Booster:
    """A copy of an XGBoost booster whose raw output includes the init score, and its link.

    Parameters
    ----------
    booster : xgboost.Booster
        Trained with a focal objective and the init score as ``base_margin``, e.g. the result of
        ``xgb.train(..., obj=...)`` after :func:`apply_init_score`. (:class:`FocalXGBClassifier`
        does this itself after ``fit``: its ``get_booster()`` already holds the init score.)
    init_score : float or array-like of shape (n_classes,)
        The constant given as ``base_margin`` (``FocalXGBClassifier.init_score_``, or what
        ``apply_init_score`` returned).
    num_iteration : int, optional
        Iterations kept. ``None``: up to the best iteration when early stopping recorded one
        (what the scikit-learn estimators predict with), else all; ``-1``: all.

    Returns
    -------
    xgboost.Booster
        A new booster; ``booster`` is not modified. It keeps early stopping's ``best_iteration``
        and ``best_score`` when it holds that iteration. Without ``base_margin``,
        ``predict(dm, output_margin=True)`` returns the focal model's raw scores,
        ``predict(dm)`` their sigmoid (binary) or softmax (``n_classes``), and
        ``predict(dm, pred_contribs=True)`` contributions whose rows sum to the raw scores.
        ``save_model`` (JSON or UBJSON) writes all of it, for any XGBoost ≥ 3.1 reader (the
        vector ``base_score`` of multiclass models, which XGBoost 3.1+ writes for every
        multiclass model, is unknown to older ones).

    Notes
    -----
    XGBoost keeps ``base_score`` after the inverse link: for ``binary:logistic`` a probability,
    turned into a margin by a float32 logit on loading, whose result cannot be set to a chosen
    float32 margin. So the model file then holds:

    - one raw score: objective ``binary:logistic``, ``base_score`` 0.5 (margin exactly 0), and
      the init score in the leaves of the first tree, each rounded as XGBoost rounds
      ``base_margin + leaf`` (float32): predictions equal the estimator's bit for bit. The
      trees' ``base_weights`` (unshrunk node weights, read by the ``prune`` and ``refresh``
      updaters only) are left alone: updating this booster with those rebuilds leaves without
      the init score. Only ``gbtree`` boosters (DART scales each tree by its weight: a
      ``ValueError``).
    - ``n_classes`` raw scores: objective ``multi:softprob`` and ``base_score`` the init score
      rounded to float32, which for softmax objectives is a margin as it stands (no link applied
      on loading); the trees are untouched. ``gbtree`` and ``dart`` boosters; not ``gblinear``,
      which XGBoost 3.2 starts from the first class's intercept for every class (a
      ``ValueError``).

    The booster's ``base_score`` is replaced, not added to: a focal booster never used it, since
    ``base_margin`` replaces ``base_score``. Caveats: ``iteration_range`` starting after 0 skips
    the init score of a binary model; giving this booster a ``base_margin`` replaces the init
    score of a multiclass model (and adds to the one in the binary model's first tree);
    continued training (``xgb_model=``) starts from raw scores that already include it.
    """
    if num_iteration is None and booster.attr("best_iteration") is not None:
        num_iteration = int(booster.attr("best_iteration")) + 1  # type: ignore[arg-type]
    attributes = booster.attributes()  # early stopping's best_iteration and best_score; slicing drops them
    if num_iteration is not None and num_iteration > 0:
        booster = booster[:num_iteration]  # a copy either way: the JSON round trip below
    model = json.loads(booster.save_raw(raw_format="json"))
    learner = model["learner"]
    param = learner["learner_model_param"]
    n_classes = int(param["num_class"])
    if int(param.get("num_target", "1")) > 1:
        raise ValueError("booster is a multi-target model: the focal losses train one target")
    init = init_vector(init_score, max(n_classes, 1), "booster (num_class)")
    gbm = learner["gradient_booster"]
    if gbm["name"] == "gblinear":
        raise ValueError(
            "a 'gblinear' booster cannot hold the init score: XGBoost starts every class from the first intercept"
        )
    param["boost_from_average"] = "0"

    if n_classes > 1:
        learner["objective"] = {"name": "multi:softprob", "softmax_multiclass_param": {"num_class": str(n_classes)}}
        # A vector written with every digit of each float32: exact whether read as float or double.
        param["base_score"] = "[" + ",".join(repr(_f32(v)) for v in init) + "]"
    else:
        if gbm["name"] != "gbtree":
            raise ValueError(
                f"a binary {gbm['name']!r} booster cannot hold the init score exactly (DART scales each tree by "
                "its weight): train with booster='gbtree'"
            )
        trees = gbm["model"]["trees"]
        if not trees:
            raise ValueError("booster has no trees: there is nothing to add the init score to")
        tree = trees[0]
        if int(tree["tree_param"].get("size_leaf_vector", "1")) > 1:
            raise ValueError("booster has vector leaves: a binary focal booster has one output")
        start = np.float32(init[0])
        cond = tree["split_conditions"]
        for node, left in enumerate(tree["left_children"]):
            if left == -1:  # a leaf: split_conditions holds its value
                cond[node] = float(start + np.float32(cond[node]))
        learner["objective"] = {"name": "binary:logistic", "reg_loss_param": {"scale_pos_weight": "1"}}
        # Logit(0.5f) = -log(1/0.5 - 1) = 0 exactly: the margin starts at 0.
        param["base_score"] = "[5E-1]"

    out = xgb.Booster()
    out.load_model(bytearray(json.dumps(model).encode()))
    best = attributes.get("best_iteration")
    if best is not None and int(best) < out.num_boosted_rounds():
        out.set_attr(**attributes)
    return out


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


class FocalXGBClassifier(xgb.XGBClassifier, FocalClassifierMixin):
    __doc__ = """XGBoost classifier trained with the (stabilized) focal loss.

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

    def __init__(
        self,
        *,
        focal_gamma: float = 2.0,
        focal_alpha: float | None = 0.25,
        focal_epsilon: float = 1e-3,
        focal_hessian: str = "positive",
        focal_proba: str = "posterior",
        focal_scale: Any = 1.0,
        objective: Any = None,
        **kwargs: Any,
    ) -> None:
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.focal_epsilon = focal_epsilon
        self.focal_hessian = focal_hessian
        self.focal_proba = focal_proba
        self.focal_scale = focal_scale
        super().__init__(objective=objective, **kwargs)

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
        """The init score into the booster (all rounds kept), or a warning where its format
        cannot hold it (a binary DART or a gblinear booster): then prediction adds it."""
        booster = self.get_booster()
        try:
            self._Booster = with_init_score(booster, self.init_score_, num_iteration=booster.num_boosted_rounds())
        except ValueError as exc:
            warnings.warn(
                f"{type(self).__name__}: the booster cannot hold the init score ({exc}); this estimator adds it "
                "at prediction, but a booster saved from it predicts without it",
                UserWarning,
                stacklevel=3,
            )
            return
        self._focal_baked = True

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
        raw = xgb.XGBModel.predict(
            self,
            X,
            output_margin=True,
            validate_features=validate_features,
            base_margin=self._margin(X, base_margin, iteration_range),
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
