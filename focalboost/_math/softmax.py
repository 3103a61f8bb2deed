"""The math core of the multiclass (softmax) focal loss: the one place its formulas are written.

Everything here is elementwise per sample (or per sample and class) and never reduces over
samples. Weights, means, signs and shapes belong to the callers (:mod:`focalboost._loss`,
the boosting adapters, :mod:`focalboost.torch`).

Notation: raw predictions ``z`` of shape ``(n, K)``, ``p = softmax(z)``, true
class ``c``, per-class weight ``α_c``, focusing parameter ``γ ≥ 0``, smoothing ``ε ≥ 0``::

    L = −α_c (1 − p_c + ε)^γ log p_c

With ``s = 1 − p_c`` (the other classes' probability mass, summed, never formed by
subtraction), ``r = s + ε``, ``w = r^γ``, ``ℓ = log p_c`` and ``a = −p_c ℓ ∈ [0, 1/e]``::

    ∂L/∂z_j  = α_c (δ_cj − p_j) F,            F = γ p_c r^(γ−1) ℓ − r^γ = −G / r,
                                               G = w (r + γ a) ≥ 0
    ∂²L/∂z_j² = α_c [−p_j (1 − p_j) F + (δ_cj − p_j)² p_c F'],
                F' = γ r^(γ−2) (r ℓ − (γ − 1) p_c ℓ + 2 r)

Both contain ``1/r``, which is unbounded for ``ε = 0`` as ``p_c → 1``. The ratio
``ρ_j = (δ_cj − p_j) / r`` is in ``[−1, 1]`` (``|δ_cj − p_j| ≤ s ≤ r``), so with it::

    ∂L/∂z_j   = −α_c ρ_j G
    ∂²L/∂z_j² =  α_c (h_base_j + h_turn_j)
        h_base_j = w (p_j q_j + 2 γ ρ_j² r p_c)                       ≥ 0
        h_turn_j = γ w a (p_j q_j / r + ρ_j² ((γ − 1) p_c − r))       (changes sign)

with ``q_j = 1 − p_j`` and ``p_j q_j / r`` equal to ``p_c ρ_c`` for ``j = c`` and to
``−q_j ρ_j`` otherwise: every factor is bounded, ``ℓ`` only appears as ``a`` (or in the loss
itself), so every output is finite for every finite logit and ``γ ≥ 0, ε ≥ 0``. For ``K = 2``
and ``z = (0, x)`` these are exactly the binary formulas of :func:`focalboost._math.binary.positive_term`
(there ``t = ρ_c``), split into the same ``h_base`` and ``h_turn``.

Three layers:

* :func:`class_term` (per sample) and :func:`entry_terms` (per sample and class) hold the
  formulas, with arithmetic operators only: the same functions run on numpy arrays, torch and
  cupy tensors, and on plain floats inside a numba kernel.
* :func:`softmax_parts`, :func:`softmax_focal` and :func:`softmax` compute the stable
  primitives (``p``, ``q``, ``s``, ``log p_c``, ``ρ``) with an array namespace ``xp`` (``exp``,
  ``log1p``, ``max``, ``argmax``, ``sum``, ``where``, ``arange``) and assemble the outputs, for
  every row at once (numpy without numba, torch, cupy).
* :func:`posterior` maps focal-trained scores back to the class posteriors they stand for.
* :func:`focal_row` is the same for one sample with plain floats and :mod:`math`, step for step:
  the fused numba kernel (:mod:`focalboost._math.kernels`) compiles it, and CatBoost's
  per-object multiclass objective calls it as plain Python.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from .binary import combine_hessian, log_neg_dloss_dlogp, zero_epsilon

Array = Any


def class_term(p_c: Any, s: Any, log_p_c: Any, gamma: float, epsilon: float) -> tuple[Any, Any, Any, Any, Any]:
    """Per-sample factors of the softmax focal loss of the true class (weight ``α_c`` excluded).

    Parameters
    ----------
    p_c, s : array or float
        ``p_c`` and ``s = 1 − p_c``, each computed directly (``s`` as the sum of the other
        classes' probabilities).
    log_p_c : array or float
        ``log p_c``, finite for every finite logit.
    gamma, epsilon : float

    Returns
    -------
    f, g, w, r, a
        The loss ``f = −(s + ε)^γ log p_c``, the gradient scale ``G = w (r + γ a) ≥ 0`` (so
        ``∂f/∂z_j = −ρ_j G``), and the factors ``w = r^γ``, ``r = s + ε``, ``a = −p_c log p_c``
        that :func:`entry_terms` needs.
    """
    r = s + epsilon
    w = r**gamma  # r ∈ [ε, 1 + ε]; 0**0 == 1 gives γ = 0 its cross-entropy value
    a = -(p_c * log_p_c)  # −p log p is formed first: bounded in [0, 1/e], never 0·∞
    f = -(w * log_p_c)
    g = w * (r + gamma * a)
    return f, g, w, r, a


def entry_terms(
    rho: Any, pq: Any, pq_over_r: Any, p_c: Any, g: Any, w: Any, r: Any, a: Any, gamma: float
) -> tuple[Any, Any, Any]:
    """Gradient and split diagonal Hessian of one class entry ``j`` (weight ``α_c`` excluded).

    Parameters
    ----------
    rho : array or float
        ``ρ_j = (δ_cj − p_j) / r ∈ [−1, 1]``.
    pq, pq_over_r : array or float
        ``p_j (1 − p_j)`` and ``p_j (1 − p_j) / r`` (``p_c ρ_c`` for ``j = c``, ``−q_j ρ_j``
        otherwise: both bounded).
    p_c, g, w, r, a : array or float
        From :func:`class_term` (broadcast over the classes).
    gamma : float

    Returns
    -------
    grad, h_base, h_turn
        ``∂f/∂z_j = −ρ_j G`` and ``∂²f/∂z_j² = h_base + h_turn`` with ``h_base ≥ 0``; the
        Hessian policies are built from the two parts by :func:`focalboost._math.binary.combine_hessian`.
    """
    grad = -(rho * g)
    rho2 = rho * rho
    h_base = w * (pq + (2.0 * gamma) * (rho2 * (r * p_c)))
    h_turn = (gamma * w) * a * (pq_over_r + rho2 * ((gamma - 1.0) * p_c - r))
    return grad, h_base, h_turn


class SoftmaxParts(NamedTuple):
    """Stable primitives of a row-wise softmax with true classes (see :func:`softmax_parts`)."""

    onehot: Array  # (n, K) bool, True at the true class
    p: Array  # (n, K) softmax
    q: Array  # (n, K) 1 − p, never by subtraction where p is close to 1
    p_c: Array  # (n, 1)
    s: Array  # (n, 1) 1 − p_c, summed over the other classes
    log_p_c: Array  # (n, 1)
    rho: Array  # (n, K) (δ_cj − p_j) / (s + ε), in [−1, 1]


def _arange(k: int, like: Any, xp: Any) -> Any:
    if type(like).__module__.split(".")[0] == "numpy":
        return xp.arange(k)  # numpy 1.x has no ``device`` argument
    return xp.arange(k, device=like.device)


def _exp_shifted(z: Array, xp: Any) -> tuple[Array, Array, Array, Array]:
    """``e = exp(z − max z) ∈ (0, 1]`` per row, the first argmax mask and ``Z − 1`` (the sum of
    ``e`` without the first maximum, so ``log Z = log1p(Z − 1)`` keeps its precision when one
    logit dominates)."""
    m = xp.max(z, axis=1, keepdims=True)
    e = xp.exp(z - m)
    k = xp.argmax(z, axis=1)
    is_k = _arange(z.shape[1], z, xp)[None, :] == xp.reshape(k, (-1, 1))
    zero = xp.zeros_like(e)
    o_k = xp.sum(xp.where(is_k, zero, e), axis=1, keepdims=True)
    return e, is_k, o_k, m


def softmax(z: Array, xp: Any) -> Array:
    """Row-wise ``softmax(z)`` of shape ``(n, K)``, stable for any finite logits."""
    e, _, o_k, _ = _exp_shifted(z, xp)
    return e / (1.0 + o_k)


def log_softmax(z: Array, xp: Any) -> Array:
    """Row-wise ``log softmax(z)`` of shape ``(n, K)``: ``(z − max z) − log1p(O)``, two non-positive
    terms, exact to rounding however far one logit dominates (no ``log`` of an underflowed ``p``)."""
    _, _, o_k, m = _exp_shifted(z, xp)
    return (z - m) - xp.log1p(o_k)


def softmax_parts(y: Array, z: Array, epsilon: float, xp: Any) -> SoftmaxParts:
    """Stable ``p``, ``q = 1 − p``, ``p_c``, ``s = 1 − p_c``, ``log p_c`` and ``ρ``.

    Parameters
    ----------
    y : array of shape (n,)
        Integer class indices in ``[0, K)`` (any integer or integral float dtype).
    z : array of shape (n, K)
        Finite raw predictions.
    epsilon : float

    Notes
    -----
    ``e = exp(z − max z) ∈ (0, 1]`` and ``Z = Σ e = 1 + O`` where ``O`` is the sum without the
    (first) maximum, so ``log Z = log1p(O)`` and ``log p_c = (z_c − max z) − log1p(O)``: two
    non-positive terms, exact to rounding however far one logit dominates (``−2e300`` for
    ``z = (−1e300, 1e300)``; ``−e^{−40}``, not 0, for ``z_c`` ahead by 40). ``1 − p_j`` is
    ``1 − p_j`` for every class but the maximum (there ``p_j ≤ 1/2``: no cancellation) and
    ``O / Z`` for the maximum. ``s`` sums the other classes' ``e`` directly.

    ``ρ_j = (δ_cj − p_j) / r``: for ``ε > 0`` a plain division (``r ≥ ε``). For ``ε = 0`` (or an
    ``ε`` that rounds to 0 in the dtype of ``z``) it is
    ``1`` at ``c`` and ``−e'_j / Σ_{i≠c} e'_i`` elsewhere, a softmax over the other classes
    shifted by their own maximum, which stays exact when ``s`` underflows (``z_c`` ahead by
    more than ~745 in float64).
    """
    n, k = z.shape
    e, is_k, o_k, m = _exp_shifted(z, xp)
    big_z = 1.0 + o_k
    p = e / big_z
    onehot = _arange(k, z, xp)[None, :] == xp.reshape(y, (-1, 1))
    zero = xp.zeros_like(z)
    q = xp.where(is_k, o_k / big_z, 1.0 - p)
    s = xp.sum(xp.where(onehot, zero, e), axis=1, keepdims=True) / big_z
    p_c = xp.sum(xp.where(onehot, p, zero), axis=1, keepdims=True)
    z_c = xp.sum(xp.where(onehot, z, zero), axis=1, keepdims=True)
    log_p_c = (z_c - m) - xp.log1p(o_k)
    fi = xp.finfo(z.dtype)
    if not zero_epsilon(epsilon, float(fi.smallest_normal) * float(fi.eps)):
        rho = xp.where(onehot, s, -p) / (s + epsilon)
    else:
        # Softmax over the classes j ≠ c: exp(z_j − max_{i≠c} z_i), the true class masked out
        # (its exponent clipped at 0 first so that nothing overflows before the mask).
        z_o = xp.where(onehot, xp.full_like(z, -float("inf")), z)
        m_o = xp.max(z_o, axis=1, keepdims=True)
        e_o = xp.where(onehot, zero, xp.exp(xp.minimum(z - m_o, zero)))
        rho = xp.where(onehot, zero + 1.0, -(e_o / xp.sum(e_o, axis=1, keepdims=True)))
    return SoftmaxParts(onehot, p, q, p_c, s, log_p_c, rho)


def softmax_focal(
    y: Array,
    z: Array,
    *,
    gamma: float,
    epsilon: float,
    alpha: Array | None,
    xp: Any,
    loss: bool = True,
    gradient: bool = True,
    hessian: str | None = "exact",
) -> tuple[Array | None, Array | None, Array | None]:
    """Per-sample loss, gradient and diagonal Hessian of the softmax focal loss w.r.t. ``z``.

    Parameters
    ----------
    y : array of shape (n,)
        Integer class indices in ``[0, K)``.
    z : array of shape (n, K)
        Finite raw predictions (logits), floating dtype.
    gamma, epsilon : float
    alpha : array of shape (K,) or None
        Per-class weights ``α`` (same array library and device as ``z``); None means 1.
    xp : namespace
    loss, gradient : bool
        Whether to compute these outputs.
    hessian : {"exact", "positive"} or None
        The diagonal Hessian policy, or None for no Hessian.

    Returns
    -------
    loss : array of shape (n,) or None
    gradient : array of shape (n, K) or None
    hessian : array of shape (n, K) or None
        ``"exact"`` is ``∂²L/∂z_j²``; ``"positive"`` is ``h_base + max(h_turn, 0)``, i.e.
        ``max(exact, h_base) ≥ exact``, equal to the exact value wherever that is at least the
        base curvature, and ``> 0`` wherever ``p_j (1 − p_j) > 0`` and ``r > 0``.
    """
    parts = softmax_parts(y, z, epsilon, xp)
    f, g, w, r, a = class_term(parts.p_c, parts.s, parts.log_p_c, gamma, epsilon)
    scale = None
    if alpha is not None:
        zero = xp.zeros_like(z)
        scale = xp.sum(xp.where(parts.onehot, zero + xp.reshape(alpha, (1, -1)), zero), axis=1, keepdims=True)
    out_loss = None
    if loss:
        out_loss = xp.reshape(f if scale is None else scale * f, (-1,))
    if not gradient and hessian is None:
        return out_loss, None, None
    pq = parts.p * parts.q
    pq_over_r = xp.where(parts.onehot, parts.p * parts.rho, -(parts.q * parts.rho))
    grad, h_base, h_turn = entry_terms(parts.rho, pq, pq_over_r, parts.p_c, g, w, r, a, gamma)
    out_grad = None
    if gradient:
        out_grad = grad if scale is None else scale * grad
    out_hess = None
    if hessian is not None:
        h = combine_hessian(h_base, h_turn, hessian == "exact")
        out_hess = h if scale is None else scale * h
    return out_loss, out_grad, out_hess


# -- the class posterior of a focal-trained score --------------------------------------------------
def class_logits(z: Array, xp: Any) -> Array:
    """``u_k = logit(softmax(z)_k) = z_k − log Σ_{j≠k} e^{z_j}`` for every class, shape ``(n, K)``, ``K ≥ 2``.

    Finite for every finite ``z`` (saturated at ``±max`` where the exact value is beyond the
    dtype's range, e.g. ``z = (max, −max)``).

    Notes
    -----
    With ``M`` the (first) largest logit of a row, ``e = exp(z − M)`` and ``O`` the sum of ``e``
    without that maximum:

    * every other class ``k`` has ``Σ_{j≠k} e^{z_j − M} = 1 + (O − e_k)``: the sum contains
      the maximum's 1, so it cannot underflow, and the subtraction ``O − e_k ≥ 0`` (``O`` is a
      sum of non-negative terms including ``e_k``) loses at most an ulp of ``O ≤ K − 1``
      absolutely, which is all the absolute accuracy ``u_k`` needs:
      ``u_k = (z_k − M) − log1p(O − e_k)``;
    * the maximum itself is shifted by the second-largest logit ``M₂`` (a tie counts):
      ``u = (M − M₂) − log1p(O₂)`` with ``O₂`` the sum of ``exp(z_j − M₂)`` over the classes
      other than the two, exact however far ``M`` leads (``e^{−(M − M₂)}`` is never formed).
    """
    e, is_k, o_k, m = _exp_shifted(z, xp)
    zero = xp.zeros_like(z)
    # At the maximum O − e_k would be O − 1 ≥ −1 (log1p(−1) = −∞): masked, it is computed below.
    u_rest = (z - m) - xp.log1p(xp.where(is_k, zero, o_k - e))
    # The maximum masked out (−∞, whose exp is 0): the second-largest logit becomes the first
    # maximum of the rest, and _exp_shifted's O is then the sum over the classes other than both.
    others = xp.where(is_k, xp.full_like(z, -math.inf), z)
    _, _, o_2, m_2 = _exp_shifted(others, xp)
    u_top = (m - m_2) - xp.log1p(o_2)
    u = xp.where(is_k, zero + u_top, u_rest)
    # z − M and M − M₂ overflow to ∓∞ only where the exact u is beyond the dtype's range
    # (e.g. z = (max, −max)); χ needs a finite argument, and saturating there changes no
    # posterior (the class's weight e^{z_k − M − χ(u_k)} is then 0 or the row's only one).
    big = float(xp.finfo(z.dtype).max)
    return xp.minimum(xp.maximum(u, xp.full_like(u, -big)), xp.full_like(u, big))


def _posterior_scores(z: Array, gamma: float, epsilon: float, alpha: Array | None, xp: Any) -> Array:
    """Unnormalized log posteriors ``v_k = (z_k − M) − χ(u_k) − log α_k`` (see :func:`posterior`)."""
    u = class_logits(z, xp)
    m = xp.max(z, axis=1, keepdims=True)
    v = (z - m) - log_neg_dloss_dlogp(u, gamma, epsilon, xp)
    if alpha is not None:
        v = v - xp.reshape(xp.log(alpha), (1, -1))
    # v is at most ~max (z_k − M ≤ 0, and χ(u_k) is bounded for every class but the leader,
    # whose −χ is ≈ γ (M − M₂) for ε = 0), but a difference of two entries can leave the range.
    # Clipped to ±max/2, no difference overflows, and nothing changes unless the exact
    # log-posterior of some class is below about −max/2 (then its η is 0 in any case).
    half_max = xp.full_like(v, 0.5 * float(xp.finfo(z.dtype).max))
    return xp.minimum(xp.maximum(v, -half_max), half_max)


def posterior(z: Array, *, gamma: float, epsilon: float, alpha: Array | None, xp: Any) -> Array:
    """Class posteriors ``η`` for which the softmax focal risk is minimized at the logits ``z``.

    Parameters
    ----------
    z : array of shape (n, K)
        Raw predictions of a model trained with the softmax focal loss, ``K ≥ 2``; any finite
        values, floating dtype.
    gamma, epsilon : float
        Focusing parameter ``γ ≥ 0`` and smoothing constant ``ε ≥ 0`` of that loss.
    alpha : array of shape (K,) or None
        Per-class weights ``α_k > 0`` (a zero weight leaves the posterior undetermined; the loss
        objects refuse it), same array library, device and dtype as ``z``; None means 1.
    xp : namespace

    Returns
    -------
    array of shape (n, K)
        ``η``: rows in ``[0, 1]`` summing to 1 (to rounding), finite for every finite ``z``.

    Notes
    -----
    With ``q = softmax(z)`` and ``ℓ_k(q) = −α_k (1 − q + ε)^γ log q`` the loss of a sample of
    class ``k``, a sample with class posteriors ``η`` has expected loss
    ``R(z) = Σ_k η_k ℓ_k(q_k)``. With ``∂q_k/∂z_j = q_k (δ_kj − q_j)``,

        ∂R/∂z_j = Σ_k η_k ℓ_k'(q_k) q_k (δ_kj − q_j) = b_j − q_j Σ_k b_k,   b_k = η_k ℓ_k'(q_k) q_k,

    which vanishes for all ``j`` iff ``b_j = c q_j``, i.e. ``η_k ℓ_k'(q_k)`` is the same for every
    class: ``η_k ∝ 1 / |ℓ_k'(q_k)|`` (every ``ℓ_k' < 0``). With ``ψ = log(−∂F/∂p)`` of
    ``F(p) = −(1 − p + ε)^γ log p`` taken at ``p = σ(u_k)``, ``u_k = logit q_k``
    (:func:`class_logits`), ``|ℓ_k'(q_k)| = α_k e^{ψ(u_k)}``, and ``ψ = χ − log σ`` with
    ``log σ(u_k) = log q_k = z_k − logsumexp(z)``, so

        η = softmax_k(−log α_k − ψ(u_k)) = softmax_k(z_k − χ(u_k) − log α_k),

    the common ``logsumexp(z)`` dropping out. It is evaluated as ``softmax(v)`` with
    ``v_k = (z_k − M) − χ(u_k) − log α_k``, ``M`` the row maximum. ``γ = 0`` gives ``χ ≡ 0``
    and ``η = softmax(z − log α)`` (``softmax(z)`` bit for bit for ``alpha=None``); ``K = 2`` with
    ``z = (0, x)`` gives :func:`focalboost._math.binary.posterior` with equal weights.

    Examples
    --------
    >>> import numpy as np
    >>> from focalboost._math.softmax import posterior
    >>> eta = posterior(np.array([[2.0, 0.0, -1.0]]), gamma=2.0, epsilon=1e-3, alpha=None, xp=np)
    >>> eta.shape, float(eta.sum())
    ((1, 3), 1.0)
    """
    return softmax(_posterior_scores(z, gamma, epsilon, alpha, xp), xp)


def log_posterior(z: Array, *, gamma: float, epsilon: float, alpha: Array | None, xp: Any) -> Array:
    """``log η`` of :func:`posterior`, shape ``(n, K)``, exact where ``η`` underflows.

    ``log η_k = (v_k − max v) − log1p(O)`` with ``O`` the sum of ``exp(v − max v)`` without the
    (first) maximum: two non-positive terms, so a posterior of ``e^{−10⁴}`` comes out as
    ``−10⁴``, not ``−∞``. Finite for every finite ``z``; exact unless it is below about
    ``−max/2`` (a class trailing by more than ``max / (2 max(γ, 1))``), where it saturates.
    """
    return log_softmax(_posterior_scores(z, gamma, epsilon, alpha, xp), xp)


def make_focal_row(class_term: Any, entry_terms: Any, combine_hessian: Any) -> Any:
    """:func:`focal_row` with the given callees: the numba kernel passes their compiled forms (a
    jitted function can call only jitted functions), the module passes the plain ones below."""

    def focal_row(
        z: Any,
        c: int,
        gamma: float,
        epsilon: float,
        zero_eps: bool,
        exact: bool,
        scale: float,
        e: Any,
        grad: Any,
        hess: Any,
        derivatives: bool,
    ) -> float:
        """One sample of :func:`softmax_focal`, with plain floats (the scalar form of :func:`softmax_parts`).

        Parameters
        ----------
        z : sequence of float, length K
            The sample's finite raw scores, as Python floats or a float64 array row (the numba
            kernel copies each row to float64 first).
        c : int
            Its class, in ``[0, K)``.
        gamma, epsilon : float
        zero_eps : bool
            ``binary.zero_epsilon(epsilon, binary.FLOAT64_SMALLEST_SUBNORMAL)``, computed once by the caller.
        exact : bool
            The exact Hessian (True) or the ``"positive"`` policy (False).
        scale : float
            Multiplies every output (the class weight times the sample weight).
        e : mutable sequence of float, length K
            Scratch space.
        grad, hess : mutable sequences of float, length K
            Written with ``scale · ∂L/∂z_j`` and ``scale · ∂²L/∂z_j²`` when ``derivatives`` is True.
        derivatives : bool

        Returns
        -------
        float
            ``scale · L``.

        Notes
        -----
        Step for step :func:`softmax_parts` (first argmax, ``e = exp(z − max z)``, ``O`` the sum
        without the maximum, ``log p_c = (z_c − max z) − log1p(O)``, ``1 − p_j`` as ``O / Z`` at the
        maximum, ``s`` summed over the other classes, ``ρ`` by division or, for ``ε = 0``, as a
        softmax over the other classes), then :func:`class_term` and :func:`entry_terms`.
        """
        k_classes = len(z)
        m = z[0]
        k = 0
        for j in range(1, k_classes):
            if z[j] > m:
                m = z[j]
                k = j
        o_k = 0.0
        s_sum = 0.0
        for j in range(k_classes):
            e[j] = math.exp(z[j] - m)
            if j != k:
                o_k += e[j]
            if j != c:
                s_sum += e[j]
        big_z = 1.0 + o_k
        p_c = e[c] / big_z
        s = s_sum / big_z
        log_p_c = (z[c] - m) - math.log1p(o_k)
        f, g, w, r, a = class_term(p_c, s, log_p_c, gamma, epsilon)
        if not derivatives:
            return scale * f
        m_o = -math.inf
        sum_o = 0.0
        if zero_eps:  # ρ as a softmax over the classes j ≠ c, shifted by their own maximum
            for j in range(k_classes):
                if j != c and z[j] > m_o:
                    m_o = z[j]
            for j in range(k_classes):
                if j != c:
                    sum_o += math.exp(min(z[j] - m_o, 0.0))
        for j in range(k_classes):
            p_j = e[j] / big_z
            q_j = o_k / big_z if j == k else 1.0 - p_j  # no cancellation: p_j ≤ 1/2 off the maximum
            if not zero_eps:
                rho = (s if j == c else -p_j) / (s + epsilon)
            elif j == c:
                rho = 1.0
            else:
                rho = -(math.exp(min(z[j] - m_o, 0.0)) / sum_o)
            pq_over_r = p_j * rho if j == c else -(q_j * rho)
            gj, h_base, h_turn = entry_terms(rho, p_j * q_j, pq_over_r, p_c, g, w, r, a, gamma)
            grad[j] = scale * gj
            hess[j] = scale * combine_hessian(h_base, h_turn, exact)
        return scale * f

    return focal_row


focal_row = make_focal_row(class_term, entry_terms, combine_hessian)
