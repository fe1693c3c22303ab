"""Reference for src/model/autocast: the forwards of both presets' networks in fp32 and
under torch.autocast(device, dtype=bfloat16 / float16), on the same torch wheel.

  python autocast_ref.py OUT    write the reference file tests/model/autocast_test.cpp reads

The device is the CPU, or cuda:0 when CYCLEGAN_TEST_DEVICE=cuda (tests/test_device.h; the
script fails when CUDA is asked for and missing); it is written as `device` (the bytes of
"cpu" or "cuda"). Weights are initialised and inputs drawn on the CPU, so both devices
start from the same values; every result is written back as a CPU tensor.

Per preset: the initial weights (init/<state_dict key>), inputs a and b, and for each
precision p in fp32, bf16, fp16: G(a), F(b), D_A(a), D_B(b) as float32 (<p>/G ...).
And cycle_steps(): SGD steps on the cycle loss with every generator forward in its own
autocast context, as the trainer runs them (bf16 here, fp16 with a GradScaler in
grad_scaler_ref.py): <p>_steps/loss<k>, <p>_steps/final/<key>. On CUDA also
<p>_steps/deterministic: whether a second run of the steps, with
torch.use_deterministic_algorithms(True, warn_only=True), named no op without a
deterministic CUDA implementation and gave the same bits (<p>_steps/nondeterministic_ops
names the ops that warned).
"""
import os
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cyclegan_ref import PRESETS, CycleGan, init_weights, random_images  # noqa: E402
from device_choice import as_bytes, test_device  # noqa: E402

# preset: (image size, batch, ResNet blocks); the paper preset at 32x32 keeps the
# CPU's emulated bf16/fp16 convolutions to seconds.
CASES = {"cifar-colorize": (32, 4, 9), "paper-256": (32, 1, 9)}
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


# preset: (image size, batch, ResNet blocks, steps) of cycle_steps
STEP_CASES = {"cifar-colorize": (32, 2, 9, 3), "paper-256": (32, 1, 2, 2)}
STEP_LR = 0.1


def cycle_steps(name, dtype, out, prefix, scaler=None, device="cpu"):
    """SGD on L1(F(G(a)), a) + L1(G(F(b)), b) of G and F on `device`; each generator call in
    its own torch.autocast(device type, dtype) (its parameter casts cleared after it), loss
    in fp32."""
    size, batch, n_blocks, steps = STEP_CASES[name]
    p = PRESETS[name]
    torch.manual_seed(4321)
    net = CycleGan(p, n_blocks=n_blocks)
    init_weights(net)
    out[f"{prefix}/meta"] = torch.tensor([size, batch, n_blocks, steps], dtype=torch.long)
    for key, value in net.state_dict().items():
        out[f"{prefix}/init/{key}"] = value.clone()
    net.to(device)
    params = [q for q in list(net.G.parameters()) + list(net.F.parameters()) if q.requires_grad]
    # One tensor at a time, as torch::optim::SGD steps (the default on the CPU; on CUDA the
    # default is the foreach kernels, whose rounding need not be the same).
    opt = torch.optim.SGD(params, lr=STEP_LR, foreach=False)
    gen = torch.Generator().manual_seed(7)
    device_type = torch.device(device).type

    def fwd(g, x):
        with torch.autocast(device_type, dtype=dtype):
            return g(x)

    for k in range(steps):
        a = random_images(batch, p["ch_a"], size, p["activation"], gen)
        b = random_images(batch, p["ch_b"], size, p["activation"], gen)
        out[f"{prefix}/a{k}"], out[f"{prefix}/b{k}"] = a, b
        a, b = a.to(device), b.to(device)
        opt.zero_grad(set_to_none=True)
        loss = (fwd(net.F, fwd(net.G, a)) - a).abs().mean() + (fwd(net.G, fwd(net.F, b)) - b).abs().mean()
        out[f"{prefix}/loss{k}"] = loss.detach().cpu().clone()
        if scaler is None:
            loss.backward()
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            out[f"{prefix}/found_inf{k}"] = torch.tensor(
                sum(v.item() for v in scaler._found_inf_per_device(opt).values()) > 0)
            scaler.step(opt)
            scaler.update()
            out[f"{prefix}/scale{k}"] = scaler._scale.cpu().clone()
    for key, value in net.state_dict().items():
        out[f"{prefix}/final/{key}"] = value.cpu().clone()


def steps_determinism(name, dtype, device, recorded, prefix, make_scaler=None):
    """Runs cycle_steps once more under torch.use_deterministic_algorithms(True, warn_only=True)
    (with a fresh make_scaler() where given): (whether no op warned and the run gave
    `recorded`'s bits, the ops that warned)."""
    again = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            cycle_steps(name, dtype, again, prefix, make_scaler() if make_scaler else None, device=device)
        finally:
            torch.use_deterministic_algorithms(False)
    ops = sorted({str(w.message).split(" does not have")[0][:80] for w in caught
                  if "use_deterministic_algorithms" in str(w.message)})
    same = all(torch.equal(value, recorded[key]) for key, value in again.items())
    if not same and not ops:
        ops = ["(no op warned, but two runs differ)"]
    return same and not ops, ops


def main():
    torch.set_num_threads(1)
    device = test_device("autocast_ref")
    if device == "cuda":
        # The kernels the C++ test runs too (tests/test_device.h, use_deterministic_cudnn):
        # chosen by heuristics, not by timing, among deterministic ones.
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    out = {"device": as_bytes(device)}
    for name, (size, batch, n_blocks) in CASES.items():
        p = PRESETS[name]
        torch.manual_seed(4321)
        net = CycleGan(p, n_blocks=n_blocks)
        init_weights(net)
        gen = torch.Generator().manual_seed(99)
        a = random_images(batch, p["ch_a"], size, p["activation"], gen)
        b = random_images(batch, p["ch_b"], size, p["activation"], gen)
        out[f"{name}/meta"] = torch.tensor([size, batch, n_blocks], dtype=torch.long)
        out[f"{name}/a"], out[f"{name}/b"] = a, b
        for key, value in net.state_dict().items():
            out[f"{name}/init/{key}"] = value.clone()
        net.to(device)
        a, b = a.to(device), b.to(device)
        with torch.no_grad():
            for precision in ["fp32", *DTYPES]:
                enabled = precision != "fp32"
                with torch.autocast(device, dtype=DTYPES.get(precision, torch.bfloat16), enabled=enabled):
                    results = {"G": net.G(a), "F": net.F(b), "D_A": net.D_A(a), "D_B": net.D_B(b)}
                for k, v in results.items():
                    out[f"{name}/{precision}/{k}"] = v.float().cpu()
                    out[f"{name}/{precision}/{k}_dtype_is_low"] = torch.tensor(v.dtype != torch.float32)
    for name in STEP_CASES:
        prefix = f"{name}/bf16_steps"
        cycle_steps(name, torch.bfloat16, out, prefix, device=device)
        if device == "cuda":
            deterministic, ops = steps_determinism(name, torch.bfloat16, device, out, prefix)
            out[f"{prefix}/deterministic"] = torch.tensor(deterministic)
            out[f"{prefix}/nondeterministic_ops"] = as_bytes(", ".join(ops))
            print(f"autocast_ref: {name} bf16 steps on CUDA "
                  f"{'deterministic' if deterministic else 'not deterministic: ' + ', '.join(ops)}")
    # The first reference test to run in a fresh build directory makes the folder.
    os.makedirs(os.path.dirname(os.path.abspath(sys.argv[1])), exist_ok=True)
    torch.save(out, sys.argv[1])


if __name__ == "__main__":
    main()
