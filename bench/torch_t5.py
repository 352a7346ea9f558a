#!/usr/bin/env python3
"""The PyTorch peer of `deepfusion bench`: the same T5 (docs/t5.md), written plainly in PyTorch eager,
trained for a few steps on the same initial parameters, batch and optimizer, and timed the same way.

Usage: /usr/bin/python3 bench/torch_t5.py --init DIR [--steps 6] [--threads N] [--foreach] [--precision fp32|bf16]
                                         [--flush-denormal]
DIR holds what `deepfusion bench --save-init DIR` wrote: config.json, model.safetensors (initial
parameters, HF names) and batch.safetensors (input_ids, attention_mask, decoder_input_ids, labels).
Prints one line per step and ends with one JSON line, like `deepfusion bench`.
--precision bf16 runs the forward pass under torch.autocast("cpu", dtype=torch.bfloat16): what a
PyTorch user writes for mixed precision on a CPU (linear layers and matmuls in bf16; parameters,
Adam, softmax and the loss in float32).
"""
import contextlib
import argparse
import json
import os
import resource
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from t5_buckets import bucket  # noqa: E402

# numpy and torch are imported in main(), once the thread count is in the environment: both load
# OpenBLAS, which reads its thread count when it is first loaded.
np = None
torch = None
F = None

MASK_VALUE = -1e9
DTYPES = {"F32": "<f4", "I32": "<i4", "F64": "<f8", "I64": "<i8"}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        begin, end = meta["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=DTYPES[meta["dtype"]]).reshape(meta["shape"])
        out[name] = arr.copy()
    return out


def bucket_matrix(tq, tk, bidirectional, cfg):
    return torch.tensor([[bucket(k - q, bidirectional, cfg["relative_attention_num_buckets"],
                                 cfg["relative_attention_max_distance"]) for k in range(tk)] for q in range(tq)])


class T5:
    def __init__(self, cfg, params):
        self.cfg = cfg
        self.p = params
        self.h = cfg["num_heads"]

    def norm(self, x, name):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.p[name] * (x * torch.rsqrt(var + self.cfg["layer_norm_epsilon"]))

    def attention(self, prefix, xq, xkv, bias_and_mask):
        b, tq, _ = xq.shape
        tk = xkv.shape[1]
        q = F.linear(xq, self.p[prefix + ".q.weight"]).view(b, tq, self.h, -1).transpose(1, 2)
        k = F.linear(xkv, self.p[prefix + ".k.weight"]).view(b, tk, self.h, -1).transpose(1, 2)
        v = F.linear(xkv, self.p[prefix + ".v.weight"]).view(b, tk, self.h, -1).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(3, 2)) + bias_and_mask
        probs = F.softmax(scores.float(), dim=-1)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, tq, -1)
        return F.linear(out, self.p[prefix + ".o.weight"])

    def ffn(self, prefix, x):
        p = prefix + ".DenseReluDense"
        if self.cfg["feed_forward_proj"] == "gated-gelu":
            h = F.gelu(F.linear(x, self.p[p + ".wi_0.weight"]), approximate="tanh") * F.linear(x, self.p[p + ".wi_1.weight"])
        else:
            h = F.relu(F.linear(x, self.p[p + ".wi.weight"]))
        return F.linear(h, self.p[p + ".wo.weight"])

    def position_bias(self, stack, t, bidirectional):
        table = self.p[stack + ".block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
        return F.embedding(bucket_matrix(t, t, bidirectional, self.cfg), table).permute(2, 0, 1).unsqueeze(0)

    def loss(self, input_ids, attention_mask, decoder_input_ids, labels):
        cfg = self.cfg
        pad = (1.0 - attention_mask)[:, None, None, :] * MASK_VALUE
        te, td = input_ids.shape[1], decoder_input_ids.shape[1]
        enc_bias = self.position_bias("encoder", te, True) + pad
        x = F.embedding(input_ids, self.p["shared.weight"])
        for i in range(cfg["num_layers"]):
            b = f"encoder.block.{i}.layer"
            h = self.norm(x, b + ".0.layer_norm.weight")
            x = x + self.attention(b + ".0.SelfAttention", h, h, enc_bias)
            x = x + self.ffn(b + ".1", self.norm(x, b + ".1.layer_norm.weight"))
        enc = self.norm(x, "encoder.final_layer_norm.weight")

        causal = torch.triu(torch.full((td, td), MASK_VALUE), diagonal=1)
        dec_bias = self.position_bias("decoder", td, False) + causal
        y = F.embedding(decoder_input_ids, self.p["shared.weight"])
        for i in range(cfg["num_decoder_layers"]):
            b = f"decoder.block.{i}.layer"
            h = self.norm(y, b + ".0.layer_norm.weight")
            y = y + self.attention(b + ".0.SelfAttention", h, h, dec_bias)
            y = y + self.attention(b + ".1.EncDecAttention", self.norm(y, b + ".1.layer_norm.weight"), enc, pad)
            y = y + self.ffn(b + ".2", self.norm(y, b + ".2.layer_norm.weight"))
        y = self.norm(y, "decoder.final_layer_norm.weight")
        if cfg["tie_word_embeddings"]:
            logits = F.linear(y * cfg["d_model"] ** -0.5, self.p["shared.weight"])
        else:
            logits = F.linear(y, self.p["lm_head.weight"])
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1), ignore_index=-100)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# aten ops that run a GEMM (linear layers, attention's batched products).
MATMUL_OPS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"}


def print_profile(profiler, steps, step_seconds):
    # Self time: an op's own wall time on the calling thread (its intra-op threads included), not its children's.
    ops = sorted(profiler.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    print("op                                   calls/step    ms/step  share of step")
    for e in ops[:20]:
        ms = e.self_cpu_time_total / 1000 / steps
        print(f"{e.key[:36]:36} {e.count / steps:10.0f} {ms:10.1f} {100 * ms / 1000 / step_seconds:13.1f}%")
    matmuls = sum(e.self_cpu_time_total for e in ops if e.key in MATMUL_OPS) / 1000 / steps
    print(f"{'matrix products (' + ', '.join(sorted(MATMUL_OPS)) + ')'} {matmuls:.1f} ms/step")


def main():
    global np, torch, F
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", required=True, help="directory written by deepfusion bench --save-init")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("DEEPFUSION_THREADS", os.cpu_count())))
    ap.add_argument("--foreach", action="store_true", help="torch.optim.Adam(foreach=True)")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="bf16: forward under torch.autocast('cpu', dtype=torch.bfloat16)")
    ap.add_argument("--flush-denormal", action="store_true",
                    help="torch.set_flush_denormal(True): denormals read and stored as zero, as deepfusion's "
                         "native kernels do (PyTorch's default keeps them)")
    ap.add_argument("--profile", action="store_true",
                    help="time every aten op of the measured steps (torch.profiler) and print the slowest, per step")
    args = ap.parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import numpy as _np
    import torch as _torch
    import torch.nn.functional as _F
    np, torch, F = _np, _torch, _F
    torch.set_num_threads(args.threads)
    if args.flush_denormal and not torch.set_flush_denormal(True):
        sys.exit("torch_t5.py: --flush-denormal: this CPU cannot flush denormals (no SSE3)")

    with open(os.path.join(args.init, "config.json")) as f:
        cfg = json.load(f)
    meta = cfg.pop("bench")
    params = {k: torch.from_numpy(v).requires_grad_() for k, v in read_safetensors(os.path.join(args.init, "model.safetensors")).items()}
    raw = read_safetensors(os.path.join(args.init, "batch.safetensors"))
    batch = {k: torch.from_numpy(v).long() if k != "attention_mask" else torch.from_numpy(v) for k, v in raw.items()}
    model = T5(cfg, params)
    if meta["name"] not in ("adam", "tf-adam"):
        raise SystemExit(f"{args.init}/config.json: bench.name is {meta['name']!r}; the peer implements Adam only")
    opt = torch.optim.Adam(params.values(), lr=meta["learningRate"], betas=(meta["beta1"], meta["beta2"]),
                           eps=meta["epsilon"], foreach=args.foreach)
    tokens = batch["input_ids"].numel() + batch["decoder_input_ids"].numel()
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if args.precision == "bf16" else contextlib.nullcontext
    times, cpu = [], []
    profiler = None
    for step in range(args.warmup + args.steps):
        if args.profile and step == args.warmup:
            profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
            profiler.__enter__()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = model.loss(batch["input_ids"], batch["attention_mask"], batch["decoder_input_ids"], batch["labels"])
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        warm = step < args.warmup
        if not warm:
            times.append(dt)
            cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        print(f"step {step + 1 - args.warmup if not warm else 'warmup'} loss {loss.item():.6f} "
              f"time {dt:.3f}s tokens/s {tokens / dt:.0f}", flush=True)
    med = float(np.median(times))
    if profiler is not None:
        profiler.__exit__(None, None, None)
        print_profile(profiler, args.steps, med)
    print(json.dumps({
        "engine": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(), "precision": args.precision,
        "optimizer": f"torch.optim.Adam(foreach={args.foreach})",
        "flush_denormal": args.flush_denormal,
        "step_seconds_median": med, "step_seconds": times, "tokens_per_second": tokens / med,
        "cpu_seconds_per_step_median": float(np.median(cpu)),
        "final_loss": loss.item(), "peak_rss_mb": peak_rss_mb(),
    }))


if __name__ == "__main__":
    main()
