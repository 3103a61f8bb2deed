"""focalboost for LightGBM: objective and metric callables for ``lgb.train``, the init score, and
the scikit-learn estimator :class:`FocalLGBMClassifier`.

Translations only. LightGBM ≥ 4 takes a callable objective in ``params["objective"]`` as
``f(preds, dataset) -> (grad, hess)`` (``fobj=`` was removed in 4.0); metrics go through
``feval=f(preds, dataset) -> (name, value, is_higher_better)``; ``preds`` are raw scores that
include the dataset's ``init_score`` (``(n_samples, n_classes)`` for multiclass); ``predict``
never adds ``init_score`` back. Requires ``lightgbm >= 4`` (the ``lightgbm`` extra).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._boosting import (
    FOCAL_DOC,
    FOCAL_PARAMS,
    METRIC_NAME,
    FocalClassifierMixin,
    add_offset,
    constant_rows,
    derivatives,
    init_vector,
    mean_loss,
    num_samples,
)
from ._boosting import (
    check_scale as _check_scale,
)
from ._loss import BaseFocalLoss, FocalLoss, MulticlassFocalLoss

try:
    import lightgbm as lgb
    from sklearn.utils.validation import check_is_fitted
except ImportError as exc:  # pragma: no cover - exercised where the extra is missing
    raise ImportError(
        f"focalboost.lightgbm needs LightGBM and scikit-learn ({exc}): pip install 'focalboost[lightgbm]'"
    ) from exc

__all__ = [
    "FocalLGBMClassifier",
    "with_init_score",
    "FocalMetric",
    "FocalObjective",
    "apply_init_score",
    "focal_metric",
    "focal_objective",
    "multiclass_focal_metric",
    "multiclass_focal_objective",
]


def _weights(weight: Any) -> np.ndarray | None:
    return None if weight is None else np.asarray(weight, dtype=np.float64).reshape(-1)


class FocalObjective:
    """``params["objective"]`` callable for ``lgb.train``: ``(preds, dataset) -> (grad, hess)``.

    Create it with :func:`focal_objective` (binary: ``preds`` and outputs of shape
    ``(n_samples,)``) or :func:`multiclass_focal_objective` (``(n_samples, n_classes)``, with
    ``params["num_class"]``). Gradients and Hessians are multiplied by the dataset's weights.
    """

    def __init__(self, loss: BaseFocalLoss, scale: float = 1.0) -> None:
        self.loss = loss
        self.scale = float(scale)

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

    Create it with :func:`focal_metric` or :func:`multiclass_focal_metric`. Returns
    ``("focal_loss", value, False)``.
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


def focal_objective(
    *,
    gamma: float = 2.0,
    alpha: float | None = 0.25,
    epsilon: float = 1e-3,
    hessian: str = "positive",
    scale: float = 1.0,
) -> FocalObjective:
    """The binary focal loss as a LightGBM objective, for ``params["objective"]`` of ``lgb.train``.

    Parameters
    ----------
    gamma, alpha, epsilon, hessian
        As in :class:`focalboost.FocalLoss`.
    scale : float, default=1.0
        A constant ``> 0`` multiplying the gradient and Hessian (the estimators' ``focal_scale``).

    Returns
    -------
    FocalObjective
        ``objective(preds, dataset) -> (grad, hess)``, each of shape ``(n_samples,)``.

    Notes
    -----
    A custom objective starts every booster at raw score 0; call :func:`apply_init_score` on
    the datasets first and add the returned constant to ``booster.predict(X, raw_score=True)``.

    Examples
    --------
    >>> import lightgbm as lgb, numpy as np
    >>> from focalboost import FocalLoss
    >>> from focalboost.lightgbm import focal_objective, focal_metric, apply_init_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)); y = (X[:, 0] + rng.normal(size=500) > 1.5).astype(float)
    >>> dtrain = lgb.Dataset(X, y)
    >>> obj = focal_objective(gamma=2.0, alpha=0.25)
    >>> init = apply_init_score(dtrain, objective=obj)
    >>> params = {"objective": obj, "metric": "None", "verbose": -1}
    >>> booster = lgb.train(params, dtrain, 10, valid_sets=[dtrain], feval=focal_metric(gamma=2.0, alpha=0.25))
    >>> proba = FocalLoss(gamma=2.0, alpha=0.25).predict_proba(booster.predict(X, raw_score=True) + init)
    >>> proba.shape, bool(((proba > 0) & (proba < 1)).all())
    ((500, 2), True)
    """
    return FocalObjective(FocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian), _check_scale(scale))


def focal_metric(*, gamma: float = 2.0, alpha: float | None = 0.25, epsilon: float = 1e-3) -> FocalMetric:
    """The (weighted) mean binary focal loss as a LightGBM ``feval``: ``("focal_loss", value, False)``.

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
) -> FocalObjective:
    """The multiclass (softmax) focal loss as a LightGBM objective; set ``params["num_class"]``.

    Parameters
    ----------
    gamma, alpha, epsilon, hessian
        As in :class:`focalboost.MulticlassFocalLoss` (``alpha``: ``None`` or one weight per class).
    scale : float, default=1.0
        A constant ``> 0`` multiplying the gradient and Hessian (the estimators' ``focal_scale``).

    Returns
    -------
    FocalObjective
        ``objective(preds, dataset) -> (grad, hess)``, each of shape ``(n_samples, n_classes)``
        (LightGBM ≥ 4 passes 2-D ``preds``); the diagonal Hessian times ``K / (K − 1)``, the
        convention of LightGBM's own ``multiclass`` objective.

    Examples
    --------
    >>> import lightgbm as lgb, numpy as np
    >>> from focalboost import MulticlassFocalLoss
    >>> from focalboost.lightgbm import multiclass_focal_objective, multiclass_focal_metric, apply_init_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 3)); y = np.digitize(X[:, 0] + rng.normal(size=600), [-1.0, 1.0])
    >>> dtrain = lgb.Dataset(X, y)
    >>> obj = multiclass_focal_objective(gamma=2.0)
    >>> init = apply_init_score(dtrain, objective=obj)  # shape (3,)
    >>> params = {"objective": obj, "num_class": 3, "metric": "None", "verbose": -1}
    >>> booster = lgb.train(params, dtrain, 10, valid_sets=[dtrain], feval=multiclass_focal_metric(gamma=2.0))
    >>> proba = MulticlassFocalLoss(gamma=2.0).predict_proba(booster.predict(X, raw_score=True) + init)
    >>> proba.shape, bool(np.allclose(proba.sum(axis=1), 1.0))
    ((600, 3), True)
    """
    loss = MulticlassFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon, hessian=hessian)
    return FocalObjective(loss, _check_scale(scale))


def multiclass_focal_metric(
    *, gamma: float = 2.0, alpha: Sequence[float] | None = None, epsilon: float = 1e-3
) -> FocalMetric:
    """The (weighted) mean multiclass focal loss as a LightGBM ``feval`` (lower is better).

    Parameters
    ----------
    gamma, alpha, epsilon
        As in :class:`focalboost.MulticlassFocalLoss`.
    """
    return FocalMetric(MulticlassFocalLoss(gamma=gamma, alpha=alpha, epsilon=epsilon))


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
        The objective to train with, from :func:`focal_objective` or :func:`multiclass_focal_objective`.

    Returns
    -------
    float or ndarray of shape (n_classes,)
        The init score. LightGBM never adds it back at prediction time: add it to
        ``booster.predict(X, raw_score=True)`` yourself.
    """
    if not isinstance(objective, FocalObjective):
        raise TypeError(f"objective must come from focal_objective or multiclass_focal_objective, got {objective!r}")
    label = _field(train_set, "label")
    if label is None:
        raise ValueError("train_set has no label: apply_init_score needs the training labels")
    y = np.asarray(label, dtype=np.float64).reshape(-1)
    init = objective.loss.init_score(y, _weights(_field(train_set, "weight")))
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


#: What LightGBM makes of the focal parameters' unprefixed names (refused: see FocalClassifierMixin).
_SHADOWS = {
    "gamma": "is not a LightGBM parameter (LightGBM would ignore it)",
    "alpha": "is LightGBM's Huber / quantile parameter, which a classifier does not use",
    "epsilon": "is not a LightGBM parameter (LightGBM would ignore it)",
}


def _library_params(model: lgb.LGBMModel, stage: str) -> dict[str, Any]:
    """The booster parameters LightGBM's scikit-learn wrapper builds from ``get_params()``.

    LightGBM's private ``LGBMModel._process_params(stage)``: the one private API of LightGBM this
    estimator relies on (it is overridden below to drop the ``focal_*`` parameters and put the
    focal objective in); a test fails loudly if LightGBM changes it.
    """
    return lgb.LGBMModel._process_params(model, stage)


class FocalLGBMClassifier(FocalClassifierMixin, lgb.LGBMClassifier):
    __doc__ = f"""LightGBM classifier trained with the (stabilized) focal loss.

    A drop-in for :class:`lightgbm.LGBMClassifier`: it accepts every parameter of it (``objective``
    must stay ``None``: the focal loss is the objective) plus the ``focal_*`` parameters below.
    Two classes train with :class:`focalboost.FocalLoss` on one raw score, more with
    :class:`focalboost.MulticlassFocalLoss` on one raw score per class.

    ``fit`` computes the optimal constant start (``init_score_``), applies it as ``init_score`` to
    the training set and every ``eval_set``, and afterwards writes it into the booster (the first
    tree of each class) together with the sigmoid/softmax link, so that ``booster_`` and the file
    ``booster_.save_model`` writes predict the model's raw scores in any LightGBM runtime without
    focalboost (see :func:`with_init_score`). ``predict_proba`` returns ``focal_proba`` of those
    raw scores, shape ``(n_samples, n_classes)``; ``predict`` the class of largest probability, in
    the caller's label space; ``decision_function`` the matching log-odds (log-probabilities for
    more classes); ``predict(X, raw_score=True)`` the raw scores. The weighted mean focal loss
    (``"focal_loss"``, lower is better) is evaluated on every ``eval_set`` after any built-in
    metric, and early stopping (``callbacks=[lightgbm.early_stopping(k)]``) follows LightGBM's
    rules. LightGBM's default metric is switched off (``metric="None"``) unless given, since it
    would read raw scores as probabilities.

    Parameters
    ----------{FOCAL_DOC}
    **other
        Every parameter of :class:`lightgbm.LGBMClassifier`, same names and defaults. ``gamma``,
        ``alpha`` and ``epsilon`` are refused (use the ``focal_*`` names), as is a misspelled
        ``focal_*`` name.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    init_score_ : float or ndarray of shape (n_classes,)
        The constant raw score the trees were added to (one per class for more than two
        classes); ``booster_`` holds it.
    focal_loss_ : FocalLoss or MulticlassFocalLoss
        :class:`focalboost.FocalLoss` for two classes, :class:`focalboost.MulticlassFocalLoss` (one
        raw score per class) for more.
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
        boosting_type: str = "gbdt",
        num_leaves: int = 31,
        max_depth: int = -1,
        learning_rate: float = 0.1,
        n_estimators: int = 100,
        subsample_for_bin: int = 200000,
        objective: Any = None,
        class_weight: Any = None,
        min_split_gain: float = 0.0,
        min_child_weight: float = 1e-3,
        min_child_samples: int = 20,
        subsample: float = 1.0,
        subsample_freq: int = 0,
        colsample_bytree: float = 1.0,
        reg_alpha: float = 0.0,
        reg_lambda: float = 0.0,
        random_state: Any = None,
        n_jobs: int | None = None,
        importance_type: str = "split",
        **kwargs: Any,
    ) -> None:
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.focal_epsilon = focal_epsilon
        self.focal_hessian = focal_hessian
        self.focal_proba = focal_proba
        self.focal_scale = focal_scale
        super().__init__(
            boosting_type=boosting_type,
            num_leaves=num_leaves,
            max_depth=max_depth,
            learning_rate=learning_rate,
            n_estimators=n_estimators,
            subsample_for_bin=subsample_for_bin,
            objective=objective,
            class_weight=class_weight,
            min_split_gain=min_split_gain,
            min_child_weight=min_child_weight,
            min_child_samples=min_child_samples,
            subsample=subsample,
            subsample_freq=subsample_freq,
            colsample_bytree=colsample_bytree,
            reg_alpha=reg_alpha,
            reg_lambda=reg_lambda,
            random_state=random_state,
            n_jobs=n_jobs,
            importance_type=importance_type,
            **kwargs,
        )

    # LightGBM builds the booster's parameters from get_params(): drop ours, put the focal
    # objective in, and switch off the default metric (it would read raw scores as probabilities).
    def _process_params(self, stage: str) -> dict[str, Any]:
        params = _library_params(self, stage)
        for name in FOCAL_PARAMS:
            params.pop(name, None)
        fitting = getattr(self, "_focal_fitting", None)
        if stage == "fit" and fitting is not None:
            params["objective"] = fitting
            if not any(k in self.get_params() for k in ("metric", "metrics", "metric_types")):
                params["metric"] = "None"
        return params

    def fit(  # type: ignore[override]
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        init_score: Any = None,
        eval_set: Any = None,
        eval_names: Any = None,
        eval_sample_weight: Any = None,
        eval_class_weight: Any = None,
        eval_init_score: Any = None,
        eval_metric: Any = None,
        **kwargs: Any,
    ) -> FocalLGBMClassifier:
        """Fit on ``X, y`` with the focal loss; arguments as in :meth:`lightgbm.LGBMClassifier.fit`.

        ``init_score`` / ``eval_init_score``, when given, are added to the focal init score (a
        per-row offset; as in LightGBM, it is not added back by ``predict``). ``eval_metric``
        is evaluated after the focal metric.
        """
        self._focal_check_params(_SHADOWS)
        if self.objective is not None:
            raise ValueError(
                f"{type(self).__name__} trains with the focal loss: objective must be None, got {self.objective!r}"
            )
        if kwargs.get("init_model") is not None:
            raise ValueError(
                f"{type(self).__name__} does not continue training from init_model (its start would be the "
                "other model's raw scores, not the focal init score); fit a new model"
            )
        weight = sample_weight
        if self.class_weight is not None:  # LightGBM multiplies these in: so must the init score
            from sklearn.utils.class_weight import compute_sample_weight

            cw = compute_sample_weight(self.class_weight, np.asarray(y).reshape(-1))
            weight = cw if sample_weight is None else np.asarray(sample_weight, dtype=np.float64) * cw
        _, loss, init, scale = self._focal_setup(X, y, weight)

        eval_x, eval_y = kwargs.pop("eval_X", None), kwargs.pop("eval_y", None)
        if eval_x is not None:
            # LightGBM ≥ 4.7's other spelling of eval_set. LGBMClassifier encodes the labels of
            # eval_set only, so it is handed on as eval_set (without the deprecation warning).
            xs = eval_x if isinstance(eval_x, tuple) else (eval_x,)
            ys = eval_y if isinstance(eval_y, tuple) else (eval_y,)
            eval_set = list(zip(xs, ys, strict=True))
        if isinstance(eval_set, tuple):
            eval_set = [eval_set]
        train_init = add_offset(constant_rows(num_samples(X), init), init_score)
        valid_init: list[Any] | None = None
        if eval_set:
            given = list(eval_init_score) if eval_init_score is not None else [None] * len(eval_set)
            valid_init = [
                add_offset(constant_rows(num_samples(vx), init), g) for (vx, _), g in zip(eval_set, given, strict=True)
            ]
            for _, vy in eval_set:
                self._focal_transform_labels(vy)  # a clear error for labels unseen in y
        metrics: list[Any] = [_SklearnMetric(loss)]
        if eval_metric is not None:
            metrics += list(eval_metric) if isinstance(eval_metric, list) else [eval_metric]

        self._focal_fitting: FocalObjective | None = FocalObjective(loss, scale)
        try:
            with warnings.catch_warnings():
                if eval_x is not None:  # handed on as eval_set: not the caller's deprecated spelling
                    warnings.filterwarnings("ignore", message=".*'eval_set' is deprecated")
                super().fit(
                    X,
                    y,
                    sample_weight=sample_weight,
                    init_score=train_init,
                    eval_set=eval_set,
                    eval_names=eval_names,
                    eval_sample_weight=eval_sample_weight,
                    eval_class_weight=eval_class_weight,
                    eval_init_score=valid_init,
                    eval_metric=metrics,
                    **kwargs,
                )
        finally:
            self._focal_fitting = None
        # The init score into the booster (all iterations: num_iteration and early stopping stay
        # the caller's to choose), so that booster_ predicts on its own.
        self._Booster = with_init_score(self.booster_, init, num_iteration=-1)
        self.init_score_ = init
        self.focal_loss_ = loss
        self.focal_scale_ = scale
        return self

    def _raw(self, X: Any, start_iteration: int = 0, num_iteration: int | None = None, **kwargs: Any) -> np.ndarray:
        """Raw scores, init score included (the booster holds it in its first iteration, which
        ``start_iteration > 0`` skips: it is added back then)."""
        check_is_fitted(self)
        raw = lgb.LGBMModel.predict(
            self, X, raw_score=True, start_iteration=start_iteration, num_iteration=num_iteration, **kwargs
        )
        raw = np.asarray(raw, dtype=np.float64)
        return raw + self.init_score_ if start_iteration > 0 else raw

    def decision_function(
        self, X: Any, start_iteration: int = 0, num_iteration: int | None = None, **kwargs: Any
    ) -> np.ndarray:
        """The decision function: shape ``(n_samples,)``, positive where :meth:`predict` gives the
        second class, or ``(n_samples, n_classes)`` whose argmax is :meth:`predict`.

        With ``focal_proba="posterior"`` the log-odds (log-probabilities) of :meth:`predict_proba`,
        with ``"link"`` the raw scores (``predict(X, raw_score=True)``)."""
        return self._focal_decision(self._raw(X, start_iteration, num_iteration, **kwargs))

    def predict_proba(  # type: ignore[override]
        self,
        X: Any,
        raw_score: bool = False,
        start_iteration: int = 0,
        num_iteration: int | None = None,
        pred_leaf: bool = False,
        pred_contrib: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Class probabilities (``focal_proba``) of shape ``(n_samples, n_classes)`` (with
        ``raw_score`` etc.: as :meth:`predict`)."""
        if raw_score or pred_leaf or pred_contrib:
            return self.predict(X, raw_score, start_iteration, num_iteration, pred_leaf, pred_contrib, **kwargs)
        return self._focal_probabilities(self._raw(X, start_iteration, num_iteration, **kwargs))

    def predict_log_proba(
        self, X: Any, start_iteration: int = 0, num_iteration: int | None = None, **kwargs: Any
    ) -> np.ndarray:
        """The logarithm of :meth:`predict_proba`, computed directly (exact where it underflows)."""
        return self._focal_probabilities(self._raw(X, start_iteration, num_iteration, **kwargs), log=True)

    def predict(  # type: ignore[override]
        self,
        X: Any,
        raw_score: bool = False,
        start_iteration: int = 0,
        num_iteration: int | None = None,
        pred_leaf: bool = False,
        pred_contrib: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Labels in the caller's label space; ``raw_score=True``: the raw scores (init score
        included); ``pred_contrib=True``: SHAP values, whose rows sum to the raw scores."""
        if raw_score:
            return self._raw(X, start_iteration, num_iteration, **kwargs)
        if pred_leaf or pred_contrib:
            out = lgb.LGBMModel.predict(
                self,
                X,
                start_iteration=start_iteration,
                num_iteration=num_iteration,
                pred_leaf=pred_leaf,
                pred_contrib=pred_contrib,
                **kwargs,
            )
            if pred_contrib and start_iteration > 0 and isinstance(out, np.ndarray) and not pred_leaf:
                # The expected value is the last column of each class's block of n_features + 1;
                # the init score lives in the skipped first iteration.
                init = np.atleast_1d(np.asarray(self.init_score_, dtype=np.float64))
                out = out.astype(np.float64).reshape(out.shape[0], init.size, -1)
                out[:, :, -1] += init
                out = out.reshape(out.shape[0], -1)
            return out
        return self._focal_labels(
            self.predict_proba(X, start_iteration=start_iteration, num_iteration=num_iteration, **kwargs)
        )
