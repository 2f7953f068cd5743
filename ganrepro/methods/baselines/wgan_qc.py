"""WGAN-QC: Liu, Gu, Samaras, "Wasserstein GAN With Quadratic Transport Cost", ICCV 2019 (GL-GAN Table 1's WGAN-QC
row). The paper's text was not available while this module was written; every formula and setting below is read
off the authors' public code (github.com/harryliew/WGAN-QC: ``wgan_qc_resnet1.py`` / ``wgan_qc_resnet2.py``, which
differ only in the network file they import, and ``models/resnet{1,2}.py``; newest commit of 2019-11-25), and each
item names where in the code it comes from.

**Transport cost.** c(x, y) = K / 2 * ||x - y||^2 between flattened images, K = 1 / dim with dim = 3 * H * W (the
code's ``--K`` default -1: "<= 0 meaning K = 1/dim"; ``comput_dist`` returns 0.5 * ||x - y||^2, multiplied by K).
Parameter ``cost_K``: None for 1 / dim, or a positive number (the README suggests K = 1 for data whose pairwise
distances are small).

**The exact OT between the batches (the discriminator's targets).** With the n real images x_i and the m fake ones
y_j of a discriminator step, uniform weights 1/n and 1/m, and C_ij = c(x_i, y_j), the discrete Kantorovich problem
is the linear programme

    W_c = min_{pi >= 0} sum_ij pi_ij C_ij   s.t.  sum_j pi_ij = 1/n,  sum_i pi_ij = 1/m,

whose LP dual is

    max_{phi, psi}  (1/n) sum_i phi_i - (1/m) sum_j psi_j   s.t.  phi_i - psi_j <= C_ij  for all i, j,

with equal optimal values (strong duality). This dual is the code's LP (``Wasserstein_LP``: cvxopt/GLPK minimising
c^T [phi; psi] with c = [-1/n ... ; +1/n ...] subject to [A | -D] [phi; psi] <= vec(C)). Here the primal is solved
exactly by POT's network simplex, ``ot.emd(a, b, C, log=True)`` in float64 on the host: it returns the plan pi and
dual potentials (u, v) with u_i + v_j <= C_ij and sum_i a_i u_i + sum_j b_j v_j = W_c, so phi = u and psi = -v
solve the dual above. The dual is unchanged by the common shift (phi + t, psi + t); as in the code (``offset =
0.5 * sum(sol['x']) / batchSize``) t is fixed so that sum_i phi_i + sum_j psi_j = 0 (for n = m: mean phi = W_c / 2,
mean psi = -W_c / 2). The matching m(j) of fake y_j is the real sample with the largest plan entry in its column,
argmax_i pi_ij (the code's ``approx_OT``: argmax over axis 0 of the LP's constraint multipliers, which are the
plan); with n = m and uniform weights the network simplex returns a vertex of the assignment polytope, a
permutation / n, so m is a bijection. The optimal plan and W_c are unique for generic data; the potentials are not
(the assignment LP is degenerate: any vertex of the optimal dual face is a solution), and GLPK's simplex and POT's
network simplex may return different vertices; both satisfy the constraints and strong duality.

This solve is the method's **one host synchronisation per discriminator step**: the n x m cost matrix (computed on
the device in float64, detached) is copied to the host (one ``.cpu()``), the LP runs there, and phi, psi, m and
W_c come back in one host-to-device copy. Nothing else in the losses reads the device (``host_syncs_per_d_step``
= 1; ``tests/test_wgan_qc.py`` counts it, ``benchmarks/host_syncs.py`` records it).

**Discriminator loss** (the code's ``L2LossD`` and ``RegLossD``; one D update per OT solve, ``DOptIters`` = 1):

    L_reg = 1/2 (mean_i D(x_i) - mean_i phi_i)^2 + 1/2 mean_j (D(y_j) - psi_j)^2

(``MSELoss`` of the batch means for the real side, per sample for the fake side, each weighted 1/2), plus the
optimal transport regulariser (OTR). At the optimum psi is the c-transform of phi, psi(y) = max_i [phi_i - c(x_i,
y)] (the code's comment, in its sign convention: "f(y) = inf { f(x) + c(x,y) }, 0 in grad_x { f(x) + c(x,y) }"),
maximised at the matched real x* = x_m(y), so grad_y psi(y) = -grad_y c(x*, y) = K (x* - y) and
||grad psi(y)|| = K ||x* - y||. The OTR asks D's input gradient at every fake sample to have that norm:

    R = 1/2 mean_j ( ||grad_y D(y_j)|| / (2 sqrt K) - sqrt K / 2 * ||x_m(j) - y_j|| )^2
      = 1/(8K) mean_j ( ||grad_y D(y_j)|| - K ||x_m(j) - y_j|| )^2,

    L_D = L_reg + lambda R,   lambda = 4 gamma sqrt K   (the code's LAMBDA = 2 * Kr * gamma * 2, Kr = sqrt K),

gamma = 0.1 (``--gamma`` default and the README's 64 / 128 px commands; parameter ``otr_gamma``; 0 turns the
regulariser off as the code's ``if LAMBDA > 0``). grad_y D(y_j) is each fake's own input gradient (D has no batch
coupling), taken with ``create_graph`` so that R trains D (the fakes are detached from G: the D step touches only D).

**Generator loss**: L_G = -mean_j D(G(z_j)) (the code: ``output_F_mean_after.backward(mone)``).

**Statistics** (detached device tensors, read by the loop once per log interval): ``wdist`` = mean D(x) - mean
D(y) (the code's ``WD``, its Wasserstein-distance estimate), ``ot_cost`` = W_c of the batch (the LP's optimum),
``otr`` = R (unweighted), ``d_regression`` = L_reg.

**Settings** and where they come from (the code's argparse defaults unless said):

* Adam, lr 1e-4 for G and D (``--lrG``, ``--lrD``), betas (0.5, 0.999) (``--beta1``, ``--beta2``); no learning-rate
  annealing (``--lr_anneal`` 1.0; only the README's ImageNet-dog command anneals). ``train_defaults`` below.
* One D update per G update (``--Diters`` 1): ``n_critic`` 1.
* EMA of G, decay 0.999 (``--EMA``), from G iteration 80000 (``--EMA_startIter``): the run's ``ema_decay`` /
  ``ema_start`` (the loop copies G before step 80000 and averages from there, as the code deep-copies G at
  iteration 80000 and averages afterwards). The README's commands instead start the EMA 5000 iterations before
  their last one (CelebA 64 px: 60000 iterations, EMA from 55000); the default is kept.
* z ~ N(0, I) with z_dim 128 (``--nz``); batch 64 (``--batchSize``; the experiment's batch size applies).
* Networks (``ganrepro.methods.nn.resnet_qc``, its docstring has the layer lists at 64 and 128 px): the authors' ResNet with
  nfilter = ``g_width`` / ``d_width`` (64 at full scale), ``nfilter_max`` 512, ``res_ratio`` 0.1, LeakyReLU 0.2,
  BatchNorm in G only, Kaiming-normal conv init. ``blocks_per_stage`` 2 is ``models/resnet2.py``, the network of
  every README command at 64 and 128 px (CelebA 64, LSUN 64, ImageNet-dog 128): variant ``default``; 1 is
  ``models/resnet1.py`` (the README's 256 px CelebA-HQ command): variant ``resnet1``.

**Where this differs from the code**: (1) the shared loop's generator step draws a fresh latent batch, while the
code's G update reuses the latent batch of the last D step (``fake = netG(noise)``); (2) the LP is solved by POT's
network simplex instead of cvxopt/GLPK warm-started from the previous solution: the same optimum, possibly another
optimal vertex of the potentials (above); (3) D's last Linear takes the last block's channels (the code's sizing
breaks where it is not capped at nfilter_max, e.g. 16 px; identical at 64 / 128 px with width 64); (4) the loop's EMA
copies G's BatchNorm running statistics into the averaged generator at every step, while the code's
``update_average`` averages parameters only, so its EMA generator keeps the running statistics G had when it was
copied (iteration 80000). POT is imported
lazily (importing this module does not need it); a missing POT is an error naming the install command.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ganrepro.methods.nn.losses import per_sample_scores
from ganrepro.methods.nn.resnet_qc import QCDiscriminator, QCGenerator
from ganrepro.methods.registry import Method

POT_INSTALL = ".venv/bin/pip install POT==0.9.7.post1"
HOST_SYNC_REASON = ("the exact optimal-transport LP between the real and fake batch (POT's network simplex, ot.emd) "
                    "runs on the host: the cost matrix is copied to the host once per discriminator step")


def _pot():
    try:
        import ot
    except ImportError as e:
        raise ImportError("WGAN-QC solves the exact optimal transport between each real and fake batch with POT "
                          f"(Python Optimal Transport), which is not importable here: install it with "
                          f"`{POT_INSTALL}` (pinned in requirements.txt)") from e
    return ot


def cost_k(p: dict, x: torch.Tensor) -> float:
    """K of the cost K/2 ||x - y||^2: ``p["cost_K"]`` when positive, else 1 / dim with dim = one sample's size."""
    k = p.get("cost_K")
    if k is not None and float(k) > 0:
        return float(k)
    return 1.0 / x[0].numel()


def transport_cost(real: torch.Tensor, fake: torch.Tensor, K: float) -> torch.Tensor:
    """C_ij = K/2 ||x_i - y_j||^2, (n, m), float64, on the inputs' device, detached."""
    with torch.no_grad():
        x, y = real.detach().flatten(1).double(), fake.detach().flatten(1).double()
        sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * (x @ y.T)
        return sq.clamp_min_(0.0).mul_(0.5 * K)


@dataclass
class OTSolution:
    """The batch OT's solution on the device: potentials ``phi`` (n,) and ``psi`` (m,) (phi_i - psi_j <= C_ij,
    sum phi + sum psi = 0), ``match`` (m,) the real index matched to each fake, ``cost`` () W_c; all float64 but
    ``match`` (int64)."""

    phi: torch.Tensor
    psi: torch.Tensor
    match: torch.Tensor
    cost: torch.Tensor


def solve_ot(C: torch.Tensor) -> OTSolution:
    """Exact discrete OT between uniform weights on the rows (real) and columns (fake) of the cost matrix ``C``
    (module docstring): ``ot.emd`` on the host, one device-to-host copy of ``C`` and one copy back."""
    ot = _pot()
    M = np.ascontiguousarray(C.detach().cpu().numpy(), dtype=np.float64)  # the method's one host sync per D step
    n, m = M.shape
    # POT's default iteration cap (1e5) is ample for the batch of 64; it grows with the problem for larger ones
    plan, log = ot.emd(np.full(n, 1.0 / n), np.full(m, 1.0 / m), M, numItermax=max(100_000, 50 * n * m), log=True)
    if log.get("result_code") != 1:
        raise RuntimeError(f"WGAN-QC: POT's ot.emd did not reach the optimal transport plan ({log.get('warning')})")
    phi, psi = np.asarray(log["u"], np.float64), -np.asarray(log["v"], np.float64)
    shift = (phi.sum() + psi.sum()) / (n + m)  # the common shift making sum phi + sum psi = 0
    match = plan.argmax(axis=0)                # per fake column, the real row it is transported to
    packed = np.concatenate([phi - shift, psi - shift, match.astype(np.float64), [float(log["cost"])]])
    dev = torch.from_numpy(packed).to(C.device)
    return OTSolution(dev[:n], dev[n:n + m], dev[n + m:n + 2 * m].long(), dev[n + 2 * m])


def exact_ot(real: torch.Tensor, fake: torch.Tensor, K: float) -> OTSolution:
    """The batch's exact OT: the cost matrix (``transport_cost``) and its solve (``solve_ot``), the whole host part
    of a discriminator step (``benchmarks/baseline_step.py`` and ``benchmarks/wgan_qc_step.py`` time this)."""
    return solve_ot(transport_cost(real, fake, K))


def ot_regulariser(grad: torch.Tensor, diff: torch.Tensor, K: float) -> torch.Tensor:
    """R = 1/2 mean_j (||grad_j|| / (2 sqrt K) - sqrt K / 2 ||diff_j||)^2, with grad_j = grad_y D(y_j) and
    diff_j = x_m(j) - y_j (the code's ``OT_regularization``)."""
    kr = math.sqrt(K)
    g, d = grad.flatten(1).norm(dim=1), diff.flatten(1).norm(dim=1)
    return 0.5 * (g / (2 * kr) - kr / 2 * d).pow(2).mean()


def d_loss(D, real, fake, p, ctx):
    """L_D = L_reg + 4 gamma sqrt(K) R on one real and one fake batch (module docstring)."""
    K = cost_k(p, real)
    sol = exact_ot(real, fake, K)
    fake = fake.detach().requires_grad_(True)
    d_real, d_fake = per_sample_scores(D(real)), per_sample_scores(D(fake))
    phi, psi = sol.phi.to(d_real.dtype), sol.psi.to(d_fake.dtype)
    reg = 0.5 * (d_real.mean() - phi.mean()).pow(2) + 0.5 * (d_fake - psi).pow(2).mean()
    gamma = float(p["otr_gamma"])
    (grad,) = torch.autograd.grad(d_fake.sum(), fake, create_graph=gamma > 0, retain_graph=True)
    otr = ot_regulariser(grad, real.detach()[sol.match] - fake.detach(), K)
    loss = reg + 4.0 * gamma * math.sqrt(K) * otr if gamma > 0 else reg
    return loss, {"wdist": (d_real.mean() - d_fake.mean()).detach(), "ot_cost": sol.cost.detach().float(),
                  "otr": otr.detach(), "d_regression": reg.detach()}


def g_loss(D, fake, p, ctx):
    """L_G = -mean_j D(G(z_j))."""
    return -per_sample_scores(D(fake)).mean(), {}


def build(p: dict):
    """(G, D): the authors' ResNet pair at ``p["resolution"]`` (``ganrepro.methods.nn.resnet_qc``)."""
    common = {"nfilter_max": int(p["nfilter_max"]), "res_ratio": float(p["res_ratio"]),
              "blocks_per_stage": int(p["blocks_per_stage"])}
    G = QCGenerator(int(p["z_dim"]), int(p["resolution"]), int(p["g_width"]), **common)
    D = QCDiscriminator(int(p["resolution"]), int(p["d_width"]), **common)
    return G, D


METHOD = Method(
    name="wgan_qc",
    paper="Liu, Gu, Samaras 2019 (ICCV)",
    build=build,
    d_loss=d_loss,
    g_loss=g_loss,
    log_keys={"wdist": "mean", "ot_cost": "mean", "otr": "mean", "d_regression": "mean"},
    # the authors' code's defaults (module docstring): nz 128, Diters 1, gamma 0.1, K = 1/dim, nfilter_max 512,
    # res_ratio 0.1; models/resnet2.py (two blocks per stage), the network of their 64 and 128 px commands
    defaults={"z_dim": 128, "n_critic": 1, "otr_gamma": 0.1, "cost_K": None, "nfilter_max": 512,
              "res_ratio": 0.1, "blocks_per_stage": 2},
    # --lrG / --lrD 1e-4, --beta1 0.5, --beta2 0.999, --EMA 0.999 from --EMA_startIter 80000
    train_defaults={"lr_g": 1e-4, "lr_d": 1e-4, "betas": [0.5, 0.999], "ema_decay": 0.999, "ema_start": 80000},
    variants={"default": {}, "resnet1": {"blocks_per_stage": 1}},
    host_syncs_per_d_step=1,
    host_sync_reason=HOST_SYNC_REASON,
)
