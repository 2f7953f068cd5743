r"""GL-GAN (Liu, Fan, Yuan, Xiang, Pattern Recognition 2021; glgan.txt Sections 3.1-3.3, Algorithm 1, Section 4.2).

**Networks** (Sec. 4.2, Fig. 3; built from ``ganrepro.methods.nn.nets``). G: a 100-d N(0, I) latent,
ConvTranspose(4, 1, 0) to 4x4, then ConvTranspose(4, 2, 1)-BatchNorm-ReLU units doubling the side, the last unit
ConvTranspose-Tanh: 7 units at 256 px, 6 at 128, 5 at 64; channels halve from 1024 at 4x4 (the authors' public code
at 128 px: 1024, 512, 256, 128, 64), i.e. ``width`` 64 with ``max_channels`` 1024. G's first layer: Sec. 4.2 prints
"(4,1,1) for the kernel size, stride, pooling"; on the 1x1 latent a ConvTranspose(4, 1, 1) gives (1 - 1)*1 - 2*1 + 4
= 2, a 2x2 map, and the 7 doubling units the paper counts at 256 px would then end at 2 * 2^6 = 128 px. The public
code's models.py (github.com/summar6/GL-GAN, ``Generator.layer1``) has ``ConvTranspose2d(inch,128*8,4,1,0)``,
commented "100--128*8*4*4": 4x4. The suite follows the code: (4, 1, 0) here is the code's layer, not the printed one.
D: Conv(4, 2, 1)-LeakyReLU(0.02) units (the code's slope; DCGAN's is 0.2) from 64 channels doubling to at most 512,
no normalisation, down to the feature matrix's side, then the paper's last layer "Convolution with (1, 3, 1, 1) for
output channel, kernel size, stride, padding": a 3x3 conv to one channel giving the h x w feature matrix, 4x4
(``patch4``) or 8x8 (``patch8``); ``base`` ends in DCGAN's Conv(4, 1, 0) on the 4x4 map (one score per image). The
Fig. 3 caption lists a LeakyReLU after that last conv; it is left out (the map is a matrix of raw scores, which the
hinge losses and the threshold rules below read). ``python -m ganrepro describe glgan_celeba128 glgan patch8`` prints
the layer list of any variant at any resolution. Channels (output side) with local-norm's spectral norm marked *:

    (G's first layer is ConvTranspose(4, 1, 0), 1x1 -> 4x4, as in the public code's models.py; Sec. 4.2's printed
    (4, 1, 1) would give 2x2)
    G 64 px:  100->512* (4x4), 256* (8), 128* (16), 64* (32), 3* Tanh (64)                     [BN-ReLU between]
    G 128 px: 100->1024* (4x4), 512* (8), 256* (16), 128* (32), 64* (64), 3* Tanh (128)
    G 256 px: 100->1024* (4x4), 1024* (8), 512* (16), 256* (32), 128* (64), 64* (128), 3* Tanh (256)
    D 64 px   base:   3->64 (32x32), 128 (16), 256* (8), 512* (4), head 1* Conv(4, 1, 0) (1x1)
              patch4: 3->64 (32x32), 128 (16), 256* (8), 512* (4), head 1* 3x3 (4x4)
              patch8: 3->64 (32x32), 128* (16), 256* (8), head 1* 3x3 (8x8)
    D 128 px  base:   3->64 (64x64), 128 (32), 256 (16), 512* (8), 512* (4), head 1* Conv(4, 1, 0) (1x1)
              patch4: 3->64 (64x64), 128 (32), 256 (16), 512* (8), 512* (4), head 1* 3x3 (4x4)
              patch8: 3->64 (64x64), 128 (32), 256* (16), 512* (8), head 1* 3x3 (8x8)
    D 256 px  base:   3->64 (128x128), 128 (64), 256 (32), 512 (16), 512* (8), 512* (4), head 1* Conv(4, 1, 0)
              patch4: 3->64 (128x128), 128 (64), 256 (32), 512 (16), 512* (8), 512* (4), head 1* 3x3 (4x4)
              patch8: 3->64 (128x128), 128 (64), 256 (32), 512* (16), 512* (8), head 1* 3x3 (8x8)

(every D Conv is (4, 2, 1) + LeakyReLU(0.02); no-norm drops every *, global-norm puts one on every layer.)

**Spectral norm** (Table 4's names; ``glgan_norm``): ``local`` (the default, "local-norm", Sec. 4.4: "executing global
and local spectrum norm to generator and discriminator respectively"): every layer of G; in D only its last layers,
as the public code does (spectral norm on the last two Conv units and on the final conv: ``last:3``); ``none``
("no-norm"); ``global`` ("global-norm": every layer of G and D).

**Losses.** D: the hinge of Eq. 3 over every element of the feature matrix, E[max(0, 1 - D(x))] + E[max(0, 1 +
D(G(z)))]. G, with y = D(G(z)) of shape (B, h, w):

* Object 2, global (Eq. 5): E[max(0, 1 - y)] (the margin hinge, as the paper and its code write it; not -E[y]);
* Object 1, local bilevel (Eq. 4): inner level m* = argmax_m sum m ⊙ (alpha - y), i.e. m*_{hw} = [y_{hw} < alpha]
  element-wise (held fixed, no gradient); outer level E[max(0, 1 - m* ⊙ y)], averaged over every element as printed:
  unmasked positions contribute the constant 1 and no gradient; masked ones the hinge's gradient. The sign of the
  inner level: the published Eq. 4 (glgan.txt) has m ⊙ (alpha - D(G(z))), which selects the positions scoring *below*
  alpha; the arXiv summary (glgan-arxiv-summary.txt) writes h* ∈ argmax_h sum h ⊙ (D(G(z)) - alpha), the opposite
  sign, which would select the positions scoring above alpha (the realistic ones). The published sign is used: it is
  the Pattern Recognition text this suite reproduces, and the prose under Eq. 4 ("when the values from the output are
  lower than the criteria, the values in mask matrix ... are 1"), Fig. 4's caption ("the element is smaller than
  alpha in feature matrix, so the value is 1") and the public code (train.py ``adv_loss_part`` keeps each image's
  lowest scores, ``kthvalue``) all agree with it.
* Ada-OP (Eqs. 6-8): mu_k = mean_{ij} y_k,ij, sigma_g = sqrt(mean_k (mu_k - mu)^2) (Eq. 6); sigma_k =
  mean_{ij} (y_k,ij - mu_k)^2 - Eq. 7 squares inside sigma_k (a variance, though the text calls it a standard
  deviation): kept as printed - and sigma_l = sqrt(mean_k sigma_k). Then Eq. 8: Object 2 if sigma_g >= beta; else
  Object 1 with alpha_1 (sigma_l <= delta_1, level I), alpha_2 (delta_1 < sigma_l < delta_2, II) or alpha_3
  (sigma_l >= delta_2, III). The choice is made on the device (``torch.where``): no host read per step.

**Thresholds** (``glgan_rule``). ``paper`` (default): beta, delta_1, delta_2 are the P = 0.7, 0.4, 0.7 quantiles of
sigma_g and sigma_l "recorded during global optimization training"; alpha_1..3 are the P = 0.2, 0.5, 0.8 values "in
the feature matrix data". Two things the text leaves open, decided here:

1. the calibration phase: the first ``glgan_calibration_epochs`` epochs (default 1: "the global standard deviation
   ... of input image for each epoch is recorded during global optimization training"), trained with Object 2 only;
   sigma_g and sigma_l of every generator step of that phase form the history, and the thresholds are its quantiles,
   fixed at the first step after it (kept in ``ctx.state``, so a run killed during or after the phase resumes to the
   same weights). The other reading (variants ``*_adaop_epochs``, Table 5's rows "..., per-epoch history"): the
   history is one (sigma_g, sigma_l) per epoch, the per-epoch means that the matching patch run (``glgan_history``:
   ``patch4`` / ``patch8``, trained with Object 2 only, as "global optimization training") logged over its whole
   training; its thresholds are fixed before the first step (``init_state``) and Ada-OP runs from step 0;
2. alpha is a quantile of each image's own feature matrix (``glgan_alpha_scope: image``, the default: the mask
   selects an image's own worst regions, as the public code selects the lowest patches of each image), or of the
   whole batch's (``batch``, variants ``*_adaop_batch``: Table 5's suite rows "..., batch alpha").

The calibrated values (beta, delta_1, delta_2, the number of calibration steps) are recorded in the run's
``train.json`` and ``metrics.json`` (``method_summary``, from :func:`summary`).

``code`` (variants ``*_adaop_code``): the public code's rule (github.com/summar6/GL-GAN, train.py at its last commit,
``Network.train`` and ``Network.adv_loss_part``; r_out is D's output flattened to (B, 16): models.py's five stride-2
convs take its 128 px images to a 4x4 map, although its comment says "batch*64"):

* global test, train.py lines 189 and 192-194::

      mean = r_out.mean(-1, keepdim=True)      # mu_k
      me = t.mean(mean)                        # mu
      st = ((mean - me) ** 2 / 64).sum()       # 64 = the code's batch (main.py --batch 64)
      if st > 0.07 :  ... adv_loss_whole(r_out, label='true')  else: ... adv_loss_part(r_out)

  ``st`` is the (population) *variance* of the per-image mean scores over the batch, sigma_g^2 of Eq. 6, not its
  standard deviation: global when sigma_g^2 > 0.07 (``CODE_GLOBAL_VAR``). The code divides by 64, its batch; the
  suite divides by the batch's own size B (at batch 16, CelebA-HQ and LSUN, the literal /64 would be a quarter of
  the variance);
* local levels, train.py lines 100-102 and 105-124 (inside ``adv_loss_part``)::

      mean = x.mean(-1, keepdim=True)
      std = ((x - mean) ** 2 / 16).sum(-1)     # 16 = the positions of the 4x4 map: each image's variance
      s = std.mean()                           # over the batch: sigma_l^2 of Eq. 7
      if s>0 and s<0.03:      b=x.kthvalue(6,dim=-1,keepdim=True)[0]     # lines 105, 107
      if s>0.03 and s<0.04:   b=x.kthvalue(10,dim=-1,keepdim=True)[0]    # lines 114, 116
      if s>0.04 :             b=x.kthvalue(12,dim=-1,keepdim=True)[0]    # lines 122, 124

  i.e. the batch mean of each image's (population) variance over its positions, sigma_l^2 here (``CODE_VAR``: 0.03,
  0.04); the suite divides by h x w (the code only has 16 positions). ``std``/``s`` at train.py lines 190-191 divide
  by 64 instead, but are only printed, never tested. Each level keeps the positions scoring at most the 6th, 10th or
  12th lowest of the image's 16 (lines 111-112 etc.: ``if x[i][j]>b[i]: x[i][j]=0``), ties included as there; for
  8x8 maps the suite keeps the same fractions 6/16, 10/16, 12/16 of h x w (``CODE_KEEP``). The code's comments
  (lines 104, 113, 121) say 50 %, 25 %, 12.5 %; its statements keep 6/16, 10/16, 12/16: the statements are
  followed. The exact boundaries s == 0.03 and s == 0.04 (where the code masks nothing) are measure-zero; both are
  read as level II here;
* losses, train.py lines 82 and 85 (``adv_loss_whole``: ``loss = t.clamp(1 - x, 0)``, ``loss=loss.sum() /
  x.size(0)``) and line 129 (``adv_loss_part``: ``loss=(-x).sum()/x.size(0)``): both sum over the positions and
  divide by the batch
  size B, so a position's gradient is -1/B in either branch (the global one where the score is below the margin 1,
  the local one at every kept position; the local loss is linear, not a hinge). ``ada_op_code`` does the same
  (``code_global_loss``, ``code_local_loss``); the paper reading keeps Eqs. 4-5's means over the positions.

Table 5's suite rows "..., code constants" train it, so the table shows whether the paper's Ada-OP claims depend on
the rule.

At tiny (smoke) resolutions D has fewer Conv units than ``last:3`` names; local-norm then normalises all of them and
equals global-norm (at 16 px with patch8: one unit and the head).

Statistics per log interval: ``glgan_sigma_g``, ``glgan_sigma_l`` (means), ``glgan_global`` / ``glgan_level1..3``
(share of steps with each objective), ``glgan_masked`` (share of masked positions over the interval's steps).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ganrepro.methods.nn import losses
from ganrepro.methods.nn.nets import DCGANDiscriminator, DCGANGenerator, init_dcgan_weights
from ganrepro.methods.registry import Method

NORMS = {"local": ("all", "last:3"), "none": ("none", "none"), "global": ("all", "all")}
P_BETA, P_DELTA1, P_DELTA2 = 0.7, 0.4, 0.7     # glgan.txt 3.3
P_ALPHA = (0.2, 0.5, 0.8)                       # levels I, II, III
# the public code's constants (github.com/summar6/GL-GAN train.py; see the module docstring):
CODE_GLOBAL_VAR = 0.07                  # line 194 ``if st>0.07``; st (line 193) = sigma_g^2, a variance, not a std
CODE_VAR = (0.03, 0.04)                 # lines 105, 114, 122 on s (lines 100-102) = sigma_l^2, the mean image variance
CODE_KEEP = (6 / 16, 10 / 16, 12 / 16)  # lines 107, 116, 124: kthvalue(6 / 10 / 12) of the 16 positions


def build(p: dict):
    """(G, D) of Sec. 4.2 / Fig. 3 (the layer lists are in the module docstring). G's first layer is the public
    code's ConvTranspose(4, 1, 0) (models.py ``Generator.layer1``: 1x1 -> 4x4); the (4, 1, 1) printed in Sec. 4.2
    would give a 2x2 map."""
    g_sn, d_sn = NORMS[p["glgan_norm"]]
    side = int(p["patch"]) or 4
    d_units = (p["resolution"] // side).bit_length()  # log2(resolution / side) Conv units + the head
    if d_sn.startswith("last:"):  # tiny (smoke) resolutions have fewer units than the code normalises
        d_sn = f"last:{min(int(d_sn[5:]), d_units)}"
    if p["patch"]:
        head = {"head": "map", "head_kernel": 3, "map_size": int(p["patch"])}
    else:
        head = {"head": "score"}
    G = DCGANGenerator(p["z_dim"], p["resolution"], p["g_width"], max_channels=16 * p["g_width"], spectral_norm=g_sn)
    D = DCGANDiscriminator(p["resolution"], p["d_width"], max_channels=8 * p["d_width"], norm="none",
                           spectral_norm=d_sn, activation="leaky_relu:0.02", **head)
    G.apply(init_dcgan_weights)
    D.apply(init_dcgan_weights)
    return G, D


def as_map(y: torch.Tensor) -> torch.Tensor:
    """D's output as (B, h, w): a score per image is a 1x1 feature matrix."""
    return y.reshape(y.shape[0], 1, 1) if y.dim() == 1 else y


def global_local_std(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(sigma_g, sigma_l) of Eqs. 6-7 for feature matrices y (B, h, w)."""
    mu_k = y.mean(dim=(1, 2))
    sigma_g = ((mu_k - mu_k.mean()) ** 2).mean().sqrt()
    sigma_k = ((y - mu_k[:, None, None]) ** 2).mean(dim=(1, 2))  # Eq. 7 as printed: squared deviations
    return sigma_g, sigma_k.mean().sqrt()


def local_mask(y: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Eq. 4's inner level: m* = [y < alpha] element-wise; ``alpha`` a scalar or one value per image (B,)."""
    a = alpha.reshape(-1, 1, 1) if alpha.dim() == 1 else alpha
    return (y < a).to(y.dtype)


def object1(y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. 4's outer level: E[max(0, 1 - m* ⊙ y)] over every element."""
    return F.relu(1.0 - mask * y).mean()


def object2(y: torch.Tensor) -> torch.Tensor:
    """Eq. 5: E[max(0, 1 - y)]."""
    return losses.hinge_margin_g_loss(y)


def quantiles(x: torch.Tensor, qs) -> torch.Tensor:
    """Quantiles ``qs`` (floats) of ``x`` along its last dimension, with ``torch.quantile``'s linear interpolation,
    as (len(qs), ...): a sort and fixed indices (``torch.quantile`` validates a tensor ``q`` on the host)."""
    s, n = x.sort(dim=-1).values, x.shape[-1]
    out = []
    for q in qs:
        pos = q * (n - 1)
        lo, hi = int(pos), min(int(pos) + 1, n - 1)
        out.append(s[..., lo] + (pos - lo) * (s[..., hi] - s[..., lo]))
    return torch.stack(out)


def alphas(y: torch.Tensor, scope: str) -> torch.Tensor:
    """alpha_1..3: the P = 0.2, 0.5, 0.8 quantiles of each image's feature matrix (3, B), or of the batch's (3,)."""
    if scope == "image":
        return quantiles(y.detach().flatten(1), P_ALPHA)
    if scope == "batch":
        return quantiles(y.detach().flatten(), P_ALPHA)
    raise ValueError(f"glgan_alpha_scope must be image or batch, got {scope!r}")


def _choice(y, is_global, level, global_loss, local_loss, mask):
    """(loss, branch one-hot (4,): global, level I, II, III, masked share) of one Ada-OP decision, on the device."""
    loss = torch.where(is_global, global_loss, local_loss)
    branch = torch.zeros(4, device=y.device)
    branch[torch.where(is_global, 0, level + 1)] = 1.0
    return loss, branch, torch.where(is_global, torch.zeros((), device=y.device), mask.mean())


def ada_op(y: torch.Tensor, sigma_g: torch.Tensor, sigma_l: torch.Tensor, thresholds: torch.Tensor,
           scope: str = "image"):
    """Eq. 8 with ``thresholds`` = (beta, delta_1, delta_2) and the batch's (sigma_g, sigma_l) of
    ``global_local_std``: (loss, branch one-hot (4,), masked share)."""
    beta, d1, d2 = thresholds[0], thresholds[1], thresholds[2]
    level = torch.where(sigma_l <= d1, 0, torch.where(sigma_l < d2, 1, 2))
    mask = local_mask(y.detach(), alphas(y, scope)[level])
    return _choice(y, sigma_g >= beta, level, object2(y), object1(y, mask), mask)


def code_global_loss(y: torch.Tensor) -> torch.Tensor:
    """train.py ``adv_loss_whole(r_out, label='true')`` (lines 82, 85): ``t.clamp(1 - x, 0).sum() / x.size(0)``, the
    margin hinge summed over the positions and divided by the batch size B (d/dy = -1/B where y < 1)."""
    return F.relu(1.0 - y).sum() / y.shape[0]


def code_local_loss(y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """train.py ``adv_loss_part`` (line 129): ``(-x).sum() / x.size(0)`` with the unkept positions set to 0, i.e. the
    negated kept scores summed and divided by B (d/dy = -1/B at every kept position, the global branch's gradient)."""
    return -(mask * y).sum() / y.shape[0]


def ada_op_code(y: torch.Tensor, sigma_g: torch.Tensor, sigma_l: torch.Tensor):
    """The public code's rule (train.py; module docstring): global (``code_global_loss``) when sigma_g^2, the
    variance of the per-image mean scores over the batch (the code's ``st``), exceeds 0.07; else keep each image's
    positions scoring at most its k-th lowest, k = 6 / 10 / 12 of 16 for sigma_l^2 (the code's ``s``) below 0.03 /
    up to 0.04 / above (``code_local_loss``). (loss, branch one-hot (4,), masked share)."""
    is_global = sigma_g ** 2 > CODE_GLOBAL_VAR
    var = sigma_l ** 2
    level = torch.where(var < CODE_VAR[0], 0, torch.where(var <= CODE_VAR[1], 1, 2))
    flat = y.detach().flatten(1)
    n = flat.shape[1]
    k1, k2, k3 = (max(1, round(f * n)) for f in CODE_KEEP)
    keep = torch.where(level == 0, k1, torch.where(level == 1, k2, k3))
    kth = flat.sort(dim=1).values.gather(1, (keep - 1).reshape(1, 1).expand(flat.shape[0], 1))  # x.kthvalue(k)
    mask = (flat <= kth).to(y.dtype).view_as(y)  # the code zeroes x > b: ties with the k-th value are kept
    return _choice(y, is_global, level, code_global_loss(y), code_local_loss(y, mask), mask)


def calibrate(ctx, sigma_g: torch.Tensor, sigma_l: torch.Tensor, epochs: float) -> torch.Tensor | None:
    """The paper's threshold rule: record (sigma_g, sigma_l) while ``ctx.epoch < epochs`` and return None (train
    globally); afterwards the (beta, delta_1, delta_2) quantiles of the history, fixed at the first later step."""
    st = ctx.state
    if "thresholds" in st:
        return st["thresholds"]
    if ctx.epoch < epochs or "history" not in st:
        pair = torch.stack([sigma_g, sigma_l]).detach().reshape(1, 2)
        st["history"] = pair if "history" not in st else torch.cat([st["history"], pair])
        return None
    h = st["history"]
    st["thresholds"] = torch.stack([quantiles(h[:, 0], [P_BETA])[0], *quantiles(h[:, 1], [P_DELTA1, P_DELTA2])])
    return st["thresholds"]


def depends_on(p: dict) -> list[tuple[str, str]]:
    """The per-epoch reading (``glgan_history``) reads the matching patch run, which trains globally and logs sigma."""
    return [("glgan", p["glgan_history"])] if p.get("glgan_history") else []


def epoch_history(run_dir, steps_per_epoch: float) -> torch.Tensor:
    """(E, 2): the per-epoch means of (sigma_g, sigma_l) in a finished run's log.csv (each row an interval's mean;
    a row logged at step s belongs to epoch floor((s - 1) / steps_per_epoch))."""
    import csv
    from pathlib import Path

    path = Path(run_dir) / "log.csv"
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise FileNotFoundError(f"{path}: the per-epoch calibration reads this run's log.csv ({e.strerror})") from None
    if not rows or "glgan_sigma_g" not in rows[0] or "glgan_sigma_l" not in rows[0]:
        raise ValueError(f"{path}: no glgan_sigma_g / glgan_sigma_l columns to calibrate from")
    by_epoch: dict[int, list[tuple[float, float]]] = {}
    for r in rows:
        by_epoch.setdefault(int((int(r["step"]) - 1) // steps_per_epoch), []).append(
            (float(r["glgan_sigma_g"]), float(r["glgan_sigma_l"])))
    return torch.tensor([[sum(v[i] for v in vals) / len(vals) for i in (0, 1)]
                         for _, vals in sorted(by_epoch.items())], dtype=torch.float32)


def init_state(p: dict, runs: dict, steps_per_epoch: float) -> dict:
    """The per-epoch reading's thresholds, fixed before the first step: (beta, delta_1, delta_2) = the P = 0.7 / 0.4 /
    0.7 quantiles of the patch run's per-epoch sigma_g and sigma_l (Sec. 3.3: 'the global standard deviation ... of
    input image for each epoch is recorded during global optimization training')."""
    if not p.get("glgan_history"):
        return {}
    h = epoch_history(runs[f"glgan/{p['glgan_history']}"], steps_per_epoch)
    return {"history": h,
            "thresholds": torch.stack([quantiles(h[:, 0], [P_BETA])[0], *quantiles(h[:, 1], [P_DELTA1, P_DELTA2])])}


def d_loss(D, real, fake, p, ctx):
    """Eq. 3 over every element of the feature matrix."""
    return losses.adversarial_d_loss(D, real, fake, {"loss": "hinge"}, ctx)


def g_loss(D, fake, p, ctx):
    y = as_map(D(fake))
    sigma_g, sigma_l = global_local_std(y.detach())
    stats = {"glgan_sigma_g": sigma_g, "glgan_sigma_l": sigma_l}
    rule = p.get("glgan_rule")
    if rule is None:  # base / patch: the global objective only
        return object2(y), stats
    if rule == "code":
        loss, branch, masked = ada_op_code(y, sigma_g, sigma_l)
    elif rule == "paper":
        th = calibrate(ctx, sigma_g, sigma_l, float(p["glgan_calibration_epochs"]))
        if th is None:
            branch = torch.zeros(4, device=y.device)
            branch[0] = 1.0  # the calibration phase trains globally
            loss, masked = object2(y), torch.zeros((), device=y.device)
        else:
            loss, branch, masked = ada_op(y, sigma_g, sigma_l, th, p["glgan_alpha_scope"])
    else:
        raise ValueError(f"glgan_rule must be paper or code, got {rule!r}")
    stats.update(glgan_global=branch[0], glgan_level1=branch[1], glgan_level2=branch[2], glgan_level3=branch[3],
                 glgan_masked=masked)
    return loss, stats


# thresholds (beta, delta_1, delta_2) that make the paper rule take the local, masked Object 1 at every step (sigma_g
# < beta, level II): the costliest branch, what a benchmark of Ada-OP times (``bench_state``)
LOCAL_THRESHOLDS = (1e9, 0.0, 1e9)


def bench_state(p: dict) -> dict:
    """The paper rule past its calibration phase, on Ada-OP's local branch (``LOCAL_THRESHOLDS``); the code rule and
    the global-only variants need no state."""
    if p.get("glgan_rule") != "paper":
        return {}
    return {"history": torch.zeros(1, 2), "thresholds": torch.tensor(LOCAL_THRESHOLDS)}


def log_keys(p: dict) -> dict:
    keys = {**losses.ADVERSARIAL_LOG_KEYS, "glgan_sigma_g": "mean", "glgan_sigma_l": "mean"}
    if p.get("glgan_rule") is not None:
        keys.update({k: "mean" for k in ("glgan_global", "glgan_level1", "glgan_level2", "glgan_level3",
                                         "glgan_masked")})
    return keys


def summary(state: dict, p: dict) -> dict:
    """What the run's rule settled on, for ``metrics.json`` (``method_summary``): the paper rule's calibrated
    thresholds and how many generator steps the calibration history holds, or the code rule's constants (its
    global test is on the variance sigma_g^2, train.py's ``st``)."""
    rule = p.get("glgan_rule")
    if rule == "code":
        return {"glgan_rule": "code", "global_if_sigma_g_squared_above": CODE_GLOBAL_VAR,
                "variance_levels": list(CODE_VAR), "keep_fractions": list(CODE_KEEP),
                "loss_scale": "summed over positions / batch size (train.py adv_loss_whole, adv_loss_part)"}
    if rule != "paper":
        return {"glgan_rule": "global only"}
    out = {"glgan_rule": "paper", "alpha_scope": p["glgan_alpha_scope"],
           "calibration_epochs": p["glgan_calibration_epochs"], "percentiles": {
               "beta": P_BETA, "delta_1": P_DELTA1, "delta_2": P_DELTA2, "alpha_1..3": list(P_ALPHA)},
           "calibration_steps": int(state["history"].shape[0]) if "history" in state else 0}
    if p.get("glgan_history"):  # the per-epoch reading: the history's rows are epochs of another run
        out.update(calibration=f"per-epoch means of glgan/{p['glgan_history']}'s sigma_g, sigma_l (log.csv)",
                   calibration_epochs=out.pop("calibration_steps"))
    th = state.get("thresholds")
    if th is None:
        out["thresholds"] = "not calibrated: the run ended inside the calibration phase"
    else:
        out.update(beta=float(th[0]), delta_1=float(th[1]), delta_2=float(th[2]))
    return out


_ADAOP = {"glgan_rule": "paper"}
VARIANTS = {
    "base": {"patch": 0},
    "patch4": {"patch": 4},
    "patch8": {"patch": 8},
    "patch4_adaop": {"patch": 4, **_ADAOP},
    "patch8_adaop": {"patch": 8, **_ADAOP},
    "patch4_adaop_code": {"patch": 4, "glgan_rule": "code"},
    "patch8_adaop_code": {"patch": 8, "glgan_rule": "code"},
    "patch4_adaop_batch": {"patch": 4, **_ADAOP, "glgan_alpha_scope": "batch"},
    "patch8_adaop_batch": {"patch": 8, **_ADAOP, "glgan_alpha_scope": "batch"},
    "patch4_adaop_epochs": {"patch": 4, **_ADAOP, "glgan_history": "patch4"},
    "patch8_adaop_epochs": {"patch": 8, **_ADAOP, "glgan_history": "patch8"},
    "patch8_nonorm": {"patch": 8, "glgan_norm": "none"},
    "patch8_globalnorm": {"patch": 8, "glgan_norm": "global"},
}

METHOD = Method(
    name="glgan",
    paper="Liu et al. 2021 (GL-GAN)",
    build=build,
    d_loss=d_loss,
    g_loss=g_loss,
    log_keys=log_keys,
    summary=summary,
    bench_state=bench_state,
    depends_on=depends_on,
    init_state=init_state,
    defaults={"glgan_norm": "local", "patch": 8, "glgan_rule": None, "glgan_calibration_epochs": 1,
              "glgan_alpha_scope": "image", "glgan_history": None, "n_critic": 1},
    variants=VARIANTS,
    # the paper's ablation chain (Table 5): patch-D over the DCGAN head (base), Ada-OP and the norms over their patch-D
    baselines={v: None if v == "base" else ("glgan", "base") if "_" not in v else ("glgan", v.split("_")[0])
               for v in VARIANTS},
)
