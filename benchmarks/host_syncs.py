"""Benchmark: host synchronisations per training step, for every registered method and variant.

    .venv/bin/python benchmarks/host_syncs.py [--steps 4] [--only TEXT] [--out FILE]

A host synchronisation is a call that copies a device value to the host (``.item()``, ``.cpu()``, ``.tolist()``,
``float(t)``, ``int(t)``, ``bool(t)``) made by the suite's own code (``ganrepro/``, ``baselines/``, ``models/``;
torch's internals are not counted). Each run is trained twice, for S and 2S steps, with one log and one checkpoint
at the end; the difference of the two counts divided by S is the number per step between log intervals (the fixed
cost of the final log, checkpoint, samples and set-up cancels). The training loop's goal is 0; a method whose
algorithm needs the host (WGAN-QC's exact OT solve) declares its count per D step (``Method.host_syncs_per_d_step``,
with the reason), recorded beside the measured one.

Runs are tiny (16 px, widths 8, CPU) on a synthetic CIFAR-format fixture; the MoG methods on their own mixtures.
"""
from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganrepro.methods import registry  # noqa: E402
from ganrepro.config.config import is_mog, load_config, resolve_run  # noqa: E402
from ganrepro.util.io import write_json  # noqa: E402

METHODS_ = ("item", "cpu", "tolist", "__bool__", "__float__", "__int__", "__index__")
MOG_METHODS = ("vgan", "wgan", "unrolled_gan", "lcgan", "proxgan")  # timed on BRC's mixtures; the rest on images
OURS = tuple(str(ROOT / d) + "/" for d in ("ganrepro", "baselines", "models"))


class SyncCounter:
    """Counts calls of the host-copy tensor methods made from the suite's code while active."""

    def __init__(self):
        self.n, self._orig = 0, {}

    def __enter__(self):
        for name in METHODS_:
            orig = self._orig[name] = getattr(torch.Tensor, name)

            def wrapper(t, *a, _orig=orig, **k):
                if sys._getframe(1).f_code.co_filename.startswith(OURS):
                    self.n += 1
                return _orig(t, *a, **k)

            setattr(torch.Tensor, name, wrapper)
        return self

    def __exit__(self, *exc):
        for name, orig in self._orig.items():
            setattr(torch.Tensor, name, orig)


def _cases(cfg):
    """(label, experiment, method, variant): every registered variant on an experiment that uses it."""
    image_exp, mog_exp = "lga_cifar10", "brc_ring8"
    for name in registry.registered():
        m = registry.get(name)
        for variant in m.variants:
            try:
                p = resolve_run(cfg, mog_exp, name, variant, 0)["method_params"]
                mog_ok = True
            except Exception:  # noqa: BLE001
                mog_ok = False
            conv = name not in MOG_METHODS
            yield f"{name}/{variant}", (image_exp if conv or not mog_ok else mog_exp), name, variant


def _data_dir(tmp: Path) -> str:
    from ganrepro.data.fixtures import write_fixture
    from ganrepro.data.prepare import prepare

    src = write_fixture("cifar_pickle", tmp / "raw" / "cifar.tar.gz", n=32, size=(32, 32))
    prepare("cifar_pickle", src, tmp / "prepared", resolution=16)
    return str(tmp / "prepared")


def count(cfg, experiment, method, variant, steps: int, data_dir: str, tmp: Path) -> float:
    from ganrepro.train.loop import train

    run = resolve_run(cfg, experiment, method, variant, 0)
    run["device"] = "cpu"
    run["method_params"].update(g_width=8, d_width=8, z_dim=8 if not is_mog(cfg, experiment) else
                                run["method_params"]["z_dim"])
    if not is_mog(cfg, experiment):
        run["data_dir"] = data_dir
        run["method_params"]["resolution"] = run["resolution"] = 16
    for key in list(run.get("depends_on", {})):  # a run another one reads first (GL-GAN's per-epoch history):
        dm, dv = key.split("/")  # trained here at the same size, outside the counted calls
        dep = tmp / f"{dm}_{dv}_dependency"
        if not (dep / "train.json").exists():
            d = resolve_run(cfg, experiment, dm, dv, 0)
            d["device"], d["data_dir"], d["method_params"] = "cpu", run["data_dir"], {
                **d["method_params"], **{k: run["method_params"][k] for k in ("g_width", "d_width", "z_dim",
                                                                            "resolution")}}
            d["resolution"] = run["resolution"]
            d["train"].update(steps=steps, batch_size=8, log_every=1, ckpt_every=steps, eval_points=None)
            train(d, dep)
        run["depends_on"][key] = str(dep)
    totals = []
    for s in (steps, 2 * steps):
        r = copy.deepcopy(run)
        r["train"].update(steps=s, batch_size=8 if not is_mog(cfg, experiment) else 64, log_every=s, ckpt_every=s,
                          monitor_every=None, eval_points=None)  # no snapshot steps: they read the device
        with SyncCounter() as c:
            train(r, tmp / f"{method}_{variant}_{s}")
        totals.append(c.n)
    return (totals[1] - totals[0]) / steps


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--only", default=None, help="only cases whose label contains this text")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    cfg = load_config(overrides={"scale": "smoke"})
    rows = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        data_dir = _data_dir(tmp)
        for label, exp, m, v in _cases(cfg):
            if args.only and args.only not in label:
                continue
            method = registry.get(m)
            n_critic = resolve_run(cfg, exp, m, v, 0)["method_params"].get("n_critic", 1)
            rows[label] = {"experiment": exp, "syncs_per_step": count(cfg, exp, m, v, args.steps, data_dir, tmp),
                           "declared_per_step": method.host_syncs_per_d_step * n_critic}
            if method.host_syncs_per_d_step:
                rows[label]["reason"] = method.host_sync_reason
            print(f"{label:<24} {exp:<12} {rows[label]['syncs_per_step']:>6.2f} host syncs / step "
                  f"(declared {rows[label]['declared_per_step']})", flush=True)
    if args.out:
        write_json(args.out, {"benchmark": "host_syncs", "steps": args.steps, "results": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
