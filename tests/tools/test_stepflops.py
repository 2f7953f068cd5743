"""ganrepro.tools.stepflops: a full-scale step counted on meta tensors (nothing full-size allocated), equal to the count
on real tensors and to the GPU check's, cached by the sources."""
import json
from pathlib import Path

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ganrepro.config import config as C
from ganrepro.tools import stepflops

H200_JSON = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "benchmarks_nvidia-h200.json"


class LargestReal(TorchDispatchMode):
    """The most elements of any tensor an operator returned on a real (non-meta) device."""
    numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(t, torch.Tensor) and t.device.type != "meta":
                LargestReal.numel = max(LargestReal.numel, t.numel())
        return out


def test_a_512px_hdcgan_step_is_counted_on_meta_and_equals_the_gpu_count(full_cfg):
    rc = C.resolve_run(full_cfg, "hdcgan_celeba512", "hdcgan", "default", 0)
    LargestReal.numel = 0
    with LargestReal():
        flops = stepflops.count_step(rc)
    assert LargestReal.numel < 10 ** 6   # the batch alone is 32 x 3 x 512 x 512 = 25 M elements
    measured = [r["flops"] for r in json.loads(H200_JSON.read_text())["steps"]
                if (r["experiment"], r["method"], r["variant"]) == ("hdcgan_celeba512", "hdcgan", "default")
                and "flops" in r]
    assert measured and flops == measured[0] == 10863268331520


@pytest.mark.parametrize("run", [("brc_cifar10", "dcgan", "ns_brc"), ("lga_cifar10", "wgan_gp", "default"),
                                 ("glgan_celeba128", "glgan", "patch4_adaop")])
def test_meta_counts_equal_counts_on_real_tensors(cfg, run):
    """At smoke size a step runs for real on the CPU: its count equals the meta count (BRC's extra gradients, the
    gradient penalty's double backward, GL-GAN's masks on the local branch)."""
    from ganrepro.methods import registry
    from ganrepro.train.loop import Context, make_nets, train_step
    from ganrepro.util.flops import count_flops

    smoke = {**cfg, "scale": "smoke"}
    rc = C.resolve_run(smoke, *run, 0)
    method, params = registry.get(rc["method"]), dict(rc["method_params"])
    torch.manual_seed(0)
    nets = make_nets(method, params, {**rc["train"], "fast": {}}, "cpu")
    ctx = Context(rng=torch.Generator().manual_seed(0), device="cpu", epoch=int(rc["train"].get("epochs") or 0))
    if method.bench_state is not None:
        ctx.state.update(method.bench_state(params))
    res, b = int(rc["resolution"]), int(rc["train"]["batch_size"])
    real = torch.rand(b, 3, res, res) * 2 - 1
    on_cpu = count_flops(lambda: train_step(method, nets, lambda: real, params, ctx))
    assert on_cpu > 0 and stepflops.count_step(rc) == on_cpu


def test_counts_are_cached_by_the_sources(full_cfg, tmp_path, monkeypatch):
    monkeypatch.setattr(stepflops, "CACHE", tmp_path / "step_flops.json")
    calls = []
    monkeypatch.setattr(stepflops, "count_step", lambda rc: calls.append(rc["experiment"]) or 7)
    runs = [("lga_cifar10", "wgan_gp", "default"), ("lga_stl10", "wgan_gp", "default")]   # one network, one count
    assert stepflops.step_flops_many(full_cfg, runs) == {runs[0]: 7, runs[1]: 7} and len(calls) == 1
    assert stepflops.step_flops_many(full_cfg, runs)[runs[1]] == 7 and len(calls) == 1      # from the file
    monkeypatch.setattr(stepflops, "sources_key", lambda: "changed sources")
    stepflops.step_flops_many(full_cfg, runs)
    assert len(calls) == 2


def test_a_run_that_cannot_be_counted_says_why(full_cfg, tmp_path, monkeypatch):
    monkeypatch.setattr(stepflops, "CACHE", tmp_path / "step_flops.json")
    out = stepflops.step_flops(full_cfg, "brc_ring8", "vgan", "brc")
    assert isinstance(out, str) and out.startswith("not counted") and "not an image run" in out
