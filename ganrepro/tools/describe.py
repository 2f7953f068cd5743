"""``python -m ganrepro describe EXPERIMENT METHOD VARIANT``: the networks one run builds, layer by layer.

Resolves the run exactly as ``train`` does (``ganrepro.config.config.resolve_run``, so scale, experiment and per-method
overrides apply), builds ``registry.get(method).build(run_cfg["method_params"])`` under ``torch.manual_seed(seed)``
and lists G's and D's layers (``ganrepro.methods.nn.nets.layer_lines``: unit index, module name, layer type, channels,
kernel/stride/padding, output side at the run's resolution, spectral norm, norm, activation) and parameter counts.
"""
from __future__ import annotations

from ganrepro.config import config as C
from ganrepro.methods import registry


def describe_networks(G, D) -> list[str]:
    from ganrepro.methods.nn.nets import layer_lines, param_count

    lines = []
    for label, net in (("G", G), ("D", D)):
        out = getattr(net, "output_shape", None)
        lines.append(f"{label}: {type(net).__name__}, {param_count(net):,} parameters"
                     + (f", output {out}" if out else ""))
        lines += ["  " + line for line in layer_lines(net)]
    return lines


def describe_run(run_cfg: dict) -> list[str]:
    import torch

    torch.manual_seed(run_cfg.get("seed", 0))
    G, D = registry.get(run_cfg["method"]).build(run_cfg["method_params"])
    p = run_cfg["method_params"]
    head = [f"run {run_cfg['run_id']} (scale {run_cfg['scale']}, resolution {run_cfg['resolution']})",
            "method params: " + ", ".join(f"{k}={p[k]!r}" for k in sorted(p))]
    return head + describe_networks(G, D)


def describe(cfg: dict, experiment: str, method: str, variant: str, seed: int = 0) -> str:
    return "\n".join(describe_run(C.resolve_run(cfg, experiment, method, variant, seed)))
