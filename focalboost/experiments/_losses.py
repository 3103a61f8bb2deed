"""The three losses the experiments compare, elementwise (no reduction).

* ``"original"``: the focal loss of Lin et al. written exactly as torchvision's
  ``sigmoid_focal_loss`` writes it, differentiated by autograd. This is the formula under study:
  once ``σ(x)`` rounds to 1, ``(1 − p_t)`` is exactly 0 and autograd's derivative of
  ``(1 − p_t)^γ`` is ``γ · 0^(γ−1) = ∞`` for ``0 < γ < 1``, multiplied by ``dp/dx = 0``: NaN.
  It is a reference reproduced on purpose, not a second copy of our formula.
* ``"stabilized"``: the paper's ε formula (its eq. 11), ``focalboost._math.binary.binary_focal`` on
  torch tensors, differentiated by autograd; ``(q + ε)^γ`` keeps the base ≥ ε > 0.
* ``"focalboost"``: :func:`focalboost.torch.sigmoid_focal_loss`, whose backward is the closed-form
  derivative of the core (imported lazily).

Every function takes ``gamma`` and ``alpha`` as floats or as tensors broadcastable against the
logits (the batched ensemble passes one value per member); ``epsilon`` is a float.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from .._math.binary import binary_focal

LOSSES = ("original", "stabilized", "focalboost")
LossFn = Callable[..., torch.Tensor]


def original_focal_loss(inputs: torch.Tensor, targets: torch.Tensor, *, gamma: Any, alpha: Any, epsilon: float = 0.0):
    """torchvision's ``sigmoid_focal_loss`` formula (reduction ``"none"``), through autograd.

    ``epsilon`` is ignored (the original loss has none); ``alpha=None`` means no weighting
    (torchvision's ``alpha < 0``).
    """
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha is not None:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return loss


def stabilized_focal_loss(inputs: torch.Tensor, targets: torch.Tensor, *, gamma: Any, alpha: Any, epsilon: float):
    """The paper's stabilized focal loss from the core, differentiated by autograd."""
    a1, a0 = (1.0, 1.0) if alpha is None else (alpha, 1 - alpha)
    loss, _, _ = binary_focal(
        targets, inputs, gamma=gamma, epsilon=epsilon, alpha_pos=a1, alpha_neg=a0, xp=torch,
        gradient=False, hessian=None,
    )
    return loss


def focalboost_focal_loss(inputs: torch.Tensor, targets: torch.Tensor, *, gamma: Any, alpha: Any, epsilon: float):
    """:func:`focalboost.torch.sigmoid_focal_loss` (closed-form backward); scalar ``gamma``, ``alpha`` only."""
    from ..torch import sigmoid_focal_loss  # lazy: the torch integration is a separate module

    if isinstance(gamma, torch.Tensor) or isinstance(alpha, torch.Tensor):
        raise TypeError("the focalboost loss takes float gamma and alpha; group members by (gamma, alpha)")
    return sigmoid_focal_loss(inputs, targets, alpha=alpha, gamma=gamma, epsilon=epsilon, reduction="none")


_FUNCTIONS: dict[str, LossFn] = {
    "original": original_focal_loss,
    "stabilized": stabilized_focal_loss,
    "focalboost": focalboost_focal_loss,
}


def get_loss(kind: str) -> LossFn:
    """The elementwise loss function called ``kind`` (one of :data:`LOSSES`)."""
    if not isinstance(kind, str):
        raise TypeError(f"loss must be one of {LOSSES}, got {kind!r} of type {type(kind).__name__}")
    if kind not in _FUNCTIONS:
        raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")
    return _FUNCTIONS[kind]


def vectorizable(kind: str) -> bool:
    """Whether the loss accepts per-member tensor ``gamma``/``alpha`` (the autograd ones do)."""
    return kind != "focalboost"
