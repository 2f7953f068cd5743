r"""BRC: adversarial learning with a best-response constraint, and the hypergradient solvers compared with it.

Source: brc.txt Sections 2.1-2.2 and Algorithm 1. The equations lost their symbols in the text; this is the
reconstruction implemented here (also in docs/brc.md).

Notation. Generator parameters theta, discriminator parameters phi. The follower (discriminator) maximises
f(theta, phi) (f = -L_D, the negated discriminator loss of the wrapped GAN); the leader (generator) minimises
F(theta, phi) (F = L_G, the wrapped GAN's generator loss).

* Eq. (2), the best-response constraint: phi*(theta) in argmax_phi f(theta, phi).
* Eq. (5), the leader's gradient through the constraint:
      dF/dtheta = d_theta F + (d phi*/d theta)^T d_phi F          ("direct" + "BR gradient")
* Eq. (6), implicit function theorem at d_phi f(theta, phi*) = 0:
      d phi*/d theta = -[H_phiphi]^{-1} H_phitheta,     H_phiphi = grad^2_phiphi f,  H_phitheta = grad^2_phitheta f
  so the BR term is   -H_thetaphi [H_phiphi]^{-1} d_phi F.
* Eq. (7), implicit gradient estimation: solve the linear system H_phiphi v = d_phi F, then BR = -H_thetaphi v.
* Eq. (8), outer-product (Gauss-Newton) approximation of both second-derivative terms by first-order ones:
      H_phiphi   ~ g_phi g_phi^T (+ lambda I, Levenberg-Marquardt damping),     H_thetaphi ~ g_theta g_phi^T,
  with g_phi = d_phi f, g_theta = d_theta f. (If f = -r^2/2 for one residual r, Gauss-Newton gives
  H ~ -J J^T with J the residual's gradient, and g = -r J: the common factor -r^2 cancels in Eq. (9).)
* Eq. (9), plugging (8) into (7) with Sherman-Morrison:
      (g_phi g_phi^T + lambda I)^{-1} b = (b - g_phi (g_phi^T b) / (lambda + |g_phi|^2)) / lambda,
      BR ~ -g_theta g_phi^T v = -kappa g_theta,      kappa = <g_phi, d_phi F> / (|g_phi|^2 + lambda).
  So the implicit gradient approximation (IGA) needs only first-order gradients: dF/dtheta ~ d_theta (F - kappa f)
  with kappa held constant, i.e. for a GAN  d_theta (L_G + kappa' L_D),  kappa' = <d_phi L_D, d_phi L_G> /
  (|d_phi L_D|^2 + lambda) up to sign conventions made explicit in ``implicit_gradient_coefficient``.

Algorithm 1: several discriminator steps approximate phi*(theta) (the shared training loop's ``n_critic``), then
one generator step with the hypergradient. Every solver here returns a *surrogate* scalar whose gradient with
respect to theta is the solver's estimate of dF/dtheta, so any GAN's generator update (the shared loop's
``g_loss(...).backward()``) becomes its BRC update: ``with_brc`` wraps a method's losses.

Readings of Eqs. (8)-(9) that the damaged text allows (docs/brc.md "Readings of Eq. 9"; tables' suite rows):
  1. ``iga``: the batch-gradient outer products above (the default: the only reading whose formula the text's
     remains - "outer product", "first-order", one scalar division - fit without extra assumptions);
  2. ``br_sign = -1``: the BR term with the opposite sign, dF/dtheta ~ d_theta (F + kappa f) (H_phiphi and
     H_thetaphi approximated with opposite signs, e.g. H_phiphi ~ -g_phi g_phi^T, negative definite as at a maximum of
     f, but H_thetaphi ~ +g_theta g_phi^T); works with every solver whose BR term is explicit (all but rhg / bda);
  3. ``gn``: Gauss-Newton / empirical Fisher with per-sample gradients, f = (1/N) sum_i f_i over the batch's N
     (real_i, fake_i) pairs, g_i = d_phi f_i, U = [g_1 .. g_N]:
         H_phiphi ~ (1/N) sum_i g_i g_i^T + lambda I,   H_thetaphi ~ (1/N) sum_i (d_theta f_i) g_i^T,
     and by Woodbury  BR = -sum_i c_i d_theta f_i,  c = (U^T U + N lambda I)^{-1} U^T d_phi F  (an N x N solve),
     i.e. dF/dtheta ~ d_theta (F - sum_i c_i f_i) with c fixed; for N = 1 (or equal g_i) sum_i c_i f_i = kappa f.
     ``per_sample_gauss_newton_surrogate``: exact per-sample gradients of nn.Linear layers from one backward (the
     per-sample weight gradient is the outer product of the layer's output gradient and input).

Solvers (``solver=``): ``iga`` (this paper), ``gn`` (reading 3), ``exact`` (dense Hessian, solved exactly: tests only), ``cg``
(conjugate gradient on Hessian-vector products, Pedregosa 2016 / Rajeswaran 2019), ``neumann`` (truncated Neumann
series, Lorraine et al. 2020), ``rhg`` (reverse-mode differentiation through K unrolled ascent steps, Franceschi et
al. 2017; UnrolledGAN is this with K = 5) and ``bda`` (bilevel descent aggregation, Liu et al. 2020: the unrolled
steps aggregate the leader's descent and the follower's ascent directions).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch.func import functional_call

SOLVERS = ("iga", "gn", "exact", "cg", "neumann", "rhg", "bda")
EXPLICIT_BR = ("iga", "gn", "exact", "cg", "neumann")  # solvers whose BR term is a separate summand (br_sign applies)


def _dot(a, b) -> torch.Tensor:
    return sum((x * y).sum() for x, y in zip(a, b))


def _grad(out, inputs, create_graph=False):
    g = torch.autograd.grad(out, inputs, retain_graph=True, create_graph=create_graph, allow_unused=True)
    return [torch.zeros_like(p) if gi is None else gi for gi, p in zip(g, inputs)]


def implicit_gradient_coefficient(g_phi, b, damping: float) -> torch.Tensor:
    """kappa = <g_phi, b> / (|g_phi|^2 + damping): Eq. (9)'s scalar (g_phi = d_phi f, b = d_phi F).

    The BR term is -kappa * d_theta f, so the hypergradient is d_theta (F - kappa f) with kappa fixed.
    """
    return _dot(g_phi, b) / (_dot(g_phi, g_phi) + damping)


def _with_value(surrogate: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """``surrogate``'s gradient with ``value``'s value (so logs show the generator loss, not the surrogate)."""
    return surrogate - surrogate.detach() + value.detach()


def _hvp(g_phi_graph, phi, v):
    """H_phiphi v from d_phi f built with create_graph=True (one extra backward, no Hessian materialised)."""
    return _grad(_dot(g_phi_graph, [x.detach() for x in v]), phi)


def best_response_surrogate(f, F, phi, solver: str = "iga", steps: int = 5, inner_lr: float = 0.01,
                            damping: float = 1e-8, neumann_alpha: float = 0.01, bda_alpha: float = 0.5,
                            bda_lr: float | None = None, br_sign: float = 1.0, through: torch.Tensor | None = None):
    """A scalar whose theta-gradient is the solver's estimate of dF/dtheta = d_theta F + BR (Eq. 5).

    ``f(phi_list)``: the follower's objective (maximised over phi), ``F(phi_list)``: the leader's (minimised over
    theta); both close over theta. ``phi``: the follower's current parameters (tensors requiring grad).
    Returns (surrogate, info) where info has ``F`` (the leader's loss value) and ``kappa`` for IGA.
    ``damping`` regularises the follower Hessian (IGA: lambda of Eq. 9; CG/Neumann/exact: -H + damping I).
    ``br_sign``: +1 (Eq. 5 as derived) or -1 (reading 2: the BR term negated; solvers of ``EXPLICIT_BR`` only).
    Solver ``gn`` needs the network and the batch: ``per_sample_gauss_newton_surrogate``.
    ``through``: the tensor (the generated batch) through which alone f and F depend on theta. IGA then takes
    d f / d through and d F / d through in the same two backward passes as its phi-gradients, and the surrogate is
    <d(F - kappa f)/d through, through> (detached weights): its backward runs through the generator only, not
    through D again (the same gradient; ``test_iga_through_the_batch_equals_the_plain_surrogate``).
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown best-response solver {solver!r}; known: {SOLVERS}")
    if br_sign not in (1, -1):
        raise ValueError(f"br_sign must be +1 or -1, got {br_sign!r}")
    if br_sign != 1 and solver not in EXPLICIT_BR:
        raise ValueError(f"br_sign -1 needs a solver with an explicit BR term {EXPLICIT_BR}; {solver!r} unrolls")
    if solver == "gn":
        raise ValueError("solver 'gn' needs per-sample objectives: call per_sample_gauss_newton_surrogate")
    phi = list(phi)
    info: dict = {}
    if solver == "iga":
        fv, Fv = f(phi), F(phi)
        if through is None:
            kappa = implicit_gradient_coefficient(_grad(fv, phi), _grad(Fv, phi), damping).detach()
            info.update(F=Fv.detach(), kappa=kappa)  # a device tensor: read by the loop at its log steps
            return _with_value(Fv - br_sign * kappa * fv, Fv), info
        g_f, g_F = _grad(fv, phi + [through]), _grad(Fv, phi + [through])
        kappa = implicit_gradient_coefficient(g_f[:-1], g_F[:-1], damping).detach()
        info.update(F=Fv.detach(), kappa=kappa)
        w = (g_F[-1] - br_sign * kappa * g_f[-1]).detach()
        return _with_value((w * through).sum(), Fv), info
    if solver in ("exact", "cg", "neumann"):
        Fv = F(phi)
        b = [x.detach() for x in _grad(Fv, phi)]
        g_graph = _grad(f(phi), phi, create_graph=True)  # d_phi f, differentiable in theta and phi
        if solver == "exact":
            w = _solve_dense(g_graph, phi, b, damping)
        elif solver == "cg":
            w = _conjugate_gradient(lambda v: [-h + damping * x for h, x in zip(_hvp(g_graph, phi, v), v)], b, steps)
        else:
            w = _neumann(lambda v: _hvp(g_graph, phi, v), b, steps, neumann_alpha)
        # w = (-H)^{-1} b, so v = H^{-1} b = -w and BR = -H_thetaphi v = d_theta <d_phi f, w>
        info.update(F=Fv.detach())
        return _with_value(Fv + br_sign * _dot(g_graph, w), Fv), info
    # rhg / bda: differentiate through K unrolled follower steps starting at phi
    cur = phi
    for k in range(steps):
        g = _grad(f(cur), cur, create_graph=True)
        ascent = [p + inner_lr * gi for p, gi in zip(cur, g)]
        if solver == "bda":
            a_k = bda_alpha / (k + 1)
            gF = _grad(F(cur), cur, create_graph=True)
            descent = [p - (bda_lr or inner_lr) * gi for p, gi in zip(cur, gF)]
            cur = [a_k * d + (1 - a_k) * u for d, u in zip(descent, ascent)]
        else:
            cur = ascent
    FK = F(cur)
    info.update(F=FK.detach())
    return FK, info


def _flat(ts):
    return torch.cat([t.reshape(-1) for t in ts])


def _unflat(vec, like):
    out, i = [], 0
    for t in like:
        out.append(vec[i:i + t.numel()].view_as(t))
        i += t.numel()
    return out


def _solve_dense(g_graph, phi, b, damping):
    """(-H + damping I)^{-1} b with the dense Hessian (one backward per parameter: small problems only)."""
    g = _flat(g_graph)
    rows = [_flat(_grad(g[i], phi)) for i in range(g.numel())]
    H = torch.stack(rows)
    A = -H + damping * torch.eye(len(H), dtype=H.dtype)
    return _unflat(torch.linalg.solve(A, _flat(b)), b)


def _conjugate_gradient(A, b, steps: int):
    """Solve A x = b (A symmetric positive definite, given as a function v -> A v) by ``steps`` CG iterations.

    Once the residual is below 1e-30 (converged) the remaining iterations leave x unchanged: a device-side guard
    (``torch.where``) instead of a ``break``, which would read the residual to the host every iteration."""
    x = [torch.zeros_like(t) for t in b]
    r = [t.clone() for t in b]
    p = [t.clone() for t in b]
    rr = _dot(r, r)
    zero = torch.zeros((), dtype=rr.dtype, device=rr.device)
    for _ in range(steps):
        live = rr > 1e-30
        Ap = A(p)
        alpha = torch.where(live, rr / _dot(p, Ap), zero)
        x = [xi + alpha * pi for xi, pi in zip(x, p)]
        r = [ri - alpha * api for ri, api in zip(r, Ap)]
        rr_new = _dot(r, r)
        p = [ri + torch.where(live, rr_new / rr, zero) * pi for ri, pi in zip(r, p)]
        rr = rr_new
    return x


def _neumann(Hv, b, steps: int, alpha: float):
    """(-H)^{-1} b ~ alpha * sum_{j=0..K} (I + alpha H)^j b (converges when |I + alpha H| < 1)."""
    p = [t.clone() for t in b]
    acc = [t.clone() for t in b]
    for _ in range(steps):
        hp = Hv(p)
        p = [pi + alpha * h for pi, h in zip(p, hp)]
        acc = [a + pi for a, pi in zip(acc, p)]
    return [alpha * a for a in acc]


@contextmanager
def _linear_calls(module):
    """Records (layer, input, output) of every ``nn.Linear`` call inside the block (functional calls included)."""
    calls = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: calls.append((mod, inp[0], out)))
             for m in module.modules() if isinstance(m, torch.nn.Linear)]
    try:
        yield calls
    finally:
        for h in hooks:
            h.remove()


def per_sample_gauss_newton_surrogate(module, names, phi, f, F, fake, damping: float = 1e-8, br_sign: float = 1.0):
    r"""Reading 3 of Eqs. (8)-(9): Gauss-Newton (empirical Fisher) with per-sample gradients, solved by Woodbury.

    f(phi_list) = (1/N) sum_i f_i: the follower's objective, a mean over the batch's N samples, where f_i depends on
    sample i only (real_i and fake_i = G(z_i); no batch statistics, e.g. not BRC-Rf's discriminator); ``module``: the
    discriminator whose trainable parameters ``names``/``phi`` all belong to ``nn.Linear`` layers (the MoG MLPs);
    ``fake``: the generated batch f sees (theta enters f only through it). With g_i = d_phi f_i, U = [g_1 .. g_N]:

        H_phiphi ~ (1/N) U U^T + lambda I,    H_thetaphi ~ (1/N) sum_i (d_theta f_i) g_i^T,    b = d_phi F,
        v = H_phiphi^{-1} b,   BR = -H_thetaphi v = -sum_i c_i d_theta f_i,   c = (U^T U + N lambda I)^{-1} U^T b,

    (Woodbury: U^T v = N (U^T U + N lambda I)^{-1} U^T b), so the surrogate is F - br_sign * sum_i c_i f_i with c
    fixed. Its theta-gradient uses sum_i c_i d_theta f_i = d_theta sum_i <N c_i d f / d fake_i, fake_i>.
    Per-sample gradients without materialising U for wide layers: a Linear layer's per-sample weight gradient is
    sum_calls delta_i a_i^T (delta_i = N d f / d out_i, a_i its input), so its Gram block is
    sum_{calls c, c'} (Delta_c Delta_c'^T) * (A_c A_c'^T) (elementwise), N^2 (out + in) flops per pair instead of
    N^2 out in; layers where out * in is smaller are materialised. Returns (surrogate, info with ``kappa`` = sum_i c_i,
    which equals Eq. (9)'s kappa when all g_i are equal).
    """
    phi = list(phi)
    n = fake.shape[0]
    mods = dict(module.named_modules())
    owner = {}
    for name, q in zip(names, phi):
        path, _, attr = name.rpartition(".")
        m = mods.get(path)
        if not isinstance(m, torch.nn.Linear) or attr not in ("weight", "bias"):
            raise ValueError(f"brc_solver 'gn' needs a discriminator of nn.Linear layers (the MoG MLPs); parameter "
                             f"{name!r} is not a Linear layer's weight or bias")
        owner[name] = (m, attr)
    Fv = F(phi)
    b = dict(zip(names, [x.detach() for x in _grad(Fv, phi)]))
    with _linear_calls(module) as calls:
        fv = f(phi)
    outs = [out for _, _, out in calls]
    grads = torch.autograd.grad(fv, outs + [fake], retain_graph=True, allow_unused=True)
    g_fake = grads[-1]
    if g_fake is None:
        raise ValueError("brc_solver 'gn': the follower's objective does not depend on the generated batch")
    by_layer: dict = {}
    for (m, a, _), d in zip(calls, grads[:-1]):
        if d is None:
            continue
        if a.shape[0] != n or d.shape[0] != n:
            raise ValueError(f"brc_solver 'gn' pairs real and generated samples one to one: a layer saw a batch of "
                             f"{a.shape[0]}, the generated batch has {n}")
        by_layer.setdefault(m, []).append((a.detach().double(), n * d.detach().double()))
    G = torch.zeros(n, n, dtype=torch.float64, device=fake.device)
    Ub = torch.zeros(n, dtype=torch.float64, device=fake.device)
    for name in names:
        m, attr = owner[name]
        cs = by_layer.get(m, [])
        if not cs:
            continue
        B = b[name].double()
        if attr == "bias":
            delta = sum(d for _, d in cs)
            G += delta @ delta.T
            Ub += delta @ B
            continue
        Ub += sum(((d @ B) * a).sum(1) for a, d in cs)
        out_f, in_f = m.weight.shape
        if out_f * in_f <= 4 * (out_f + in_f):
            Uw = sum(torch.einsum("no,ni->noi", d, a) for a, d in cs).reshape(n, -1)
            G += Uw @ Uw.T
        else:
            for a1, d1 in cs:
                for a2, d2 in cs:
                    G += (d1 @ d2.T) * (a1 @ a2.T)
    c = torch.linalg.solve(G + n * damping * torch.eye(n, dtype=G.dtype, device=G.device), Ub)
    w = (n * c).to(fake.dtype).view(n, *[1] * (fake.dim() - 1)) * g_fake.detach()
    term = (w * fake).sum()
    return _with_value(Fv - br_sign * term, Fv), {"F": Fv.detach(), "kappa": c.sum().to(fake.dtype).detach()}


# ----------------------------------------------------------------------------------------- GAN wrapper
@contextmanager
def saved_tensor_meter():
    """Counts the bytes autograd saves for backward inside the block (each storage once): the graph memory a
    hypergradient solver builds. ``meter.mb`` after the block."""

    @dataclass
    class Meter:
        bytes: int = 0
        mb: float = 0.0

    m, seen = Meter(), set()

    def pack(t):
        try:
            key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        except Exception:  # noqa: BLE001 - tensors without storage (e.g. sparse): count their size
            key = (id(t), t.numel() * t.element_size())
        if key not in seen:
            seen.add(key)
            m.bytes += key[1]
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        yield m
    m.mb = m.bytes / 2**20


class FunctionalD:
    """D as a function of an explicit parameter list (buffers, e.g. BatchNorm statistics, come from the module).

    ``cache``: a dict shared by the FunctionalDs of one hypergradient; a call with the same input tensor and the same
    parameter tensors returns the first call's output (f and F both score the generated batch: one forward, and
    one graph for the generator's backward). D must be deterministic (no dropout); a BatchNorm D then updates its
    running statistics, and a spectrally normalised D its power-iteration vectors, once per distinct batch instead of
    once per call (so f and F now see the very same D: with the hinge loss and an inactive real term their
    phi-gradients coincide and kappa = 1 exactly)."""

    def __init__(self, module, names, params, cache: dict | None = None):
        self.module, self.names, self.params, self.cache = module, tuple(names), list(params), cache

    def __call__(self, x):
        if self.cache is None:
            return functional_call(self.module, dict(zip(self.names, self.params)), (x,))
        key = (id(x), *map(id, self.params))
        hit = self.cache.get(key)
        if hit is None or hit[0] is not x:
            hit = (x, self.params, functional_call(self.module, dict(zip(self.names, self.params)), (x,)))
            self.cache[key] = hit  # holds x and the params, so their ids stay theirs while the cache lives
        return hit[2]

    def named_parameters(self):
        return zip(self.names, self.params)


def functional_discriminator(D, names, params, cache: dict | None = None) -> FunctionalD:
    if isinstance(D, FunctionalD):
        D = D.module
    return FunctionalD(D, names, params, cache)


def brc_g_loss(base_d_loss, base_g_loss):
    """Wrap a GAN's losses: its generator loss becomes the BRC hypergradient surrogate (Algorithm 1).

    Method params: ``brc_solver`` (default iga), ``brc_steps``, ``brc_inner_lr``, ``brc_damping``,
    ``brc_neumann_alpha``, ``brc_br_sign`` (+1; -1 = reading 2). Needs ``ctx.real`` (the last real batch of the discriminator steps).
    """

    def g_loss(D, fake, p, ctx):
        names, phi = zip(*[(n, q) for n, q in D.named_parameters() if q.requires_grad])

        def f(ph):
            return -base_d_loss(functional_discriminator(D, names, ph, shared), ctx.real, fake, p, ctx)[0]

        base_stats = {}
        shared: dict = {}  # D's outputs, shared by f and F at the same parameters (FunctionalD)

        def F(ph):  # the wrapped generator loss; its statistics (e.g. LCGAN's distance) from the last evaluation
            loss, st = base_g_loss(functional_discriminator(D, names, ph, shared), fake, p, ctx)
            base_stats.update({k: v.detach() if isinstance(v, torch.Tensor) else v for k, v in st.items()})
            return loss

        solver, sign = p.get("brc_solver", "iga"), float(p.get("brc_br_sign", 1))
        damping = float(p.get("brc_damping", 1e-8))
        with saved_tensor_meter() as meter:
            if solver == "gn":
                module = D.module if isinstance(D, FunctionalD) else D
                surrogate, info = per_sample_gauss_newton_surrogate(module, names, phi, f, F, fake, damping, sign)
            else:
                surrogate, info = best_response_surrogate(
                    f, F, phi, solver=solver, steps=int(p.get("brc_steps", 5)),
                    inner_lr=float(p.get("brc_inner_lr", 0.01)), damping=damping,
                    neumann_alpha=float(p.get("brc_neumann_alpha", 0.01)), br_sign=sign, through=fake)
        stats = {**base_stats, "hypergrad_graph_mb": round(meter.bytes / 2**20, 4)}
        if "kappa" in info:
            stats["brc_kappa"] = info["kappa"]
        return surrogate, stats

    return g_loss


BRC_PARAMS = frozenset({"brc", "brc_solver", "brc_steps", "brc_inner_lr", "brc_damping", "brc_neumann_alpha",
                        "brc_br_sign"})

# The readings of Eqs. (8)-(9) besides the default IGA (docs/brc.md), as variants of a wrapped baseline's ``plain``;
# and the reading of Algorithm 1's "optimize the discriminator ... in several steps to approximate the optimal
# discriminator" (brc.txt 2.3) with 5 D steps per G step (``brc_d5``; the default is one D step, the baselines' own
# setting and the same number of updates for every row: docs/brc.md "Discriminator steps")
D_STEPS_READING = 5
READING_VARIANTS = {"brc_sign": ("plain", {"brc_br_sign": -1}), "brc_gn": ("plain", {"brc_solver": "gn"}),
                    "brc_d5": ("plain", {"n_critic": D_STEPS_READING})}


def brc_log_keys(p: dict) -> dict:
    """Statistics ``brc_g_loss`` reports: the hypergradient graph size (max over a log interval) and, for IGA,
    Eq. 9's kappa (mean over the interval; for ``gn`` the sum of its per-sample coefficients)."""
    keys = {"hypergrad_graph_mb": "max"}
    if p.get("brc_solver", "iga") in ("iga", "gn"):
        keys["brc_kappa"] = "mean"
    return keys


def with_brc(method, brc_variants: dict[str, tuple[str, dict]]):
    """Add BRC variants to a registered method: ``{"brc": ("plain", {extra params})}`` makes variant ``brc`` =
    variant ``plain`` + ``brc: true`` + the extra params. Losses of BRC variants go through ``brc_g_loss``."""
    from dataclasses import replace

    variants = dict(method.variants)
    for name, (base, extra) in brc_variants.items():
        variants[name] = {**method.variants[base], "brc": True, **extra}
    wrapped = brc_g_loss(method.d_loss, method.g_loss)

    def g_loss(D, fake, p, ctx):
        if p.get("brc"):
            return wrapped(D, fake, p, ctx)
        return method.g_loss(D, fake, p, ctx)

    base_keys = method.log_keys

    def log_keys(p: dict) -> dict:
        keys = dict(base_keys(p) if callable(base_keys) else base_keys)
        return {**keys, **brc_log_keys(p)} if p.get("brc") else keys

    return replace(method, variants=variants, g_loss=g_loss, log_keys=log_keys,
                   extra_params=frozenset(method.extra_params) | BRC_PARAMS)
