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
