"""Floating-point operations of a piece of PyTorch work, counted with PyTorch's own formulas, and the chips' peaks.

``count_flops(fn)`` runs ``fn()`` once under a dispatch mode that adds ``torch.utils.flop_counter.flop_registry``'s
formula for every operator it knows (convolutions, matrix products, attention; forward and backward, each multiply-add
counted as 2). It is ``FlopCounterMode`` without its module tracker, whose hooks refuse ``torch.autograd.grad``
(the gradient penalty's and BRC's double backward). Element-wise work (activations, normalisation, Adam) is not
counted: the figure is the tensor-core work, which is what a chip's stated peak is for.

On the ``meta`` device nothing is computed or allocated, so a 512 px step is counted in about a second on a CPU. The
two things a meta tensor cannot do are answered by the mode instead: a value read on the host (``.item()``, ``bool``
of a tensor: a method's branch or count) reads 1, and a copy to a real device (WGAN-QC's host-side transport solve)
is a zero tensor of that shape. The FLOPs of a step do not depend on the values (a branch that did would be counted
on the branch 1 selects: GL-GAN's Ada-OP selects among masks of one size, ``bench_state`` puts it on the local one).

``PEAKS``: the chips' stated dense peaks, one table, each figure with its datasheet.
"""
from __future__ import annotations

# Stated dense peaks in TFLOP/s (vendor datasheets; sparsity figures halved away), matched by a substring of the
# device name, longest first: ``tensor16`` is the 16-bit tensor-core peak (bf16, or fp16 where the chip has no bf16;
# None: no tensor cores), ``fp32`` the plain (non-tensor) fp32 peak. The floor of a run is its FLOPs at the larger.
PEAKS = {
    "H200": {"tensor16": 989.0, "fp32": 67.0, "source": "NVIDIA H200 Tensor Core GPU datasheet (SXM): BF16 1,979 "
                                                        "TFLOPS with sparsity, 989 dense; FP32 67"},
    "H100": {"tensor16": 989.0, "fp32": 67.0, "source": "NVIDIA H100 Tensor Core GPU datasheet (SXM): BF16 1,979 "
                                                        "with sparsity, 989 dense; FP32 67"},
    "A100": {"tensor16": 312.0, "fp32": 19.5, "source": "NVIDIA A100 Tensor Core GPU datasheet (SXM): BF16 312 "
                                                        "dense; FP32 19.5"},
    "V100": {"tensor16": 125.0, "fp32": 15.7, "source": "NVIDIA Tesla V100 GPU datasheet (SXM2): FP16 tensor 125; "
                                                        "FP32 15.7 (no bf16)"},
    "TITAN Xp": {"tensor16": None, "fp32": 12.1, "source": "NVIDIA TITAN Xp product page (Pascal GP102, 3840 cores "
                                                           "at 1582 MHz boost): 12.1 TFLOPS FP32; no tensor cores"},
}


def peaks_of(name: str) -> dict | None:
    """The stated peaks of the GPU whose name contains a key of ``PEAKS`` (None: unknown, e.g. a CPU)."""
    for key in sorted(PEAKS, key=len, reverse=True):
        if key.lower() in (name or "").lower():
            return {"model": key, **PEAKS[key]}
    return None


def peak_tflops(name: str) -> float | None:
    """The highest stated dense rate of the GPU (its 16-bit tensor peak, else fp32): the physical floor's rate."""
    p = peaks_of(name)
    return None if p is None else max(x for x in (p["tensor16"], p["fp32"]) if x)


def count_flops(fn) -> int:
    """FLOPs of one call of ``fn()`` (executed for real on whatever device its tensors live; on ``meta``, shapes
    only)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    aten = torch.ops.aten

    def meta(x) -> bool:
        return isinstance(x, torch.Tensor) and x.device.type == "meta"

    class Count(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func is aten._local_scalar_dense.default and meta(args[0]):
                return True if args[0].dtype == torch.bool else 1.0 if args[0].dtype.is_floating_point else 1
            if func is aten._to_copy.default and meta(args[0]) and kwargs.get("device") is not None \
                    and torch.device(kwargs["device"]).type != "meta":
                return torch.zeros(args[0].shape, dtype=kwargs.get("dtype") or args[0].dtype, device=kwargs["device"])
            out = func(*args, **kwargs)
            formula = flop_registry.get(func._overloadpacket)
            if formula is not None:
                Count.total += int(formula(*args, **kwargs, out_val=out))
            return out

    with Count():
        fn()
    return Count.total
