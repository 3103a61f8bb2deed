"""focalboost.torch.softmax_focal_loss against independent references: ``F.cross_entropy`` (with
``weight`` and ``ignore_index``), autograd through the loss's definition in float64 at ordinary
logits, finite differences (gradcheck), and extremes where the definition returns NaN."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from focalboost import config_context  # noqa: E402
from focalboost._math import dispatch  # noqa: E402
from focalboost.torch import SoftmaxFocalLoss, softmax_focal_loss  # noqa: E402

F = torch.nn.functional
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _smfl(inputs, targets, alpha=None, gamma=2.0, epsilon=1e-3, ignore_index=-100, reduction="mean"):
    """These tests' argument order (epsilon and ignore_index before reduction), on the public signature."""
    return softmax_focal_loss(inputs, targets, alpha, gamma, reduction, epsilon=epsilon, ignore_index=ignore_index)


def definition(z, t, alpha=None, gamma=2.0, epsilon=1e-3, ignore_index=-100):
    """The loss as written in the paper, elementwise, through autograd (0 where ignored)."""
    logp = torch.log_softmax(z, dim=1)
    keep = t != ignore_index
    tt = torch.where(keep, t, 0)
    logp_c = logp.gather(1, tt.unsqueeze(1)).squeeze(1)
    loss = -((1 - logp_c.exp() + epsilon) ** gamma) * logp_c
    if alpha is not None:
        loss = loss * alpha[tt]
    return torch.where(keep, loss, torch.zeros_like(loss))


def _data(shape=(6, 4, 3, 5), scale=3.0, seed=0, dtype=torch.float64, n_ignored=5):
    g = torch.Generator().manual_seed(seed)
    z = (torch.randn(shape, generator=g, dtype=torch.float64) * scale).to(dtype)
    t = torch.randint(0, shape[1], (shape[0],) + tuple(shape[2:]), generator=g)
    t.view(-1)[torch.randperm(t.numel(), generator=g)[:n_ignored]] = -100
    return z, t


def _grad(fn, z, *args, **kw):
    z = z.detach().clone().requires_grad_(True)
    loss = fn(z, *args, **kw)
    (g,) = torch.autograd.grad(loss.sum(), z)
    return loss.detach(), g


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 6, 5)], ids=["NC", "NCHW"])
def test_gamma_zero_is_cross_entropy(reduction, weighted, shape):
    z, t = _data(shape, n_ignored=3)
    w = torch.tensor([0.5, 2.0, 1.0, 0.1, 3.0][: shape[1]], dtype=torch.float64) if weighted else None
    ours, g_ours = _grad(_smfl, z, t, w, 0.0, 0.0, -100, reduction)
    ref, g_ref = _grad(F.cross_entropy, z, t, weight=w, ignore_index=-100, reduction=reduction)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-12, atol=1e-15)


def test_other_ignore_index_and_float32():
    z, t = _data((8, 3), n_ignored=0, dtype=torch.float32)
    t[::3] = 255
    ours, g_ours = _grad(_smfl, z, t, None, 0.0, 0.0, 255)
    ref, g_ref = _grad(F.cross_entropy, z, t, ignore_index=255)
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(g_ours, g_ref)


@pytest.mark.parametrize("gamma,epsilon", [(2.0, 1e-3), (0.5, 0.0), (0.1, 1e-3), (3.0, 0.0)])
def test_matches_definition_at_ordinary_logits(gamma, epsilon):
    z, t = _data()
    alpha = torch.tensor([0.25, 1.0, 2.0, 0.5], dtype=torch.float64)
    ours, g_ours = _grad(_smfl, z, t, alpha, gamma, epsilon, -100, "none")
    ref, g_ref = _grad(definition, z, t, alpha, gamma, epsilon)
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-14)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-10, atol=1e-14)
    mean = _smfl(z, t, alpha, gamma, epsilon)
    keep = t != -100
    torch.testing.assert_close(mean, ref.sum() / alpha[t[keep]].sum(), rtol=1e-12, atol=0)


def _extremes(big, dtype):
    z = torch.tensor(
        [[big, -big, 0.0], [-big, big, 0.0], [big, big, -big], [0.0, -big, big], [big, 0.0, 0.0]], dtype=dtype
    )
    return z, torch.tensor([0, 0, 2, 2, 1])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("epsilon", [0.0, 1e-3])
def test_finite_at_logits_100(dtype, epsilon):
    z, t = _extremes(100.0, dtype)
    for gamma in (0.1, 0.5, 0.9, 2.0):
        for reduction in ("none", "mean"):
            loss, g = _grad(_smfl, z, t, [1.0, 2.0, 0.5], gamma, epsilon, -100, reduction)
            assert loss.dtype == dtype and g.dtype == dtype
            assert torch.isfinite(loss).all() and torch.isfinite(g).all(), (gamma, reduction)
    # A dominated true class: loss = gap (up to ε's factor), gradient ±1 on the two classes involved.
    loss, g = _grad(_smfl, z.double(), t, None, 0.5, 0.0, -100, "none")
    assert float(loss[1]) == pytest.approx(200.0, rel=1e-12)
    assert g[1].tolist() == pytest.approx([-1.0, 1.0, 0.0], abs=1e-12)


def test_definition_is_nan_where_ours_is_not():
    z, t = _extremes(100.0, torch.float32)
    _, g_ref = _grad(definition, z, t, None, 0.5, 0.0)
    _, g_ours = _grad(_smfl, z, t, None, 0.5, 0.0)
    assert torch.isnan(g_ref).any()
    assert torch.isfinite(g_ours).all()


def test_gradcheck():
    z, t = _data((3, 4, 2, 2), scale=4.0, n_ignored=2)
    alpha = torch.tensor([0.25, 1.0, 2.0, 0.5], dtype=torch.float64)
    z.requires_grad_(True)
    for gamma, eps, red in [(0.5, 0.0, "mean"), (2.0, 1e-3, "none"), (0.0, 1e-3, "sum")]:
        args = (t, alpha, gamma, eps, -100, red)
        assert torch.autograd.gradcheck(lambda a, args=args: _smfl(a, *args), (z,))


def test_ignored_rows_have_no_gradient_and_all_ignored_mean_is_nan():
    z, t = _data((5, 3), n_ignored=0)
    t[1] = -100
    _, g = _grad(_smfl, z, t)
    assert torch.all(g[1] == 0) and torch.all(g[0] != 0)
    assert torch.isnan(_smfl(z, torch.full((5,), -100)))


def test_half_precision_is_computed_in_float32():
    z, t = _data(dtype=torch.float16)
    loss, g = _grad(_smfl, z, t, None, 2.0, 1e-3, -100, "none")
    loss32, g32 = _grad(_smfl, z.float(), t, None, 2.0, 1e-3, -100, "none")
    assert loss.dtype == torch.float16 and g.dtype == torch.float16
    assert torch.equal(loss, loss32.half()) and torch.equal(g, g32.half())


def test_module_equals_functional():
    z, t = _data()
    module = SoftmaxFocalLoss(alpha=[0.25, 1.0, 2.0, 0.5], gamma=0.5, epsilon=0.0, reduction="sum")
    assert torch.equal(module(z, t), _smfl(z, t, [0.25, 1.0, 2.0, 0.5], 0.5, 0.0, -100, "sum"))
    assert torch.equal(module(z, t), softmax_focal_loss(z, t, [0.25, 1.0, 2.0, 0.5], 0.5, "sum", epsilon=0.0))
    assert torch.equal(SoftmaxFocalLoss()(z, t), _smfl(z, t))
    assert "alpha" in dict(module.named_buffers())
    assert "gamma=0.5" in repr(module)


def test_torch_compile_traces_without_graph_breaks():
    z, t = _data((4, 3), n_ignored=1, dtype=torch.float32)
    compiled = torch.compile(_smfl, fullgraph=True, backend="aot_eager")  # graph break → error
    got, g_got = _grad(compiled, z, t, None, 0.5, 0.0)
    ref, g_ref = _grad(_smfl, z, t, None, 0.5, 0.0)
    torch.testing.assert_close(got, ref)
    torch.testing.assert_close(g_got, g_ref)


def test_errors():
    z = torch.zeros(4, 3)
    t = torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"targets must have shape \(N, d1, ...\) = \(4,\).*got shape \(3,\)"):
        _smfl(z, t[:3])
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\) or ignore_index=-100, got 3"):
        _smfl(z, torch.tensor([0, 3, 1, 2]))
    with pytest.raises(ValueError, match=r"got -1"):
        _smfl(z, torch.tensor([0, -1, 1, 2]))
    with pytest.raises(ValueError, match=r"one weight per class \(3\), got 2"):
        _smfl(z, t, alpha=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"alpha\[1\] must be finite and >= 0, got -2"):
        _smfl(z, t, alpha=[1.0, -2.0, 1.0])
    with pytest.raises(ValueError, match=r"alpha\[1\] must be finite and >= 0, got -2"):
        _smfl(z, t, alpha=torch.tensor([1.0, -2.0, 1.0]))
    with pytest.raises(ValueError, match=r"alpha\[2\] must be finite and >= 0, got nan"):
        _smfl(z, t, alpha=np.array([1.0, 2.0, np.nan]))
    with pytest.raises(ValueError, match=r"reduction must be one of .* got 'avg'"):
        _smfl(z, t, reduction="avg")
    with pytest.raises(ValueError, match=r"inputs must have shape \(N, C\)"):
        _smfl(torch.zeros(3), torch.tensor(0))
    with pytest.raises(ValueError, match=r"gamma must be >= 0"):
        SoftmaxFocalLoss(gamma=-0.5)
    with pytest.raises(TypeError, match=r"targets must hold integer class indices, got dtype torch.float32"):
        _smfl(z, t.float())
    with pytest.raises(TypeError, match=r"alpha must be None or a 1-D array"):
        _smfl(z, t, alpha=0.25)
    with pytest.raises(TypeError, match=r"alpha must be None or a 1-D array of real per-class weights"):
        _smfl(z, t, alpha=np.array(["a", "b", "c"]))
    with pytest.raises(TypeError, match=r"inputs must be a torch.Tensor"):
        _smfl(z.numpy(), t)


def test_alpha_takes_any_array_like():
    z, t = _data((6, 3))
    ref = softmax_focal_loss(z, t, torch.tensor([0.25, 1.0, 2.0]))
    for alpha in (
        [0.25, 1.0, 2.0],
        (0.25, 1.0, 2.0),
        np.array([0.25, 1.0, 2.0]),
        np.array([0.25, 1.0, 2.0], dtype=np.float32),
    ):
        torch.testing.assert_close(softmax_focal_loss(z, t, alpha), ref, rtol=1e-7, atol=0)
        torch.testing.assert_close(SoftmaxFocalLoss(alpha)(z, t), ref, rtol=1e-7, atol=0)


def test_torchvision_positional_order():
    """``(inputs, targets, alpha, gamma, reduction)`` as torchvision's sigmoid_focal_loss; ε is keyword-only."""
    z, t = _data((6, 3))
    torch.testing.assert_close(
        softmax_focal_loss(z, t, None, 2.0, "sum"), softmax_focal_loss(z, t, gamma=2.0, reduction="sum"), rtol=0, atol=0
    )
    with pytest.raises(TypeError):
        softmax_focal_loss(z, t, None, 2.0, "sum", 1e-3)  # type: ignore[misc]


def test_row_chunks_equal_whole(monkeypatch):
    # On CPU the core runs over row chunks of about _CHUNK entries; shrink it to test the seams.
    z, t = _data((5, 4, 3), n_ignored=3)
    alpha = [0.25, 1.0, 2.0, 0.5]
    out = {}
    for chunk in (1 << 30, 9, 1):  # all rows at once, 2 rows per chunk, 1 row per chunk
        monkeypatch.setattr(dispatch, "_CHUNK", chunk)
        with config_context(fast=False):  # the plain code (with numba, CPU tensors take the kernel)
            out[chunk] = [
                *_grad(_smfl, z, t, alpha, 0.5, 0.0, -100, "none"),
                _smfl(z, t, alpha, 2.0, 1e-3),  # no gradient wanted: the loss-only pass
            ]
    for chunk in (9, 1):
        for a, b in zip(out[chunk], out[1 << 30], strict=True):
            torch.testing.assert_close(a, b, rtol=1e-14, atol=0)


def test_fused_cuda_dispatch_traced_on_cpu(monkeypatch):
    # The CUDA path is torch.compile of the eager core helpers: trace them (fullgraph, cheap
    # backend) by pretending the CPU is a CUDA device.
    from focalboost.torch import _autograd

    monkeypatch.setattr(dispatch, "_torch_backend", lambda *t: "plain" if dispatch._tracing() else "compiled")
    monkeypatch.setattr(_autograd, "_on_host", lambda x: False)
    monkeypatch.setattr(dispatch, "_BACKEND", "aot_eager")
    monkeypatch.setattr(dispatch, "_COMPILED", {})
    z, t = _data((4, 3, 5), n_ignored=2)
    alpha = torch.tensor([0.25, 1.0, 2.0], dtype=torch.float64)
    got, g_got = _grad(_smfl, z, t, alpha, 0.5, 0.0)
    assert {key[:2] for key in dispatch._COMPILED} == {("softmax", ("loss",)), ("softmax", ("grad",))}
    ref, g_ref = _grad(definition, z, t, alpha, 0.5, 0.0)
    keep = t != -100
    torch.testing.assert_close(got, ref.sum() / alpha[t[keep]].sum(), rtol=1e-10, atol=1e-14)
    torch.testing.assert_close(g_got, g_ref / alpha[t[keep]].sum(), rtol=1e-10, atol=1e-14)


@pytest.mark.gpu
@CUDA
@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64], ids=str)
def test_cuda_fused_matches_cpu(dtype):
    z, t = _data((8, 5, 16, 16), scale=30.0, dtype=dtype, n_ignored=20)
    alpha = [0.25, 1.0, 2.0, 0.5, 1.5]
    for gamma, eps in [(0.5, 0.0), (2.0, 1e-3)]:
        ref, g_ref = _grad(_smfl, z, t, alpha, gamma, eps)
        got, g_got = _grad(_smfl, z.cuda(), t.cuda(), alpha, gamma, eps)
        assert g_got.is_cuda and g_got.dtype == dtype
        # Triton's float32 exp/log are approximate to a few ulp (times |z| = 30 in the argument).
        tol = {torch.float16: 1e-2, torch.float32: 1e-4, torch.float64: 1e-10}[dtype]
        tol = {"rtol": tol, "atol": tol * 1e-2}
        torch.testing.assert_close(got.cpu(), ref, **tol)
        torch.testing.assert_close(g_got.cpu(), g_ref, **tol)
