"""The stand-in feature networks of the smoke scale and the tests (deterministic, random, tiny).

``StandInFeatures`` stands in for the Inception features clean-fid extracts (FID, KID); ``StandInInception`` has the
TorchScript Inception's call signature (``ganrepro.metrics.inception``) and serves IS and the detector checks. Both live here,
below ``ganrepro.metrics.images`` and ``ganrepro.metrics.inception``, so that neither of those imports the other for them. Numbers
made with them are labelled "smoke features: not comparable".
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class StandInFeatures(nn.Module):
    """Deterministic stand-in for Inception: fixed random conv layers + global pooling -> 32-d features.

    Takes what clean-fid's feature extractors take: float images (B, 3, H, W) with values in [0, 255].
    """

    dim = 32

    def __init__(self, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.convs = nn.ModuleList([nn.Conv2d(3, 16, 5, 4, 2), nn.Conv2d(16, 32, 3, 2, 1), nn.Conv2d(32, 32, 3, 2, 1)])
        for c in self.convs:
            with torch.no_grad():
                c.weight.copy_(torch.randn(c.weight.shape, generator=g) / (c.weight[0].numel() ** 0.5))
                c.bias.zero_()
        self.requires_grad_(False)

    def forward(self, x):
        x = x / 127.5 - 1.0
        for c in self.convs:
            x = torch.tanh(c(x))
        return x.mean(dim=(2, 3))


class StandInInception(nn.Module):
    """Deterministic stand-in with the TorchScript Inception's call signature, for tests and the smoke scale.

    ``forward(img, return_features=False, use_fp16=False, no_output_bias=False)``: images (B, 3, H, W) in [0, 255]
    of any size, resized inside (bilinear, as the real one does to 299) to 32x32; ``return_features`` -> (B, 32)
    features of fixed random convolutions; otherwise a softmax over ``n_classes`` of a fixed random linear layer
    (with its bias unless ``no_output_bias``). Numbers made with it are labelled not comparable.
    """

    def __init__(self, seed: int = 0, n_classes: int = 10, dim: int = 32):
        super().__init__()
        self.trunk = StandInFeatures(seed)
        g = torch.Generator().manual_seed(seed + 1)
        self.fc = nn.Linear(dim, n_classes)
        with torch.no_grad():
            self.fc.weight.copy_(torch.randn(self.fc.weight.shape, generator=g) * 4)
            self.fc.bias.copy_(torch.randn(n_classes, generator=g))
        self.requires_grad_(False)

    def forward(self, img, return_features: bool = False, use_fp16: bool = False, no_output_bias: bool = False):
        x = F.interpolate(img.float(), size=(32, 32), mode="bilinear", align_corners=False)
        feats = self.trunk(x)
        if return_features:
            return feats
        logits = feats @ self.fc.weight.t()
        if not no_output_bias:
            logits = logits + self.fc.bias
        return torch.softmax(logits, dim=1)


class InceptionSized(nn.Module):
    """Inception-v3 of the real detector's architecture (torchvision's, random weights) behind the TorchScript
    detector's interface: ``layers`` maps 299 x 299 inputs to 2048 pool features (clean-fid's ``clean`` mode calls
    it), ``forward`` resizes to 299 inside and gives 1008 softmax probabilities (IS) or, with ``return_features``,
    the 2048 pool features (``legacy_tensorflow`` mode). Same work per image as the real file, not the same numbers:
    for timing only (``benchmarks/curve_share.py``, the GPU check), where the weights file is absent."""

    def __init__(self):
        super().__init__()
        from torchvision.models import inception_v3

        net = inception_v3(weights=None, aux_logits=False, init_weights=False)
        net.fc = nn.Identity()
        self.layers = net.eval().requires_grad_(False)
        self.fc = nn.Linear(2048, 1008).requires_grad_(False)

    def forward(self, img, return_features: bool = False, use_fp16: bool = False, no_output_bias: bool = False):
        x = F.interpolate(img.float(), size=(299, 299), mode="bilinear", align_corners=False)
        f = self.layers((x - 128) / 128)
        return f if return_features else torch.softmax(self.fc(f), dim=1)
