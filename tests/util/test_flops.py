"""ganrepro.util.flops: FLOPs counted with PyTorch's formulas against hand counts, on real and on meta tensors."""
import pytest
import torch

from ganrepro.util.flops import PEAKS, count_flops, peak_tflops, peaks_of


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_a_small_conv_net_forward_and_backward_are_the_hand_counts(device):
    torch.manual_seed(0)
    with torch.device(device):
        net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.Flatten(), torch.nn.Linear(2048, 10))
        x = torch.randn(2, 3, 16, 16)
    conv = 2 * 2 * 8 * 16 * 16 * 3 * 9      # 2 x batch x C_out x H x W x C_in x k^2 (multiply-add = 2)
    lin = 2 * 2 * 2048 * 10                  # 2 x batch x in x out
    assert count_flops(lambda: net(x)) == conv + lin == 303104
    # backward: the linear's input and weight gradients (2 x lin), the conv's weight gradient only (its input
    # x needs none): conv + lin forward, then 2 lin + conv
    assert count_flops(lambda: net(x).sum().backward()) == 2 * conv + 3 * lin


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_a_gradient_penalty_step_is_the_hand_count(device):
    """D(x) = x W^T (W: 1 x 4), GP = (||dD/dx|| - 1)^2: forward x W^T (2·B·4), the gradient 1 W (2·B·4, create_graph),
    and the penalty's backward to W through that product (2·B·4): 24 B FLOPs."""
    B = 16
    with torch.device(device):
        D = torch.nn.Linear(4, 1, bias=False)
        x = torch.randn(B, 4, requires_grad=True)

    def step():
        out = D(x)
        (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
        ((g.norm(dim=1) - 1) ** 2).mean().backward()

    assert count_flops(step) == 24 * B


def test_meta_values_read_on_the_host_and_copies_out_are_answered():
    def fn():
        t = torch.empty(3, 3, device="meta")
        assert (t.sum() > 0).item() is True and t.sum().item() == 1.0
        z = t.cpu()
        assert z.device.type == "cpu" and z.shape == (3, 3) and float(z.abs().sum()) == 0.0
        return torch.mm(t, t)

    assert count_flops(fn) == 2 * 27


def test_the_peaks_table_names_a_source_for_every_chip():
    assert {"V100", "TITAN Xp", "A100", "H100", "H200"} <= set(PEAKS)
    assert all(p["source"] and p["fp32"] for p in PEAKS.values())
    assert peaks_of("Tesla V100-SXM2-32GB")["model"] == "V100" and peaks_of("Intel Xeon") is None
    assert peak_tflops("NVIDIA TITAN Xp") == 12.1 and peak_tflops("NVIDIA H200") == 989.0
