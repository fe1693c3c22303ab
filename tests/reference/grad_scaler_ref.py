"""Reference for src/train/grad_scaler: torch.amp.GradScaler("cpu") on a fixed sequence of
gradients with injected infs, NaNs and overflows, on the same torch wheel.

  python grad_scaler_ref.py OUT    write the reference file tests/train/grad_scaler_test.cpp reads

And fp16_steps/<preset>: autocast_ref.cycle_steps in fp16 with GradScaler("cpu")
(growth interval 2, so the 3 steps grow the scale once).

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
from autocast_ref import STEP_CASES, cycle_steps  # noqa: E402

CASES = {
    # name: (init_scale, growth_interval, steps, injections {step: (tensor, index, value)})
    "default": (2.0**16, 3, 12, {2: ("x1", (1,), float("inf")), 5: ("x2", (0, 0), float("nan")),
                                 7: ("x1", (0,), 1e35), 8: ("x2", (1, 2), -float("inf"))}),
    # growth that would overflow float32 is refused: 2^126 -> 2^127, then stays
    "ceiling": (2.0**126, 1, 4, {}),
}


def run(name, init_scale, growth_interval, steps, injections, out):
    gen = torch.Generator().manual_seed(17)
    w1 = torch.nn.Parameter(torch.randn(5, generator=gen))
    w2 = torch.nn.Parameter(torch.randn(2, 3, generator=gen))
    w3 = torch.nn.Parameter(torch.randn(4, generator=gen))
    scaler = torch.amp.GradScaler("cpu", init_scale=init_scale, growth_factor=2.0, backoff_factor=0.5,
                                  growth_interval=growth_interval)
    opt = torch.optim.SGD([w1, w2, w3], lr=0.5)
    out[f"{name}/meta"] = torch.tensor([steps, growth_interval], dtype=torch.long)
    out[f"{name}/init_scale"] = torch.tensor(init_scale, dtype=torch.float64)
    out[f"{name}/init/w1"], out[f"{name}/init/w2"] = w1.detach().clone(), w2.detach().clone()
    for k in range(steps):
        x1 = torch.rand(5, generator=gen) * 2 - 1
        x2 = torch.rand(2, 3, generator=gen) * 2 - 1
        if k in injections:
            which, index, value = injections[k]
            (x1 if which == "x1" else x2)[index] = value
        opt.zero_grad(set_to_none=True)
        loss = (w1 * x1).sum() + (w2 * x2).sum()
        scaled = scaler.scale(loss)
        scaled.backward()
        scaler.unscale_(opt)
        found_inf = sum(v.item() for v in scaler._found_inf_per_device(opt).values())
        p = f"{name}/step{k}/"
        out[p + "x1"], out[p + "x2"] = x1.clone(), x2.clone()
        out[p + "scaled_loss"] = scaled.detach().clone()
        out[p + "grad_w1"], out[p + "grad_w2"] = w1.grad.clone(), w2.grad.clone()
        scaler.step(opt)
        scaler.update()
        out[p + "found_inf"] = torch.tensor(found_inf > 0)
        out[p + "scale"] = scaler._scale.clone()
        out[p + "growth_tracker"] = scaler._growth_tracker.clone()
        out[p + "w1"], out[p + "w2"] = w1.detach().clone(), w2.detach().clone()
    assert w3.grad is None


def main():
    out = {}
    for name, (init_scale, interval, steps, injections) in CASES.items():
        run(name, init_scale, interval, steps, injections, out)
    torch.set_num_threads(1)
    for name in STEP_CASES:
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16, growth_interval=2)
        cycle_steps(name, torch.float16, out, f"fp16_steps/{name}", scaler)
    # The first reference test to run in a fresh build directory makes the folder.
    os.makedirs(os.path.dirname(os.path.abspath(sys.argv[1])), exist_ok=True)
    torch.save(out, sys.argv[1])


if __name__ == "__main__":
    main()
