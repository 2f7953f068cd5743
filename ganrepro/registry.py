"""Method registry: a method is one module (in ``models/`` or ``baselines/``) plus one entry in METHOD_MODULES.

Each module defines ``METHOD = Method(...)``: the networks it builds and the losses (or update rule) that the shared
training loop (``ganrepro.train``) plugs in. Variants are named parameter sets of one method (e.g. the loss).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

# One line per method: "name": "module". Adding a method = its module + one line here + config.
METHOD_MODULES = {
    "dcgan": "baselines.dcgan",
    "wgan_gp": "baselines.wgan_gp",
    "vgan": "baselines.vgan",
    "wgan": "baselines.wgan",
    "unrolled_gan": "baselines.unrolled_gan",
    "lcgan": "baselines.lcgan",
    "proxgan": "baselines.proxgan",
    "lsgan": "baselines.lsgan",
    "sngan": "baselines.sngan",
}


@dataclass
class Method:
    """A pluggable GAN method.

    build(params) -> (G, D); d_loss(D, real, fake, params, ctx) -> (loss, stats);
    g_loss(D, fake, params, ctx) -> (loss, stats); optional after_d_step(D, params) (e.g. WGAN's weight clipping).
    The generator loss may be a surrogate whose gradient is the method's update rule (BRC). ``params`` is the resolved run config's ``method`` section
    (variant defaults updated by config overrides); ``ctx`` carries the run's random generator, device, and the
    latest real batch and latent batch (``ctx.real``, ``ctx.z``).
    """

    name: str
    paper: str
    build: Callable
    d_loss: Callable
    g_loss: Callable
    variants: dict[str, dict] = field(default_factory=dict)
    defaults: dict = field(default_factory=dict)
    after_d_step: Callable | None = None

    def params(self, variant: str, overrides: dict | None = None) -> dict:
        if variant not in self.variants:
            raise KeyError(f"method {self.name!r} has no variant {variant!r}; known: {sorted(self.variants)}")
        p = dict(self.defaults)
        p.update(self.variants[variant])
        p.update(overrides or {})
        return p


_CACHE: dict[str, Method] = {}


def registered() -> list[str]:
    return sorted(METHOD_MODULES)


def get(name: str) -> Method:
    if name not in METHOD_MODULES:
        raise KeyError(f"unknown method {name!r}; registered: {registered()}")
    if name not in _CACHE:
        _CACHE[name] = importlib.import_module(METHOD_MODULES[name]).METHOD
    return _CACHE[name]


def is_runnable(method: str, variant: str) -> bool:
    return method in METHOD_MODULES and variant in get(method).variants
