"""FLOPs of one ``train_step`` of a planned run at its full-scale size, counted on the ``meta`` device (issue 33).

``step_flops(cfg, exp, method, variant)`` builds the run's networks and Adam optimisers on ``meta`` (no memory, no
arithmetic), feeds a real batch of the run's batch size and resolution, and counts one step of the training loop
(``ganrepro.train.loop.train_step``: ``n_critic`` discriminator updates with their penalties and second derivatives,
the generator update with its extra gradients or masks, the EMA; with n_critic > 1, one critic update is counted
and multiplied, the shapes being the same in each) with ``ganrepro.util.flops.count_flops``: the same
figure the GPU check records per row (``benchmarks/results/benchmarks_<gpu>.json``, ``flops``), which counted it on
the GPU. Methods with a ``bench_state`` count the branch it selects (GL-GAN's Ada-OP: the local, masked objective).

The counts are cached in ``.cache/step_flops.json`` (git-ignored), keyed by a hash of the sources they depend on
(``ganrepro/methods``, the training loop and its fast path, the counter) and torch's version; each entry by the
method, its resolved parameters, batch and resolution, so experiments that train the same network share a count.
"""
from __future__ import annotations

import hashlib
import json

from ganrepro import ROOT, paths
from ganrepro.config import config as C

CACHE = paths.VARIANTS_CACHE.with_name("step_flops.json")
SOURCES = ("ganrepro/methods/**/*.py", "ganrepro/train/loop.py", "ganrepro/train/fastpath.py", "ganrepro/util/flops.py",
           "ganrepro/tools/stepflops.py")


def sources_key() -> str:
    """A hash of every source a step's count depends on, and of torch's version (its FLOP formulas)."""
    from importlib.metadata import version

    h = hashlib.sha256(version("torch").encode())
    for f in sorted({p for g in SOURCES for p in ROOT.glob(g)}):
        h.update(f"{f.relative_to(ROOT)}\0".encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def entry_key(rc: dict) -> str:
    """What a step's FLOPs depend on in a resolved run: the method, its parameters, batch and resolution."""
    return json.dumps([rc["method"], rc["method_params"], int(rc["train"]["batch_size"]), rc.get("resolution")],
                      sort_keys=True, default=str)


def count_step(rc: dict) -> int:
    """FLOPs of one training step of the resolved run ``rc``, counted on ``meta`` tensors."""
    import torch

    from ganrepro.methods import registry
    from ganrepro.train.loop import Context, d_step, g_step, make_nets, train_step
    from ganrepro.util.flops import count_flops

    method = registry.get(rc["method"])
    params, tcfg = dict(rc["method_params"]), {**rc["train"], "fast": {}}
    batch = int(tcfg["batch_size"])
    with torch.device("meta"):
        nets = make_nets(method, params, tcfg, "meta")
    ctx = Context(rng=torch.Generator().manual_seed(0), device="meta", epoch=int(tcfg.get("epochs") or 0))
    if method.bench_state is not None:
        ctx.state.update({k: v.to("meta") if torch.is_tensor(v) else v for k, v in method.bench_state(params).items()})
    if not rc.get("resolution"):
        raise ValueError(f"{rc['experiment']}: not an image run (BRC's mixtures train on a CPU; not counted)")
    real = torch.empty(batch, 3, int(rc["resolution"]), int(rc["resolution"]), device="meta")
    n_critic = int(params.get("n_critic", 1))
    if n_critic == 1:
        return count_flops(lambda: train_step(method, nets, lambda: real, params, ctx))
    # n_critic identical critic updates: one counted, times n_critic, then the generator's (as train_step runs them)
    d = count_flops(lambda: d_step(method, nets, real, params, ctx))
    ctx.real = real
    return n_critic * d + count_flops(lambda: g_step(method, nets, batch, params, ctx))


def _load() -> dict:
    try:
        return json.loads(CACHE.read_text())
    except (OSError, ValueError):
        return {}


def step_flops_many(cfg: dict, runs: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], int | str]:
    """(experiment, method, variant) -> FLOPs of one step at the config's scale (an ``str``: why it could not be
    counted), from the cache where it holds the current sources' count; new counts are written back."""
    key = sources_key()
    cached = _load()
    entries = cached.get("entries", {}) if cached.get("key") == key else {}
    out, new = {}, False
    for exp, m, v in runs:
        rc = C.resolve_run(cfg, exp, m, v, 0)
        k = entry_key(rc)
        if k not in entries:
            try:
                entries[k] = count_step(rc)
            except Exception as e:  # noqa: BLE001 - a run that cannot be counted is priced otherwise, flagged
                entries[k] = f"not counted: {type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"
            new = True
        out[(exp, m, v)] = entries[k]
    if new:
        try:
            from ganrepro.util.io import write_text

            write_text(CACHE, json.dumps({"key": key, "entries": entries}, indent=0, sort_keys=True) + "\n")
        except OSError:
            pass
    return out


def step_flops(cfg: dict, exp: str, m: str, v: str) -> int | str:
    return step_flops_many(cfg, [(exp, m, v)])[(exp, m, v)]
