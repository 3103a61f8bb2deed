"""focalboost.torch.sigmoid_focal_loss against independent references: torchvision's formula
(written here, op for op as in ``torchvision.ops.sigmoid_focal_loss``), binary cross-entropy,
100-digit mpmath (tests/reference.py), finite differences (gradcheck) and the identities of
torchvision's own tests."""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")

from focalboost import config_context  # noqa: E402
from focalboost._math import dispatch  # noqa: E402
from focalboost.torch import SigmoidFocalLoss, sigmoid_focal_loss  # noqa: E402

from .conftest import needs_numba  # noqa: E402
from .reference import binary_loss  # noqa: E402

F = torch.nn.functional
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def torchvision_focal(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """torchvision.ops.sigmoid_focal_loss, written out (torchvision is not installable here)."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


@pytest.fixture
def fused(backend):
    """Run a test through the fused CPU kernel (numba; skipped without it) and the eager core."""
    return backend == "fast"


def _sfl(inputs, targets, alpha=0.25, gamma=2.0, epsilon=1e-3, reduction="none", weight=None):
    """These tests' argument order (epsilon before reduction), on the public signature."""
    return sigmoid_focal_loss(inputs, targets, alpha, gamma, reduction, epsilon=epsilon, weight=weight)


def _data(n=400, scale=4.0, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(n, generator=g, dtype=torch.float64) * scale).to(dtype)
    y = (torch.rand(n, generator=g, dtype=torch.float64) < 0.3).to(dtype)
    return x, y


def _grad(fn, x, *args, **kw):
    x = x.detach().clone().requires_grad_(True)
    loss = fn(x, *args, **kw)
    (g,) = torch.autograd.grad(loss.sum(), x)
    return loss.detach(), g


# -- values and gradients ------------------------------------------------------------------------


@pytest.mark.parametrize("gamma,alpha", [(0.0, 0.25), (0.5, 0.25), (2.0, 0.25), (2.0, -1.0), (3.5, 0.9)])
def test_equals_torchvision_at_epsilon_zero(fused, gamma, alpha):
    # |x| ≤ ~12: torchvision's 1 − p_t by subtraction is still accurate to ~1e-11 relative there.
    x, y = _data(scale=3.0)
    ours, g_ours = _grad(_sfl, x, y, alpha, gamma, 0.0)
    ref, g_ref = _grad(torchvision_focal, x, y, alpha, gamma)
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-14)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("alpha", [0.25, None])
def test_soft_labels_and_hessian_match_mpmath(fused, alpha):
    xs = [-100.0, -37.5, -8.0, -1.0, 0.0, 0.3, 5.0, 19.0, 45.0, 100.0]
    ys = [0.0, 1.0, 0.3, 0.9, 0.5, 0.0, 1.0, 0.7, 0.2, 1.0]
    for gamma, eps in [(0.5, 0.0), (2.0, 1e-3), (0.1, 1e-3)]:
        x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
        y = torch.tensor(ys, dtype=torch.float64)
        loss = _sfl(x, y, alpha, gamma, eps)
        (g,) = torch.autograd.grad(loss.sum(), x, create_graph=True)
        (h,) = torch.autograd.grad(g.sum(), x)  # elementwise loss: this is the Hessian diagonal
        ref = [binary_loss(yi, xi, gamma, eps, alpha) for xi, yi in zip(xs, ys, strict=True)]
        for k, out in enumerate((loss, g, h)):
            expected = torch.tensor([float(r[k]) for r in ref], dtype=torch.float64)
            torch.testing.assert_close(out.detach(), expected, rtol=1e-10, atol=1e-14)


def test_autograd_hessian_is_diagonal_of_core():
    x, y = _data(n=12, scale=10.0)
    y[::3] = 0.4
    hess = torch.autograd.functional.hessian(lambda a: _sfl(a, y, 0.25, 0.5, 0.0, "sum"), x)
    ref = [float(binary_loss(float(b), float(a), 0.5, 0.0, 0.25)[2]) for a, b in zip(x, y, strict=True)]
    ref = torch.tensor(ref, dtype=x.dtype)
    torch.testing.assert_close(hess, torch.diag(ref), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("epsilon", [0.0, 1e-3])
def test_finite_at_saturated_logits(fused, dtype, epsilon):
    x = torch.tensor([-100.0, -40.0, -20.0, 20.0, 40.0, 100.0] * 2, dtype=dtype)
    y = torch.tensor([0.0] * 6 + [1.0] * 6, dtype=dtype)
    for gamma in (0.1, 0.5, 0.9):
        for reduction in ("none", "mean"):
            loss, g = _grad(_sfl, x, y, 0.25, gamma, epsilon, reduction)
            assert loss.dtype == dtype and g.dtype == dtype
            assert torch.isfinite(loss).all() and torch.isfinite(g).all(), (gamma, reduction)
        xr = x.detach().clone().requires_grad_(True)
        (gg,) = torch.autograd.grad(_sfl(xr, y, 0.25, gamma, epsilon).sum(), xr, create_graph=True)
        (hh,) = torch.autograd.grad(gg.sum(), xr)
        assert torch.isfinite(hh).all()


def test_torchvision_formula_is_nan_where_ours_is_not():
    # The failure the module exists for: autograd through (1 − p_t)^γ with 0 < γ < 1 at σ(x) = 1.
    x = torch.tensor([20.0, -20.0])
    y = torch.tensor([1.0, 0.0])
    _, g_ref = _grad(torchvision_focal, x, y, 0.25, 0.5)
    _, g_ours = _grad(_sfl, x, y, 0.25, 0.5, 0.0)
    assert torch.isnan(g_ref).all()
    assert torch.isfinite(g_ours).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_computed_in_float32(dtype):
    x, y = _data(n=64, dtype=dtype)
    loss, g = _grad(_sfl, x, y, 0.25, 2.0, 1e-3)
    loss32, g32 = _grad(_sfl, x.float(), y.float(), 0.25, 2.0, 1e-3)
    assert loss.dtype == dtype and g.dtype == dtype
    assert torch.equal(loss, loss32.to(dtype)) and torch.equal(g, g32.to(dtype))


# -- autograd checks -----------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_gradcheck_and_gradgradcheck(fused, reduction):
    x, _ = _data(n=10, scale=8.0)
    y = torch.rand(10, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    w = torch.rand(10, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    x.requires_grad_(True)
    y.requires_grad_(True)

    def fn(a, b):
        return _sfl(a, b, 0.25, 0.5, 1e-3, reduction, w)

    assert torch.autograd.gradcheck(fn, (x, y))
    assert torch.autograd.gradgradcheck(fn, (x, y))


def test_gradcheck_learned_weight_and_epsilon_zero():
    x, y = (t.reshape(2, 4) for t in _data(n=8, scale=3.0))
    w = torch.rand(1, 4, dtype=torch.float64, requires_grad=True)
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: _sfl(a, y, 0.25, 0.7, 0.0, "mean", b), (x, w))
    assert torch.autograd.gradgradcheck(lambda a, b: _sfl(a, y, 0.25, 0.7, 0.0, "mean", b), (x, w))


# -- torchvision's test ideas --------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.25, -1.0])
def test_ratio_to_bce_is_modulating_factor(alpha):
    x, y = _data(scale=3.0)
    eps, gamma = 1e-3, 2.0
    fl = _sfl(x, y, alpha, gamma, eps)
    bce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    p = torch.sigmoid(x)
    p_t = p * y + (1 - p) * (1 - y)
    alpha_t = alpha * y + (1 - alpha) * (1 - y) if alpha >= 0 else torch.ones_like(y)
    torch.testing.assert_close(fl / bce, alpha_t * (1 - p_t + eps) ** gamma, rtol=1e-10, atol=0)


def test_gamma_zero_is_bce_in_loss_and_gradient(fused):
    x, _ = _data(scale=6.0)
    y = torch.rand(x.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))  # soft labels
    ours, g_ours = _grad(_sfl, x, y, -1, 0.0, 0.3)
    ref, g_ref = _grad(F.binary_cross_entropy_with_logits, x, y, reduction="none")
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-12, atol=1e-15)


def test_reductions_and_weight(fused):
    x, y = _data()
    w = torch.rand(x.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    none = _sfl(x, y, 0.25, 2.0, 1e-3, "none")
    torch.testing.assert_close(_sfl(x, y, 0.25, 2.0, 1e-3, "mean"), none.mean(), rtol=1e-13, atol=0)
    torch.testing.assert_close(_sfl(x, y, 0.25, 2.0, 1e-3, "sum"), none.sum(), rtol=1e-13, atol=0)
    torch.testing.assert_close(_sfl(x, y, 0.25, 2.0, 1e-3, "none", w), none * w, rtol=1e-13, atol=0)
    x2 = x.reshape(20, 20)
    w_row = torch.linspace(0, 2, 20, dtype=torch.float64)
    _, g_w = _grad(_sfl, x2, y.reshape(20, 20), 0.25, 2.0, 1e-3, "mean", w_row)
    _, g = _grad(_sfl, x2, y.reshape(20, 20), 0.25, 2.0, 1e-3, "mean")
    torch.testing.assert_close(g_w, g * w_row, rtol=1e-13, atol=0)
    w_row.requires_grad_(True)
    (dw,) = torch.autograd.grad(_sfl(x2, y.reshape(20, 20), 0.25, 2.0, 1e-3, "sum", w_row), w_row)
    torch.testing.assert_close(dw, none.reshape(20, 20).sum(0), rtol=1e-13, atol=0)


@needs_numba
def test_fused_equals_eager():
    x, y = _data(n=1000, scale=30.0, dtype=torch.float32)
    y[::7] = 0.5
    out = {}
    for flag in (True, False):
        with config_context(fast=flag):
            out[flag] = _grad(_sfl, x, y, 0.25, 0.5, 1e-3, "none")
    for a, b in zip(out[True], out[False], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_chunked_eager_equals_whole(monkeypatch):
    # The eager CPU path runs the core over flat chunks of large inputs; shrink the chunk to test it.
    x, y = (t.reshape(10, 10) for t in _data(n=100, scale=30.0))
    y[::3] = 0.3
    w = torch.linspace(0.0, 2.0, 10, dtype=torch.float64)
    with config_context(fast=False):
        out = {}
        for chunk in (1 << 30, 16):
            monkeypatch.setattr(dispatch, "_CHUNK", chunk)
            res = []
            for red in ("none", "mean"):
                xr = x.detach().clone().requires_grad_(True)
                loss = _sfl(xr, y, 0.25, 0.5, 1e-3, red, w)
                (g,) = torch.autograd.grad(loss.sum(), xr, create_graph=True)
                (h,) = torch.autograd.grad(g.sum(), xr)
                res += [loss.detach(), g.detach(), h]
            out[chunk] = res
    for a, b in zip(out[16], out[1 << 30], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-14, atol=0)


# -- module, compile, errors ----------------------------------------------------------------------


def test_torchvision_positional_call():
    """``sigmoid_focal_loss(x, t, 0.25, 2.0, "mean")`` means what it means in torchvision."""
    x, y = _data()
    ref = torchvision_focal(x, y, 0.25, 2.0, "mean")
    torch.testing.assert_close(sigmoid_focal_loss(x, y, 0.25, 2.0, "mean", epsilon=0.0), ref, rtol=1e-12, atol=0)
    assert torch.equal(sigmoid_focal_loss(x, y, 0.25, 2.0, "mean"), sigmoid_focal_loss(x, y, reduction="mean"))
    assert torch.equal(SigmoidFocalLoss(0.25, 2.0, "mean")(x, y), sigmoid_focal_loss(x, y, reduction="mean"))
    with pytest.raises(TypeError):
        sigmoid_focal_loss(x, y, 0.25, 2.0, "mean", 1e-3)  # type: ignore[misc]


def test_module_equals_functional():
    x, y = _data()
    w = torch.rand(x.shape, dtype=torch.float64)
    for kw in [{}, {"alpha": None, "gamma": 0.5, "epsilon": 0.0, "reduction": "mean"}]:
        module = SigmoidFocalLoss(**kw)
        args = [kw.get(k, d) for k, d in (("alpha", 0.25), ("gamma", 2.0), ("epsilon", 1e-3), ("reduction", "none"))]
        assert torch.equal(module(x, y), _sfl(x, y, *args))
        assert torch.equal(module(x, y, w), _sfl(x, y, *args, weight=w))
    assert "gamma=2.0" in repr(SigmoidFocalLoss())


def test_torch_compile_matches_eager_without_graph_breaks():
    x, y = _data(n=64, scale=20.0, dtype=torch.float32)
    compiled = torch.compile(_sfl, fullgraph=True)  # fullgraph: a graph break raises
    got, g_got = _grad(compiled, x, y, 0.25, 0.5, 0.0, "mean")
    ref, g_ref = _grad(_sfl, x, y, 0.25, 0.5, 0.0, "mean")
    torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(g_got, g_ref, rtol=1e-5, atol=1e-8)


def test_errors():
    x = torch.zeros(3)
    y = torch.ones(3)
    with pytest.raises(ValueError, match=r"targets must have the shape of inputs.*\(2,\)"):
        _sfl(x, torch.ones(2))
    with pytest.raises(ValueError, match=r"targets must hold values in \[0, 1\], got 1.5"):
        _sfl(x, torch.tensor([0.0, 1.5, 1.0]))
    with pytest.raises(ValueError, match=r"got -0.5"):
        _sfl(x, torch.tensor([0.0, -0.5, 1.0]))
    with pytest.raises(ValueError, match=r"got nan"):
        _sfl(x, torch.tensor([0.0, float("nan"), 1.0]))
    with pytest.raises(ValueError, match=r"reduction must be one of .* got 'avg'"):
        _sfl(x, y, reduction="avg")
    with pytest.raises(ValueError, match=r"reduction"):
        SigmoidFocalLoss(reduction="batchmean")
    with pytest.raises(ValueError, match=r"weight must be broadcastable .* got shape \(2,\)"):
        _sfl(x, y, weight=torch.ones(2))
    with pytest.raises(ValueError, match=r"gamma must be >= 0, got -1"):
        _sfl(x, y, gamma=-1)
    with pytest.raises(ValueError, match=r"epsilon"):
        _sfl(x, y, epsilon=-1e-3)
    with pytest.raises(ValueError, match=r"alpha must be <= 1, got 1.5"):
        _sfl(x, y, alpha=1.5)
    with pytest.raises(TypeError, match=r"inputs must be a torch.Tensor, got list"):
        _sfl([0.0], y)
    with pytest.raises(TypeError, match=r"inputs must be a floating-point tensor"):
        _sfl(torch.zeros(3, dtype=torch.int64), y)


def test_alpha_none_and_negative_switch_weighting_off():
    x, y = _data()
    ref = _sfl(x, y, 0.5, 2.0) * 2
    torch.testing.assert_close(_sfl(x, y, None, 2.0), ref, rtol=1e-14, atol=0)
    torch.testing.assert_close(_sfl(x, y, -1, 2.0), ref, rtol=1e-14, atol=0)


def test_integer_and_bool_targets():
    x, y = _data()
    ref = _sfl(x, y)
    assert torch.equal(_sfl(x, y.to(torch.int64)), ref)
    assert torch.equal(_sfl(x, y.to(torch.bool)), ref)


def test_fused_cuda_dispatch_traced_on_cpu(monkeypatch):
    # The CUDA path is torch.compile of the eager core helpers; trace them here (fullgraph, cheap
    # backend) by pretending the CPU is a CUDA device, and check the exact fallback on failure.
    from focalboost.torch import _autograd

    monkeypatch.setattr(dispatch, "_torch_backend", lambda *t: "plain" if dispatch._tracing() else "compiled")
    monkeypatch.setattr(_autograd, "_on_host", lambda x: False)
    monkeypatch.setattr(dispatch, "_BACKEND", "aot_eager")
    monkeypatch.setattr(dispatch, "_COMPILED", {})
    x, y = _data(n=50, scale=20.0)
    w = torch.rand(50, dtype=torch.float64)
    for red in ("mean",):  # one compile per helper: tracing is what is tested, not each variant
        got, g_got = _grad(_sfl, x, y, 0.25, 0.5, 0.0, red, w)
        ref = [binary_loss(float(b), float(a), 0.5, 0.0, 0.25)[:2] for a, b in zip(x, y, strict=True)]
        loss_ref = torch.tensor([float(r[0]) for r in ref], dtype=torch.float64) * w
        g_ref = torch.tensor([float(r[1]) for r in ref], dtype=torch.float64) * w
        if red == "mean":
            loss_ref, g_ref = loss_ref.mean(), g_ref / 50
        torch.testing.assert_close(got, loss_ref, rtol=1e-10, atol=1e-14)
        torch.testing.assert_close(g_got, g_ref, rtol=1e-10, atol=1e-14)
    assert {key[:2] for key in dispatch._COMPILED} == {("binary", ("loss",)), ("binary", ("grad",))}

    def broken(*args, **kwargs):
        raise RuntimeError("no triton")

    monkeypatch.setattr(dispatch, "_COMPILED", {key: broken for key in dispatch._COMPILED})
    monkeypatch.setattr(dispatch, "_COMPILE_FAILED", False)
    with pytest.warns(RuntimeWarning, match="failed to compile.*no triton"):
        got2, g_got2 = _grad(_sfl, x, y, 0.25, 0.5, 0.0, "mean", w)
    assert dispatch._COMPILE_FAILED
    torch.testing.assert_close(got2, got, rtol=1e-14, atol=0)
    torch.testing.assert_close(g_got2, g_got, rtol=1e-14, atol=0)


# -- CUDA (skipped without a GPU) -----------------------------------------------------------------


@pytest.mark.gpu
@CUDA
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_cuda_fused_matches_cpu(dtype):
    x, y = _data(n=4096, scale=30.0, dtype=dtype)
    for gamma, eps, reduction in itertools.product((0.5, 2.0), (0.0, 1e-3), ("none", "mean")):
        ref, g_ref = _grad(_sfl, x, y, 0.25, gamma, eps, reduction)
        got, g_got = _grad(_sfl, x.cuda(), y.cuda(), 0.25, gamma, eps, reduction)
        assert got.dtype == dtype and g_got.dtype == dtype and g_got.is_cuda
        # Triton's float32 exp/log are approximate to a few ulp (times |x| = 30 in the argument).
        tol = {torch.float16: 1e-2, torch.bfloat16: 1e-2, torch.float32: 1e-4, torch.float64: 1e-10}[dtype]
        tol = {"rtol": tol, "atol": tol * 1e-2}
        torch.testing.assert_close(got.cpu(), ref, **tol)
        torch.testing.assert_close(g_got.cpu(), g_ref, **tol)
    assert not dispatch._COMPILE_FAILED


@pytest.mark.gpu
@CUDA
def test_cuda_gradgradcheck():
    x, _ = _data(n=10, scale=8.0)
    y = torch.rand(10, dtype=torch.float64).cuda()
    x = x.cuda().requires_grad_(True)
    assert torch.autograd.gradgradcheck(lambda a: _sfl(a, y, 0.25, 0.5, 0.0, "mean"), (x,))


def test_compiled_path_survives_a_parameter_sweep(monkeypatch):
    """torch.compile recompiles per code object up to a limit; a sweep over γ, ε, α, reductions and
    dtypes (the experiments' grid does this) must not exhaust it and switch the fused path off."""
    from focalboost.torch import _autograd

    monkeypatch.setattr(dispatch, "_torch_backend", lambda *t: "plain" if dispatch._tracing() else "compiled")
    monkeypatch.setattr(_autograd, "_on_host", lambda x: False)
    monkeypatch.setattr(dispatch, "_BACKEND", "aot_eager")
    monkeypatch.setattr(dispatch, "_COMPILED", {})
    monkeypatch.setattr(dispatch, "_COMPILE_FAILED", False)
    for dtype in (torch.float32, torch.float64):
        for gamma, eps, red, alpha in itertools.product(
            (0.5, 2.0, 1.3), (0.0, 1e-3, 1e-2), ("none", "mean"), (0.25, None)
        ):
            x, y = _data(n=32, dtype=dtype)
            _grad(_sfl, x, y, alpha, gamma, eps, red)
            assert not dispatch._COMPILE_FAILED, (dtype, gamma, eps, red, alpha)
    assert len(dispatch._COMPILED) <= 6  # one kernel per output set and dtype, not per parameter value


def test_compiled_path_reraises_input_errors_and_stays_on(monkeypatch):
    """An error the plain code raises too (bad input, out of memory) propagates and leaves the
    compiled path on; only a compiler failure switches it off."""
    monkeypatch.setattr(dispatch, "_COMPILE_FAILED", False)

    def bad(*args):
        raise MemoryError("out of memory")

    with pytest.raises(MemoryError):
        dispatch._run_compiled("k", bad, 1)
    assert not dispatch._COMPILE_FAILED
