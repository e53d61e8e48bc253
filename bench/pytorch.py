"""PyTorch's figures for the simdnet benchmark: the same LeNet-5, batches, loss and Adam, on one
thread. Prints one JSON object on stdout; bench/pytorch.js runs it and reads it.

usage: python3 bench/pytorch.py --batches 1,10,32,64 [--profile-batches 64] [--quick]
"""
import argparse
import json
import math
import platform
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, stride=2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def summarize(values):
    s = sorted(values)
    mid = len(s) // 2
    median = s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2
    return {"median": median, "min": s[0], "max": s[-1], "samples": len(s)}


def measure(fn, warmup, samples, min_ms):
    """Milliseconds per call, as bench/stats.js: warm-up, then samples lasting at least min_ms."""
    for _ in range(warmup):
        fn()
    t = time.perf_counter()
    fn()
    once = max((time.perf_counter() - t) * 1e3, 1e-3)
    reps = max(1, math.ceil(min_ms / once))
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        times.append((time.perf_counter() - t) * 1e3 / reps)
    return dict(summarize(times), reps=reps)


def invert(stat, f):
    return dict(stat, median=f(stat["median"]), min=f(stat["max"]), max=f(stat["min"]))


def batch_data(batch):
    g = torch.Generator().manual_seed(1234)
    return torch.randn(batch, 1, 28, 28, generator=g), torch.randint(0, 10, (batch,), generator=g)


def batch_pool(batch, images=1024):
    """Distinct batches to cycle through, as bench/data.js inputPool: one batch trained on for
    thousands of steps is fitted exactly and its gradients sink into slow subnormal floats."""
    count = max(1, -(-images // batch))
    x, y = batch_data(batch * count)
    return list(zip(x.split(batch), y.split(batch)))


def throughput(batch, quick):
    torch.manual_seed(0)
    model = lenet5()
    pool = batch_pool(batch)
    i = [0]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    timing = dict(warmup=5, samples=3 if quick else 9, min_ms=20 if quick else 60)

    def next_batch():
        i[0] += 1
        return pool[i[0] % len(pool)]

    def step():
        x, y = next_batch()
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    model.train()
    train = measure(step, **timing)
    model.eval()

    def infer():
        with torch.no_grad():
            model(next_batch()[0])

    inf = measure(infer, **timing)
    ips = lambda ms: batch * 1000 / ms
    return {"batch": batch, "train": {"ms": train, "imgPerSec": invert(train, ips)},
            "infer": {"ms": inf, "imgPerSec": invert(inf, ips)}}


def profiled_step(model, x, y, opt):
    """One training step timed module by module: each module's forward, then its backward by
    autograd from the next module's input gradient (each module's input is a fresh leaf)."""
    now = time.perf_counter
    names = [f"{i} {type(m).__name__}" for i, m in enumerate(model)]
    fwd, bwd = [0.0] * len(model), [0.0] * len(model)
    opt.zero_grad()
    ins, outs = [], []
    h = x
    t = now()
    for i, m in enumerate(model):
        leaf = h if i == 0 else h.detach().requires_grad_()
        out = m(leaf)
        ins.append(leaf)
        outs.append(out)
        h = out
        t2 = now(); fwd[i] = (t2 - t) * 1e3; t = t2
    logits = h.detach().requires_grad_()
    loss = F.cross_entropy(logits, y)
    loss.backward()
    loss_ms = (now() - t) * 1e3
    g = logits.grad
    t = now()
    for i in range(len(model) - 1, -1, -1):
        if outs[i].requires_grad:
            outs[i].backward(g)
        g = ins[i].grad if i > 0 else None
        t2 = now(); bwd[i] = (t2 - t) * 1e3; t = t2
    opt.step()
    opt_ms = (now() - t) * 1e3
    layers = [{"name": n, "forwardMs": f, "backwardMs": b} for n, f, b in zip(names, fwd, bwd)]
    extra = [{"name": "loss (forward + gradient)", "forwardMs": loss_ms, "backwardMs": None},
             {"name": "optimizer step (Adam)", "forwardMs": None, "backwardMs": opt_ms}]
    return {"layers": layers, "extra": extra, "stepMs": sum(fwd) + sum(bwd) + loss_ms + opt_ms}


def profile(batch, quick):
    torch.manual_seed(0)
    model = lenet5()
    model.train()
    x, y = batch_data(batch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(5):
        profiled_step(model, x, y, opt)
    return [profiled_step(model, x, y, opt) for _ in range(3 if quick else 9)]


def blas_library():
    """The BLAS torch loaded (Debian's torch uses the system libblas.so.3: the reference BLAS unless
    OpenBLAS is installed, which makes its linear layers several times slower)."""
    torch.ones(8, 8) @ torch.ones(8, 8)
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    except OSError:
        return "unknown"
    return ", ".join(sorted(libs)) or "built in"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,10,32,64")
    ap.add_argument("--profile-batches", default="64")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set by an earlier parallel call
    batches = [int(b) for b in a.batches.split(",") if b]
    profile_batches = [int(b) for b in a.profile_batches.split(",") if b]
    result = {
        "torch": torch.__version__, "python": platform.python_version(), "threads": torch.get_num_threads(),
        "blas": blas_library(),
        "throughput": [throughput(b, a.quick) for b in batches],
        "profiles": {str(b): profile(b, a.quick) for b in profile_batches},
    }
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
