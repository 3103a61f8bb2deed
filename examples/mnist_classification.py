"""MNIST CNN stability grid: the paper's Figure 4
==============================================

When does the original focal loss hit NaN on MNIST, and does ε fix it?

MNIST is relabelled binary (digits <= TH are class 1) and the CNN of the paper's appendix A.4 is
trained with the original focal loss (torchvision's formula through autograd) and the stabilized
one (ε = 1e-3) over a grid of γ × threshold × noise level. Each run stops at its first NaN loss.
The runs of the grid are trained together as batched ensembles (``--runner sequential`` turns it off);
``OUT/results.csv`` gets a row the moment a run ends, and re-running with the same ``--out``
skips finished runs. Figures: ``OUT/figure4_stability.png`` and ``OUT/loss_curves.png``.

Quick check on a CPU (minutes)::

    python examples/mnist_classification.py --losses original,stabilized --gammas 0.1,0.5,2 \\
        --thresholds 8 --noise 0 --epochs 15 --lr 0.05 --device cpu --out runs/classification-cpu

The paper's grid (810 runs, 100 epochs; on a GPU)::

    python examples/mnist_classification.py --preset paper --out runs/classification-paper
"""

from focalboost.experiments._cli import main

if __name__ == "__main__":
    main("classification")
