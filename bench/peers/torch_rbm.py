#!/usr/bin/env python3
"""torch_rbm.py — the PyTorch peer of rbmgpu's GPU step: a plain CD-k step of
a Bernoulli RBM in float32, timed eager and under
torch.compile(mode="reduce-overhead"), plus the GEMM ceiling of each shape.
Prints JSON lines (one per measurement) on stdout; progress on stderr.

The step is the one graph/cd.go builds (B data rows, V visible, H hidden):
    ph0 = sigmoid(v0 W + c);  h0 = bernoulli(ph0);  pv1 = sigmoid(h0 W^T + b)
    for t = 1..k: pv = pv1 if t == 1 else sigmoid(h W^T + b); vk = bernoulli(pv)
                  phk = sigmoid(vk W + c); h = bernoulli(phk) if t < k
    gW = v0^T ph0 / B - vk^T phk / B;  gb = mean(v0) - mean(vk);  gc = mean(ph0) - mean(phk)
    recon += sum((v0 - pv1)^2) / B            (kept on the device)
    vel = momentum*vel + lr*(g - decay*theta) (decay on W only);  theta += vel
That is (2k+3) matrix products of 2*B*V*H FLOPs (bench/cost.go, bench/README.md).

Timing: data batches already on the GPU (rotating among 4; --from-host copies a
pageable host batch each step instead, as rbmgpu's Program.Step does), warm-up
steps, then --repeats runs of n steps between CUDA events, median per step.
TF32 is off for the step (plain float32, like rbmgpu's kernels) unless --tf32.
The GEMM ceiling is torch.mm of the dominant shape [B,V]x[V,H], float32 with
TF32 disabled and enabled, both reported.

Needs a CUDA GPU and PyTorch (the device machine's python3 has both):
    python3 bench/peers/torch_rbm.py                          # the full matrix below
    python3 bench/peers/torch_rbm.py --k 1 --sizes 784x500 --batches 128 --modes eager
Matrix by default: CD-1, CD-10 x 784x500, 4096x4096 x batch 128, 1024, 4096 x eager, compiled
(GEMM ceilings first, then all eager, then all compiled).

Time limits, so that a run fits a device lease: --budget-s bounds the whole
run. A configuration is not started once the budget is spent; a compiled one
is not started when less budget is left than a compile takes (the longest
measured so far, --compile-estimate-s before the first); and a configuration
that runs past min(--config-timeout-s, the budget left + 10 s) is abandoned
(SIGALRM). Each is reported as a JSON line with an "error" saying why.
"""

import argparse
import json
import signal
import statistics
import sys
import time

import torch

try:
    import torch._dynamo  # imported here: an import inside main() would make `torch` local to it
except ImportError:  # very old PyTorch: --modes eager still works
    pass


def set_tf32(on):
    """Allow or forbid TF32 in float32 matrix products (new API where PyTorch has it)."""
    m = torch.backends.cuda.matmul
    if hasattr(m, "fp32_precision"):
        m.fp32_precision = "tf32" if on else "ieee"
    else:
        m.allow_tf32 = on


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def emit(d):
    print(json.dumps(d), flush=True)


class RBMStep(torch.nn.Module):
    """Parameters, momentum and the reconstruction accumulator as buffers,
    updated in place by forward(v0): one CD-k step."""

    def __init__(self, V, H, k, lr, momentum, decay, device, seed):
        super().__init__()
        g = torch.Generator(device="cpu").manual_seed(seed)
        self.k, self.lr, self.momentum, self.decay = k, lr, momentum, decay
        self.register_buffer("W", (0.01 * torch.randn(V, H, generator=g)).to(device))
        self.register_buffer("b", torch.zeros(V, device=device))
        self.register_buffer("c", torch.zeros(H, device=device))
        self.register_buffer("vW", torch.zeros(V, H, device=device))
        self.register_buffer("vb", torch.zeros(V, device=device))
        self.register_buffer("vc", torch.zeros(H, device=device))
        self.register_buffer("recon", torch.zeros((), device=device))

    @torch.no_grad()
    def forward(self, v0):
        W, b, c = self.W, self.b, self.c
        ph0 = torch.sigmoid(v0 @ W + c)
        h = torch.bernoulli(ph0)
        pv1 = torch.sigmoid(h @ W.t() + b)
        vk = phk = None
        for t in range(1, self.k + 1):
            pv = pv1 if t == 1 else torch.sigmoid(h @ W.t() + b)
            vk = torch.bernoulli(pv)
            phk = torch.sigmoid(vk @ W + c)
            if t < self.k:
                h = torch.bernoulli(phk)
        self.update(v0, pv1, ph0, vk, phk)

    def update(self, v0, pv1, ph0, vk, phk):
        """The statistics of data v0 (p(h|v0) = ph0, reconstruction p(v|h0) = pv1)
        and negative samples vk (as many rows, p(h|vk) = phk), the momentum
        update and the reconstruction monitor."""
        W, b, c = self.W, self.b, self.c
        B = v0.shape[0]
        gW = (v0.t() @ ph0 - vk.t() @ phk) / B
        gb = v0.mean(0) - vk.mean(0)
        gc = ph0.mean(0) - phk.mean(0)
        self.recon.add_(((v0 - pv1) ** 2).sum() / B)
        self.vW.mul_(self.momentum).add_(self.lr * (gW - self.decay * W))
        self.vb.mul_(self.momentum).add_(self.lr * gb)
        self.vc.mul_(self.momentum).add_(self.lr * gc)
        W.add_(self.vW)
        b.add_(self.vb)
        c.add_(self.vc)


def step_flops(V, H, B, k):
    return (2 * k + 3) * 2.0 * B * V * H


def time_steps(fn, batches, warmup, repeats, target_s, from_host):
    """Median seconds per call of fn(batch) over repeats of n calls timed with CUDA events."""
    dev = torch.device("cuda")

    def get(i):
        x = batches[i % len(batches)]
        return x.to(dev) if from_host else x

    for i in range(warmup):
        fn(get(i))
    torch.cuda.synchronize()
    # Size n so that one repeat lasts about target_s.
    t0 = time.perf_counter()
    fn(get(0))
    torch.cuda.synchronize()
    one = max(time.perf_counter() - t0, 1e-6)
    n = int(min(max(target_s / one, 3), 2000))
    per = []
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(repeats):
        start.record()
        for i in range(n):
            fn(get(i))
        end.record()
        end.synchronize()
        per.append(start.elapsed_time(end) / 1e3 / n)
    return statistics.median(per), per, n


def gemm_ceiling(M, K, N, tf32, repeats):
    """TFLOP/s of torch.mm [M,K]x[K,N] in float32 (TF32 on or off), random data."""
    set_tf32(tf32)
    a = torch.rand(M, K, device="cuda")
    b = torch.rand(K, N, device="cuda")
    out = torch.empty(M, N, device="cuda")
    med, _, n = time_steps(lambda _x: torch.mm(a, b, out=out), [a], warmup=3, repeats=repeats, target_s=0.2,
                           from_host=False)
    set_tf32(False)
    return 2.0 * M * K * N / med / 1e12


def cudagraph_skips():
    try:
        from torch._dynamo.utils import counters

        return int(counters["inductor"].get("cudagraph_skips", 0))
    except Exception:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--k", default="1,10", help="Gibbs steps, comma-separated")
    ap.add_argument("--sizes", default="784x500,4096x4096", help="VxH, comma-separated")
    ap.add_argument("--batches", default="128,1024,4096")
    ap.add_argument("--modes", default="eager,compiled")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--target-s", type=float, default=0.25, help="seconds per timed repeat")
    ap.add_argument("--from-host", action="store_true", help="copy a pageable host batch to the GPU every step")
    ap.add_argument("--tf32", action="store_true", help="allow TF32 in the step's matrix products")
    ap.add_argument("--no-gemm", action="store_true", help="skip the GEMM ceilings")
    ap.add_argument("--budget-s", type=float, default=0,
                    help="skip (and report as skipped) configurations started after this many seconds; 0: no limit")
    ap.add_argument("--config-timeout-s", type=float, default=90,
                    help="abandon a configuration after this many seconds (also never past the budget); 0: no limit")
    ap.add_argument("--compile-estimate-s", type=float, default=40,
                    help="seconds a torch.compile configuration is assumed to take until one is measured")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.5)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    if not torch.cuda.is_available():
        emit({"peer": "torch", "error": "no CUDA device visible to PyTorch"})
        sys.exit(1)
    torch.manual_seed(args.seed)
    props = torch.cuda.get_device_properties(0)
    emit({"peer": "torch-device", "device": props.name, "sms": props.multi_processor_count,
          "memory_gib": round(props.total_memory / 2**30, 1), "torch": torch.__version__,
          "cuda": torch.version.cuda})
    ks = [int(x) for x in args.k.split(",")]
    sizes = [tuple(int(y) for y in x.split("x")) for x in args.sizes.split(",")]
    bs = [int(x) for x in args.batches.split(",")]
    modes = args.modes.split(",")
    try:
        torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 64)
    except Exception:
        pass

    t_start = time.perf_counter()

    def left():
        """Seconds of --budget-s left (infinity without a budget)."""
        return args.budget_s - (time.perf_counter() - t_start) if args.budget_s > 0 else float("inf")

    class ConfigTimeout(Exception):
        pass

    def on_alarm(_sig, _frame):
        raise ConfigTimeout("configuration timed out")

    signal.signal(signal.SIGALRM, on_alarm)

    def arm():
        """Start the per-configuration alarm: --config-timeout-s, at most the budget left + 10 s."""
        limit = min(args.config_timeout_s if args.config_timeout_s > 0 else float("inf"), left() + 10)
        if limit != float("inf"):
            signal.setitimer(signal.ITIMER_REAL, max(limit, 1))
        return limit

    def disarm():
        signal.setitimer(signal.ITIMER_REAL, 0)

    # GEMM ceilings first, then every configuration eager, then compiled, so
    # that a run cut short by the budget (or a timeout) has the cheap figures.
    if not args.no_gemm:
        for V, H in sizes:
            for B in bs:
                for tf32 in (False, True):
                    if left() <= 0:
                        break
                    arm()
                    try:
                        tf = gemm_ceiling(B, V, H, tf32, args.repeats)
                    except ConfigTimeout:
                        log(f"gemm [{B},{V}]x[{V},{H}] tf32={tf32}: timed out")
                        continue
                    finally:
                        disarm()
                    emit({"peer": "torch-gemm", "M": B, "K": V, "N": H, "tf32": tf32, "tflop_per_sec": tf})
                    log(f"gemm [{B},{V}]x[{V},{H}] tf32={tf32}: {tf:.1f} TFLOP/s")
    compile_s = args.compile_estimate_s  # the longest compiled configuration so far
    compiled_any = False
    for mode in modes:
        for V, H in sizes:
            for B in bs:
                g = torch.Generator(device="cpu").manual_seed(args.seed)
                host = [torch.randint(0, 2, (B, V), generator=g).float() for _ in range(4)]
                batches = host if args.from_host else [x.cuda() for x in host]
                for k in ks:
                    rec = {"peer": "torch", "mode": mode, "alg": f"CD-{k}", "V": V, "H": H, "B": B,
                           "tf32": args.tf32, "from_host": args.from_host, "flops_per_step": step_flops(V, H, B, k)}
                    if left() <= 0:
                        rec["error"] = f"skipped: --budget-s {args.budget_s:g} spent"
                        emit(rec)
                        continue
                    if mode == "compiled" and left() < compile_s:
                        rec["error"] = (f"skipped: {left():.0f} s of --budget-s left, a compile takes about {compile_s:.0f} s"
                                        + ("" if compiled_any else " (--compile-estimate-s)"))
                        emit(rec)
                        continue
                    set_tf32(args.tf32)
                    model = fn = None
                    t0 = time.perf_counter()
                    limit = arm()
                    try:
                        model = RBMStep(V, H, k, args.lr, args.momentum, args.weight_decay, "cuda", args.seed)
                        fn = model
                        skips0 = cudagraph_skips()
                        if mode == "compiled":
                            torch._dynamo.reset()
                            fn = torch.compile(model, mode="reduce-overhead", dynamic=False)
                        elif mode != "eager":
                            raise ValueError(f"unknown mode {mode!r}")
                        warm = 5 if mode == "compiled" else 3
                        med, per, n = time_steps(fn, batches, warmup=warm, repeats=args.repeats,
                                                 target_s=args.target_s, from_host=args.from_host)
                        disarm()
                        recon = float(model.recon)
                        if not (recon == recon and abs(recon) != float("inf")):
                            raise RuntimeError(f"reconstruction error is {recon}")
                        rec.update({"samples_per_sec": B / med, "ms_per_step": med * 1e3,
                                    "ms_per_step_repeats": [p * 1e3 for p in per], "steps_per_repeat": n,
                                    "gflop_per_sec": step_flops(V, H, B, k) / med / 1e9,
                                    "setup_s": time.perf_counter() - t0})
                        if mode == "compiled":
                            s1 = cudagraph_skips()
                            if skips0 is not None and s1 is not None:
                                rec["cudagraph_skips"] = s1 - skips0
                        log(f"{mode:8s} CD-{k} {V}x{H} B{B}: {B / med:,.0f} samples/s ({med * 1e3:.3f} ms/step)")
                    except Exception as e:  # report and go on with the next configuration
                        disarm()
                        if isinstance(e, ConfigTimeout) or "configuration timed out" in str(e):
                            rec["error"] = f"timed out after {time.perf_counter() - t0:.0f} s (limit {limit:.0f} s)"
                        else:
                            rec["error"] = f"{type(e).__name__}: {e}"[:500]
                        log(f"{mode} CD-{k} {V}x{H} B{B}: {rec['error']}")
                    if mode == "compiled":
                        compile_s = max(compile_s if compiled_any else 0, time.perf_counter() - t0)
                        compiled_any = True
                    emit(rec)
                    del model, fn
                    torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
