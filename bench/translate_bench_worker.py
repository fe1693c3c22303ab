"""One Python contender of bench/translate_bench: the paper generator exported by
cyclegan_translate --export-pytorch, run as PyTorch eager (the package's module, inference
mode) or through onnxruntime (the python -m cyclegan_dist.export ONNX file).

  translate_bench_worker.py eager|onnxruntime --model PATH --height H --width W
                            [--batch N] [--threads N] [--device cpu|cuda] [--output FILE]

The protocol of build/translate_memory_worker --serve: input uniform noise in [-1, 1] from
torch.manual_seed(0) (the C++ worker's values), "ready", then "run K" -> "done <s> ..." (the
seconds of each of K passes) until "quit"; --output gets the first pass's output as raw
float32 (NCHW).
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["eager", "onnxruntime"])
    parser.add_argument("--model", required=True, help="export directory (eager) or .onnx file")
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--output", default="")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.rand(args.batch, 3, args.height, args.width) * 2 - 1
    device = torch.device(args.device)
    if args.kind == "eager":
        from cyclegan_dist.exported import load_exported
        module = load_exported(args.model, "AtoB").to(device)
        x_device = x.to(device)

        def forward():  # the copy to the host waits for the GPU
            with torch.inference_mode():
                return module(x_device).cpu().numpy()
    else:
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        providers = ["CUDAExecutionProvider"] if device.type == "cuda" else ["CPUExecutionProvider"]
        session = ort.InferenceSession(args.model, options, providers=providers)
        feed = {session.get_inputs()[0].name: x.numpy()}

        def forward():
            return session.run(None, feed)[0]

    print("ready", flush=True)
    first = True
    for line in sys.stdin:
        if not line.startswith("run "):
            break
        times = []
        for _ in range(int(line.split()[1])):
            start = time.perf_counter()
            y = forward()
            times.append(time.perf_counter() - start)
            if first and args.output:
                y.astype("float32").tofile(args.output)
            first = False
        print("done " + " ".join(f"{t:.6f}" for t in times), flush=True)


if __name__ == "__main__":
    main()
