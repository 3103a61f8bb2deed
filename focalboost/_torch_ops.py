"""The autograd machinery of :mod:`focalboost.torch`: translators from tensors to the core.

Nothing here writes a focal formula. The loss, gradient and Hessian of every element come from
:func:`focalboost._core.binary_focal` (binary) and :func:`focalboost._softmax_core.softmax_focal`
(multiclass), called with :data:`XP`, a namespace of torch functions. What this module adds is
shapes, dtypes, reductions, the chain rule with the incoming gradient, and the choice of the
kernel that evaluates the core:

* **eager** — the core run op by op on tensors; any device, any dtype; what ``torch.compile``
  traces (under compilation it is always this one, so the whole loss becomes one graph).
* **fused CUDA** — the same eager function wrapped in ``torch.compile`` (one generated kernel per
  output), chosen automatically for CUDA tensors. If compiling fails (no Triton, an old GPU),
  it warns once and falls back to eager for the rest of the process.
* **fused CPU** — :func:`focalboost._fast.binary_focal`, the numba kernel compiled from the
  same core, on numpy views of contiguous CPU tensors, when numba is installed and
  ``focalboost._fast`` is enabled.

The binary loss supports double backward: :class:`_BinaryLoss`'s backward is
:class:`_BinaryGrad`, a second Function whose own backward is the core's exact Hessian (the loss
is elementwise, so the Hessian is diagonal and a Hessian-vector product is elementwise).

``FOCALBOOST_TORCH_FUSED=0`` in the environment, or :func:`set_fused`, switches both fused
kernels off (the eager core remains).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch.autograd.function import once_differentiable

from . import _core, _softmax_core

try:  # the numba kernel is optional (the ``fast`` extra)
    from . import _fast
except ImportError:  # pragma: no cover - only where focalboost._fast is missing
    _fast = None  # type: ignore[assignment]


class _TorchNamespace:
    """The array functions the cores call (``xp.exp``, ``xp.sum(..., axis=, keepdims=)``, ...),
    as plain torch calls: traceable by ``torch.compile`` without graph breaks."""

    exp = staticmethod(torch.exp)
    abs = staticmethod(torch.abs)
    log = staticmethod(torch.log)
    log1p = staticmethod(torch.log1p)
    finfo = staticmethod(torch.finfo)
    where = staticmethod(torch.where)
    maximum = staticmethod(torch.maximum)
    minimum = staticmethod(torch.minimum)
    zeros_like = staticmethod(torch.zeros_like)
    full_like = staticmethod(torch.full_like)
    reshape = staticmethod(torch.reshape)

    @staticmethod
    def max(x: torch.Tensor, axis: int, keepdims: bool = False) -> torch.Tensor:
        return torch.amax(x, dim=axis, keepdim=keepdims)

    @staticmethod
    def argmax(x: torch.Tensor, axis: int) -> torch.Tensor:
        return torch.argmax(x, dim=axis)

    @staticmethod
    def sum(x: torch.Tensor, axis: int, keepdims: bool = False) -> torch.Tensor:
        return torch.sum(x, dim=axis, keepdim=keepdims)

    @staticmethod
    def arange(k: int, device: Any = None) -> torch.Tensor:
        return torch.arange(k, device=device)


XP = _TorchNamespace()

# -- kernel choice -------------------------------------------------------------------------------

_FUSED = os.environ.get("FOCALBOOST_TORCH_FUSED", "1") not in ("0", "false", "False", "no")
_COMPILE_FAILED = False
_COMPILED: dict[str, Callable[..., Any]] = {}
_BACKEND = "inductor"  # tests swap in "aot_eager" to exercise the fused path's tracing on CPU


def set_fused(flag: bool) -> bool:
    """Switch the fused CUDA and CPU kernels on or off; return the previous setting."""
    global _FUSED
    previous = _FUSED
    _FUSED = bool(flag)
    return previous


def _compiling() -> bool:
    return bool(torch.compiler.is_compiling())


def _use_compiled(x: torch.Tensor) -> bool:
    return _FUSED and not _COMPILE_FAILED and x.is_cuda and not _compiling()


def _use_numba(*tensors: torch.Tensor | None) -> bool:
    if not (_FUSED and _fast is not None and hasattr(_fast, "binary_focal") and _fast.enabled()) or _compiling():
        return False
    ref = tensors[0]
    assert ref is not None
    for t in tensors:
        if t is None:
            continue
        if t.device.type != "cpu" or t.dtype not in (torch.float32, torch.float64) or t.shape != ref.shape:
            return False
    return True


def _run(name: str, eager: Callable[..., Any], x: torch.Tensor, *args: Any) -> Any:
    """``eager(x, *args)``, through its ``torch.compile``d form on CUDA (one fused kernel)."""
    global _COMPILE_FAILED
    if _use_compiled(x):
        fn = _COMPILED.get(name)
        if fn is None:
            fn = _COMPILED[name] = torch.compile(eager, fullgraph=True, dynamic=None, backend=_BACKEND)
        try:
            return fn(x, *args)
        except Exception as exc:  # noqa: BLE001 - any compiler failure falls back to the exact eager path
            _COMPILE_FAILED = True
            warnings.warn(
                f"focalboost.torch: the fused CUDA kernel failed to compile ({type(exc).__name__}: {exc}); "
                "using the eager path from now on",
                RuntimeWarning,
                stacklevel=3,
            )
    return eager(x, *args)


def _numpy(t: torch.Tensor | None) -> Any:
    return None if t is None else t.detach().contiguous().numpy()


# -- binary: elementwise evaluations of the core --------------------------------------------------
# ``prm`` = (gamma, epsilon, alpha_pos, alpha_neg). ``w`` is None or a tensor of x's shape.


def _binary_loss_elem(x: torch.Tensor, y: torch.Tensor, w: Any, c: Any, prm: tuple) -> torch.Tensor:
    loss: Any = _core.binary_focal(
        y, x, gamma=prm[0], epsilon=prm[1], alpha_pos=prm[2], alpha_neg=prm[3], xp=XP, gradient=False, hessian=None
    )[0]
    return loss if w is None else loss * w


def _binary_loss_eager(x: torch.Tensor, y: torch.Tensor, w: Any, prm: tuple, reduction: str) -> torch.Tensor:
    return _reduce(_binary_loss_elem(x, y, w, None, prm), reduction)


def _binary_grad_eager(x: torch.Tensor, y: torch.Tensor, w: Any, c: torch.Tensor, prm: tuple) -> torch.Tensor:
    grad: Any = _core.binary_focal(
        y, x, gamma=prm[0], epsilon=prm[1], alpha_pos=prm[2], alpha_neg=prm[3], xp=XP, loss=False, hessian=None
    )[1]
    grad = grad * c
    return grad if w is None else grad * w


def _binary_hess_eager(x: torch.Tensor, y: torch.Tensor, w: Any, c: torch.Tensor, prm: tuple) -> torch.Tensor:
    hess: Any = _core.binary_focal(
        y, x, gamma=prm[0], epsilon=prm[1], alpha_pos=prm[2], alpha_neg=prm[3], xp=XP, loss=False, gradient=False
    )[2]
    hess = hess * c
    return hess if w is None else hess * w


# The eager core makes some twenty temporaries the size of its input. On CPU, running it over
# flat chunks keeps them in cache and bounds their memory (each chunk's are freed before the
# next); 2**15 elements (128 KiB per float32 temporary) measured fastest on this project's CPU.
_CHUNK = 1 << 15


def _use_chunks(x: torch.Tensor) -> bool:
    return x.device.type == "cpu" and x.numel() > _CHUNK and not _compiling()


def _chunked(
    fn: Callable[..., Any], x: torch.Tensor, y: torch.Tensor, w: Any, c: Any, prm: tuple, n_out: int = 1
) -> Any:
    """``fn(x, y, w, c, prm)`` (elementwise; ``c`` None, 0-d or of x's shape) over flat chunks;
    ``fn`` returns one tensor, or a tuple of ``n_out`` tensors (then so does this)."""
    flat = [t if t is None or t.dim() == 0 else t.reshape(-1) for t in (x, y, w, c)]
    outs = [torch.empty(x.numel(), dtype=x.dtype) for _ in range(n_out)]
    for i in range(0, x.numel(), _CHUNK):
        part = [t if t is None or t.dim() == 0 else t[i : i + _CHUNK] for t in flat]
        res = fn(*part, prm)
        for out, r in zip(outs, (res,) if n_out == 1 else res, strict=True):
            out[i : i + _CHUNK] = r
    shaped = [out.reshape(x.shape) for out in outs]
    return shaped[0] if n_out == 1 else tuple(shaped)


def _binary_loss_grad_elem(x: torch.Tensor, y: torch.Tensor, w: Any, c: Any, prm: tuple) -> tuple[Any, Any]:
    loss, grad, _ = _core.binary_focal(
        y, x, gamma=prm[0], epsilon=prm[1], alpha_pos=prm[2], alpha_neg=prm[3], xp=XP, hessian=None
    )
    return (loss, grad) if w is None else (loss * w, grad * w)


def _binary_numba(x: torch.Tensor, y: torch.Tensor, w: Any, prm: tuple, *what: str) -> list[torch.Tensor]:
    """The requested outputs among ``("loss", "grad", "hess")`` (weighted by ``w``) in one pass."""
    out = _fast.binary_focal(
        _numpy(y),
        _numpy(x),
        _numpy(w),
        gamma=prm[0],
        epsilon=prm[1],
        alpha_pos=prm[2],
        alpha_neg=prm[3],
        loss="loss" in what,
        gradient="grad" in what,
        hessian="exact" if "hess" in what else None,
    )
    return [torch.from_numpy(out[("loss", "grad", "hess").index(k)]) for k in what]


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    return loss.sum() if reduction == "sum" else loss.mean() if reduction == "mean" else loss


def binary_loss(x: torch.Tensor, y: torch.Tensor, w: Any, prm: tuple, reduction: str) -> torch.Tensor:
    """The (reduced) weighted loss; no autograd."""
    if _use_numba(x, y, w):
        return _reduce(_binary_numba(x, y, w, prm, "loss")[0], reduction)
    if _use_chunks(x):
        return _reduce(_chunked(_binary_loss_elem, x, y, w, None, prm), reduction)
    return _run("binary_loss", _binary_loss_eager, x, y, w, prm, reduction)


def binary_grad(x: torch.Tensor, y: torch.Tensor, w: Any, c: torch.Tensor, prm: tuple) -> torch.Tensor:
    """``c · w · ∂L/∂x`` elementwise (``c`` a 0-d tensor or of x's shape); no autograd."""
    if _use_numba(x, y, w) and (c.dim() == 0 or c.shape == x.shape):
        grad = _binary_numba(x, y, w, prm, "grad")[0]
        return grad.mul_(c.to(grad.dtype))
    if _use_chunks(x) and (c.dim() == 0 or c.shape == x.shape):
        return _chunked(_binary_grad_eager, x, y, w, c, prm)
    return _run("binary_grad", _binary_grad_eager, x, y, w, c, prm)


def binary_hess(x: torch.Tensor, y: torch.Tensor, w: Any, c: torch.Tensor, prm: tuple) -> torch.Tensor:
    """``c · w · ∂²L/∂x²`` elementwise (the exact Hessian); no autograd."""
    if _use_chunks(x) and (c.dim() == 0 or c.shape == x.shape):
        return _chunked(_binary_hess_eager, x, y, w, c, prm)
    return _binary_hess_eager(x, y, w, c, prm)


class _BinaryLoss(torch.autograd.Function):
    """``loss = reduce(w · L(x, y))``; saves only ``x``, ``y`` (and the constant ``w``).

    Backward recomputes the gradient from ``x`` and ``y``, so the only memory it adds is the
    gradient itself. The exception is the numba kernel on CPU: there the loss and the gradient
    cost about the same as either alone (the exponential and logarithms dominate), so the forward
    computes both in one pass and keeps the gradient for backward (one tensor of x's size
    more, held from forward to backward; the CPU has memory to spare, not FLOPs). The chunked
    eager core on CPU does the same, for the same reason.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, y: torch.Tensor, w: Any, prm: tuple, reduction: str) -> torch.Tensor:
        ctx.save_for_backward(x, y, w)
        ctx.prm = prm
        ctx.reduction = reduction
        ctx.grad_hint = None
        if ctx.needs_input_grad[0] and _use_numba(x, y, w):
            loss, ctx.grad_hint = _binary_numba(x, y, w, prm, "loss", "grad")
            return _reduce(loss, reduction)
        if ctx.needs_input_grad[0] and _use_chunks(x):
            loss, ctx.grad_hint = _chunked(_binary_loss_grad_elem, x, y, w, None, prm, n_out=2)
            return _reduce(loss, reduction)
        return binary_loss(x, y, w, prm, reduction)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple:
        x, y, w = ctx.saved_tensors
        c = grad_out / x.numel() if ctx.reduction == "mean" else grad_out
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = _BinaryGrad.apply(x, y, w, c, ctx.prm, ctx.grad_hint)
        if ctx.needs_input_grad[1]:
            # L is linear in y: ∂L/∂y = L(x, 1) − L(x, 0), from the core itself (differentiable).
            one = torch.ones_like(x)
            diff = _BinaryLoss.apply(x, one, w, ctx.prm, "none") - _BinaryLoss.apply(x, one * 0, w, ctx.prm, "none")
            gy = c * diff
        return gx, gy, None, None, None


class _BinaryGrad(torch.autograd.Function):
    """``g = c · w · ∂L/∂x``; its backward is the core's exact (diagonal) Hessian.

    ``hint`` is None or ``w · ∂L/∂x`` already computed by the forward (see :class:`_BinaryLoss`).
    """

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, y: torch.Tensor, w: Any, c: torch.Tensor, prm: tuple, hint: Any
    ) -> torch.Tensor:
        ctx.save_for_backward(x, y, w, c)
        ctx.prm = prm
        if hint is not None:
            return hint * c
        return binary_grad(x, y, w, c, prm)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, gg: torch.Tensor) -> tuple:
        x, y, w, c = ctx.saved_tensors
        gx = gy = gc = None
        if ctx.needs_input_grad[0]:
            gx = gg * binary_hess(x, y, w, c, ctx.prm)
        if ctx.needs_input_grad[1]:
            one = torch.ones_like(x)
            gy = gg * (binary_grad(x, one, w, c, ctx.prm) - binary_grad(x, one * 0, w, c, ctx.prm))
        if ctx.needs_input_grad[3]:
            gc = gg * binary_grad(x, y, w, torch.ones_like(c), ctx.prm)
            if c.dim() == 0:
                gc = gc.sum()
        return gx, gy, None, gc, None, None


# -- softmax ------------------------------------------------------------------------------------
# z of shape (n, K) in the compute dtype, y of shape (n,) int64 (ignored rows already mapped to a
# valid class), keep (n,) bool, alpha (K,) or None.


def _softmax_loss_eager(z: torch.Tensor, y: torch.Tensor, keep: torch.Tensor, alpha: Any, prm: tuple) -> torch.Tensor:
    loss: Any = _softmax_core.softmax_focal(
        y, z, gamma=prm[0], epsilon=prm[1], alpha=alpha, xp=XP, gradient=False, hessian=None
    )[0]
    return torch.where(keep, loss, torch.zeros_like(loss))


def _softmax_grad_eager(
    z: torch.Tensor, y: torch.Tensor, keep: torch.Tensor, alpha: Any, c: torch.Tensor, prm: tuple
) -> torch.Tensor:
    grad: Any = _softmax_core.softmax_focal(
        y, z, gamma=prm[0], epsilon=prm[1], alpha=alpha, xp=XP, loss=False, hessian=None
    )[1]
    cc = torch.where(keep, c, torch.zeros_like(c))
    return grad * cc[:, None]


def _softmax_loss_grad_eager(
    z: torch.Tensor, y: torch.Tensor, keep: torch.Tensor, alpha: Any, prm: tuple
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row loss and the gradient with unit incoming gradient, both 0 on ignored rows."""
    out: Any = _softmax_core.softmax_focal(y, z, gamma=prm[0], epsilon=prm[1], alpha=alpha, xp=XP, hessian=None)
    loss, grad = out[0], out[1]
    zero = torch.zeros((), dtype=z.dtype)
    return torch.where(keep, loss, zero), torch.where(keep[:, None], grad, zero)


def _rows_chunked(fn: Callable[..., Any], z: torch.Tensor, rowwise: tuple, fixed: tuple, n_out: int) -> Any:
    """``fn(z[rows], *(t[rows] for t in rowwise), *fixed)`` over chunks of about ``_CHUNK`` entries
    (the CPU counterpart of :func:`_chunked` for ``(n, K)`` logits); outputs are ``(n,)`` or
    ``(n, K)`` like the pieces ``fn`` returns, one tensor or a tuple of ``n_out``."""
    n = z.shape[0]
    step = max(1, _CHUNK // max(1, z.shape[1]))
    outs: list[Any] = [None] * n_out
    for i in range(0, n, step):
        res = fn(z[i : i + step], *(t[i : i + step] for t in rowwise), *fixed)
        for k, r in enumerate((res,) if n_out == 1 else res):
            if outs[k] is None:
                outs[k] = torch.empty((n,) + tuple(r.shape[1:]), dtype=r.dtype)
            outs[k][i : i + step] = r
    return outs[0] if n_out == 1 else tuple(outs)


def _use_row_chunks(z: torch.Tensor) -> bool:
    return z.device.type == "cpu" and z.shape[0] > 0 and not _compiling()


class _SoftmaxLoss(torch.autograd.Function):
    """Per-row ``α_c L`` (0 on ignored rows); first-order backward through the core.

    On CPU the core runs over row chunks (its temporaries stay in cache) and, when the logits
    need a gradient, the forward computes it in the same pass and keeps it for backward, as
    :class:`_BinaryLoss` does. Elsewhere backward recomputes from the saved inputs.
    """

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, y: torch.Tensor, keep: torch.Tensor, alpha: Any, prm: tuple) -> torch.Tensor:
        ctx.save_for_backward(z, y, keep, alpha)
        ctx.prm = prm
        ctx.grad_hint = None
        if _use_row_chunks(z):
            if ctx.needs_input_grad[0]:
                loss, ctx.grad_hint = _rows_chunked(_softmax_loss_grad_eager, z, (y, keep), (alpha, prm), 2)
                return loss
            return _rows_chunked(_softmax_loss_eager, z, (y, keep), (alpha, prm), 1)
        return _run("softmax_loss", _softmax_loss_eager, z, y, keep, alpha, prm)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple:
        z, y, keep, alpha = ctx.saved_tensors
        gz = None
        if ctx.needs_input_grad[0]:
            if ctx.grad_hint is not None:
                gz = ctx.grad_hint * grad_out[:, None]
            else:
                gz = _run("softmax_grad", _softmax_grad_eager, z, y, keep, alpha, grad_out, ctx.prm)
        return gz, None, None, None, None
