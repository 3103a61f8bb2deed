"""The array functions the formulas call (``xp.exp``, ``xp.sum(..., axis=, keepdims=)``, ...) as
plain torch calls: traceable by ``torch.compile`` without graph breaks. Imported only with torch."""

from __future__ import annotations

from typing import Any

import torch


class TorchNamespace:
    """The subset of the array API the formulas use, spelled for torch."""

    exp = staticmethod(torch.exp)
    abs = staticmethod(torch.abs)
    log = staticmethod(torch.log)
    log1p = staticmethod(torch.log1p)
    finfo = staticmethod(torch.finfo)
    where = staticmethod(torch.where)
    maximum = staticmethod(torch.maximum)
    minimum = staticmethod(torch.minimum)
    zeros_like = staticmethod(torch.zeros_like)
    full_like = staticmethod(torch.full_like)
    reshape = staticmethod(torch.reshape)

    @staticmethod
    def max(x: Any, axis: int, keepdims: bool = False) -> Any:
        return torch.amax(x, dim=axis, keepdim=keepdims)

    @staticmethod
    def argmax(x: Any, axis: int) -> Any:
        return torch.argmax(x, dim=axis)

    @staticmethod
    def sum(x: Any, axis: int, keepdims: bool = False) -> Any:
        return torch.sum(x, dim=axis, keepdim=keepdims)

    @staticmethod
    def arange(k: int, device: Any = None) -> Any:
        return torch.arange(k, device=device)


XP = TorchNamespace()
