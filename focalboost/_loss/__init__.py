r"""The public loss objects: parameters validated once, weights, Hessian policy, init score.

:class:`FocalLoss` (binary, one raw score per sample) and :class:`MulticlassFocalLoss` (softmax,
one raw score per class) share one contract, :class:`BaseFocalLoss`: the same methods with the
same meaning and argument names (``y_true``, ``raw_prediction``, ``sample_weight``), after
scikit-learn's loss module. The formulas live in :mod:`focalboost._math`.
"""

from ._base import BaseFocalLoss
from ._binary import FocalLoss
from ._multiclass import MulticlassFocalLoss

__all__ = ["BaseFocalLoss", "FocalLoss", "MulticlassFocalLoss"]
