"""The contract every loss object keeps, run over FocalLoss and MulticlassFocalLoss instances.

Each property is checked for several γ, ε, α and both Hessian policies, through the fused kernels
and the plain array code (the ``backend`` fixture) where the evaluation path matters, and with
numpy arrays and torch CPU tensors as the inputs (the ``array_library`` fixture). What only one of
the losses has (its high-precision reference, its extremes, its validation messages) is tested in
test_core.py / test_loss.py (binary) and test_softmax.py (multiclass).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from focalboost import FocalLoss, MulticlassFocalLoss

LOSSES = [
    FocalLoss(gamma=0.5, alpha=0.3, epsilon=0.0, hessian="exact"),
    FocalLoss(gamma=2.0, alpha=0.3, epsilon=1e-3, hessian="exact"),
    FocalLoss(gamma=4.0, alpha=0.3, epsilon=1e-2, hessian="exact"),
    FocalLoss(gamma=0.0, alpha=None, epsilon=0.0),  # cross-entropy
    FocalLoss(),  # the defaults: γ = 2, α = 0.25, ε = 1e-3, positive
    FocalLoss(gamma=2.0, alpha=0.3),
    FocalLoss(gamma=5.0, alpha=0.75, epsilon=0.0),
    FocalLoss(gamma=0.5, alpha=0.25, epsilon=0.0, hessian="exact"),
    FocalLoss(gamma=np.float32(0.5), alpha=None, epsilon=0),  # numpy and int hyperparameters
    MulticlassFocalLoss(gamma=0.5, alpha=[0.3, 1.0, 2.0, 0.7], epsilon=0.0, hessian="exact"),
    MulticlassFocalLoss(gamma=2.0, alpha=[0.3, 1.0, 2.0, 0.7], epsilon=1e-3, hessian="exact"),
    MulticlassFocalLoss(gamma=4.0, alpha=[0.3, 1.0, 2.0, 0.7], epsilon=1e-2, hessian="exact"),
    MulticlassFocalLoss(gamma=1.5, alpha=[0.5, 1.0, 2.0, 0.3], epsilon=1e-3, hessian="exact"),
    MulticlassFocalLoss(gamma=0.0, epsilon=0.0),  # softmax cross-entropy
    MulticlassFocalLoss(),  # the defaults: γ = 2, no α, ε = 1e-3, positive
    MulticlassFocalLoss(gamma=2.0, alpha=[1.0, 2.0, 0.5]),
    MulticlassFocalLoss(gamma=np.float32(0.5), alpha=np.array([1, 2, 3]), epsilon=0),  # numpy hyperparameters
]


def _with_hessian(loss, hessian: str):
    return type(loss)(**{**loss.get_params(), "hessian": hessian})


# The exact-Hessian twins of all the instances, each once.
EXACT = list(dict.fromkeys(_with_hessian(loss, "exact") for loss in LOSSES))


def _id(loss) -> str:
    name = "binary" if isinstance(loss, FocalLoss) else "softmax"
    alpha = "None" if loss.alpha is None else ",".join(f"{a:g}" for a in np.atleast_1d(loss.alpha))
    return f"{name}-g{loss.gamma:g}-a{alpha}-e{loss.epsilon:g}-{loss.hessian}"


each_loss = pytest.mark.parametrize("loss", LOSSES, ids=_id)
TINY = np.finfo(np.float64).tiny
EPS = np.finfo(np.float64).eps


# -- data ------------------------------------------------------------------------------------
def _n_classes(loss) -> int:
    if isinstance(loss, FocalLoss):
        return 2
    return 3 if loss.alpha is None else len(loss.alpha)


def _columns(loss, raw: np.ndarray) -> list[np.ndarray]:
    """Unit perturbations of each raw score of a row (one for the binary loss, one per class)."""
    if raw.ndim == 1:
        return [np.ones_like(raw)]
    out = []
    for j in range(raw.shape[1]):
        d = np.zeros_like(raw)
        d[:, j] = 1.0
        out.append(d)
    return out


def _labels(loss, n: int, rng, p=None) -> np.ndarray:
    """Binary: hard labels with a quarter soft ones; multiclass: class indices (all classes)."""
    k = _n_classes(loss)
    if isinstance(loss, FocalLoss):
        y = (rng.random(n) < (0.3 if p is None else p[1])).astype(float)
        y[::4] = rng.random(len(y[::4]))
        return y
    y = rng.choice(k, n, p=p)
    y[:k] = np.arange(k)
    return y


def _class_frequencies(k: int) -> np.ndarray:
    """Imbalanced class frequencies (for the binary loss, that of class 1 is the second)."""
    p = np.array([0.8, 0.15, 0.05, 0.02][:k]) if k > 2 else np.array([0.9, 0.1])
    return p / p.sum()


def _shape(loss, n: int) -> tuple[int, ...]:
    """The shape of ``n`` raw predictions: ``(n,)`` binary, ``(n, n_classes)`` multiclass."""
    return (n,) if isinstance(loss, FocalLoss) else (n, _n_classes(loss))


def _raw(loss, n: int, rng, low: float, high: float) -> np.ndarray:
    return rng.uniform(low, high, _shape(loss, n))


def _fd_raw(loss, n: int, rng) -> np.ndarray:
    """Raw predictions for finite differences: saturating, but where |loss| ≲ 30 (±15 binary,
    ±12 per class)."""
    spread = 15.0 if isinstance(loss, FocalLoss) else 12.0
    return _raw(loss, n, rng, -spread, spread)


def _extreme_raw(loss) -> np.ndarray:
    """Raw predictions from saturated to the float64 extremes."""
    if isinstance(loss, FocalLoss):
        return np.array([-1e300, -800.0, -40.0, 40.0, 800.0, 1e300])
    k = _n_classes(loss)
    rows = [[1e300, -1e300], [800.0, -800.0], [-40.0, 40.0], [0.0, 800.0], [-1e300, 0.0], [40.0, 39.0]]
    return np.array([row + [1.0] * (k - 2) for row in rows])


# -- derivatives -----------------------------------------------------------------------------
def _assert_derivative(got, fd, size, h: float, what: str) -> None:
    """``got`` equals the central difference ``fd`` to 1e-6 relative, up to the difference's own
    error: truncation ~h² f''' ≈ 1e-10 (h = 1e-5), and rounding ~eps · |value| / h of the
    differenced values ``size`` (a few 1e-10 for values of size 30)."""
    noise = 1e-10 + 8 * EPS * size / h
    bad = ~(np.abs(got - fd) <= 1e-6 * np.abs(fd) + noise)
    assert not bad.any(), (what, got[bad], fd[bad], noise[bad])


@each_loss
def test_gradient_is_the_derivative_of_the_loss(loss, backend, array_library):
    lib = array_library
    rng = np.random.default_rng(0)
    y = _labels(loss, 100, rng)
    raw = _fd_raw(loss, 100, rng)
    grad = lib.to_numpy(loss.gradient(lib.asarray(y), lib.asarray(raw)))
    h = 1e-5
    for j, d in enumerate(_columns(loss, raw)):
        up = lib.to_numpy(loss.loss(lib.asarray(y), lib.asarray(raw + h * d)))
        down = lib.to_numpy(loss.loss(lib.asarray(y), lib.asarray(raw - h * d)))
        got = grad if grad.ndim == 1 else grad[:, j]
        _assert_derivative(got, (up - down) / (2 * h), np.maximum(np.abs(up), np.abs(down)), h, f"column {j}")


@pytest.mark.parametrize("loss", EXACT, ids=_id)
def test_exact_hessian_is_the_derivative_of_the_gradient(loss, backend, array_library):
    lib = array_library
    rng = np.random.default_rng(1)
    y = _labels(loss, 100, rng)
    raw = _fd_raw(loss, 100, rng)
    _, hess = (lib.to_numpy(a) for a in loss.gradient_hessian(lib.asarray(y), lib.asarray(raw)))
    h = 1e-5
    for j, d in enumerate(_columns(loss, raw)):
        up = lib.to_numpy(loss.gradient(lib.asarray(y), lib.asarray(raw + h * d)))
        down = lib.to_numpy(loss.gradient(lib.asarray(y), lib.asarray(raw - h * d)))
        fd = (up - down) / (2 * h) if up.ndim == 1 else (up[:, j] - down[:, j]) / (2 * h)
        got = hess if hess.ndim == 1 else hess[:, j]
        size = np.maximum(np.abs(up), np.abs(down))
        _assert_derivative(got, fd, size if size.ndim == 1 else size[:, j], h, f"column {j}")


@each_loss
def test_gradient_hessian_is_the_gradient_and_the_hessian_policy(loss, backend, array_library):
    """``gradient_hessian`` returns ``gradient``'s gradient and the Hessian of its policy; the
    positive policy is never below the exact Hessian, and positive where the base curvature is
    (every ordinary logit: only the extremes underflow it)."""
    lib = array_library
    rng = np.random.default_rng(2)
    ordinary = rng.normal(0.0, 6.0, _shape(loss, 300))
    raw = np.concatenate([ordinary, _extreme_raw(loss)])
    y = _labels(loss, len(raw), rng)
    w = rng.uniform(0.5, 2.0, len(raw))
    args = lib.asarray(y), lib.asarray(raw), lib.asarray(w)
    grad, hess = (lib.to_numpy(a) for a in loss.gradient_hessian(*args))
    if lib.name == "torch" and isinstance(loss, MulticlassFocalLoss):
        # torch's softmax gradient alone takes the fused kernel, with the Hessian the plain code:
        # the same formula, equal to rounding.
        np.testing.assert_allclose(grad, lib.to_numpy(loss.gradient(*args)), rtol=1e-13, atol=1e-300)
    else:
        np.testing.assert_array_equal(grad, lib.to_numpy(loss.gradient(*args)))
    exact = lib.to_numpy(_with_hessian(loss, "exact").gradient_hessian(*args)[1])
    positive = lib.to_numpy(_with_hessian(loss, "positive").gradient_hessian(*args)[1])
    np.testing.assert_array_equal(hess, exact if loss.hessian == "exact" else positive)
    assert np.all(np.isfinite(grad)) and np.all(np.isfinite(exact)) and np.all(np.isfinite(positive))
    assert np.all(positive >= exact)
    assert np.all(positive >= 0)
    assert np.all(positive[: len(ordinary)] > 0)
    if loss.gamma == 0:
        np.testing.assert_array_equal(positive, exact)  # no turning part: the policies agree
    else:
        assert np.any(exact < 0)  # the exact curvature does turn negative here, so the policy matters
        assert np.any(positive == exact)  # ...and is kept where it is not


# -- weights ---------------------------------------------------------------------------------
@each_loss
def test_sample_weight_multiplies_every_output(loss, backend, array_library):
    lib = array_library
    rng = np.random.default_rng(3)
    raw = _raw(loss, 100, rng, -15.0, 15.0)
    y = _labels(loss, 100, rng)
    w = rng.uniform(0.0, 3.0, 100)
    w[::9] = 0.0
    wc = w if raw.ndim == 1 else w[:, None]
    y_, raw_, w_ = lib.asarray(y), lib.asarray(raw), lib.asarray(w)
    np.testing.assert_allclose(
        lib.to_numpy(loss.loss(y_, raw_, w_)), w * lib.to_numpy(loss.loss(y_, raw_)), rtol=1e-15, atol=0
    )
    g, h = (lib.to_numpy(a) for a in loss.gradient_hessian(y_, raw_, w_))
    g0, h0 = (lib.to_numpy(a) for a in loss.gradient_hessian(y_, raw_))
    np.testing.assert_allclose(g, wc * g0, rtol=1e-15, atol=0)
    np.testing.assert_allclose(h, wc * h0, rtol=1e-15, atol=0)
    grad0 = lib.to_numpy(loss.gradient(y_, raw_))
    np.testing.assert_allclose(lib.to_numpy(loss.gradient(y_, raw_, w_)), wc * grad0, rtol=1e-15, atol=0)


# -- init score ------------------------------------------------------------------------------
@each_loss
def test_init_score_is_the_stationary_point_of_the_weighted_mean_loss(loss, backend, array_library):
    """The weighted gradient summed over the samples vanishes at the init score (to rounding of
    its size), and every nearby constant has a larger weighted mean loss."""
    lib = array_library
    k = _n_classes(loss)
    rng = np.random.default_rng(4)
    n = 400
    y = _labels(loss, n, rng, p=_class_frequencies(k))
    w = rng.uniform(0.1, 2.0, n)
    b = loss.init_score(lib.asarray(y), lib.asarray(w), n_classes=k)
    if isinstance(loss, FocalLoss):
        assert isinstance(b, float)
    else:
        assert isinstance(b, np.ndarray) and b.shape == (k,) and b.dtype == np.float64
    shape = _shape(loss, n)

    def at(c):
        return lib.asarray(np.broadcast_to(c, shape).copy())

    g = lib.to_numpy(loss.gradient(lib.asarray(y), at(b), lib.asarray(w)))
    total, scale = g.sum(axis=0), np.abs(g).sum(axis=0)
    assert np.all(np.abs(total) <= 1e-12 * scale), (total, scale)

    def mean_loss(c) -> float:
        return float(np.sum(lib.to_numpy(loss.loss(lib.asarray(y), at(c), lib.asarray(w))))) / w.sum()

    best = mean_loss(b)
    directions = [1.0] if isinstance(loss, FocalLoss) else list(np.eye(k))  # one class's score at a time
    for d in directions:
        for delta in (-0.1, -1e-3, 1e-3, 0.1):
            assert best < mean_loss(b + delta * d), (delta, d)


# -- probabilities ---------------------------------------------------------------------------
@each_loss
@pytest.mark.parametrize("kind", ["posterior", "link"])
def test_predict_proba_rows_are_distributions_and_log_proba_their_log(loss, kind, array_library):
    """Rows in [0, 1] summing to 1; ``predict_log_proba`` is their log where the probability is a
    normal float, and keeps going (finite, below log(tiny)) where it underflows. The probabilities
    are array code only (no fused kernel): no ``backend``."""
    lib = array_library
    rng = np.random.default_rng(5)
    raw = np.concatenate([rng.normal(0.0, 5.0, _shape(loss, 200)), _extreme_raw(loss)])
    proba = lib.to_numpy(loss.predict_proba(lib.asarray(raw), kind=kind))
    log_proba = lib.to_numpy(loss.predict_log_proba(lib.asarray(raw), kind=kind))
    assert proba.shape == log_proba.shape == (len(raw), _n_classes(loss))
    assert proba.dtype == log_proba.dtype == np.float64
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=4 * EPS)
    assert np.all(np.isfinite(log_proba)) and np.all(log_proba <= 0)
    normal = proba >= TINY
    np.testing.assert_allclose(log_proba[normal], np.log(proba[normal]), rtol=1e-13, atol=4 * EPS)
    assert np.any(~normal)  # the extreme rows underflow a probability...
    assert np.all(log_proba[~normal] < np.log(TINY) + 1e-9)  # ...whose log is still exact, not −inf


# -- representation --------------------------------------------------------------------------
@each_loss
def test_get_params_repr_eq_hash_round_trip(loss):
    params = loss.get_params()
    assert list(params) == ["gamma", "alpha", "epsilon", "hessian"]
    twin = type(loss)(**params)
    assert twin is not loss and twin == loss and hash(twin) == hash(loss) and repr(twin) == repr(loss)
    namespace = {"FocalLoss": FocalLoss, "MulticlassFocalLoss": MulticlassFocalLoss}
    assert eval(repr(loss), namespace) == loss
    assert repr(loss).startswith(type(loss).__name__ + "(")
    for name, value in [("gamma", params["gamma"] + 1.0), ("epsilon", params["epsilon"] + 0.5)]:
        other = type(loss)(**{**params, name: value})
        assert other != loss and other.get_params()[name] == value
    other_hessian = "positive" if loss.hessian == "exact" else "exact"
    assert _with_hessian(loss, other_hessian) != loss
    assert all(loss != o for o in LOSSES if type(o) is not type(loss))  # the other kind never equals it
    assert loss != params


@each_loss
def test_hyperparameters_are_keyword_only(loss):
    with pytest.raises(TypeError):
        type(loss)(loss.gamma)


@each_loss
def test_pickle_round_trip(loss, backend):
    again = pickle.loads(pickle.dumps(loss))
    assert again == loss and hash(again) == hash(loss) and again.get_params() == loss.get_params()
    rng = np.random.default_rng(6)
    y, raw = _labels(loss, 50, rng), _raw(loss, 50, rng, -10.0, 10.0)
    for a, b in zip(loss.gradient_hessian(y, raw), again.gradient_hessian(y, raw), strict=True):
        np.testing.assert_array_equal(a, b)


# -- dtypes and array libraries --------------------------------------------------------------
@each_loss
def test_float32_in_float32_out(loss, backend, array_library):
    """float32 raw predictions give float32 outputs, close to float64 ones on the same inputs."""
    lib = array_library
    rng = np.random.default_rng(7)
    raw = _raw(loss, 50, rng, -8.0, 8.0).astype(np.float32)
    y = _labels(loss, 50, rng)
    y = y.astype(np.float32) if isinstance(loss, FocalLoss) else y
    w = rng.uniform(0.0, 2.0, 50).astype(np.float32)

    def outputs(raw, w):
        args = lib.asarray(y), lib.asarray(raw), lib.asarray(w)
        return [
            loss.loss(*args),
            loss.gradient(*args),
            *loss.gradient_hessian(*args),
            loss.predict_proba(args[1]),
            loss.predict_log_proba(args[1]),
            loss.predict_proba(args[1], kind="link"),
        ]

    single = [lib.to_numpy(a) for a in outputs(raw, w)]
    double = [lib.to_numpy(a) for a in outputs(raw.astype(np.float64), w.astype(np.float64))]
    for i, (a, b) in enumerate(zip(single, double, strict=True)):
        assert a.dtype == np.float32 and b.dtype == np.float64, i
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6, err_msg=str(i))


@each_loss
def test_torch_tensors_in_torch_tensors_out_equal_to_numpy(loss, backend):
    """CPU tensors go through the same core: float64 tensors equal to the numpy results, from
    ordinary to extreme raw predictions, the same validation, the same init score."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    raw = np.concatenate([rng.normal(0.0, 10.0, _shape(loss, 60)), _extreme_raw(loss)])
    y = _labels(loss, len(raw), rng)
    w = rng.uniform(0.0, 2.0, len(raw))
    # The fused kernel computes the same numbers for either library, except torch's softmax
    # Hessian, which runs the plain code (3e-16 relative here; up to 9e-15 over 40 other draws).
    # The plain code calls torch's exp and log, which differ from numpy's in the last bits, and
    # the binary Hessian of a soft label cancels its two terms' digits (up to 6e-13 measured).
    rtol = 1e-14 if backend == "fast" else 2e-12
    for weights in (None, w):
        expected = [loss.loss(y, raw, weights), *loss.gradient_hessian(y, raw, weights)]
        args = torch.from_numpy(y), torch.from_numpy(raw), None if weights is None else torch.from_numpy(weights)
        got = [loss.loss(*args), *loss.gradient_hessian(*args)]
        for e, g in zip(expected, got, strict=True):
            assert isinstance(g, torch.Tensor) and g.dtype == torch.float64 and g.device.type == "cpu"
            np.testing.assert_allclose(g.numpy(), e, rtol=rtol, atol=1e-300)
    for kind in ("posterior", "link"):
        np.testing.assert_allclose(
            loss.predict_proba(torch.from_numpy(raw), kind=kind).numpy(),
            loss.predict_proba(raw, kind=kind),
            rtol=1e-13,
            atol=1e-300,
        )
    y = _labels(loss, 300, rng, p=_class_frequencies(_n_classes(loss)))
    w = rng.uniform(0.0, 2.0, 300)
    assert loss.init_score(torch.from_numpy(y)) == pytest.approx(loss.init_score(y), rel=1e-12)
    weighted = loss.init_score(torch.from_numpy(y), torch.from_numpy(w))
    np.testing.assert_allclose(weighted, loss.init_score(y, w), rtol=1e-12)


@each_loss
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_raw_predictions_are_refused(loss, bad, array_library):
    lib = array_library
    rng = np.random.default_rng(9)
    y, raw = _labels(loss, 10, rng), _raw(loss, 10, rng, -1.0, 1.0)
    raw[3] = bad
    for method in (loss.loss, loss.gradient, loss.gradient_hessian):
        with pytest.raises(ValueError, match="raw_prediction must be finite"):
            method(lib.asarray(y), lib.asarray(raw))
