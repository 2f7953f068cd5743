"""Figures drawn with seaborn (headless)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")


def training_curves(run_dirs, out_path, cols: int = 3) -> None:
    """Generator and discriminator loss against step: one panel per experiment (its runs' lines, coloured by
    method/variant and seed, solid G, dashed D), so that no panel holds more than one experiment's runs."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    from ganrepro.util.io import read_json

    by_exp: dict[str, list] = {}
    for d in map(Path, run_dirs):
        if (d / "log.csv").exists() and (d / "config.json").exists():
            cfg = read_json(d / "config.json")
            df = pd.read_csv(d / "log.csv")[["step", "d_loss", "g_loss"]]
            df["run"] = f"{cfg['method']}/{cfg['variant']} s{cfg['seed']}"
            by_exp.setdefault(cfg["experiment"], []).append(df)
    n = max(1, len(by_exp))
    cols = min(cols, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(8 * cols, 3.6 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_axis_off()
    if not by_exp:
        axes[0, 0].text(0.5, 0.5, "no runs with a log.csv", ha="center", transform=axes[0, 0].transAxes)
    for ax, (exp, frames) in zip(axes.flat, sorted(by_exp.items())):
        long = pd.concat(frames).melt(id_vars=["step", "run"], value_vars=["g_loss", "d_loss"], var_name="loss")
        sns.lineplot(data=long, x="step", y="value", hue="run", style="loss", ax=ax, linewidth=1)
        ax.set_title(exp, fontsize=9)
        ax.legend(fontsize=6, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _save_fig(fig, out_path)


def mog_curves(run_dirs, out_path, metrics=("test_fid", "test_js")) -> None:
    """BRC Fig. 2: FID and JS of the 512 test samples against iterations, one line per method (mean over seeds,
    seaborn's 95% band)."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    from ganrepro.util.io import read_json

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
        else:  # e.g. the smoke scale: 20 steps, test metrics every monitor_every = 100 logged steps
            ax.text(0.5, 0.5, "no test metrics in any log.csv: the runs are shorter than train.monitor_every\n"
                    "(the smoke scale) or no 5-mode ring run was trained", ha="center", va="center", fontsize=8,
                    transform=ax.transAxes)
        ax.set_title(name.removeprefix("test_").upper())
    _save_fig(fig, out_path)


def mog_scatter(run_dirs, out_path, n: int = 512) -> None:
    """BRC Fig. 3: generated samples (seed 0 of each run folder given) over the target mixture's samples; 3-D
    mixtures are shown in their first two coordinates."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    import torch

    from ganrepro.data import mog
    from ganrepro.runs.snapshots import load_generator

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
    _save_fig(fig, out_path)


# GL-GAN figures: which runs each draws, panel title -> (experiment, method, variant); seed = the run's first seed.
GLGAN_FIGURE_RUNS = {
    # Fig. 1 is drawn on CelebA-HQ 256 (its caption); the Table 3 OURS model
    "fig1": {"base+patch8+Ada-OP": ("glgan_celebahq256", "glgan", "patch8_adaop")},
    # Fig. 8: the three spectral-norm variants of Table 4 (CelebA 128, base+patch8)
    "fig8": {"(a) no-norm": ("glgan_celeba128", "glgan", "patch8_nonorm"),
             "(b) local-norm": ("glgan_celeba128", "glgan", "patch8"),
             "(c) global-norm": ("glgan_celeba128", "glgan", "patch8_globalnorm")},
    # Fig. 10: without / with Ada-OP on CelebA; the models of Fig. 9 ('baseline+patch8x8', '... +Ada-OP')
    "fig10": {"(a) base+patch8": ("glgan_celeba128", "glgan", "patch8"),
              "(b) base+patch8+Ada-OP": ("glgan_celeba128", "glgan", "patch8_adaop")},
}


def _save_fig(fig, out_path) -> None:
    """Lay the figure out, write it as PNG atomically (80 dpi) and close it."""
    import matplotlib.pyplot as plt

    from ganrepro.util.io import atomic_path

    fig.tight_layout()
    with atomic_path(out_path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)


def _not_run(ax, what: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, f"{what}: not run", ha="center", va="center", transform=ax.transAxes)


def _run_label(run_dir) -> str:
    from ganrepro.util.io import read_json

    cfg = read_json(Path(run_dir) / "config.json")
    return f"{cfg['experiment']} {cfg['method']}/{cfg['variant']} seed {cfg['seed']}"


def glgan_feature_maps(run_dir, out_path, n: int = 8) -> None:
    """GL-GAN Fig. 1: D's feature matrix over generated images, as a heat map overlaid on each image; blue = good,
    red = bad, as the paper colours it (a high score reads as real). Each map is scaled to its own image's range
    (the figure locates an image's worst regions) and upsampled to the image, nearest neighbour (one patch = one
    block). Row 1 the images, row 2 the overlays."""
    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    import torch.nn.functional as F

    from ganrepro.runs.snapshots import load_discriminator, load_generator

    fig, axes = plt.subplots(2, n, figsize=(1.6 * n, 3.6), squeeze=False)
    if run_dir is None or not (Path(run_dir) / "final.pt").exists():
        for ax in axes.flat:
            ax.set_axis_off()
        _not_run(axes[0, 0], "GL-GAN Fig. 1 (no trained model)")
        return _save_fig(fig, out_path)
    G, cfg = load_generator(run_dir, "cpu")
    D, _ = load_discriminator(run_dir, "cpu")
    z = torch.randn(n, cfg["method_params"]["z_dim"], generator=torch.Generator().manual_seed(cfg["seed"] + 999))
    with torch.no_grad():
        x = G(z)
        y = D(x)
    y = y.reshape(n, 1, 1) if y.dim() == 1 else y
    lo, hi = y.amin(dim=(1, 2), keepdim=True), y.amax(dim=(1, 2), keepdim=True)
    quality = ((y - lo) / (hi - lo).clamp_min(1e-12))[:, None]  # 1 = the image's best region
    heat = F.interpolate(quality, size=x.shape[-2:], mode="nearest")[:, 0].numpy()
    imgs = ((x.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy()
    for k in range(n):
        for ax in axes[:, k]:
            ax.set_axis_off()
            ax.imshow(imgs[k], interpolation="nearest")
        axes[1, k].imshow(heat[k], cmap="coolwarm_r", alpha=0.5, vmin=0, vmax=1, interpolation="nearest")
        axes[1, k].set_title(f"D {np.asarray(y[k]).mean():.2f}", fontsize=7)
    fig.suptitle(f"GL-GAN Fig. 1: D's {y.shape[1]}x{y.shape[2]} feature matrix (blue good, red bad) - "
                 f"{_run_label(run_dir)}", fontsize=8)
    _save_fig(fig, out_path)


def _log_panels(runs: dict, out_path, columns: dict, hue: str, title_extra=None, **subplot_kw) -> None:
    """One panel per run (``runs``: panel title -> run folder or None), the log.csv ``columns`` (log column ->
    legend name) against the step; ``title_extra(run_dir)`` adds a line to the panel's title."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    fig, axes = plt.subplots(1, len(runs), figsize=(4.6 * len(runs), 3.4), squeeze=False, **subplot_kw)
    for ax, (title, d) in zip(axes[0], runs.items()):
        if d is None or not (Path(d) / "log.csv").exists():
            _not_run(ax, title)
            continue
        df = pd.read_csv(Path(d) / "log.csv").rename(columns=columns)
        long = df.melt(id_vars=["step"], value_vars=list(columns.values()), var_name=hue, value_name="value")
        sns.lineplot(data=long, x="step", y="value", hue=hue, ax=ax)
        extra = f"\n{title_extra(d)}" if title_extra else ""
        ax.set_title(f"{title}\n{_run_label(d)}{extra}", fontsize=7)
        ax.set_xlabel("iteration")
    _save_fig(fig, out_path)


def glgan_loss_curves(runs: dict, out_path) -> None:
    """GL-GAN Fig. 8: G and D loss against iterations, one panel per spectral-norm variant (``runs``: panel title ->
    run folder or None)."""
    _log_panels(runs, out_path, {"d_loss": "D loss", "g_loss": "G loss"}, hue="loss")


def sigma_ranges(run_dir) -> dict:
    """Range (max - min) and std over the logged intervals of s_in (sigma_l) and s_out (sigma_g) of a GL-GAN run."""
    import pandas as pd

    df = pd.read_csv(Path(run_dir) / "log.csv")
    out = {}
    for name, col in (("s_in", "glgan_sigma_l"), ("s_out", "glgan_sigma_g")):
        v = df[col].dropna()
        out[name] = {"range": float(v.max() - v.min()), "std": float(v.std(ddof=0))}
    return out


def glgan_sigma_curves(runs: dict, out_path) -> None:
    """GL-GAN Fig. 10: s_in (sigma_l, the local standard deviation) and s_out (sigma_g, the global one) of D's
    feature matrices over iterations, without and with Ada-OP (``runs``: panel title -> run folder or None). Each
    panel title gives the curves' range and std, the quantities Sec. 4.4 compares ('the change ranges of two
    standard deviations are both smaller and more stable with Ada-OP')."""
    def ranges(d):
        r = sigma_ranges(d)
        return (f"range s_in {r['s_in']['range']:.3g}, s_out {r['s_out']['range']:.3g}; "
                f"std s_in {r['s_in']['std']:.3g}, s_out {r['s_out']['std']:.3g}")

    _log_panels(runs, out_path, {"glgan_sigma_l": "s_in", "glgan_sigma_g": "s_out"}, hue="standard deviation",
                title_extra=ranges, sharey=True)


def metric_curves_figure(spec, cfg, out_path, x_by_column: dict[str, str] | None = None,
                      affine_fit: bool = False) -> None:
    """LGA Fig. 2 / HDCGAN Fig. 14: the column metric (FID, MS-SSIM) over training for every row of ``spec`` whose
    runs have curves, one panel per column (its experiment), each row's mean curve over seeds
    (``ganrepro.verdicts.curve_claims.row_curves``); the thresholds of the spec's claims over training drawn as dotted lines.
    ``x_by_column``: "epoch" or "step" per column (default epoch; a claim's own x wins for its column).
    ``affine_fit``: each curve's least-squares line, dashed (HDCGAN Fig. 14: "Affine interpolation is shown in red";
    the first row's line is red)."""
    import matplotlib.pyplot as plt

    from ganrepro.verdicts.curve_claims import affine_fit_of, row_curves, threshold_value

    x_by_column = dict(x_by_column or {})
    for c in spec.curve_claims:
        x_by_column[c["column"]] = c["x"]
    rows = [r["id"] for r in spec.rows if not r.get("published_only") and "real_data" not in r]  # runs only
    labels = {r["id"]: r["label"] for r in spec.rows}
    cols = spec.columns
    fig, axes = plt.subplots(1, len(cols), figsize=(4.2 * len(cols), 3.4), squeeze=False)
    for ax, col in zip(axes[0], cols):
        x = x_by_column.get(col["id"], "epoch")
        curves = row_curves(spec, cfg, rows, col["id"], x)
        drawn = []
        for r in rows:
            pts = curves.get(r) or []
            if pts:
                first = not drawn
                line, = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", linewidth=1, label=labels[r][:40])
                drawn += [p[1] for p in pts]
                if affine_fit and len(pts) >= 2:
                    slope, icpt = affine_fit_of(pts)
                    xs = [pts[0][0], pts[-1][0]]
                    ax.plot(xs, [icpt + slope * v for v in xs], linestyle="--", linewidth=1,
                            color="red" if first else line.get_color(),
                            label=f"affine fit, slope {slope:.3g} per {x}")
        for c in spec.curve_claims:  # an absolute threshold inside the curves' range (not squashing them)
            if c["column"] == col["id"] and "absolute" in c.get("threshold", {}) and drawn:
                th = threshold_value([], c["threshold"])
                if min(drawn) <= th <= 1.5 * max(drawn):
                    ax.axhline(th, linestyle=":", color="grey", linewidth=1)
        if not drawn:
            _not_run(ax, col["label"])
            continue
        ax.set_title(f"{col['label']} ({col['run']['experiment']})", fontsize=9)
        ax.set_xlabel("epoch" if x == "epoch" else "iteration (generator step)")
        ax.set_ylabel(col["metric"].upper())
        ax.legend(fontsize=5)
    _save_fig(fig, out_path)
