"""The formulas of the (stabilized) focal loss, and how they run.

:mod:`.binary` and :mod:`.softmax` hold every formula, elementwise and array-library generic;
:mod:`.init_score` the optimal constant start; :mod:`.kernels` the numba kernels compiled from
those formulas; :mod:`.dispatch` the one place that chooses between the kernels, ``torch.compile``
and the plain array code. Nothing here knows a machine-learning library.
"""
