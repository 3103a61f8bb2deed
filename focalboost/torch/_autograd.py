"""The autograd Functions of :mod:`focalboost.torch`: the chain rule around the closed forms.

Nothing here writes a focal formula or picks a kernel: the loss, gradient and Hessian of every
element come from :func:`focalboost._math.dispatch.torch_binary` and
:func:`~focalboost._math.dispatch.torch_softmax` (fused numba kernel on CPU, ``torch.compile``
on CUDA, plain code otherwise). What this module adds is the chain rule with the incoming
gradient and what is kept between forward and backward.

The binary loss supports double backward: :class:`BinaryLoss`'s backward is :class:`BinaryGrad`,
a second Function whose own backward is the exact Hessian (the loss is elementwise, so the
Hessian is diagonal and a Hessian-vector product is elementwise).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import once_differentiable

from .._math import dispatch, torch_xp  # noqa: F401  (torch_xp: loaded before any tracing)

__all__ = ["BinaryGrad", "BinaryLoss", "SoftmaxLoss"]


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    return loss.sum() if reduction == "sum" else loss.mean() if reduction == "mean" else loss


def _on_host(x: torch.Tensor) -> bool:
    """On CPU the loss and its gradient cost about as much as either alone (the exponential and
    logarithms dominate), so forward computes both in one pass and keeps the gradient for
    backward: one tensor of the input's size held in host memory, where memory is cheap and
    arithmetic is not. On a GPU forward keeps the inputs only and backward recomputes."""
    return x.device.type == "cpu" and not torch.compiler.is_compiling()


class BinaryLoss(torch.autograd.Function):
    """``loss = reduce(w · L(x, y))``; ``prm = (gamma, epsilon, alpha_pos, alpha_neg)``."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, y: torch.Tensor, w: Any, prm: tuple, reduction: str) -> torch.Tensor:
        ctx.save_for_backward(x, y, w)
        ctx.prm = prm
        ctx.reduction = reduction
        ctx.grad_hint = None
        if ctx.needs_input_grad[0] and _on_host(x):
            loss, ctx.grad_hint = dispatch.torch_binary(x, y, w, prm, ("loss", "grad"))
        else:
            (loss,) = dispatch.torch_binary(x, y, w, prm, ("loss",))
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple:
        x, y, w = ctx.saved_tensors
        c = grad_out / x.numel() if ctx.reduction == "mean" else grad_out
        gx = gy = None
        # The forward's gradient is used once and let go (a retained graph's second backward
        # recomputes it), so that it does not live on with the graph.
        hint, ctx.grad_hint = ctx.grad_hint, None
        if ctx.needs_input_grad[0]:
            gx = BinaryGrad.apply(x, y, w, c, ctx.prm, hint)
        if ctx.needs_input_grad[1]:
            # L is linear in y: ∂L/∂y = L(x, 1) − L(x, 0), from the closed form (differentiable).
            one = torch.ones_like(x)
            gy = c * (BinaryLoss.apply(x, one, w, ctx.prm, "none") - BinaryLoss.apply(x, one * 0, w, ctx.prm, "none"))
        return gx, gy, None, None, None


class BinaryGrad(torch.autograd.Function):
    """``g = c · w · ∂L/∂x``; its backward is the exact (diagonal) Hessian.

    ``hint`` is None or ``w · ∂L/∂x`` already computed by the forward of :class:`BinaryLoss`.
    """

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, y: torch.Tensor, w: Any, c: torch.Tensor, prm: tuple, hint: Any
    ) -> torch.Tensor:
        ctx.save_for_backward(x, y, w, c)
        ctx.prm = prm
        if hint is not None:
            return hint * c
        return dispatch.torch_binary(x, y, w, prm, ("grad",), scale=c)[0]

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, gg: torch.Tensor) -> tuple:
        x, y, w, c = ctx.saved_tensors
        prm = ctx.prm
        gx = gy = gc = None
        if ctx.needs_input_grad[0]:
            gx = gg * dispatch.torch_binary(x, y, w, prm, ("hess",), scale=c)[0]
        if ctx.needs_input_grad[1]:
            one = torch.ones_like(x)
            g1 = dispatch.torch_binary(x, one, w, prm, ("grad",), scale=c)[0]
            g0 = dispatch.torch_binary(x, one * 0, w, prm, ("grad",), scale=c)[0]
            gy = gg * (g1 - g0)
        if ctx.needs_input_grad[3]:
            gc = gg * dispatch.torch_binary(x, y, w, prm, ("grad",))[0]
            if c.dim() == 0:
                gc = gc.sum()
        return gx, gy, None, gc, None, None


class SoftmaxLoss(torch.autograd.Function):
    """Per-row ``α_c L`` of ``(n, K)`` logits (0 on rows not kept); ``prm = (gamma, epsilon)``.

    First-order backward (the formulas give the diagonal of each row's Hessian, not the whole).
    """

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, y: torch.Tensor, keep: torch.Tensor, alpha: Any, prm: tuple) -> torch.Tensor:
        ctx.save_for_backward(z, y, keep, alpha)
        ctx.prm = prm
        ctx.grad_hint = None
        if ctx.needs_input_grad[0] and _on_host(z):
            loss, ctx.grad_hint = dispatch.torch_softmax(z, y, keep, alpha, prm, ("loss", "grad"))
            return loss
        return dispatch.torch_softmax(z, y, keep, alpha, prm, ("loss",))[0]

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple:
        z, y, keep, alpha = ctx.saved_tensors
        gz = None
        hint, ctx.grad_hint = ctx.grad_hint, None  # used once, as in BinaryLoss.backward
        if ctx.needs_input_grad[0]:
            if hint is not None:
                gz = hint * grad_out[:, None]
            else:
                gz = dispatch.torch_softmax(z, y, keep, alpha, ctx.prm, ("grad",), scale=grad_out)[0]
        return gz, None, None, None, None
