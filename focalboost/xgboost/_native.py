"""The native XGBoost route: ``obj`` and ``custom_metric`` callables for ``xgb.train``, the init
score as ``base_margin`` and inside a trained booster.

Translations only. ``xgb.train(params, dtrain, obj=f(predt, dmat), custom_metric=m(predt, dmat))``;
``predt`` is a float32 numpy array of raw margins (base margin included) when ``obj`` is given;
``dmat.get_weight()`` is an empty array when there are no weights. A custom objective starts
from ``base_score`` (a raw margin, 0.5 by default, or an intercept XGBoost estimates) unless a
``base_margin`` is set: the init score goes there, which replaces ``base_score`` for that
DMatrix, so the default never leaks in.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import xgboost as xgb

from .._boosting import (
    METRIC_NAME,
    check_scale,
    constant_rows,
    derivatives,
    init_vector,
    loss_for,
    loss_parameters_doc,
    mean_loss,
)
from .._loss import BaseFocalLoss


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

    Create it with :func:`focal_objective`: shapes ``(n_samples,)`` for two classes,
    ``(n_samples, n_classes)`` for more (with ``params["num_class"]``). Gradients and Hessians
    are multiplied by the weights. With ``device`` naming a CUDA device (as XGBoost's ``device``
    parameter) and torch installed, they are computed there and handed to XGBoost as CUDA arrays.
    """

    def __init__(self, loss: BaseFocalLoss, device: Any = None, scale: float = 1.0, n_classes: int = 2) -> None:
        self.loss = loss
        self.device = device
        self.scale = float(scale)
        self.n_classes = int(n_classes)

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


@loss_parameters_doc
def focal_objective(
    *,
    n_classes: int = 2,
    gamma: float = 2.0,
    alpha: Any = 0.25,
    epsilon: float = 1e-3,
    hessian: str = "positive",
    scale: float = 1.0,
    device: Any = None,
) -> FocalObjective:
    """The focal loss as an XGBoost objective, for ``xgb.train(..., obj=...)``.

    Parameters
    ----------
    n_classes : int, default=2
        2: the binary focal loss (:class:`focalboost.FocalLoss`) of one raw margin per sample;
        more: the softmax focal loss (:class:`focalboost.MulticlassFocalLoss`) of one margin per
        class (set ``params["num_class"]`` to the same number).
    {LOSS_PARAMETERS}
    device : str or None, default=None
        XGBoost's ``device``: with ``"cuda"`` (and torch installed) the derivatives are computed
        on the GPU and handed to XGBoost as CUDA arrays.

    Returns
    -------
    FocalObjective
        ``obj(predt, dmat) -> (grad, hess)`` of shape ``(n_samples,)``, or
        ``(n_samples, n_classes)`` with twice the diagonal Hessian, XGBoost's convention for
        ``multi:softprob``.

    Notes
    -----
    Call :func:`apply_init_score` on every DMatrix first (it sets ``base_margin``, which keeps
    XGBoost's ``base_score`` out), and :func:`with_init_score` on the trained booster, which then
    predicts the raw margins (init score included) and their sigmoid / softmax without a
    ``base_margin``.

    Examples
    --------
    >>> import numpy as np, xgboost as xgb
    >>> from focalboost import FocalLoss
    >>> from focalboost.xgboost import apply_init_score, focal_metric, focal_objective, with_init_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)); y = (X[:, 0] + rng.normal(size=500) > 1.5).astype(float)
    >>> dtrain = xgb.DMatrix(X, y)
    >>> obj = focal_objective(gamma=2.0, alpha=0.25)
    >>> init = apply_init_score(dtrain, objective=obj)
    >>> booster = xgb.train({"disable_default_eval_metric": 1}, dtrain, 10, obj=obj,
    ...                     custom_metric=focal_metric(gamma=2.0, alpha=0.25),
    ...                     evals=[(dtrain, "train")], verbose_eval=False)
    >>> booster = with_init_score(booster, init)  # the saved model predicts on its own
    >>> margin = booster.predict(xgb.DMatrix(X), output_margin=True)
    >>> proba = FocalLoss(gamma=2.0, alpha=0.25).predict_proba(margin)
    >>> proba.shape, bool(((proba > 0) & (proba < 1)).all())
    ((500, 2), True)
    """
    loss = loss_for(n_classes, gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
    return FocalObjective(loss, device=device, scale=check_scale(scale), n_classes=int(n_classes))


def focal_metric(*, n_classes: int = 2, gamma: float = 2.0, alpha: Any = 0.25, epsilon: float = 1e-3) -> FocalMetric:
    """The (weighted) mean focal loss as an XGBoost ``custom_metric``: ``("focal_loss", value)``.

    Parameters
    ----------
    n_classes, gamma, alpha, epsilon
        As in :func:`focal_objective`.
    """
    return FocalMetric(loss_for(n_classes, gamma=gamma, alpha=alpha, epsilon=epsilon))


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
        The objective to train with, from :func:`focal_objective`.

    Returns
    -------
    float or ndarray of shape (n_classes,)
        The init score. After training, :func:`with_init_score` writes it into the booster,
        which then predicts without a ``base_margin``; before that, give any DMatrix you predict
        on the same ``base_margin`` (without one, XGBoost adds its ``base_score`` instead).
    """
    if not isinstance(objective, FocalObjective):
        raise TypeError(f"objective must come from focal_objective, got {objective!r}")
    label = train_set.get_label()
    if label.size == 0:
        raise ValueError("train_set has no label: apply_init_score needs the training labels")
    init = objective.loss.init_score(label.astype(np.float64), _weight(train_set), n_classes=objective.n_classes)
    for dm in (train_set, *eval_sets):
        dm.set_base_margin(constant_rows(dm.num_row(), init))
    return init


# -- the init score inside the booster ---------------------------------------------------------------
def bake_init_score(booster: xgb.Booster, init: Any, owner: str, stacklevel: int) -> tuple[xgb.Booster, bool]:
    """``(booster with the init score, True)`` (:func:`with_init_score`, all rounds kept), or, where
    the booster's format cannot hold it (a binary DART or a gblinear booster), ``(booster, False)``
    and a warning that ``owner`` adds it at prediction."""
    try:
        return with_init_score(booster, init, num_iteration=booster.num_boosted_rounds()), True
    except ValueError as exc:
        warnings.warn(
            f"{owner}: the booster cannot hold the init score ({exc}); this estimator adds it at prediction, "
            "but a booster saved from it predicts without it",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
        return booster, False


def predict_rounds(model: Any, iteration_range: Any) -> tuple[int, int]:
    """The rounds an estimator's ``predict`` uses, as :meth:`xgboost.XGBModel.predict` picks them:
    ``iteration_range`` when given, else up to the best iteration after early stopping, else all."""
    if iteration_range is not None and iteration_range[1] != 0:
        return tuple(iteration_range)
    try:
        return (0, model.best_iteration + 1)
    except AttributeError:  # no early stopping
        return (0, 0)


def dmatrix_margins(
    booster: xgb.Booster, X: Any, base_margin: Any, *, iteration_range: tuple[int, int], validate_features: bool,
    **dmatrix: Any,
) -> np.ndarray:
    """Raw margins of ``booster`` on ``X`` plus ``base_margin``, through a DMatrix.

    For boosters that cannot hold the init score (DART) or get a caller's ``base_margin``:
    ``inplace_predict`` (what ``XGBModel.predict`` uses) returns wrong margins for DART boosters
    given a ``base_margin`` in XGBoost 3.2 (a 10-round binary model was off by up to 7), while the
    DMatrix prediction equals ``base_margin`` plus the weighted sum of the trees' leaves.
    ``dmatrix``: further DMatrix arguments (``missing``, ``enable_categorical``, ...).
    """
    data = xgb.DMatrix(X, base_margin=base_margin, **dmatrix)
    rounds = iteration_range
    raw = booster.predict(data, output_margin=True, iteration_range=rounds, validate_features=validate_features)
    return np.asarray(raw, dtype=np.float64)


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
