"""BRC's toy data: mixtures of Gaussians sampled on the fly (brc.txt Sec. 3.1).

"In the 2D case, we create 2D Ring MOG distribution with 5 or 8 2D Gaussian functions ... In the 3D scene, we conduct
this experiment with 27 3D Gaussian functions in a cube ... The variance of each Gaussian distribution is set to 0.02."

The paper gives neither the ring radius nor the cube spacing. Choices (recorded in the table specs' notes): the ring
has radius 2 with its first mode on the positive x axis (the layout of Metz et al.'s UnrolledGAN ring); the cube is the
3x3x3 grid {-2, 0, 2}^3. Every mode has weight 1/K and isotropic covariance ``variance * I``.
"""
from __future__ import annotations

import math

import numpy as np
import torch

RING_RADIUS = 2.0
CUBE_SPACING = 2.0


def centres(spec: dict) -> np.ndarray:
    """Mode centres (K, dim) of a ``{layout, modes, dim, variance}`` spec (config ``datasets.*.mog``)."""
    k, dim = int(spec["modes"]), int(spec["dim"])
    if spec["layout"] == "ring":
        if dim != 2:
            raise ValueError("a ring mixture is 2-D")
        angles = 2 * math.pi * np.arange(k) / k
        return RING_RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    if spec["layout"] == "cube":
        side = round(k ** (1 / dim))
        if side ** dim != k:
            raise ValueError(f"a cube mixture needs modes = side^dim, got {k} modes in {dim}-D")
        axis = (np.arange(side) - (side - 1) / 2) * CUBE_SPACING
        grid = np.meshgrid(*([axis] * dim), indexing="ij")
        return np.stack([g.ravel() for g in grid], axis=1)
    raise ValueError(f"unknown MoG layout {spec['layout']!r}")


def moments(spec: dict) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and covariance of the mixture (the FID reference statistics: no sampling noise)."""
    c = centres(spec)
    mu = c.mean(axis=0)
    d = c - mu
    cov = d.T @ d / len(c) + float(spec["variance"]) * np.eye(c.shape[1])
    return mu, cov


def sample(spec: dict, n: int, generator: torch.Generator) -> torch.Tensor:
    """n samples (n, dim), float32: a uniformly chosen mode plus N(0, variance I) noise."""
    c = torch.as_tensor(centres(spec), dtype=torch.float32)
    idx = torch.randint(len(c), (n,), generator=generator)
    noise = torch.randn(n, c.shape[1], generator=generator) * math.sqrt(float(spec["variance"]))
    return c[idx] + noise


class MoGSampler:
    """Endless real batches from the mixture; its state (the RNG) is checkpointed like the image BatchSampler's."""

    def __init__(self, spec: dict, batch_size: int, seed: int):
        self.spec, self.batch_size = spec, int(batch_size)
        self.gen = torch.Generator().manual_seed(int(seed) + 7)

    def next(self) -> torch.Tensor:
        return sample(self.spec, self.batch_size, self.gen)

    def state_dict(self) -> dict:
        return {"rng": self.gen.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.gen.set_state(state["rng"])
