"""Figures drawn with seaborn (headless)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")


def training_curves(run_dirs, out_path) -> None:
    """One panel per loss (d_loss, g_loss) against step, one line per run."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    from ganrepro.io import atomic_path

    frames = []
    for d in run_dirs:
        log = Path(d) / "log.csv"
        if log.exists():
            df = pd.read_csv(log)
            df["run"] = "/".join(Path(d).parts[-4:])
            frames.append(df[["step", "d_loss", "g_loss", "run"]])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    if frames:
        long = pd.concat(frames).melt(id_vars=["step", "run"], var_name="loss", value_name="value")
        for ax, name in zip(axes, ("d_loss", "g_loss")):
            sns.lineplot(data=long[long["loss"] == name], x="step", y="value", hue="run", ax=ax, legend=name == "g_loss")
            ax.set_title(name)
        if axes[1].get_legend():
            axes[1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1, 1))
    else:
        for ax in axes:
            ax.text(0.5, 0.5, "no runs", ha="center")
    fig.tight_layout()
    with atomic_path(out_path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)


def mog_curves(run_dirs, out_path, metrics=("test_fid", "test_js")) -> None:
    """BRC Fig. 2: FID and JS of the 512 test samples against iterations, one line per method (mean over seeds,
    seaborn's 95% band)."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    from ganrepro.io import atomic_path, read_json

    frames = []
    for d in run_dirs:
        d = Path(d)
        if (d / "log.csv").exists() and (d / "config.json").exists():
            df = pd.read_csv(d / "log.csv")
            if not set(metrics) <= set(df.columns):
                continue
            cfg = read_json(d / "config.json")
            df["method"] = f"{cfg['method']}/{cfg['variant']}"
            frames.append(df[["step", "method", *metrics]].dropna())
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 4))
    for ax, name in zip(axes, metrics):
        if frames:
            sns.lineplot(data=pd.concat(frames), x="step", y=name, hue="method", ax=ax, legend=name == metrics[-1])
            if name == "test_fid":
                ax.set_yscale("log")
        else:
            ax.text(0.5, 0.5, "no runs", ha="center")
        ax.set_title(name.removeprefix("test_").upper())
    fig.tight_layout()
    with atomic_path(out_path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)


def mog_scatter(run_dirs, out_path, n: int = 512) -> None:
    """BRC Fig. 3: generated samples (seed 0 of each run folder given) over the target mixture's samples; 3-D
    mixtures are shown in their first two coordinates."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    import torch

    from ganrepro import mog
    from ganrepro.io import atomic_path
    from ganrepro.snapshots import load_generator

    runs = [Path(d) for d in run_dirs if (Path(d) / "final.pt").exists()]
    cols = max(1, min(4, len(runs)))
    rows = max(1, -(-len(runs) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, d in zip(axes.flat, runs):
        G, cfg = load_generator(d, "cpu")
        z_dim = cfg["method_params"]["z_dim"]
        with torch.no_grad():
            x = G(torch.randn(n, z_dim, generator=torch.Generator().manual_seed(cfg["seed"] + 999))).numpy()
        t = mog.sample(cfg["mog"], n, torch.Generator().manual_seed(0)).numpy()
        ax.set_axis_on()
        sns.scatterplot(x=t[:, 0], y=t[:, 1], s=4, color="0.7", ax=ax, linewidth=0)
        sns.scatterplot(x=x[:, 0], y=x[:, 1], s=4, color="C3", ax=ax, linewidth=0)
        ax.set_xlim(-3.5, 3.5)
        ax.set_ylim(-3.5, 3.5)
        ax.set_title(f"{cfg['experiment']}\n{cfg['method']}/{cfg['variant']}", fontsize=8)
    fig.tight_layout()
    with atomic_path(out_path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)
