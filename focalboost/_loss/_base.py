"""The contract both loss objects share, and the checks of their init scores."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import (
    check_hessian,
    check_real,
)


class BaseFocalLoss:
    """What :class:`FocalLoss` and :class:`MulticlassFocalLoss` share: parameters, representation,
    and the evaluation methods. Not used directly."""

    alpha: Any

    def __init__(self, *, gamma: float, alpha: Any, epsilon: float, hessian: str) -> None:
        self.gamma = check_real("gamma", gamma)
        self.alpha = self._check_alpha(alpha)
        self.epsilon = check_real("epsilon", epsilon)
        self.hessian = check_hessian("hessian", hessian)

    def _check_alpha(self, alpha: Any) -> Any:
        raise NotImplementedError

    # -- representation ---------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The parameters, as validated: ``gamma``, ``alpha``, ``epsilon``, ``hessian``."""
        return {"gamma": self.gamma, "alpha": self.alpha, "epsilon": self.epsilon, "hessian": self.hessian}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.get_params() == other.get_params()

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self.get_params().values()))

    # -- what the subclasses define ---------------------------------------------------------
    def class_weights(self, n_classes: int | None = None) -> np.ndarray:
        """The class weights ``α_c`` in class order, float64 of shape ``(n_classes,)``."""
        raise NotImplementedError

    def _compute(
        self, y_true: Any, raw_prediction: Any, sample_weight: Any, check_input: bool, **what: Any
    ) -> tuple[Any, Any, Any]:
        raise NotImplementedError

    def predict_proba(self, raw_prediction: Any, *, kind: str = "posterior") -> Any:
        """Class probabilities of raw predictions, shape ``(n_samples, n_classes)``."""
        raise NotImplementedError

    def predict_log_proba(self, raw_prediction: Any, *, kind: str = "posterior") -> Any:
        """The logarithm of :meth:`predict_proba`, computed directly: exact where a probability
        underflows (``−800``, not ``−inf``, for a class behind by 800)."""
        raise NotImplementedError

    def _posterior_weights(self, n_classes: int | None = None) -> np.ndarray:
        """The class weights, which must all be positive for the posterior to exist."""
        weights = self.class_weights(n_classes)
        if not np.all(weights > 0):
            c = int(np.argmin(weights > 0))
            raise ValueError(
                f"alpha={self.alpha!r} gives class {c} the weight 0: a score trained with it carries no "
                "information about that class, so there is no posterior; use kind='link', or weights > 0"
            )
        return weights

    def init_score(self, y_true: Any, sample_weight: Any = None, *, n_classes: int | None = None) -> Any:
        """The constant raw prediction minimizing the (weighted) mean loss."""
        raise NotImplementedError

    # -- evaluation -------------------------------------------------------------------------
    def loss(self, y_true: Any, raw_prediction: Any, sample_weight: Any = None, *, check_input: bool = True) -> Any:
        """Per-sample loss, of shape ``(n_samples,)`` (the array library, device and float dtype
        of ``raw_prediction``); multiplied by ``sample_weight`` when given.

        ``check_input=False`` skips the validation of shapes and values (for adapters that
        validated the labels once); invalid input then gives undefined results.
        """
        out, _, _ = self._compute(y_true, raw_prediction, sample_weight, check_input, gradient=False, hessian=None)
        return out

    def gradient(self, y_true: Any, raw_prediction: Any, sample_weight: Any = None, *, check_input: bool = True) -> Any:
        """Per-sample ``∂L/∂raw_prediction``, of the shape of ``raw_prediction``."""
        _, grad, _ = self._compute(y_true, raw_prediction, sample_weight, check_input, loss=False, hessian=None)
        return grad

    def gradient_hessian(
        self, y_true: Any, raw_prediction: Any, sample_weight: Any = None, *, check_input: bool = True
    ) -> tuple[Any, Any]:
        """Per-sample gradient and (diagonal) second derivative under the ``hessian`` policy,
        each of the shape of ``raw_prediction``."""
        _, grad, hess = self._compute(
            y_true, raw_prediction, sample_weight, check_input, loss=False, hessian=self.hessian
        )
        return grad, hess


def _check_n_classes(n_classes: Any) -> int:
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    return int(n_classes)


def _check_masses(mass: np.ndarray, counts: np.ndarray, alpha: Any) -> None:
    """Raise when a class has no weighted mass, naming the cause: its class weight or its samples."""
    empty = np.nonzero(~(mass > 0))[0]
    if not empty.size:
        return
    c = int(empty[0])
    if counts[c] > 0:
        raise ValueError(
            f"alpha={alpha!r} gives class {c} the weight 0, so the loss is minimized at a raw score of -inf "
            "for it and there is no finite init score: give every class a weight > 0"
        )
    raise ValueError(
        f"class {c} has no samples with positive weight (total sample weight {float(counts[c])!r}): its optimal "
        "raw score is -inf, so there is no finite init score"
    )
