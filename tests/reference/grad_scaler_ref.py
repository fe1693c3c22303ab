"""Reference for src/train/grad_scaler: torch.amp.GradScaler(device) on a fixed sequence of
gradients with injected infs, NaNs and overflows, on the same torch wheel.

  python grad_scaler_ref.py OUT    write the reference file tests/train/grad_scaler_test.cpp reads

And fp16_steps/<preset>: autocast_ref.cycle_steps in fp16 with GradScaler(device)
(growth interval 2, so the 3 steps grow the scale once). On CUDA also
fp16_steps/<preset>/deterministic and /nondeterministic_ops, as autocast_ref.py writes them.

The device is the CPU, or cuda:0 when CYCLEGAN_TEST_DEVICE=cuda (tests/test_device.h; the
script fails when CUDA is asked for and missing); it is written as `device`. Weights and
inputs are drawn on the CPU and every result is written back as a CPU tensor.

Each step: loss = sum(w1 * x1) + sum(w2 * x2) (so the scaled gradients are x * S, exact for
a power-of-two S unless they overflow), backward of scaler.scale(loss), scaler.unscale_,
scaler.step(SGD lr 0.5), scaler.update(). w3 takes no part: it has no gradient. Written
per case and step: the inputs, the scaled loss, the unscaled gradients, found_inf, the
scale and growth tracker after update, the weights after the step.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from autocast_ref import STEP_CASES, cycle_steps, steps_determinism  # noqa: E402
from device_choice import as_bytes, use_device  # noqa: E402

CASES = {
    # name: (init_scale, growth_interval, steps, injections {step: (tensor, index, value)})
    "default": (2.0**16, 3, 12, {2: ("x1", (1,), float("inf")), 5: ("x2", (0, 0), float("nan")),
                                 7: ("x1", (0,), 1e35), 8: ("x2", (1, 2), -float("inf"))}),
    # growth that would overflow float32 is refused: 2^126 -> 2^127, then stays
    "ceiling": (2.0**126, 1, 4, {}),
}


def run(name, init_scale, growth_interval, steps, injections, out, device):
    gen = torch.Generator().manual_seed(17)
    w1 = torch.nn.Parameter(torch.randn(5, generator=gen).to(device))
    w2 = torch.nn.Parameter(torch.randn(2, 3, generator=gen).to(device))
    w3 = torch.nn.Parameter(torch.randn(4, generator=gen).to(device))
    scaler = torch.amp.GradScaler(device, init_scale=init_scale, growth_factor=2.0, backoff_factor=0.5,
                                  growth_interval=growth_interval)
    # One tensor at a time, as torch::optim::SGD (the CPU's default; CUDA's is foreach).
    opt = torch.optim.SGD([w1, w2, w3], lr=0.5, foreach=False)
    out[f"{name}/meta"] = torch.tensor([steps, growth_interval], dtype=torch.long)
    out[f"{name}/init_scale"] = torch.tensor(init_scale, dtype=torch.float64)
    out[f"{name}/init/w1"], out[f"{name}/init/w2"] = w1.detach().cpu().clone(), w2.detach().cpu().clone()
    for k in range(steps):
        x1 = torch.rand(5, generator=gen) * 2 - 1
        x2 = torch.rand(2, 3, generator=gen) * 2 - 1
        if k in injections:
            which, index, value = injections[k]
            (x1 if which == "x1" else x2)[index] = value
        p = f"{name}/step{k}/"
        out[p + "x1"], out[p + "x2"] = x1.clone(), x2.clone()
        x1, x2 = x1.to(device), x2.to(device)
        opt.zero_grad(set_to_none=True)
        loss = (w1 * x1).sum() + (w2 * x2).sum()
        scaled = scaler.scale(loss)
        scaled.backward()
        scaler.unscale_(opt)
        found_inf = sum(v.item() for v in scaler._found_inf_per_device(opt).values())
        out[p + "scaled_loss"] = scaled.detach().cpu().clone()
        out[p + "grad_w1"], out[p + "grad_w2"] = w1.grad.cpu().clone(), w2.grad.cpu().clone()
        scaler.step(opt)
        scaler.update()
        out[p + "found_inf"] = torch.tensor(found_inf > 0)
        out[p + "scale"] = scaler._scale.cpu().clone()
        out[p + "growth_tracker"] = scaler._growth_tracker.cpu().clone()
        out[p + "w1"], out[p + "w2"] = w1.detach().cpu().clone(), w2.detach().cpu().clone()
    assert w3.grad is None


def main():
    device = use_device("grad_scaler_ref")
    out = {"device": as_bytes(device)}
    for name, (init_scale, interval, steps, injections) in CASES.items():
        run(name, init_scale, interval, steps, injections, out, device)
    torch.set_num_threads(1)

    def make_scaler():
        return torch.amp.GradScaler(device, init_scale=2.0**16, growth_interval=2)

    for name in STEP_CASES:
        prefix = f"fp16_steps/{name}"
        cycle_steps(name, torch.float16, out, prefix, make_scaler(), device=device)
        if device == "cuda":
            deterministic, ops = steps_determinism(name, torch.float16, device, out, prefix, make_scaler)
            out[f"{prefix}/deterministic"] = torch.tensor(deterministic)
            out[f"{prefix}/nondeterministic_ops"] = as_bytes(", ".join(ops))
            print(f"grad_scaler_ref: {name} fp16 steps on CUDA "
                  f"{'deterministic' if deterministic else 'not deterministic: ' + ', '.join(ops)}")
    # The first reference test to run in a fresh build directory makes the folder.
    os.makedirs(os.path.dirname(os.path.abspath(sys.argv[1])), exist_ok=True)
    torch.save(out, sys.argv[1])


if __name__ == "__main__":
    main()
