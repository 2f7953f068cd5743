"""ganrepro.tools.plan: the power of the verdict rule 'beyond the seed spread' against a hand integral and a
simulation, the seeds it needs, and the plan of a table."""
import math

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

from ganrepro.spec import tables as T
from ganrepro.tools import plan


def test_power_with_two_seeds_is_the_hand_integral():
    """n = 2, both stds 1: each sample std is |Z| (chi with 1 degree of freedom), so max(s_a, s_b) has CDF
    (2 Phi(m) - 1)^2 and density 4 (2 Phi(m) - 1) phi(m); D ~ N(d, 1). Power = int Phi(d - m) 4 (2 Phi(m) - 1) phi(m)."""
    for d in (0.5, 2.0, 3.0):
        hand, _ = integrate.quad(lambda m, d=d: norm.cdf(d - m) * 4 * (2 * norm.cdf(m) - 1) * norm.pdf(m), 0, np.inf)
        assert plan.power(d, 1.0, 1.0, 2) == pytest.approx(hand, abs=2e-4)


@pytest.mark.parametrize("d,sd_a,sd_b,n", [(3.5, 1.0, 2.0, 5), (1.5, 1.0, 1.0, 8), (0.26, 0.09, 0.21, 19)])
def test_power_matches_a_simulation_of_the_rule_on_normal_seeds(d, sd_a, sd_b, n):
    rng = np.random.default_rng(0)
    trials = 200_000
    a = rng.normal(d, sd_a, (trials, n))
    b = rng.normal(0.0, sd_b, (trials, n))
    diff = a.mean(1) - b.mean(1)
    judged = (diff > 0) & (np.abs(diff) > np.maximum(a.std(1, ddof=1), b.std(1, ddof=1)))
    assert plan.power(d, sd_a, sd_b, n) == pytest.approx(judged.mean(), abs=0.005)


def test_seeds_needed_is_the_first_n_with_the_power_and_none_below_the_spread():
    n = plan.seeds_needed(1.5, 1.0, 1.0)
    assert n is not None and plan.power(1.5, 1.0, 1.0, n) >= 0.8 > plan.power(1.5, 1.0, 1.0, n - 1)
    # the rule compares with the std: a difference below the larger spread never gets there
    assert plan.seeds_needed(0.9, 1.0, 1.0) is None and plan.power(0.9, 1.0, 1.0, 200) < 0.5
    assert plan.seeds_needed(5.0, 0.0, 0.0) == 2


def test_the_plan_of_a_table_reads_the_published_stds(full_cfg):
    spec = T.get_spec("brc_table2")
    needs = plan.plan(spec, full_cfg)
    wgan = next(nd for nd in needs if nd.where == "rows wgan_brc vs wgan in column ring8_fid")
    assert wgan.diff == pytest.approx(0.26) and [s.source for s in wgan.spreads] == ["published std"] * 2
    assert (wgan.spreads[0].sd, wgan.spreads[1].sd) == (0.09, 0.21)
    assert wgan.seeds == plan.seeds_needed(0.26, 0.09, 0.21) and math.isfinite(wgan.seeds)


def test_plan_cli_prints_the_seeds_and_their_cost(capsys):
    from ganrepro.cli import main

    assert main(["plan", "glgan_table1"]) == 0
    out = capsys.readouterr().out
    assert "assumed 5% of the mean" in out and "glgan_celeba128/glgan/patch4_adaop" in out
    assert out.rstrip().splitlines()[-1].startswith("total for those seeds:")
