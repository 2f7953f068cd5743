"""Floating-point operations of a piece of PyTorch work, counted with PyTorch's own formulas.

``count_flops(fn)`` runs ``fn()`` once under a dispatch mode that adds ``torch.utils.flop_counter.flop_registry``'s
formula for every operator it knows (convolutions, matrix products, attention; forward and backward, each multiply-add
counted as 2). It is ``FlopCounterMode`` without its module tracker, whose hooks refuse ``torch.autograd.grad``
(the gradient penalty's and BRC's double backward). Element-wise work (activations, normalisation, Adam) is not
counted: the figure is the tensor-core work, which is what a chip's stated peak is for.
"""
from __future__ import annotations


def count_flops(fn) -> int:
    """FLOPs of one call of ``fn()`` (which is executed for real, on whatever device its tensors live)."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    class Count(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            formula = flop_registry.get(func._overloadpacket)
            if formula is not None:
                Count.total += int(formula(*args, **kwargs, out_val=out))
            return out

    with Count():
        fn()
    return Count.total
