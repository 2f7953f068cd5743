"""A real-data reference row's value: the table's MS-SSIM on real training images of the prepared array
(ganrepro/metrics/real_data.py; HDCGAN Table 1, hdcgan.txt Sec. 6 protocol applied to real CelebA pairs)."""
import _boot  # noqa: F401

import json
from pathlib import Path

from ganrepro.util.env import pick_device
from ganrepro.util.io import write_json
from ganrepro.metrics.real_data import evaluate

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    wc = smk.wildcards
    out = evaluate(Path(smk.input.manifest).parent, int(wc.pairs), int(wc.msres), smk.config["scale"], wc.dataset,
                   device=pick_device(smk.config.get("device", "auto")))
    print(json.dumps({"values": out["values"], "timings_seconds": out["timings_seconds"]}))
    write_json(smk.output[0], out)
