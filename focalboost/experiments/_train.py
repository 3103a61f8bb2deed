"""The sequential training loop: one run, one ``nn.Module``, ``torch.optim.SGD``.

The pieces both runners share live here too, so that a run gives the same numbers whether it
is trained alone or as a member of a batched ensemble (:mod:`._ensemble`):

* the weights are initialised from ``torch.manual_seed(seed)``: every run of a study starts from
  the same network;
* the mini-batch order comes from a CPU generator seeded with ``seed`` (one permutation per epoch);
* the noise of the training images comes from a generator on the training device seeded with
  ``(seed, noise level)`` and is drawn once per mini-batch, ``U[0, 1)`` of the batch's shape;
  the test images get one fixed draw from a second stream. Runs with the same noise level thus
  see the same noise (common random numbers), which makes the comparison across losses, γ and
  thresholds paired.

A run stops at its first non-finite training loss (the paper's NaN criterion): ``nan_epoch`` is
that epoch (1-based) and only the epochs before it count as completed.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from ._data import MnistData
from ._losses import get_loss
from ._models import MnistCNN, UNet
from ._runs import RunConfig, RunResult

Progress = Callable[[int], None]
EVAL_BATCH = 500


def torch_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "float64": torch.float64}[name]


def build_model(config: RunConfig) -> nn.Module:
    """The run's network, initialised from ``torch.manual_seed(config.seed)`` (on the CPU)."""
    torch.manual_seed(config.seed)
    if config.task == "classification":
        return MnistCNN()
    assert config.width is not None  # RunConfig checks it
    return UNet(config.width)


def stream_seed(seed: int, noise: float, stream: str) -> int:
    """A 32-bit seed for the noise stream of one noise level (stable across processes)."""
    return zlib.crc32(f"{seed}|{noise!r}|{stream}".encode())


def noise_generator(device: Any, seed: int, noise: float, stream: str) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(stream_seed(seed, noise, stream))


def batches(n: int, batch_size: int, epochs: int, seed: int, device: Any) -> Iterator[tuple[int, list[torch.Tensor]]]:
    """``(epoch, [index tensor per mini-batch])`` for epochs 1…``epochs``: one random permutation
    per epoch from a CPU generator seeded with ``seed``; the last batch may be smaller."""
    g = torch.Generator().manual_seed(seed)
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(n, generator=g).to(device)
        yield epoch, list(torch.split(perm, batch_size))


def targets(config: RunConfig, digits: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Labels of one run: ``digit ≤ threshold`` (shape ``(n,)``) or the mask ``pixel > 0.5``
    of the clean image (shape ``(n, 1, 28, 28)``), in the images' dtype."""
    if config.task == "classification":
        assert config.threshold is not None  # RunConfig checks it
        return (digits <= config.threshold).to(clean.dtype)
    return (clean > 0.5).to(clean.dtype)


def correct(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Elementwise ``1.0`` where the hard decision ``logit > 0`` matches the label, else ``0.0``."""
    return ((logits > 0) == (y > 0.5)).to(torch.float64)


def test_noise(data: MnistData, config: RunConfig) -> torch.Tensor | None:
    if config.noise == 0:
        return None
    g = noise_generator(data.test_images.device, config.seed, config.noise, "test")
    u = torch.rand(data.test_images.shape, generator=g, device=data.test_images.device, dtype=data.test_images.dtype)
    return (data.test_images + config.noise * u).clamp_(0, 1)


def train_run(config: RunConfig, data: MnistData, *, progress: Progress | None = None) -> RunResult:
    """Train one run alone and return its result.

    Parameters
    ----------
    config : RunConfig
    data : MnistData
        On the training device, in ``config.dtype``.
    progress : callable, optional
        Called with the number of epochs just finished (1 per epoch; the remaining epochs at a NaN).

    Returns
    -------
    RunResult
    """
    start = time.perf_counter()
    device, dtype = data.train_images.device, torch_dtype(config.dtype)
    model = build_model(config).to(device=device, dtype=dtype)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    loss_fn = get_loss(config.loss)
    x_all = data.train_images
    y_all = targets(config, data.train_digits, x_all)
    x_test = test_noise(data, config)
    x_test = data.test_images if x_test is None else x_test
    y_test = targets(config, data.test_digits, data.test_images)
    gen = noise_generator(device, config.seed, config.noise, "train") if config.noise else None
    result = RunResult(config)
    for epoch, steps in batches(len(x_all), config.batch_size, config.epochs, config.seed, device):
        model.train()
        total = torch.zeros((), dtype=torch.float64, device=device)
        for idx in steps:
            x = x_all[idx]
            if gen is not None:
                u = torch.rand(x.shape, generator=gen, device=device, dtype=dtype)
                x = (x + config.noise * u).clamp_(0, 1)
            logits = model(x)
            loss = loss_fn(logits, y_all[idx], gamma=config.gamma, alpha=config.alpha, epsilon=config.epsilon).mean()
            if not torch.isfinite(loss):
                result.nan_epoch = epoch
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach()
        if result.nan_epoch is not None:
            if progress:
                progress(config.epochs - epoch + 1)
            break
        result.epoch_losses.append(float(total) / len(steps))
        result.epoch_accuracies.append(evaluate(model, x_test, y_test))
        if progress:
            progress(1)
    result.seconds = time.perf_counter() - start
    return result


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Test accuracy of ``model`` in eval mode (batch-norm running statistics)."""
    model.eval()
    hits = torch.zeros((), dtype=torch.float64, device=x.device)
    for xb, yb in zip(torch.split(x, EVAL_BATCH), torch.split(y, EVAL_BATCH), strict=True):
        hits += correct(model(xb), yb).sum()
    return float(hits) / y.numel()
