"""BRC's hypergradient (ganrepro/methods/brc.py) against exact implicit gradients on small quadratic games."""
import pytest
import torch

from ganrepro.methods.brc import best_response_surrogate, implicit_gradient_coefficient



@pytest.fixture(autouse=True)
def float64():
    """Exact comparisons in double precision; the default dtype is restored for the other test modules."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _hyper(surrogate, theta):
    return torch.autograd.grad(surrogate, theta, retain_graph=True)[0]


def scalar_game(seed=0, n_theta=3):
    """f = -(w phi - a.theta - c)^2 / 2 (phi scalar), F = |theta|^2/2 + s phi^2 + phi d.theta."""
    g = torch.Generator().manual_seed(seed)
    a, d = torch.randn(n_theta, generator=g), torch.randn(n_theta, generator=g)
    w, c, s = 1.7, 0.3, 0.8
    theta = torch.randn(n_theta, generator=g).requires_grad_(True)
    phi = torch.randn(1, generator=g).requires_grad_(True)

    def f(ph):
        return -0.5 * (w * ph[0] - a @ theta - c).pow(2).sum()

    def F(ph):
        return 0.5 * theta.pow(2).sum() + s * ph[0].pow(2).sum() + (ph[0] * (d @ theta)).sum()

    # hand-computed: H = -w^2, H_theta,phi = a w, dF/dphi = 2 s phi + d.theta -> BR = a (2 s phi + d.theta) / w
    b = 2 * s * phi.detach() + d @ theta.detach()
    exact = theta.detach() + phi.detach() * d + a * b / w
    return f, F, theta, phi, exact


def test_iga_equals_hand_computed_implicit_gradient_on_scalar_quadratic_game():
    for seed in range(3):
        f, F, theta, phi, exact = scalar_game(seed)
        surrogate, info = best_response_surrogate(f, F, [phi], solver="iga", damping=0.0)
        torch.testing.assert_close(_hyper(surrogate, theta), exact, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(info["F"], F([phi]).detach())  # the surrogate reports the leader's loss


@pytest.mark.parametrize("solver", ["exact", "cg", "neumann"])
def test_implicit_solvers_match_hand_computed_gradient(solver):
    f, F, theta, phi, exact = scalar_game(1)
    opts = {"steps": 200, "neumann_alpha": 0.2} if solver == "neumann" else {"steps": 1}
    surrogate, _ = best_response_surrogate(f, F, [phi], solver=solver, damping=0.0, **opts)
    torch.testing.assert_close(_hyper(surrogate, theta), exact, rtol=1e-8, atol=1e-8)


def vector_game(seed=0, n_theta=4, n_phi=3):
    """f = -|A phi - B theta - c|^2 / 2 (strongly concave in phi), F = |theta - t|^2/2 + e.phi + phi.M theta."""
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(n_phi, n_phi, generator=g) + 2 * torch.eye(n_phi)
    B, c = torch.randn(n_phi, n_theta, generator=g), torch.randn(n_phi, generator=g)
    t, e, M = torch.randn(n_theta, generator=g), torch.randn(n_phi, generator=g), torch.randn(n_phi, n_theta, generator=g)
    theta = torch.randn(n_theta, generator=g).requires_grad_(True)

    def f(ph):
        return -0.5 * (A @ ph[0] - B @ theta - c).pow(2).sum()

    def F(ph):
        return 0.5 * (theta - t).pow(2).sum() + e @ ph[0] + ph[0] @ (M @ theta)

    # closed form: phi*(theta) = A^{-1}(B theta + c); dF/dtheta = (theta - t) + M^T phi* + (A^{-1} B)^T (e + M theta)
    Ainv = torch.linalg.inv(A)
    th = theta.detach()
    phi_star = Ainv @ (B @ th + c)
    exact = (th - t) + M.T @ phi_star + (Ainv @ B).T @ (e + M @ th)
    return f, F, theta, phi_star, exact


@pytest.mark.parametrize("solver,opts,tol", [
    ("exact", {}, 1e-9),
    ("cg", {"steps": 3}, 1e-7),                    # CG is exact after n_phi iterations
    ("neumann", {"steps": 3000, "neumann_alpha": 0.02}, 1e-6),
    ("rhg", {"steps": 3000, "inner_lr": 0.02}, 1e-6),  # unrolled ascent from phi*: the limit K -> inf
])
def test_solvers_match_exact_hypergradient_at_the_best_response(solver, opts, tol):
    f, F, theta, phi_star, exact = vector_game()
    phi = phi_star.clone().requires_grad_(True)
    surrogate, _ = best_response_surrogate(f, F, [phi], solver=solver, damping=0.0, **opts)
    torch.testing.assert_close(_hyper(surrogate, theta), exact, rtol=tol, atol=tol)


def test_rhg_converges_to_implicit_gradient_as_unrolling_grows():
    f, F, theta, phi_star, exact = vector_game(seed=2)
    phi0 = (phi_star + 0.5).requires_grad_(True)  # start away from the best response
    errs = []
    for k in (5, 50, 2000):
        s, _ = best_response_surrogate(f, F, [phi0], solver="rhg", steps=k, inner_lr=0.02)
        errs.append(float((_hyper(s, theta) - exact).norm()))
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-6


def test_iga_on_rank_one_game_equals_damped_exact_solution():
    """One residual r = u.phi - v.theta - c: Gauss-Newton's outer product is the exact Hessian -u u^T (rank 1).
    With damping, IGA's lambda equals the exact solver's lambda times r^2 (derivation in ganrepro/methods/brc.py)."""
    g = torch.Generator().manual_seed(3)
    u, v, e = torch.randn(3, generator=g), torch.randn(2, generator=g), torch.randn(3, generator=g)
    theta = torch.randn(2, generator=g).requires_grad_(True)
    phi = torch.randn(3, generator=g).requires_grad_(True)

    def f(ph):
        return -0.5 * (u @ ph[0] - v @ theta - 0.4).pow(2)

    def F(ph):
        return (e @ ph[0]) * theta.sum()

    lam = 0.05
    r2 = float((u @ phi - v @ theta - 0.4).pow(2).detach())
    s_exact, _ = best_response_surrogate(f, F, [phi], solver="exact", damping=lam)
    s_iga, _ = best_response_surrogate(f, F, [phi], solver="iga", damping=lam * r2)
    torch.testing.assert_close(_hyper(s_iga, theta), _hyper(s_exact, theta), rtol=1e-9, atol=1e-9)


def test_implicit_gradient_coefficient_by_hand():
    g_phi, b = [torch.tensor([3.0, 4.0])], [torch.tensor([1.0, 2.0])]
    assert float(implicit_gradient_coefficient(g_phi, b, damping=0.0)) == pytest.approx(11 / 25)
    assert float(implicit_gradient_coefficient(g_phi, b, damping=5.0)) == pytest.approx(11 / 30)


def test_unknown_solver_is_rejected():
    f, F, theta, phi, _ = scalar_game()
    with pytest.raises(ValueError, match="unknown best-response solver"):
        best_response_surrogate(f, F, [phi], solver="newton")


# ------------------------------------------------------------------ readings of Eq. (9) (docs/brc.md, issue 18)
@pytest.mark.parametrize("solver,opts", [("iga", {}), ("exact", {}), ("cg", {"steps": 3}), ("neumann", {"steps": 50})])
def test_sign_reading_is_exactly_the_negated_br_term(solver, opts):
    f, F, theta, phi_star, _ = vector_game(seed=4)
    phi = (phi_star + 0.3).requires_grad_(True)
    direct = _hyper(F([phi]), theta)
    plus, _ = best_response_surrogate(f, F, [phi], solver=solver, damping=1e-3, **opts)
    minus, _ = best_response_surrogate(f, F, [phi], solver=solver, damping=1e-3, br_sign=-1, **opts)
    br = _hyper(plus, theta) - direct
    assert float(br.norm()) > 1e-3  # a real BR term, so the test can fail
    torch.testing.assert_close(_hyper(minus, theta) - direct, -br, rtol=1e-10, atol=1e-10)


def test_sign_reading_is_refused_for_unrolled_solvers():
    f, F, theta, phi, _ = scalar_game()
    with pytest.raises(ValueError, match="explicit BR term"):
        best_response_surrogate(f, F, [phi], solver="rhg", br_sign=-1)


def _mlp_game(n=6, width=12, seed=0):
    """A MoG-like game: D an MLP of nn.Linear layers (2 -> width -> width -> 1; the middle layer takes the
    Gram-trick path, the others are materialised), G(z) = z W (theta = W), VGAN's per-sample objective
    f_i = log sigmoid D(x_i) + log(1 - sigmoid D(G(z_i))), F = mean -log sigmoid D(G(z))."""
    from torch import nn
    from torch.func import functional_call

    g = torch.Generator().manual_seed(seed)
    D = nn.Sequential(nn.Linear(2, width), nn.LeakyReLU(0.2), nn.Linear(width, width), nn.LeakyReLU(0.2),
                      nn.Linear(width, 1))
    with torch.no_grad():
        for q in D.parameters():
            q.copy_(torch.randn(q.shape, generator=g) * 0.5)
    names, phi = zip(*D.named_parameters())
    W = torch.randn(3, 2, generator=g).requires_grad_(True)
    z, x = torch.randn(n, 3, generator=g), torch.randn(n, 2, generator=g)
    fake = z @ W

    def Dfun(ph, inp):
        return functional_call(D, dict(zip(names, ph)), (inp,)).squeeze(1)

    def f_i(ph, i):
        ls = torch.nn.functional.logsigmoid
        return ls(Dfun(ph, x[i:i + 1])) + ls(-Dfun(ph, (z[i:i + 1] @ W)))

    def f(ph):
        ls = torch.nn.functional.logsigmoid
        return ls(Dfun(ph, x)).mean() + ls(-Dfun(ph, fake)).mean()

    def F(ph):
        return -torch.nn.functional.logsigmoid(Dfun(ph, fake)).mean()

    return D, names, list(phi), W, fake, f, F, f_i


def test_per_sample_gauss_newton_equals_dense_solve_of_the_same_matrix():
    from ganrepro.methods.brc import _flat, per_sample_gauss_newton_surrogate

    n, lam = 6, 1e-3
    D, names, phi, W, fake, f, F, f_i = _mlp_game(n=n)
    surrogate, info = per_sample_gauss_newton_surrogate(D, names, phi, f, F, fake, damping=lam)
    got = _hyper(surrogate, W)
    # dense: U's columns are the per-sample phi-gradients, each by its own backward
    U = torch.stack([_flat(torch.autograd.grad(f_i(phi, i).sum(), phi)) for i in range(n)], dim=1)
    g_theta = [torch.autograd.grad(f_i(phi, i).sum(), W)[0] for i in range(n)]
    b = _flat(torch.autograd.grad(F(phi), phi))
    H = U @ U.T / n + lam * torch.eye(U.shape[0])
    v = torch.linalg.solve(H, b)
    br = -sum(gt * float(U[:, i] @ v) for i, gt in enumerate(g_theta)) / n
    expected = torch.autograd.grad(F(phi), W, retain_graph=True)[0] + br
    assert float(br.norm()) > 1e-3
    torch.testing.assert_close(got, expected, rtol=1e-7, atol=1e-9)
    torch.testing.assert_close(surrogate, F(phi))  # the surrogate's value is the leader's loss
    # the per-sample gradients sum to the batch gradient (no coupling between samples)
    torch.testing.assert_close(U.mean(1), _flat(torch.autograd.grad(f(phi), phi)))
    # the sign reading negates the same BR term
    minus, _ = per_sample_gauss_newton_surrogate(D, names, phi, f, F, fake, damping=lam, br_sign=-1)
    torch.testing.assert_close(_hyper(minus, W) - (expected - br), -br, rtol=1e-7, atol=1e-9)
    assert torch.isfinite(info["kappa"])


def test_per_sample_gauss_newton_of_one_sample_is_iga():
    from ganrepro.methods.brc import per_sample_gauss_newton_surrogate

    D, names, phi, W, fake, f, F, _ = _mlp_game(n=1, seed=1)
    gn, info_gn = per_sample_gauss_newton_surrogate(D, names, phi, f, F, fake, damping=1e-4)
    iga, info_iga = best_response_surrogate(f, F, phi, solver="iga", damping=1e-4)
    torch.testing.assert_close(_hyper(gn, W), _hyper(iga, W), rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(info_gn["kappa"], info_iga["kappa"], rtol=1e-9, atol=1e-12)


def test_per_sample_gauss_newton_refuses_non_linear_parameters():
    from torch import nn

    from ganrepro.methods.brc import per_sample_gauss_newton_surrogate

    D, names, phi, W, fake, f, F, _ = _mlp_game(n=2)
    conv = nn.Conv1d(1, 1, 1)
    with pytest.raises(ValueError, match="nn.Linear layers"):
        per_sample_gauss_newton_surrogate(conv, ["weight"], [conv.weight], f, F, fake)


@pytest.mark.parametrize("sign", [1, -1])
def test_iga_through_the_batch_equals_the_plain_surrogate(sign):
    """The cheaper IGA (d/d fake taken with the phi-gradients; the surrogate's backward skips D) is the same
    gradient as differentiating F - kappa f through D."""
    D, names, phi, W, fake, f, F, _ = _mlp_game(n=5, seed=2)
    slow, info_slow = best_response_surrogate(f, F, phi, solver="iga", damping=1e-6, br_sign=sign)
    fast, info_fast = best_response_surrogate(f, F, phi, solver="iga", damping=1e-6, br_sign=sign, through=fake)
    torch.testing.assert_close(_hyper(fast, W), _hyper(slow, W), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(fast, slow)  # both report the leader's loss
    torch.testing.assert_close(info_fast["kappa"], info_slow["kappa"])


def test_functional_discriminator_shares_a_forward_per_input_and_parameters():
    from ganrepro.methods.brc import functional_discriminator

    D, names, phi, W, fake, f, F, _ = _mlp_game(n=3)
    cache, calls = {}, []
    hook = D[0].register_forward_hook(lambda *a: calls.append(1))
    d1 = functional_discriminator(D, names, phi, cache)
    out = d1(fake)
    assert functional_discriminator(D, names, phi, cache)(fake) is out and len(calls) == 1  # f and F: one forward
    other = [q.detach().clone() for q in phi]
    torch.testing.assert_close(functional_discriminator(D, names, other, cache)(fake), out)  # same values, new call
    assert len(calls) == 2 and d1(fake.clone()) is not out and len(calls) == 3
    hook.remove()
