"""MNIST U-Net segmentation: the paper's Figure 6
==============================================

A U-Net segmenting MNIST digits, trained with the original and with the stabilized focal loss.

Masks are the pixels > 0.5 of the clean image; noise is added to the input after the masks are
made. The 2D U-Net of the paper's appendix A.6 (base width 64, 64→1024 channels) is trained with
γ = α = 0.5 and each run stops at its first NaN loss; the figure shows the per-epoch loss with a
cross at the NaN epoch. Re-running with the same ``--out`` resumes.

Quick preset on a CPU (a U-Net of base width 8 on 512 images, lr 0.5, batch 16; minutes)::

    python examples/mnist_segmentation.py --preset quick --device cpu --out runs/segmentation-cpu

The paper's setting (width 64, lr 1e-3, up to 1000 epochs; on a GPU)::

    python examples/mnist_segmentation.py --preset paper --out runs/segmentation-paper
"""

from focalboost.experiments._cli import main

if __name__ == "__main__":
    main("segmentation")
