"""HDCGAN Fig. 4: the five nearest training images of fixed generated samples, in pixel space and in the FID
feature space, with the memorisation check (ganrepro/metrics/neighbours.py)."""
import _boot  # noqa: F401

import json
import time
from pathlib import Path

import numpy as np

from ganrepro.util.io import read_json, write_image_grid, write_json

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    # the paper's Fig. 4 belongs to Sec. 5.1, the CZ faces; no experiment trains on CZ yet (issue 32), so the figure
    # is drawn from the CelebA 512 run, and says so
    out = {"figure": "hdcgan.txt Fig. 4 (nearest neighbours)", "run": None,
           "paper_dataset": "CZ (hdcgan.txt Sec. 5.1: Figs. 3-4 are the CZ results)",
           "drawn_from": "the hdcgan_celeba512 run (CelebA at 512 px): no CZ experiment yet, so not the paper's data"}
    train = _boot.first(smk.input.train)
    result = read_json(train) if train else None
    if result is None or result.get("status") != "finished":
        why = "not run" if result is None else f"run {result.get('status')}"
        out["status"] = why
        blank = np.full((1, 16, 16, 3), 255, dtype=np.uint8)
        for key in ("pixel", "features"):
            write_image_grid(getattr(smk.output, key), blank, nrow=1)
        print(f"[neighbours] {why}: blank figures")
    else:
        import torch

        from ganrepro.metrics import images as M
        from ganrepro.config.config import eval_protocol
        from ganrepro.util.env import pick_device
        from ganrepro.data.loader import load_prepared
        from ganrepro.metrics.neighbours import neighbour_grid, neighbour_report
        from ganrepro.runs.snapshots import load_generator

        p = smk.params
        run = Path(train).parent
        device = pick_device(smk.config.get("device", "auto"))
        G, run_cfg = load_generator(run, device)
        gen = np.concatenate(list(M.generated_images(G, run_cfg["method_params"]["z_dim"], int(p.samples), device,
                                                     int(run_cfg["seed"]) + 4242, int(p.samples))))
        # the training job verified the array's digest; reading all of it again here would double the I/O
        data = load_prepared(Path(smk.input.data).parent, verify=False)
        ev = eval_protocol(smk.config, run_cfg["experiment"])
        model = M.feature_extractor(ev["features"], ev["fid_mode"], device, _boot.first(smk.input.weights))

        def embed(batch):
            return torch.from_numpy(M.features_of_uint8([batch], model, ev["fid_mode"], device))

        t0 = time.perf_counter()
        rep = neighbour_report(gen, data, k=int(p.k), pixel_size=int(p.pixel_size), chunk=int(p.chunk),
                               n_reference=int(p.reference), feature_embed=embed)
        out.update(status="finished", run=str(run), seconds=round(time.perf_counter() - t0, 2), **rep)
        for key in ("pixel", "features"):
            write_image_grid(getattr(smk.output, key), neighbour_grid(gen, data, rep["spaces"][key]["indices"]),
                             nrow=1 + int(p.k))
        print(json.dumps({k: {kk: v[kk] for kk in ("nearest_generated_median", "nearest_real_median",
                                                     "ratio_generated_to_real", "seconds")}
                          for k, v in rep["spaces"].items()}))
    write_json(smk.output.json, out)
