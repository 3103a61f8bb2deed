"""Train many runs of one architecture at once, as a batched ensemble.

The members' parameters, batch-norm buffers and momentum buffers are stacked along a leading
member axis (``torch.func.stack_module_state``) and the forward pass is ``torch.func.vmap`` of
``torch.func.functional_call``: convolutions become grouped convolutions and linear layers
batched matrix products, so one kernel launch serves every member. Autograd differentiates the
sum of the members' losses; the members share no parameter, so each member's gradient is the
gradient of its own loss.

Each member keeps its own loss kind, γ, α, ε, threshold labels and noise level, and its own
fate: the step of its first non-finite loss marks it dead, it gets no update from then on, and
at the end of that epoch its result is handed to ``on_finish`` and it is dropped from the
stack. The stream of mini-batches, the weight initialisation and the noise streams are those of
:func:`focalboost.experiments._train.train_run`, so a member reproduces the run done alone up
to floating-point reassociation.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.func import functional_call, stack_module_state, vmap

from ._data import MnistData
from ._losses import get_loss, vectorizable
from ._runs import RunConfig, RunResult
from ._train import EVAL_BATCH, Progress, batches, build_model, correct, noise_generator, torch_dtype


def _check_group(configs: Sequence[RunConfig]) -> None:
    if not configs:
        raise ValueError("configs must hold at least one run")
    keys = {c.group_key() for c in configs}
    if len(keys) != 1:
        raise ValueError(f"an ensemble needs runs that differ only in loss, gamma, alpha, epsilon, threshold and "
                         f"noise; got {len(keys)} groups of other settings")


class _Members:
    """Per-member settings as tensors on the device, and the loss groups."""

    def __init__(self, configs: Sequence[RunConfig], device: Any, dtype: torch.dtype) -> None:
        self.configs = list(configs)
        self.levels = sorted({c.noise for c in configs if c.noise > 0})
        self.level_index = torch.tensor([self.levels.index(c.noise) + 1 if c.noise else 0 for c in configs],
                                        device=device)
        self.noise = torch.tensor([c.noise for c in configs], device=device, dtype=dtype)
        self.threshold = torch.tensor([c.threshold if c.threshold is not None else -1 for c in configs], device=device)
        # Members whose loss can be computed in one vectorized call: same kind, ε and "α is None";
        # the focalboost module takes scalar γ and α, so it groups by those too.
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, c in enumerate(configs):
            key: tuple[Any, ...] = (c.loss, c.epsilon, c.alpha is None)
            if not vectorizable(c.loss):
                key += (c.gamma, c.alpha)
            groups.setdefault(key, []).append(i)
        self.groups = []
        for key, idx in groups.items():
            members = [configs[i] for i in idx]
            if vectorizable(key[0]):
                gamma: Any = torch.tensor([c.gamma for c in members], device=device, dtype=dtype)
                alpha: Any = None if key[2] else torch.tensor([c.alpha for c in members], device=device, dtype=dtype)
            else:
                gamma, alpha = members[0].gamma, members[0].alpha
            self.groups.append((get_loss(key[0]), torch.tensor(idx, device=device), gamma, alpha, key[1]))
        order = torch.cat([g[1] for g in self.groups])
        self.inverse = torch.empty_like(order)
        self.inverse[order] = torch.arange(len(order), device=device)

    def losses(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean loss of each member, shape ``(M,)``, from logits and labels of shape ``(M, B, ...)``."""
        parts = []
        for fn, idx, gamma, alpha, eps in self.groups:
            lg, yg = logits[idx], y[idx]
            shape = (-1,) + (1,) * (lg.dim() - 1)
            g = gamma.view(shape) if isinstance(gamma, torch.Tensor) else gamma
            a = alpha.view(shape) if isinstance(alpha, torch.Tensor) else alpha
            parts.append(fn(lg, yg, gamma=g, alpha=a, epsilon=eps).flatten(1).mean(1))
        return torch.cat(parts)[self.inverse]

    def images(self, x: torch.Tensor, u: list[torch.Tensor]) -> torch.Tensor:
        """Each member's noisy copy of the batch ``x``: shape ``(M, *x.shape)``."""
        if not self.levels:
            return x.expand(len(self.configs), *x.shape)
        stack = torch.stack([torch.zeros_like(x)] + u)[self.level_index]
        shape = (-1,) + (1,) * x.dim()
        return (x + self.noise.view(shape) * stack).clamp_(0, 1)

    def labels(self, digits: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        if self.configs[0].task == "classification":
            return (digits[None, :] <= self.threshold[:, None]).to(clean.dtype)
        return (clean > 0.5).to(clean.dtype).expand(len(self.configs), *clean.shape)


def train_ensemble(
    configs: Sequence[RunConfig],
    data: MnistData,
    *,
    on_finish: Callable[[RunResult], None] | None = None,
    progress: Progress | None = None,
) -> list[RunResult]:
    """Train ``configs`` together as one batched ensemble.

    Parameters
    ----------
    configs : sequence of RunConfig
        Runs that share every setting of :meth:`RunConfig.group_key` (architecture, epochs,
        learning rate, batch size, seed, data, dtype).
    data : MnistData
        On the training device, in the runs' dtype.
    on_finish : callable, optional
        Called with each member's :class:`RunResult` as soon as it finishes (at the end of the
        epoch of its first NaN, or after the last epoch).
    progress : callable, optional
        Called with numbers of run-epochs done; they add up to ``sum(c.epochs for c in configs)``.

    Returns
    -------
    list of RunResult, in the order of ``configs``.
    """
    _check_group(configs)
    start = time.perf_counter()
    cfg0 = configs[0]
    device, dtype = data.train_images.device, torch_dtype(cfg0.dtype)
    base = build_model(cfg0).to(device=device, dtype=dtype)
    params, buffers = stack_module_state([base] + [copy.deepcopy(base) for _ in configs[1:]])
    params = {k: v.detach().requires_grad_() for k, v in params.items()}
    momentum: dict[str, torch.Tensor] = {}
    fwd = vmap(lambda p, b, x: functional_call(base, (p, b), (x,)))
    results = [RunResult(c) for c in configs]
    live = list(range(len(configs)))  # positions in `configs` of the members still in the stack
    members = _Members(configs, device, dtype)
    # One stream per noise level, kept by level: when every member of a level has left the stack
    # the others must go on drawing from their own streams.
    gens = {lv: noise_generator(device, cfg0.seed, lv, "train") for lv in members.levels}
    x_all, digits = data.train_images, data.train_digits
    test = _test_set(members, data)
    for epoch, steps in batches(len(x_all), cfg0.batch_size, cfg0.epochs, cfg0.seed, device):
        base.train()
        m = len(live)
        alive = torch.ones(m, dtype=torch.bool, device=device)
        total = torch.zeros(m, dtype=torch.float64, device=device)
        for idx in steps:
            x = x_all[idx]
            u = [torch.rand(x.shape, generator=gens[lv], device=device, dtype=dtype) for lv in members.levels]
            logits = fwd(params, buffers, members.images(x, u))
            loss = members.losses(logits, members.labels(digits[idx], x))
            alive &= torch.isfinite(loss)
            torch.where(alive, loss, torch.zeros_like(loss)).sum().backward()
            with torch.no_grad():
                total += torch.where(alive, loss.detach(), torch.zeros_like(loss)).to(torch.float64)
                _sgd_step(params, momentum, alive, cfg0.lr, cfg0.momentum)
        accs = _evaluate(fwd, base, params, buffers, members, test)
        alive_l, total_l, accs_l = alive.tolist(), total.tolist(), accs.tolist()
        keep = []
        for j, i in enumerate(live):
            if alive_l[j]:
                results[i].epoch_losses.append(total_l[j] / len(steps))
                results[i].epoch_accuracies.append(accs_l[j])
                if epoch < cfg0.epochs:
                    keep.append(j)
                    continue
            else:
                results[i].nan_epoch = epoch
            results[i].seconds = time.perf_counter() - start
            if on_finish:
                on_finish(results[i])
        if progress:
            progress(sum(1 if a else cfg0.epochs - epoch + 1 for a in alive_l))
        if len(keep) < m:
            if not keep:
                break
            sel = torch.tensor(keep, device=device)
            live = [live[j] for j in keep]
            params = {k: v.detach()[sel].requires_grad_() for k, v in params.items()}
            buffers = {k: v[sel] for k, v in buffers.items()}
            momentum = {k: v[sel] for k, v in momentum.items()}
            members = _Members([configs[i] for i in live], device, dtype)
            test = _test_set(members, data)
    return results


def _sgd_step(params: dict[str, torch.Tensor], momentum: dict[str, torch.Tensor], alive: torch.Tensor,
              lr: float, mu: float) -> None:
    """``torch.optim.SGD`` (momentum ``mu``, no dampening) on every live member; dead ones keep
    their parameters."""
    for k, p in params.items():
        g = p.grad
        assert g is not None
        buf = momentum.get(k)
        if buf is None:
            buf = momentum[k] = g.clone()
        else:
            buf.mul_(mu).add_(g)
        mask = alive.view((-1,) + (1,) * (p.dim() - 1))
        p.copy_(torch.where(mask, p - lr * buf, p))
        p.grad = None


def _test_set(members: _Members, data: MnistData) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
    """Clean test images, one fixed noise draw per level, and the members' test labels."""
    device, dtype = data.test_images.device, data.test_images.dtype
    seed = members.configs[0].seed
    u = [torch.rand(data.test_images.shape, generator=noise_generator(device, seed, lv, "test"), device=device,
                    dtype=dtype) for lv in members.levels]
    return data.test_images, u, members.labels(data.test_digits, data.test_images)


@torch.no_grad()
def _evaluate(fwd: Any, base: torch.nn.Module, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor],
              members: _Members, test: tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Test accuracy of every member, shape ``(M,)``."""
    base.eval()
    x, u, y = test
    hits = torch.zeros(len(members.configs), dtype=torch.float64, device=x.device)
    # The training batch size bounds the activations of the whole ensemble (what the chunking
    # of a study measured); eval mode makes the result independent of the slicing.
    step = min(EVAL_BATCH, members.configs[0].batch_size)
    for s in range(0, len(x), step):
        sl = slice(s, s + step)
        logits = fwd(params, buffers, members.images(x[sl], [ui[sl] for ui in u]))
        hits += correct(logits, y[:, sl]).flatten(1).sum(1)
    return hits / y[0].numel()
