"""focalboost: the stabilized focal loss, exact and finite, for gradient boosting and PyTorch.

:class:`FocalLoss` (binary) and :class:`MulticlassFocalLoss` (softmax) evaluate the loss, its
gradient and Hessian with respect to raw predictions, the optimal constant start and class
probabilities. The integrations are modules of their own, imported on demand
(``focalboost.lightgbm``, ``focalboost.xgboost``, ``focalboost.catboost``, ``focalboost.dask``,
``focalboost.torch``, ``focalboost.experiments``), so that ``import focalboost`` needs numpy
alone. :func:`set_config` / :func:`config_context` switch the fused kernels and set their
thread count.
"""

from ._config import config_context, get_config, set_config
from ._loss import FocalLoss, MulticlassFocalLoss

__all__ = ["FocalLoss", "MulticlassFocalLoss", "__version__", "config_context", "get_config", "set_config"]
__version__ = "0.1.0"
