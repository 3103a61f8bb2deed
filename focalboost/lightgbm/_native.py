"""The native LightGBM route: objective and metric callables for ``lgb.train``, the init score on
Datasets and inside a trained booster.

Translations only. LightGBM ≥ 4 takes a callable objective in ``params["objective"]`` as
``f(preds, dataset) -> (grad, hess)`` (``fobj=`` was removed in 4.0); metrics go through
``feval=f(preds, dataset) -> (name, value, is_higher_better)``; ``preds`` are raw scores that
include the dataset's ``init_score`` (``(n_samples, n_classes)`` for multiclass); ``predict``
never adds ``init_score`` back.
"""

from __future__ import annotations

import re
from typing import Any

import lightgbm as lgb
import numpy as np

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


def _weights(weight: Any) -> np.ndarray | None:
    return None if weight is None else np.asarray(weight, dtype=np.float64).reshape(-1)


class FocalObjective:
    """``params["objective"]`` callable for ``lgb.train``: ``(preds, dataset) -> (grad, hess)``.

    Create it with :func:`focal_objective`: for two classes ``preds`` and outputs of shape
    ``(n_samples,)``, for more ``(n_samples, n_classes)`` (with ``params["num_class"]``).
    Gradients and Hessians are multiplied by the dataset's weights.
    """

    def __init__(self, loss: BaseFocalLoss, scale: float = 1.0, n_classes: int = 2) -> None:
        self.loss = loss
        self.scale = float(scale)
        self.n_classes = int(n_classes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r}, scale={self.scale!r})"

    def __call__(self, preds: np.ndarray, dataset: lgb.Dataset) -> tuple[np.ndarray, np.ndarray]:
        # LightGBM keeps labels as float32: class indices are exact in it, and the formulas read it.
        w = _weights(dataset.get_weight())
        return derivatives(self.loss, dataset.get_label(), preds, w, library="lightgbm", scale=self.scale)


class _SklearnObjective(FocalObjective):
    """The objective in LightGBM's scikit-learn form ``(y_true, y_pred, weight)`` (Dask workers)."""

    def __call__(self, y_true: Any, y_pred: Any, weight: Any) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[override]
        y = np.asarray(y_true, dtype=np.float64)
        return derivatives(self.loss, y, y_pred, weight, library="lightgbm", scale=self.scale)


class FocalMetric:
    """``feval`` callable for ``lgb.train``: the weighted mean focal loss, lower is better.

    Create it with :func:`focal_metric`. Returns ``("focal_loss", value, False)``.
    """

    def __init__(self, loss: BaseFocalLoss) -> None:
        self.loss = loss

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r})"

    def __call__(self, preds: np.ndarray, eval_data: lgb.Dataset) -> tuple[str, float, bool]:
        return METRIC_NAME, mean_loss(self.loss, eval_data.get_label(), preds, _weights(eval_data.get_weight())), False


class _SklearnMetric(FocalMetric):
    """``eval_metric`` form for ``LGBMClassifier.fit``: ``(y_true, y_pred, weight)``."""

    def __call__(self, y_true: Any, y_pred: Any, weight: Any) -> tuple[str, float, bool]:  # type: ignore[override]
        return METRIC_NAME, mean_loss(self.loss, y_true, y_pred, _weights(weight)), False


@loss_parameters_doc
def focal_objective(
    *,
    n_classes: int = 2,
    gamma: float = 2.0,
    alpha: Any = 0.25,
    epsilon: float = 1e-3,
    hessian: str = "positive",
    scale: float = 1.0,
) -> FocalObjective:
    """The focal loss as a LightGBM objective, for ``params["objective"]`` of ``lgb.train``.

    Parameters
    ----------
    n_classes : int, default=2
        2: the binary focal loss (:class:`focalboost.FocalLoss`) of one raw score per sample;
        more: the softmax focal loss (:class:`focalboost.MulticlassFocalLoss`) of one raw score
        per class (set ``params["num_class"]`` to the same number).
    {LOSS_PARAMETERS}

    Returns
    -------
    FocalObjective
        ``objective(preds, dataset) -> (grad, hess)`` of shape ``(n_samples,)``, or
        ``(n_samples, n_classes)`` (LightGBM ≥ 4 passes 2-D ``preds``) with the diagonal Hessian
        times ``K / (K − 1)``, the convention of LightGBM's own ``multiclass`` objective.

    Notes
    -----
    A custom objective starts every booster at raw score 0: call :func:`apply_init_score` on
    the datasets first, and :func:`with_init_score` on the trained booster, which then predicts
    the raw scores (init score included) and their sigmoid / softmax on its own.

    Examples
    --------
    >>> import lightgbm as lgb, numpy as np
    >>> from focalboost import FocalLoss
    >>> from focalboost.lightgbm import apply_init_score, focal_metric, focal_objective, with_init_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)); y = (X[:, 0] + rng.normal(size=500) > 1.5).astype(float)
    >>> dtrain = lgb.Dataset(X, y)
    >>> obj = focal_objective(gamma=2.0, alpha=0.25)
    >>> init = apply_init_score(dtrain, objective=obj)
    >>> params = {"objective": obj, "metric": "None", "verbose": -1}
    >>> booster = lgb.train(params, dtrain, 10, valid_sets=[dtrain], feval=focal_metric(gamma=2.0, alpha=0.25))
    >>> booster = with_init_score(booster, init)  # the saved model predicts on its own
    >>> proba = FocalLoss(gamma=2.0, alpha=0.25).predict_proba(booster.predict(X, raw_score=True))
    >>> proba.shape, bool(((proba > 0) & (proba < 1)).all())
    ((500, 2), True)

    Three classes:

    >>> y3 = np.digitize(X[:, 0] + rng.normal(size=500), [-1.0, 1.0])
    >>> d3 = lgb.Dataset(X, y3)
    >>> obj3 = focal_objective(n_classes=3, gamma=2.0, alpha=None)
    >>> init3 = apply_init_score(d3, objective=obj3)  # shape (3,)
    >>> b3 = lgb.train({"objective": obj3, "num_class": 3, "metric": "None", "verbose": -1}, d3, 10)
    >>> b3 = with_init_score(b3, init3)
    >>> b3.predict(X).shape  # softmax of the raw scores
    (500, 3)
    """
    loss = loss_for(n_classes, gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
    return FocalObjective(loss, check_scale(scale), int(n_classes))


def focal_metric(*, n_classes: int = 2, gamma: float = 2.0, alpha: Any = 0.25, epsilon: float = 1e-3) -> FocalMetric:
    """The (weighted) mean focal loss as a LightGBM ``feval``: ``("focal_loss", value, False)``.

    Parameters
    ----------
    n_classes, gamma, alpha, epsilon
        As in :func:`focal_objective`.
    """
    return FocalMetric(loss_for(n_classes, gamma=gamma, alpha=alpha, epsilon=epsilon))


def _field(dataset: lgb.Dataset, name: str) -> Any:
    """A label or weight of a Dataset, constructed or not (``get_*`` raises before construction)."""
    value = getattr(dataset, name)
    if value is None:
        try:
            value = dataset.get_field(name)
        except Exception:  # not constructed yet and not given: there is none
            value = None
    return value


def apply_init_score(train_set: lgb.Dataset, *eval_sets: lgb.Dataset, objective: FocalObjective) -> float | np.ndarray:
    """Compute the optimal constant start from ``train_set`` and set it as ``init_score`` of all sets.

    Parameters
    ----------
    train_set : lightgbm.Dataset
        Training data with labels (``{0, 1}``, or class indices for a multiclass objective) and
        optional weights.
    *eval_sets : lightgbm.Dataset
        The evaluation sets you pass to ``lgb.train(valid_sets=...)``; each gets the same
        constant (they need labels, which give their length).
    objective : FocalObjective
        The objective to train with, from :func:`focal_objective`.

    Returns
    -------
    float or ndarray of shape (n_classes,)
        The init score. After training, :func:`with_init_score` writes it into the booster;
        LightGBM itself never adds a dataset's ``init_score`` back at prediction time.
    """
    if not isinstance(objective, FocalObjective):
        raise TypeError(f"objective must come from focal_objective, got {objective!r}")
    label = _field(train_set, "label")
    if label is None:
        raise ValueError("train_set has no label: apply_init_score needs the training labels")
    y = np.asarray(label, dtype=np.float64).reshape(-1)
    init = objective.loss.init_score(y, _weights(_field(train_set, "weight")), n_classes=objective.n_classes)
    for ds in (train_set, *eval_sets):
        lab = _field(ds, "label")
        if lab is None:
            raise ValueError("every Dataset passed to apply_init_score needs labels (they give its length)")
        ds.set_init_score(constant_rows(np.asarray(lab).reshape(-1).shape[0], init))
    return init


# -- the init score inside the booster ---------------------------------------------------------------
# LightGBM rounds leaf values of magnitude at most this to 0 (Tree::MaybeRoundToZero).
_LGB_ZERO = 1e-35
_LGB_TREE_LINE = re.compile(r"^Tree=\d+$", re.MULTILINE)


def _lgb_shift(values: str, shift: float) -> str:
    out = []
    for token in values.split():
        v = float(token) + shift
        out.append(repr(0.0 if abs(v) <= _LGB_ZERO else v))
    return " ".join(out)


def _lgb_shift_tree(block: str, shift: float) -> str:
    """One tree block (``Tree=i`` … blank line) with ``shift`` added to its output.

    The same edit as LightGBM's own ``Tree::AddBias`` (used for ``boost_from_average``): every
    leaf value, every internal value (so that the tree stays self-consistent; prediction and
    SHAP read leaves only), the constant of linear leaves, and the shrinkage set to 1, since
    the shift is not a scaled step.
    """
    lines = block.split("\n")
    for i, line in enumerate(lines):
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if key in ("leaf_value", "internal_value", "leaf_const") and value:
            lines[i] = f"{key}={_lgb_shift(value, shift)}"
        elif key == "shrinkage":
            lines[i] = "shrinkage=1"
    return "\n".join(lines)


def with_init_score(
    booster: lgb.Booster, init_score: float | np.ndarray, *, num_iteration: int | None = None
) -> lgb.Booster:
    """A copy of a LightGBM booster whose raw output includes the init score, and its link.

    Parameters
    ----------
    booster : lightgbm.Booster
        Trained with a focal objective (a callable objective: its model text names none) from
        the init score, e.g. the result of ``lgb.train`` after :func:`apply_init_score`.
        (:class:`FocalLGBMClassifier` does this itself after ``fit``: its ``booster_`` already
        holds the init score.)
    init_score : float or array-like of shape (n_classes,)
        The constant the trees were added to (``FocalLGBMClassifier.init_score_``, or what
        ``apply_init_score`` returned).
    num_iteration : int, optional
        Iterations kept. ``None``: the best iteration when early stopping recorded one, else
        all (what ``Booster.predict`` and ``save_model`` use by default); ``-1``: all.

    Returns
    -------
    lightgbm.Booster
        A new booster; ``booster`` is not modified. ``predict(X, raw_score=True)`` returns the
        focal model's raw scores, ``predict(X)`` their sigmoid (one raw score) or softmax
        (``n_classes``), ``predict(X, pred_contrib=True)`` SHAP values whose rows sum to the raw
        scores. ``save_model`` writes all of it to the model text, which any LightGBM reader
        (the C API, the CLI, other language packages, converters that read the text) predicts
        from without focalboost.

    Notes
    -----
    The model text then holds:

    - the init score added to every leaf (and internal) value of each class's first tree — the
      edit LightGBM itself makes for ``boost_from_average`` — with that tree's shrinkage set to
      1 (a single-leaf tree, or a linear tree's leaf constants, alike);
    - the header line ``objective=binary sigmoid:1`` or ``objective=multiclass num_class:K``,
      which LightGBM reads back as the link of ``predict``. The ``parameters:`` section still
      records ``objective: custom``: it only documents training.

    Caveats: prediction with ``start_iteration > 0`` skips the first trees and therefore the
    init score. Continued training with this booster as ``init_model`` starts from its raw
    scores, which already include the init score (give the datasets no ``init_score`` then),
    and, with a callable objective, drops the objective line again: call this function on the
    result with ``init_score=0`` to write the link back (the guard against adding the init
    score twice is that line). ``Booster.refit`` fails as it does for any booster trained with a
    callable objective ("No objective function provided"). Leaf values stay float64: the raw
    scores equal the estimator's to rounding (about 1e-16).
    """
    text = booster.model_to_string(num_iteration=num_iteration)
    first = _LGB_TREE_LINE.search(text)
    end = text.find("end of trees")
    if first is None or end < 0:
        raise ValueError("booster has no trees: there is nothing to add the init score to")
    header, body, tail = text[: first.start()], text[first.start() : end], text[end:]
    fields = dict(line.split("=", 1) for line in header.splitlines() if "=" in line)
    n_per_iter = int(fields["num_tree_per_iteration"])
    init = init_vector(init_score, n_per_iter, "booster (num_tree_per_iteration)")
    link = "binary sigmoid:1" if n_per_iter == 1 else f"multiclass num_class:{n_per_iter}"
    if "objective" in fields:
        # A callable objective leaves no objective line; this function writes one.
        raise ValueError(
            f"booster names the objective {fields['objective']!r}: it was trained with a built-in objective, "
            "or already holds its init score"
        )
    if "average_output" in header.splitlines():
        raise ValueError("booster averages its trees (boosting='rf'), which LightGBM trains without an init score")

    starts = [m.start() for m in _LGB_TREE_LINE.finditer(body)] + [len(body)]
    blocks = [body[a:b] for a, b in zip(starts[:-1], starts[1:], strict=True)]
    for k in range(min(n_per_iter, len(blocks))):  # iteration 0 holds tree k of class k
        blocks[k] = _lgb_shift_tree(blocks[k], float(init[k]))

    # Header: the link after max_feature_idx (where LightGBM writes it) and the byte size of
    # every tree block, which LightGBM uses to find the trees.
    out = []
    for line in header.split("\n"):
        if line.startswith("objective="):
            continue
        if line.startswith("tree_sizes="):
            line = "tree_sizes=" + " ".join(str(len(b.encode())) for b in blocks)
        out.append(line)
        if line.startswith("max_feature_idx="):
            out.append(f"objective={link}")
    new = lgb.Booster(model_str="\n".join(out) + "".join(blocks) + tail)
    new.best_iteration = booster.best_iteration
    new.best_score = booster.best_score
    return new
