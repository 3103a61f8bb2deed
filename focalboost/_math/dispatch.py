"""How the formulas run: the one place that picks the fused numba kernel, a ``torch.compile``
kernel, or the plain array code.

* **numba** (:mod:`focalboost._math.kernels`) for numpy float32/float64 arrays and for CPU
  tensors of those dtypes (through numpy views), when the ``fast`` setting is on
  (:func:`focalboost.set_config`) and numba is installed. Imported on first use.
* **torch.compile** of the plain code for CUDA tensors (one generated kernel per output set),
  when ``fast`` is on; if compiling fails (no Triton, an old GPU) it warns once and the plain
  code runs from then on.
* **plain** array code (:mod:`.binary`, :mod:`.softmax` with the caller's namespace ``xp``)
  everywhere else: numpy without numba, torch on other devices or while ``torch.compile``
  traces a caller, cupy. On CPU tensors it runs over chunks that keep its temporaries in cache.

numpy float32 input is computed in float64 and rounded once to float32 on every path, so
results do not depend on the path beyond the last bits. Torch tensors are computed in their
own dtype (float16/bfloat16 in float32, by the caller).
"""

from __future__ import annotations

import functools
import types
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from .. import _config
from . import binary as _binary
from . import softmax as _softmax

__all__ = [
    "binary_focal",
    "binary_inputs_valid",
    "softmax_focal",
    "torch_binary",
    "torch_namespace",
    "torch_softmax",
]

_FLOAT32 = np.dtype(np.float32)


@functools.lru_cache(maxsize=1)
def _numba_installed() -> bool:
    return _config.numba_installed()


def kernels() -> ModuleType | None:
    """The numba kernels module when the fast path applies (setting on, numba installed), else None."""
    if not (_config.get_config()["fast"] and _numba_installed()):
        return None
    from . import kernels as module

    return module


# -- numpy (and other array libraries through xp) -------------------------------------------------
def _is_torch(a: Any) -> bool:
    return type(a).__module__.split(".")[0] == "torch"


def _to_float32(out: tuple) -> tuple[Any, Any, Any]:
    """float64 outputs rounded once to float32 (a loss beyond float32's range becomes inf, as the
    kernels store it)."""
    with np.errstate(over="ignore"):
        return tuple(None if o is None else o.astype(np.float32) for o in out)  # type: ignore[return-value]


def _names(loss: bool, gradient: bool, hessian: str | None) -> tuple[str, ...]:
    return tuple(n for n, want in (("loss", loss), ("grad", gradient), ("hess", hessian is not None)) if want)


def binary_inputs_valid(y: Any, x: Any, w: Any) -> bool:
    """True when the fused kernel confirms in one pass that ``y`` is in [0, 1], ``x`` finite and
    ``w`` finite and ≥ 0; False means the caller must run its own checks (to find and name the
    first offending value, or because the kernel does not apply)."""
    k = kernels()
    return k is not None and k.supports(y, x, w) and k.all_valid(y, x, w)


def binary_focal(
    y: Any,
    x: Any,
    w: Any,
    *,
    xp: Any,
    loss: bool = True,
    gradient: bool = True,
    hessian: str | None = None,
    **kw: float,
) -> tuple[Any, Any, Any]:
    """Weighted per-element loss, gradient and Hessian (policy ``hessian``, or None for none) of
    the binary focal loss with ``kw`` = ``gamma, epsilon, alpha_pos, alpha_neg``.

    ``w`` is None or an array of ``x``'s shape multiplying every output. Outputs have ``x``'s
    shape and dtype; an output not asked for is None.
    """
    if _is_torch(x):
        what = _names(loss, gradient, hessian)
        prm = (kw["gamma"], kw["epsilon"], kw["alpha_pos"], kw["alpha_neg"])
        res = iter(torch_binary(x, y, w, prm, what, exact=hessian == "exact"))
        return tuple(next(res) if want else None for want in (loss, gradient, hessian is not None))  # type: ignore[return-value]
    if xp is np:
        k = kernels()
        if k is not None and k.supports(y, x, w):
            return k.binary_focal(y, x, w, loss=loss, gradient=gradient, hessian=hessian, **kw)
        if x.dtype == _FLOAT32:
            out = binary_focal(y, x.astype(np.float64), w, xp=np, loss=loss, gradient=gradient, hessian=hessian, **kw)
            return _to_float32(out)
        y = y.astype(x.dtype, copy=False)  # float32 labels (LightGBM's): computed in x's precision, as the kernel does
        with np.errstate(over="ignore", invalid="ignore"):  # masked overflow, see binary.binary_focal
            out = _binary.binary_focal(y, x, xp=xp, loss=loss, gradient=gradient, hessian=hessian, **kw)
    else:
        out = _binary.binary_focal(y, x, xp=xp, loss=loss, gradient=gradient, hessian=hessian, **kw)
    if w is None:
        return out
    return tuple(None if o is None else o * w for o in out)  # type: ignore[return-value]


def softmax_focal(
    y: Any, z: Any, w: Any, alpha: Any, *, xp: Any, gamma: float, epsilon: float, **what: Any
) -> tuple[Any, Any, Any]:
    """Weighted per-sample loss ``(n,)``, gradient and diagonal Hessian ``(n, K)`` of the softmax
    focal loss (``y`` class indices, ``alpha`` per-class weights or None, ``w`` sample weights or
    None); ``what``: ``loss``, ``gradient`` (bools, default True) and ``hessian`` (a policy or
    None, the default)."""
    loss, gradient, hessian = what.get("loss", True), what.get("gradient", True), what.get("hessian")
    if _is_torch(z) and hessian is None:  # the torch kernels compute no softmax Hessian
        import torch

        keep = torch.ones(z.shape[0], dtype=torch.bool, device=z.device)
        res = iter(torch_softmax(z, y, keep, alpha, (gamma, epsilon), _names(loss, gradient, None), scale=w))
        return tuple(next(res) if want else None for want in (loss, gradient, False))  # type: ignore[return-value]
    what = dict(loss=loss, gradient=gradient, hessian=hessian)
    if xp is np:
        k = kernels()
        if k is not None and k.supports_softmax(y, z, w, alpha):
            return k.softmax_focal(y, z, w, gamma=gamma, epsilon=epsilon, alpha=alpha, **what)
        if z.dtype == _FLOAT32:
            a64 = None if alpha is None else alpha.astype(np.float64)
            w64 = None if w is None else w.astype(np.float64)
            out = softmax_focal(y, z.astype(np.float64), w64, a64, gamma=gamma, epsilon=epsilon, xp=np, **what)
            return _to_float32(out)
    out = _softmax.softmax_focal(y, z, gamma=gamma, epsilon=epsilon, alpha=alpha, xp=xp, **what)
    if w is None:
        return out
    return tuple(None if o is None else (o * w if o.ndim == 1 else o * xp.reshape(w, (-1, 1))) for o in out)  # type: ignore[return-value]


# -- torch ----------------------------------------------------------------------------------------


def torch_namespace() -> Any:
    """The array functions the formulas call, as plain torch calls (:mod:`.torch_xp`)."""
    from .torch_xp import XP

    return XP


_COMPILE_FAILED = False
_COMPILED: dict[Any, Callable[..., Any]] = {}
_BACKEND = "inductor"  # the tests swap in "aot_eager" to exercise the compiled path's tracing on CPU

# The plain code makes some twenty temporaries the size of its input. On CPU, running it over
# flat chunks keeps them in cache and bounds their memory (each chunk's are freed before the
# next); 2**15 elements (128 KiB per float32 temporary) measured fastest on a 2-core x86 CPU.
_CHUNK = 1 << 15

_OUTPUTS = ("loss", "grad", "hess")


def _tracing() -> bool:
    import torch

    return bool(torch.compiler.is_compiling())


def _torch_backend(*tensors: Any) -> str:
    """``"numba"``, ``"compiled"``, ``"chunked"`` (plain, CPU) or ``"plain"`` for these tensors
    (the first is the reference; ``None`` entries are ignored; all must have its shape)."""
    import torch

    if _tracing():
        return "plain"  # a caller's torch.compile traces the plain code into its own graph
    ref = tensors[0]
    fast = _config.get_config()["fast"]
    if ref.device.type == "cpu":
        same = all(t is None or (t.device.type == "cpu" and t.shape == ref.shape) for t in tensors)
        floats = all(t is None or t.dtype in (torch.float32, torch.float64) for t in tensors)
        if fast and same and floats and _numba_installed():
            return "numba"
        return "chunked" if ref.numel() > _CHUNK else "plain"
    if fast and ref.is_cuda and not _COMPILE_FAILED:
        return "compiled"
    return "plain"


def _compiled(key: Any, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``torch.compile`` of a copy of ``fn`` with a code object of its own for ``key``.

    torch.compile keeps its compiled graphs, and counts recompilations against a limit (8),
    per code object. Each key (output set, dtype, which optional tensors are given and their
    rank) gets its own copy, so that forward, backward and double backward, float32 and
    bfloat16, do not share that budget; within one, the parameters are plain float arguments
    (not constants in a tuple), which torch.compile makes dynamic after their first change, so
    a sweep over ``γ`` or ``ε`` costs one or two recompilations, not one per value.
    """
    import torch

    compiled = _COMPILED.get(key)
    if compiled is None:
        name = f"{fn.__name__}_{len(_COMPILED)}"
        code = fn.__code__.replace(co_name=name)
        variant = types.FunctionType(code, fn.__globals__, name, fn.__defaults__, fn.__closure__)
        compiled = _COMPILED[key] = torch.compile(variant, fullgraph=True, dynamic=None, backend=_BACKEND)
    return compiled


_GAMMAS: dict[tuple, Any] = {}


def _gamma_tensor(gamma: float, like: Any) -> Any:
    """``γ`` as a 0-d tensor for the compiled kernels (cached per value, dtype and device).

    torch.compile specializes ``r ** γ`` on a float exponent (one graph per ``γ``); with a tensor
    exponent one graph serves every ``γ``."""
    import torch

    key = (gamma, like.dtype, like.device)
    t = _GAMMAS.get(key)
    if t is None:
        t = _GAMMAS[key] = torch.tensor(gamma, dtype=like.dtype, device=like.device)
    return t


def _rank(t: Any) -> int:
    """-1 for None, else the number of dimensions: part of a compiled kernel's key."""
    return -1 if t is None else int(t.dim())


def _run_compiled(key: Any, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` through its ``torch.compile``d form.

    If the compiled form raises, the plain ``fn`` runs on the same arguments: if that raises too,
    the input (or the memory) is at fault and its error propagates, the compiled path untouched;
    if it succeeds, the compiler is at fault (no Triton, an old GPU, ...): a warning, and the plain
    path from then on.
    """
    global _COMPILE_FAILED
    try:
        return _compiled(key, fn)(*args)
    except Exception as exc:  # noqa: BLE001 - told apart from an input error by the plain run below
        result = fn(*args)
        _COMPILE_FAILED = True
        warnings.warn(
            f"focalboost: the fused CUDA kernel failed to compile ({type(exc).__name__}: {exc}); "
            "using the plain path from now on",
            RuntimeWarning,
            stacklevel=4,
        )
        return result


def _numpy(t: Any) -> Any:
    return None if t is None else t.detach().contiguous().numpy()


def _plain_binary(
    x: Any,
    y: Any,
    w: Any,
    scale: Any,
    gamma: float,
    epsilon: float,
    alpha_pos: float,
    alpha_neg: float,
    what: tuple[str, ...],
    exact: bool = True,
) -> tuple:
    """The requested elementwise outputs of the binary core on tensors, times ``w`` and ``scale``."""
    out = _binary.binary_focal(
        y,
        x,
        gamma=gamma,
        epsilon=epsilon,
        alpha_pos=alpha_pos,
        alpha_neg=alpha_neg,
        xp=torch_namespace(),
        loss="loss" in what,
        gradient="grad" in what,
        hessian=("exact" if exact else "positive") if "hess" in what else None,
    )
    res = []
    for name in what:
        o = out[_OUTPUTS.index(name)]
        if w is not None:
            o = o * w
        if scale is not None:
            o = o * scale
        res.append(o)
    return tuple(res)


def _chunked_binary(x: Any, y: Any, w: Any, scale: Any, prm: tuple, what: tuple[str, ...], exact: bool = True) -> tuple:
    """:func:`_plain_binary` over flat chunks of ``_CHUNK`` elements (``scale`` 0-d or of x's shape)."""
    import torch

    def flat(t: Any) -> Any:
        return t if t is None or t.dim() == 0 else t.reshape(-1)

    xs, ys, ws, ss = flat(x), flat(y), flat(w), flat(scale)
    outs = [torch.empty(x.numel(), dtype=x.dtype) for _ in what]
    for i in range(0, x.numel(), _CHUNK):

        def part(t: Any, i: int = i) -> Any:
            return t if t is None or t.dim() == 0 else t[i : i + _CHUNK]

        res = _plain_binary(part(xs), part(ys), part(ws), part(ss), prm[0], prm[1], prm[2], prm[3], what, exact)
        for out, r in zip(outs, res, strict=True):
            out[i : i + _CHUNK] = r
    return tuple(out.reshape(x.shape) for out in outs)


def torch_binary(
    x: Any, y: Any, w: Any, prm: tuple, what: tuple[str, ...], scale: Any = None, *, exact: bool = True
) -> tuple:
    """Elementwise outputs ``what`` ⊂ (``"loss"``, ``"grad"``, ``"hess"``; the Hessian exact or,
    with ``exact=False``, under the positive policy) of the binary focal loss of tensors, each
    times ``w`` (None or x's shape) and ``scale`` (None, 0-d, or x's shape).
    ``prm = (gamma, epsilon, alpha_pos, alpha_neg)``. No autograd."""
    import torch

    full_scale = scale is not None and scale.dim() > 0
    backend = _torch_backend(x, y, w, scale if full_scale else None)
    if backend == "numba":
        k = kernels()
        assert k is not None
        out = k.binary_focal(
            _numpy(y),
            _numpy(x),
            _numpy(w if not full_scale else (scale if w is None else w * scale)),
            gamma=prm[0],
            epsilon=prm[1],
            alpha_pos=prm[2],
            alpha_neg=prm[3],
            loss="loss" in what,
            gradient="grad" in what,
            hessian=("exact" if exact else "positive") if "hess" in what else None,
        )
        res = [torch.from_numpy(out[_OUTPUTS.index(name)]) for name in what]
        if scale is not None and not full_scale:
            res = [r.mul_(scale.to(r.dtype)) for r in res]
        return tuple(res)
    if backend == "compiled":
        key = ("binary", what, exact, x.dtype, _rank(y), _rank(w), _rank(scale))
        gamma = _gamma_tensor(prm[0], x)
        return _run_compiled(key, _plain_binary, x, y, w, scale, gamma, *prm[1:], what, exact)
    if backend == "chunked":
        return _chunked_binary(x, y, w, scale, prm, what, exact)
    return _plain_binary(x, y, w, scale, prm[0], prm[1], prm[2], prm[3], what, exact)


def _plain_softmax(
    z: Any, y: Any, keep: Any, alpha: Any, scale: Any, gamma: float, epsilon: float, what: tuple[str, ...]
) -> tuple:
    """Per-row loss and ``(n, K)`` gradient of the softmax core on tensors, 0 on rows not kept,
    times ``scale`` (None or per row)."""
    import torch

    out = _softmax.softmax_focal(
        y,
        z,
        gamma=gamma,
        epsilon=epsilon,
        alpha=alpha,
        xp=torch_namespace(),
        loss="loss" in what,
        gradient="grad" in what,
        hessian=None,
    )
    zero = torch.zeros((), dtype=z.dtype, device=z.device)
    res = []
    for name in what:
        o: Any = out[_OUTPUTS.index(name)]
        mask = keep if o.dim() == 1 else keep[:, None]
        if scale is not None:
            o = o * (scale if o.dim() == 1 else scale[:, None])
        res.append(torch.where(mask, o, zero))
    return tuple(res)


def torch_softmax(z: Any, y: Any, keep: Any, alpha: Any, prm: tuple, what: tuple[str, ...], scale: Any = None) -> tuple:
    """Per-row loss ``(n,)`` and gradient ``(n, K)`` (``what`` ⊂ (``"loss"``, ``"grad"``)) of the
    softmax focal loss of ``(n, K)`` logits ``z``, int64 labels ``y`` and the bool mask ``keep``
    (rows not kept give 0), times per-class ``alpha`` and per-row ``scale`` (each None or a tensor).
    ``prm = (gamma, epsilon)``. No autograd."""
    import torch

    backend = _torch_backend(z)
    if backend == "numba":
        k = kernels()
        assert k is not None
        a = None if alpha is None else _numpy(alpha.to(z.dtype))
        out = k.softmax_focal(
            _numpy(y),
            _numpy(z),
            None,
            gamma=prm[0],
            epsilon=prm[1],
            alpha=a,
            loss="loss" in what,
            gradient="grad" in what,
            hessian=None,
        )
        row = keep.to(z.dtype) if scale is None else torch.where(keep, scale, torch.zeros((), dtype=z.dtype))
        res = []
        for name in what:
            o: Any = torch.from_numpy(out[_OUTPUTS.index(name)])
            res.append(o.mul_(row if o.dim() == 1 else row[:, None]))
        return tuple(res)
    if backend == "compiled":
        key = ("softmax", what, z.dtype, _rank(alpha), _rank(scale))
        return _run_compiled(key, _plain_softmax, z, y, keep, alpha, scale, _gamma_tensor(prm[0], z), prm[1], what)
    if backend == "chunked" or (backend == "plain" and z.device.type == "cpu" and not _tracing()):
        return _rows_chunked(z, y, keep, alpha, scale, prm, what)
    return _plain_softmax(z, y, keep, alpha, scale, prm[0], prm[1], what)


def _rows_chunked(z: Any, y: Any, keep: Any, alpha: Any, scale: Any, prm: tuple, what: tuple[str, ...]) -> tuple:
    """:func:`_plain_softmax` over row chunks of about ``_CHUNK`` entries (CPU)."""
    import torch

    n, k = z.shape
    step = max(1, _CHUNK // max(1, k))
    outs = [torch.empty((n,) if name == "loss" else (n, k), dtype=z.dtype) for name in what]
    for i in range(0, n, step):
        sl = slice(i, i + step)
        res = _plain_softmax(z[sl], y[sl], keep[sl], alpha, None if scale is None else scale[sl], prm[0], prm[1], what)
        for out, r in zip(outs, res, strict=True):
            out[sl] = r
    return tuple(outs)
