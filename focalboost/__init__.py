"""focalboost: the stabilized focal loss, exact and finite, for gradient boosting and PyTorch.

The math core lives in :mod:`focalboost._core`; :class:`FocalLoss` is the public face. The
integrations (``focalboost.lightgbm``, ``focalboost.xgboost``, ``focalboost.catboost``,
``focalboost.torch``, ``focalboost.dask``) are imported on demand so that the core depends on
numpy alone.
"""

from ._loss import FocalLoss
from ._softmax_loss import SoftmaxFocalLoss

__all__ = ["FocalLoss", "SoftmaxFocalLoss", "__version__"]
__version__ = "0.1.0"
