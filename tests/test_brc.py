"""BRC's hypergradient (models/brc.py) against exact implicit gradients on small quadratic games."""
import pytest
import torch

from models.brc import best_response_surrogate, implicit_gradient_coefficient



@pytest.fixture(autouse=True)
def float64():
    """Exact comparisons in double precision; the default dtype is restored for the other test modules."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _hyper(surrogate, theta):
    return torch.autograd.grad(surrogate, theta)[0]


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
    With damping, IGA's lambda equals the exact solver's lambda times r^2 (derivation in models/brc.py)."""
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
