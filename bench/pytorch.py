"""PyTorch's figures for the simdnet benchmark, on one thread: the same LeNet-5, batches, loss and
Adam; the same ResNet-20, MobileNetV2 and CIFAR nets' training steps with SGD and momentum; LeNet-5
trained by a hand-written SGD loop (--manual-batches). Prints one JSON object on stdout;
bench/pytorch.js runs it and reads it.

usage: python3 bench/pytorch.py --batches 1,10,32,64 [--profile-batches 64]
           [--nets resnet20,mobilenetv2 --net-batches 1,64 --net-profile-batch 64]
           [--net-batches-for seed003-cifar=16] [--manual-batches 10,64]
           [--zoo CASES.json] [--quick]

--zoo reads the shape zoo's cases (bench/zoo.js writes them: {"shapes": [...], "cases": [...]})
and times torch's convolution forward, input gradient and weight gradient for each.
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


class BasicBlock(nn.Module):
    """The CIFAR ResNets' block with option B shortcuts: the definition simdnet's zoo is tested
    against (scripts/fixtures/torchvision_zoo.py imports it from here)."""

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n + 2) for CIFAR (He et al. 2016), as scripts/fixtures/torchvision_zoo.py documents it."""

    def __init__(self, n, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        in_planes = 16
        for i, p in enumerate([16, 32, 64]):
            blocks = []
            for b in range(n):
                blocks.append(BasicBlock(in_planes, p, 2 if i > 0 and b == 0 else 1))
                in_planes = p
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.linear = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


def mobilenet_v2_half():
    import torchvision  # only this network needs it
    return torchvision.models.mobilenet_v2(width_mult=0.5, num_classes=10)


def vgg_cifar():
    """bench/nets.js vggCifar: 3x3 convs 3-32-32, pool, 32-64-64, pool, 64-128, pool, each with BatchNorm and ReLU."""
    def block(i, o):
        return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU()]
    return nn.Sequential(*block(3, 32), *block(32, 32), nn.MaxPool2d(2), *block(32, 64), *block(64, 64), nn.MaxPool2d(2),
                         *block(64, 128), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(128 * 4 * 4, 10))


def convnetjs_cifar():
    """bench/nets.js convnetjsCifar: 5x5 convs 3-16-20-20, padding 2, each with ReLU and a 2x2 max-pool."""
    def block(i, o):
        return [nn.Conv2d(i, o, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*block(3, 16), *block(16, 20), *block(20, 20), nn.Flatten(), nn.Linear(20 * 4 * 4, 10))


def seed003_cifar():
    """bench/nets.js seed003Cifar: 3x3 convs 3-64, 64-128, pool, 128-128, pool, 128-256, pool, then 4096-256-64-10."""
    def conv(i, o):
        return [nn.Conv2d(i, o, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*conv(3, 64), *conv(64, 128), nn.MaxPool2d(2), *conv(128, 128), nn.MaxPool2d(2), *conv(128, 256), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4096, 256), nn.ReLU(), nn.Linear(256, 64), nn.ReLU(), nn.Linear(64, 10))


# The networks of bench/nets.js under the same keys, and LeNet-5 (bench/nets.js ZOO_NETS, for
# --threads): (builder, input shape [C, H, W], classes).
NETS = {
    "lenet5": (lenet5, (1, 28, 28), 10),
    "resnet20": (lambda: CifarResNet(3), (3, 32, 32), 10),
    "mobilenetv2": (mobilenet_v2_half, (3, 32, 32), 10),
    "vgg-cifar": (vgg_cifar, (3, 32, 32), 10),
    "convnetjs-cifar": (convnetjs_cifar, (3, 32, 32), 10),
    "seed003-cifar": (seed003_cifar, (3, 32, 32), 10),
}


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


def manual_step(batch):
    """One step of LeNet-5's hand-written loop, as bench/simdnet.js simdnetManualLoop: forward,
    cross-entropy, backward, SGD lr 0.01 momentum 0.9, zero_grad, on fixed-seed random
    MNIST-shaped images that do not require grad."""
    torch.manual_seed(0)
    model = lenet5()
    model.train()
    pool = batch_pool(batch)
    opt = sgd(model)
    i = [0]

    def step():
        x, y = pool[i[0] % len(pool)]
        i[0] += 1
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()

    return step


def manual_loop(batch, quick):
    """img/s of LeNet-5 trained by a hand-written loop (manual_step)."""
    train = measure(manual_step(batch), warmup=5, samples=3 if quick else 9, min_ms=20 if quick else 60)
    return {"batch": batch, "train": {"ms": train, "imgPerSec": invert(train, lambda ms: batch * 1000 / ms)}}


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


def net_data(key, batch, count):
    _, (c, h, w), classes = NETS[key]
    g = torch.Generator().manual_seed(1234)
    x, y = torch.randn(batch * count, c, h, w, generator=g), torch.randint(0, classes, (batch * count,), generator=g)
    return list(zip(x.split(batch), y.split(batch)))


def sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def net_step(key, batch):
    """One training step of NETS[key] (zero_grad, forward, cross-entropy, backward, SGD with
    momentum), cycling through 256 random images, as bench/simdnet.js simdnetNetThroughput."""
    torch.manual_seed(0)
    model = NETS[key][0]()
    model.train()
    pool = net_data(key, batch, max(1, -(-256 // batch)))
    opt = sgd(model)
    i = [0]

    def step():
        x, y = pool[i[0] % len(pool)]
        i[0] += 1
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def net_throughput(key, batch, quick):
    """img/s of a training step of NETS[key] (net_step)."""
    try:
        train = measure(net_step(key, batch), warmup=2 if quick else 3, samples=3 if quick else 7, min_ms=20 if quick else 100)
    except (ValueError, RuntimeError) as e:  # e.g. BatchNorm refusing one value per channel
        return {"batch": batch, "error": str(e)}
    return {"batch": batch, "train": {"ms": train, "imgPerSec": invert(train, lambda ms: batch * 1000 / ms)}}


def serve():
    """Times training steps on request, for the harness's paired rounds (bench/paired.js): each
    line of stdin a JSON request {"net": a key of NETS or "lenet5-manual", "batch": B, "minMs": ms},
    answered by one line {"ms": ms per step} over as many steps as fill minMs (the first request
    for a net and batch builds it and runs 3 steps untimed first), or {"error": message}."""
    steps = {}
    for line in sys.stdin:
        req = json.loads(line)
        try:
            key = (req["net"], req["batch"])
            new = key not in steps
            if new:
                steps[key] = manual_step(req["batch"]) if req["net"] == "lenet5-manual" else net_step(*key)
            answer = {"ms": measure(steps[key], warmup=3 if new else 0, samples=1, min_ms=req["minMs"])["median"]}
        except (KeyError, ValueError, RuntimeError, ImportError) as e:
            answer = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(answer), flush=True)


def conv_info(m):
    if not isinstance(m, nn.Conv2d):
        return None
    return {"inChannels": m.in_channels, "outChannels": m.out_channels, "kernel": list(m.kernel_size),
            "stride": list(m.stride), "groups": m.groups}


class ModuleTimer:
    """Forward and backward milliseconds of every leaf module (one without children) by hooks.
    Forward: a forward pre-hook and hook around the call. Backward: a pre-hook and a hook on the
    autograd node that made the module's output, i.e. the module's last op (for Conv2d,
    BatchNorm2d, Linear, ReLU6 their only op; a module whose output is an input's own node, as
    Identity or an in-place activation seen after the fact, has its node found before the call).
    Time in ops outside modules (F.relu, +, pooling, the loss) is in no row."""

    def __init__(self, model):
        self.order, self.fwd, self.bwd, self.t0, self.nodes_in = [], {}, {}, {}, {}
        self.modules = {}
        for path, m in model.named_modules():
            if next(m.children(), None) is None:
                self.modules[path] = m
                m.register_forward_pre_hook(self._pre(path))
                m.register_forward_hook(self._post(path))

    def reset(self):
        self.fwd = {p: 0.0 for p in self.modules}
        self.bwd = {p: 0.0 for p in self.modules}

    def _pre(self, path):
        def hook(module, inputs):
            self.nodes_in[path] = [t.grad_fn for t in inputs if isinstance(t, torch.Tensor)]
            self.t0[path] = time.perf_counter()
        return hook

    def _post(self, path):
        def hook(module, inputs, out):
            self.fwd[path] += (time.perf_counter() - self.t0[path]) * 1e3
            if path not in self.order:
                self.order.append(path)
            node = out.grad_fn if isinstance(out, torch.Tensor) else None
            if node is None or any(node is n for n in self.nodes_in[path]):
                return
            start = [0.0]

            def before(grad_outputs):
                start[0] = time.perf_counter()

            def after(grad_inputs, grad_outputs):
                self.bwd[path] += (time.perf_counter() - start[0]) * 1e3

            node.register_prehook(before)
            node.register_hook(after)
        return hook

    def rows(self):
        return [{"name": f"{p} {type(self.modules[p]).__name__}", "path": p, "type": type(self.modules[p]).__name__,
                 "conv": conv_info(self.modules[p]), "forwardMs": self.fwd[p], "backwardMs": self.bwd[p]}
                for p in self.order]


def net_profile(key, batch, quick):
    """Training steps timed module by module (ModuleTimer), as {layers, extra, stepMs} per step."""
    torch.manual_seed(0)
    model = NETS[key][0]()
    model.train()
    timer = ModuleTimer(model)
    (x, y), = net_data(key, batch, 1)
    opt = sgd(model)
    now = time.perf_counter

    def step():
        timer.reset()
        t0 = now()
        opt.zero_grad()
        t1 = now()
        logits = model(x)
        t2 = now()
        loss = F.cross_entropy(logits, y)
        t3 = now()
        loss.backward()
        t4 = now()
        opt.step()
        t5 = now()
        layers = timer.rows()
        fwd = sum(r["forwardMs"] for r in layers)
        bwd = sum(r["backwardMs"] for r in layers)
        ms = lambda a, b: (b - a) * 1e3
        extra = [
            {"name": "forward outside module rows (functional ops, hooks)", "forwardMs": ms(t1, t2) - fwd, "backwardMs": None},
            {"name": "loss forward", "forwardMs": ms(t2, t3), "backwardMs": None},
            {"name": "backward outside module rows (loss, functional ops, gradient accumulation)", "forwardMs": None, "backwardMs": ms(t3, t4) - bwd},
            {"name": "optimizer step (SGD momentum) and zero_grad", "forwardMs": None, "backwardMs": ms(t4, t5) + ms(t0, t1)},
        ]
        return {"layers": layers, "extra": extra, "stepMs": ms(t0, t5)}

    try:
        for _ in range(2 if quick else 3):
            step()
        return [step() for _ in range(3 if quick else 7)]
    except (ValueError, RuntimeError) as e:
        return {"error": str(e)}


def zoo_case(shape, batch, quick):
    """torch's times for one convolution: F.conv2d, and aten.convolution_backward (what autograd
    runs for a Conv2d) asked for the input gradient only, then for the weight (and bias) gradient."""
    c = shape["config"]
    g = torch.Generator().manual_seed(11)
    C, H, W, O, groups = shape["C"], shape["H"], shape["W"], c["outChannels"], c["groups"]
    kh, kw = c["kernelSize"]
    x = torch.rand(batch, C, H, W, generator=g) - 0.5
    w = (torch.rand(O, C // groups, kh, kw, generator=g) - 0.5) / math.sqrt(C // groups * kh * kw)
    b = torch.rand(O, generator=g) - 0.5 if c["bias"] else None
    stride, padding, dilation = c["stride"], c["padding"], c["dilation"]
    y = F.conv2d(x, w, b, stride, padding, dilation, groups)
    dy = torch.rand(y.shape, generator=g) - 0.5
    bias_sizes = [O] if c["bias"] else None

    def grad(mask):
        return lambda: torch.ops.aten.convolution_backward(dy, x, w, bias_sizes, stride, padding, dilation, False, [0, 0], groups, mask)

    timing = dict(warmup=1, samples=3, min_ms=10) if quick else dict(warmup=2, samples=5, min_ms=50)
    with torch.no_grad():
        return {
            "forward": measure(lambda: F.conv2d(x, w, b, stride, padding, dilation, groups), **timing),
            "inputGrad": measure(grad([True, False, False]), **timing),
            "weightGrad": measure(grad([False, True, c["bias"]]), **timing),
        }


def zoo(path, quick):
    with open(path) as f:
        spec = json.load(f)
    shapes = {s["id"]: s for s in spec["shapes"]}
    out = []
    for case in spec["cases"]:
        try:
            out.append(dict(shape=case["shape"], batch=case["batch"], ms=zoo_case(shapes[case["shape"]], case["batch"], quick)))
        except (RuntimeError, ValueError) as e:
            out.append(dict(shape=case["shape"], batch=case["batch"], error=str(e)))
    return out


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
    ap.add_argument("--nets", default="")
    ap.add_argument("--net-batches", default="1,64")
    ap.add_argument("--net-profile-batch", type=int, default=0, help="0: the largest of --net-batches")
    ap.add_argument("--net-batches-for", default="", help="per-network batch sizes instead of --net-batches: key=16;key=8,64")
    ap.add_argument("--manual-batches", default="", help="LeNet-5's hand-written SGD loop at these batch sizes")
    ap.add_argument("--zoo", default="", help="a JSON file of convolution cases (bench/zoo.js)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (the caller sets OMP/MKL/OpenBLAS threads alike)")
    ap.add_argument("--no-net-profile", action="store_true", help="the networks' throughput only, without their per-module profile")
    ap.add_argument("--serve", action="store_true", help="time steps on request from stdin (serve) instead")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set by an earlier parallel call
    if a.serve:
        serve()
        return
    batches = [int(b) for b in a.batches.split(",") if b]
    profile_batches = [int(b) for b in a.profile_batches.split(",") if b]
    nets = [n for n in a.nets.split(",") if n]
    unknown = [n for n in nets if n not in NETS]
    if unknown:
        ap.error(f"--nets: unknown network {unknown[0]!r} (expected {', '.join(NETS)})")
    net_batches = [int(b) for b in a.net_batches.split(",") if b]
    batches_for = {}
    for item in [i for i in a.net_batches_for.split(";") if i]:
        key, _, bs = item.partition("=")
        batches_for[key] = [int(b) for b in bs.split(",") if b]
    manual_batches = [int(b) for b in a.manual_batches.split(",") if b]
    result = {
        "torch": torch.__version__, "python": platform.python_version(), "threads": torch.get_num_threads(),
        "blas": blas_library(),
        "throughput": [throughput(b, a.quick) for b in batches],
        "profiles": {str(b): profile(b, a.quick) for b in profile_batches},
        "nets": {},
        "manual": [manual_loop(b, a.quick) for b in manual_batches],
    }
    if a.zoo:
        result["zoo"] = zoo(a.zoo, a.quick)
    for key in nets:
        key_batches = batches_for.get(key, net_batches)
        net_profile_batch = a.net_profile_batch or max(key_batches, default=0)
        try:
            result["nets"][key] = {"throughput": [net_throughput(key, b, a.quick) for b in key_batches]}
            if not a.no_net_profile:
                result["nets"][key]["profile"] = {"batch": net_profile_batch, "runs": net_profile(key, net_profile_batch, a.quick)}
        except ImportError as e:  # torchvision missing: that network only
            result["nets"][key] = {"error": f"{type(e).__name__}: {e}"}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
