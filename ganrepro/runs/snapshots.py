"""Generator snapshots for metrics over training (``ganrepro.metrics.curves``), and the one way to load a trained generator.

**When.** A run's ``train.eval_points`` says at which generator steps the training loop keeps a snapshot:

- ``null`` (or absent): none;
- ``{every_steps: N}``: steps N, 2N, ...;
- ``{every_epochs: E}``: the ends of epochs E, 2E, ... (E may be fractional), i.e. the first generator step at which
  ``k * E`` epochs are done, ``ceil(k * E * steps_per_epoch)``; image runs only (MoG data has no epochs);
- ``{steps: [s1, s2, ...]}``: those steps (steps beyond the run's end are dropped).

The run's last step is always a point, so a curve ends at the final model. ``train.eval_points_count: K`` (a scale
setting: the smoke scale sets 3) replaces the schedule of every run that *has* one by K points spread evenly over the
run, the last at its end; runs without ``eval_points`` stay without snapshots (the setting is merged into every
run's ``train`` section, so it must not create points by itself).

**What.** ``run_dir/snapshots/step{step:08d}.pt`` (atomic; never pruned): ``{"G": state_dict, "G_ema": state_dict
(only when the run keeps an EMA generator), "step", "epoch", "train_seconds"}``. The training loop writes them off
the training clock.

**Loading.** :func:`load_generator` takes a run folder (its ``final.pt``), a ``final.pt`` or a snapshot, builds the
method's generator from the run's ``config.json`` and loads the EMA weights when the file has them (the EMA generator
is what is sampled and evaluated when EMA is on), else ``G``.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import torch

from ganrepro.util.io import atomic_path

SNAPSHOT_DIR = "snapshots"
_NAME = re.compile(r"^step(\d{8,})\.pt$")
FORMS = ("every_steps", "every_epochs", "steps")


class EvalPointsError(ValueError):
    """A bad ``train.eval_points`` (the message names the key)."""


def eval_steps(tcfg: dict, total_steps: int, steps_per_epoch: float | None = None) -> list[int]:
    """Sorted unique generator steps in [1, total_steps] at which to keep a snapshot (see the module docstring).

    ``steps_per_epoch``: generator steps per epoch of an image run (the training loop passes
    ``prepared images / (batch_size * n_critic)``); None for MoG runs, where ``every_epochs`` is an error.
    """
    ep = tcfg.get("eval_points")
    if ep is None:
        return []
    total = int(total_steps)
    if total < 1:
        raise EvalPointsError(f"train.eval_points: the run has {total_steps} steps")
    if not isinstance(ep, dict) or len(ep) != 1 or next(iter(ep)) not in FORMS:
        raise EvalPointsError(f"train.eval_points must be null or one of {{every_steps: N}}, {{every_epochs: E}}, "
                              f"{{steps: [s1, ...]}}; got {ep!r}")
    (form, arg), = ep.items()
    if form == "every_steps":
        if isinstance(arg, bool) or not isinstance(arg, int) or arg < 1:
            raise EvalPointsError(f"train.eval_points.every_steps must be an integer >= 1, got {arg!r}")
        points = set(range(arg, total + 1, arg))
    elif form == "every_epochs":
        if steps_per_epoch is None:
            raise EvalPointsError("train.eval_points.every_epochs: this run has no epochs (mixture-of-Gaussians data "
                                  "is sampled on the fly); use every_steps or steps")
        if isinstance(arg, bool) or not isinstance(arg, (int, float)) or not arg > 0:
            raise EvalPointsError(f"train.eval_points.every_epochs must be a number > 0, got {arg!r}")
        if not steps_per_epoch > 0:
            raise EvalPointsError(f"train.eval_points.every_epochs: {steps_per_epoch} steps per epoch")
        every = float(arg) * float(steps_per_epoch)
        points, k = set(), 1
        while (s := max(1, math.ceil(k * every - 1e-9))) <= total:  # tolerance: 0.1 * 10 epochs ends at epoch 1
            points.add(s)
            k += 1
    else:
        if not isinstance(arg, list) or not arg or any(isinstance(s, bool) or not isinstance(s, int) or s < 1
                                                       for s in arg):
            raise EvalPointsError(f"train.eval_points.steps must be a non-empty list of integers >= 1, got {arg!r}")
        points = {s for s in arg if s <= total}
    points.add(total)
    count = tcfg.get("eval_points_count")
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise EvalPointsError(f"train.eval_points_count must be an integer >= 1 or null, got {count!r}")
        points = {max(1, math.ceil(total * i / count)) for i in range(1, count + 1)}
    return sorted(points)


def snapshot_path(run_dir, step: int) -> Path:
    return Path(run_dir) / SNAPSHOT_DIR / f"step{int(step):08d}.pt"


def save(run_dir, step: int, epoch: float | None, train_seconds: float, G: torch.nn.Module,
         G_ema: torch.nn.Module | None = None) -> Path:
    """Write ``run_dir/snapshots/step{step:08d}.pt`` atomically (a killed job leaves no half-written snapshot)."""
    state = {"G": G.state_dict(), "step": int(step), "epoch": None if epoch is None else float(epoch),
             "train_seconds": float(train_seconds)}
    if G_ema is not None:
        state["G_ema"] = G_ema.state_dict()
    path = snapshot_path(run_dir, step)
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(state, tmp)
    return path


def list_snapshots(run_dir) -> list[Path]:
    """The run's snapshots, sorted by step (temporary files of an interrupted write are not listed)."""
    d = Path(run_dir) / SNAPSHOT_DIR
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := _NAME.match(p.name)) and p.is_file()]
    return [p for _, p in sorted(found)]


def snapshot_step(path) -> int:
    m = _NAME.match(Path(path).name)
    if not m:
        raise ValueError(f"{path} is not a snapshot file (step########.pt)")
    return int(m.group(1))


def _run_dir_of(file: Path) -> Path:
    """The run folder of a weights file: the nearest folder above it holding config.json."""
    for d in (file.parent, *file.parents[1:3]):
        if (d / "config.json").exists():
            return d
    raise FileNotFoundError(f"no config.json beside or above {file}: not a run's weights file")


def generator_state(state: dict) -> dict:
    """The generator weights to evaluate in a final.pt / snapshot: ``G_ema`` when present, else ``G``.

    A ``torch.optim.swa_utils.AveragedModel``'s state dict (``module.`` prefix, ``n_averaged``) is unwrapped.
    """
    sd = state.get("G_ema")
    if sd is None:
        return state["G"]
    if "n_averaged" in sd and all(k.startswith("module.") for k in sd if k != "n_averaged"):
        sd = {k.removeprefix("module."): v for k, v in sd.items() if k != "n_averaged"}
    return sd


def load_state(path) -> tuple[dict, dict, Path]:
    """(weights file contents, the run's config.json, the file) for a run folder, final.pt or snapshot."""
    from ganrepro.util.io import read_json

    path = Path(path)
    if path.is_dir():
        run_dir, file = path, path / "final.pt"
    else:
        file = path
        run_dir = _run_dir_of(file)
    try:
        state = torch.load(file, map_location="cpu", weights_only=False)
    except Exception as e:  # torch's own message names no file
        raise RuntimeError(f"{file}: cannot load the weights ({type(e).__name__}: {e}); delete the run folder "
                           f"{run_dir} and train it again") from None
    return state, read_json(run_dir / "config.json"), file


def build_generator(run_cfg: dict, state: dict, device: str = "cpu") -> torch.nn.Module:
    """The run's generator (``registry.get(method).build(method_params)``) with ``generator_state(state)`` loaded."""
    from ganrepro.methods import registry

    G, _ = registry.get(run_cfg["method"]).build(run_cfg["method_params"])
    G.load_state_dict(generator_state(state))
    return G.to(device).eval()


def load_generator(path, device: str = "cpu") -> tuple[torch.nn.Module, dict]:
    """``(G on device in eval mode, the run's config.json)`` for a run folder (its final.pt), a final.pt or a
    snapshot; the EMA generator when the file has one."""
    state, run_cfg, _ = load_state(path)
    return build_generator(run_cfg, state, device), run_cfg


def load_discriminator(path, device: str = "cpu") -> tuple[torch.nn.Module, dict]:
    """``(D on device in eval mode, the run's config.json)`` from a run folder or its ``final.pt`` (snapshots keep
    the generator only), built as ``load_generator`` builds G."""
    from ganrepro.methods import registry

    state, run_cfg, file = load_state(path)
    if "D" not in state:
        raise ValueError(f"{file} holds no discriminator weights (snapshots keep the generator only)")
    _, D = registry.get(run_cfg["method"]).build(run_cfg["method_params"])
    D.load_state_dict(state["D"])
    return D.to(device).eval(), run_cfg
