"""The paper's networks, written from its appendix (no torchvision).

* :class:`MnistCNN` (appendix A.4): conv 1→6 5×5, max-pool 2, conv 6→16 5×5, max-pool 2,
  linear 256→120→84→1, ReLU in between; one logit per image.
* :class:`UNet` (appendix A.6): a 2D U-Net with double 3×3 conv + batch norm + ReLU blocks,
  channels ``w, 2w, 4w, 8w, 16w`` (``w = 64`` in the paper: 64→1024), max-pool down path,
  transposed-conv up path with skip connections and a 1×1 output conv; one logit per pixel.
  Four 2× poolings need a side divisible by 16, so 28×28 input is zero-padded to 32×32 and the
  output cropped back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MnistCNN(nn.Module):
    """The classification CNN of the paper's appendix A.4 (43,661 parameters).

    Input: Tensor of shape (batch, 1, 28, 28). Output: logits of shape (batch,).
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x).squeeze(-1)


class _DoubleConv(nn.Sequential):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),  # bias is redundant before batch norm
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=False),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=False),
        )


class _Up(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(c_in, c_in // 2, 2, stride=2)
        self.conv = _DoubleConv(c_in, c_out)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class UNet(nn.Module):
    """The segmentation U-Net of the paper's appendix A.6.

    Parameters
    ----------
    width : int, default=64
        Channels of the first block; the paper's network has 64 (64→1024). The quick CPU preset
        uses 16.

    Input: Tensor of shape (batch, 1, H, W). Output: per-pixel logits of shape (batch, 1, H, W).
    """

    depth = 4

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive int, got {width!r}")
        self.width = width
        chans = [width * 2**i for i in range(self.depth + 1)]
        self.inc = _DoubleConv(1, chans[0])
        self.downs = nn.ModuleList(_DoubleConv(chans[i], chans[i + 1]) for i in range(self.depth))
        self.ups = nn.ModuleList(_Up(chans[i + 1], chans[i]) for i in reversed(range(self.depth)))
        self.outc = nn.Conv2d(chans[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = 2**self.depth
        ph, pw = (-h) % m, (-w) % m
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(F.max_pool2d(skips[-1], 2)))
        x = skips.pop()
        for up in self.ups:
            x = up(x, skips.pop())
        x = self.outc(x)
        return x[..., ph // 2 : ph // 2 + h, pw // 2 : pw // 2 + w]
