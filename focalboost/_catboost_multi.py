"""CatBoost's multiclass Python objective.

CatBoost calls ``calc_ders_multi(approx, target, weight)`` once per object, with ``approx`` the
object's ``K`` raw scores, and expects the derivatives of the **negated** loss: a gradient of
length ``K`` and a ``K × K`` Hessian (here diagonal, as in the other libraries). With one object
per call, the cost is Python call overhead, not arithmetic. Measured with
``python benchmarks/bench_hessian_policy.py --catboost-multiclass`` (2,000 objects, 4 classes,
20 iterations, 1 thread, on a 2-core machine shared with other jobs, so ratios, not times):

==============================================  =====================================
route                                           training time vs built-in ``MultiClass``
==============================================  =====================================
one row through ``SoftmaxFocalLoss``            29.8×
plain floats through the core (shipped)         14.8×
==============================================  =====================================

(The fused numba kernel called on one row was ~1.7× faster than the loss object per call but
~1.6× slower than plain floats: its dispatch costs more than K = 4 classes of arithmetic.)
The route shipped here computes the stable softmax primitives (``p_j``, ``1 − p_j``, ``1 − p_c``,
``log p_c``, ``ρ_j``) for one object with :mod:`math`, exactly as
:func:`focalboost._softmax_core.softmax_parts` does for arrays, and passes them as plain floats
through the same core formulas (:func:`~focalboost._softmax_core.class_term`,
:func:`~focalboost._softmax_core.entry_terms`); tests pin it to :class:`SoftmaxFocalLoss`,
extremes included.
"""

from __future__ import annotations

import math
from typing import Any

from ._softmax_core import class_term, entry_terms
from ._softmax_loss import SoftmaxFocalLoss

__all__ = ["SoftmaxFocalObjective", "object_derivatives"]


def object_derivatives(
    z: list[float], c: int, *, gamma: float, epsilon: float, alpha_c: float, exact: bool
) -> tuple[list[float], list[float]]:
    """Gradient and diagonal Hessian of the softmax focal loss of one object (plain floats).

    Parameters
    ----------
    z : list of float, length K
        The object's raw scores (finite).
    c : int
        Its class.
    gamma, epsilon : float
    alpha_c : float
        The weight of class ``c`` (times the sample weight).
    exact : bool
        The exact Hessian (True) or the ``"positive"`` policy (False).

    Returns
    -------
    grad, hess : list of float, length K
    """
    k = len(z)
    i_max = max(range(k), key=z.__getitem__)  # the first maximum, as numpy's argmax
    m = z[i_max]
    e = [math.exp(v - m) for v in z]
    o = math.fsum(e[j] for j in range(k) if j != i_max)  # Z = 1 + o, log Z = log1p(o)
    big_z = 1.0 + o
    p = [v / big_z for v in e]
    q = [o / big_z if j == i_max else 1.0 - p[j] for j in range(k)]  # no cancellation: p_j ≤ 1/2
    s = math.fsum(e[j] for j in range(k) if j != c) / big_z
    p_c = p[c]
    log_p_c = (z[c] - m) - math.log1p(o)
    if epsilon > 0.5 * 2.2250738585072014e-308 * 2.220446049250313e-16:
        rho = [(s if j == c else -p[j]) / (s + epsilon) for j in range(k)]
    else:  # ε = 0: a softmax over the other classes, exact when s underflows (see softmax_parts)
        m_o = max(z[j] for j in range(k) if j != c)
        e_o = [0.0 if j == c else math.exp(min(z[j] - m_o, 0.0)) for j in range(k)]
        total = math.fsum(e_o)
        rho = [1.0 if j == c else -(e_o[j] / total) for j in range(k)]
    _, g, w, r, a = class_term(p_c, s, log_p_c, gamma, epsilon)
    grad, hess = [0.0] * k, [0.0] * k
    for j in range(k):
        pq_over_r = p[j] * rho[j] if j == c else -(q[j] * rho[j])
        gj, h_base, h_turn = entry_terms(rho[j], p[j] * q[j], pq_over_r, p_c, g, w, r, a, gamma)
        grad[j] = alpha_c * gj
        hess[j] = alpha_c * (h_base + (h_turn if exact else max(h_turn, 0.0)))
    return grad, hess


class SoftmaxFocalObjective:
    """CatBoost ``loss_function`` object for the softmax focal loss (``calc_ders_multi``).

    Create it with :func:`focalboost.catboost.softmax_focal_objective`; CatBoost needs
    ``classes_count`` (the estimator sets it).
    """

    no_jit = True

    def __init__(self, loss: SoftmaxFocalLoss) -> None:
        self.loss = loss
        self._alpha = None if loss.alpha is None else [float(a) for a in loss.alpha]
        self._exact = loss.hessian == "exact"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r})"

    def calc_ders_multi(self, approx: Any, target: Any, weight: Any) -> tuple[list[float], list[list[float]]]:
        c = int(target)
        scale = (1.0 if self._alpha is None else self._alpha[c]) * (1.0 if weight is None else float(weight))
        grad, hess = object_derivatives(
            [float(v) for v in approx],
            c,
            gamma=self.loss.gamma,
            epsilon=self.loss.epsilon,
            alpha_c=scale,
            exact=self._exact,
        )
        k = len(grad)
        # CatBoost's sign convention: derivatives of the negated loss; the Hessian as a K × K matrix
        return [-v for v in grad], [[-hess[i] if i == j else 0.0 for j in range(k)] for i in range(k)]
