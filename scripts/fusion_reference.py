#!/usr/bin/env python3
"""Independent check of a fused checkpoint against docs/fusion.md, in float64 PyTorch.

Rebuilds every fused tensor from the sources by the table of docs/fusion.md, compares it with the fused
model.safetensors, checks config.json, and with --case runs the float64 reference T5
(t5_reference.py) on the fused model and on the sources: the fused logits should equal
sum_i w_i * logits_i (grouped norms), to float32 rounding of the stored weights.

Usage: /usr/bin/python3 scripts/fusion_reference.py <fused-dir> <source-dir> <source-dir> [...]
           [--weights 0.5,0.5] [--norm grouped|joint] [--case case.json]
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from t5_reference import forward  # noqa: E402

torch.set_default_dtype(torch.float64)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", f"{path}: {name} is {e['dtype']}"
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + b:8 + n + end], dtype="<f4").reshape(e["shape"]).astype(np.float64)
    return out


def load(d):
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    cfg.setdefault("num_decoder_layers", cfg["num_layers"])
    cfg.setdefault("relative_attention_num_buckets", 32)
    cfg.setdefault("relative_attention_max_distance", 128)
    cfg.setdefault("layer_norm_epsilon", 1e-6)
    cfg.setdefault("tie_word_embeddings", True)
    return cfg, read_safetensors(os.path.join(d, "model.safetensors"))


def blockdiag(blocks):
    rows = sum(b.shape[0] for b in blocks)
    cols = sum(b.shape[1] for b in blocks)
    out = np.zeros((rows, cols))
    r = c = 0
    for b in blocks:
        out[r:r + b.shape[0], c:c + b.shape[1]] = b
        r += b.shape[0]
        c += b.shape[1]
    return out


def fuse_by_table(cfgs, params, w):
    """docs/fusion.md, "What happens to every tensor", row by row."""
    d = sum(c["d_model"] for c in cfgs)
    tied = cfgs[0]["tie_word_embeddings"]
    fused = {}
    for name in params[0]:
        if name in ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight"):
            continue
        ps = [p[name] for p in params]
        if name == "shared.weight" or name.endswith("relative_attention_bias.weight"):
            fused[name] = np.concatenate(ps, axis=1)
        elif name == "lm_head.weight":
            fused[name] = np.concatenate([wi * p for wi, p in zip(w, ps)], axis=1)
        elif name == "decoder.final_layer_norm.weight" and tied:
            fused[name] = np.concatenate([wi * math.sqrt(d / c["d_model"]) * p for wi, c, p in zip(w, cfgs, ps)])
        elif name.endswith("layer_norm.weight"):
            fused[name] = np.concatenate(ps)
        else:
            fused[name] = blockdiag(ps)
    return fused


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fused")
    ap.add_argument("sources", nargs="+")
    ap.add_argument("--weights")
    ap.add_argument("--norm", default="grouped", choices=["grouped", "joint"])
    ap.add_argument("--case")
    a = ap.parse_args()
    k = len(a.sources)
    w = [float(x) for x in a.weights.split(",")] if a.weights else [1 / k] * k
    loaded = [load(s) for s in a.sources]
    cfgs, params = [c for c, _ in loaded], [p for _, p in loaded]
    fcfg, fparams = load(a.fused)

    ok = True
    for field in ("d_model", "num_heads", "d_ff"):
        want = sum(c[field] for c in cfgs)
        if fcfg[field] != want:
            print(f"config {field}: {fcfg[field]} != {want}")
            ok = False
    groups = sum((c.get("norm_groups") or [c["d_model"]] for c in cfgs), []) if a.norm == "grouped" else None
    if fcfg.get("norm_groups") != groups:
        print(f"config norm_groups: {fcfg.get('norm_groups')} != {groups}")
        ok = False

    expected = fuse_by_table(cfgs, params, w)
    if set(expected) != set(fparams):
        print(f"tensor names differ: {sorted(set(expected) ^ set(fparams))}")
        ok = False
    worst = 0.0
    for name, e in expected.items():
        got = fparams.get(name)
        if got is None or got.shape != e.shape:
            print(f"{name}: shape {None if got is None else got.shape} != {e.shape}")
            ok = False
            continue
        worst = max(worst, float(np.abs(got - e).max()))
    print(f"tensors: {len(expected)} rebuilt by the table, max abs difference {worst:.3e}")
    ok = ok and worst < 1e-6

    if a.case:
        with open(a.case) as f:
            case = json.load(f)
        ids = torch.tensor(case["input_ids"])
        mask = torch.tensor(case.get("attention_mask", [[1] * len(r) for r in case["input_ids"]]), dtype=torch.float64)
        if "decoder_input_ids" in case:
            dec = torch.tensor(case["decoder_input_ids"])
        else:
            dec = torch.tensor([[0] + [max(t, 0) for t in r[:-1]] for r in case["labels"]])
        t = lambda p: {n: torch.from_numpy(v) for n, v in p.items()}
        mix = sum(wi * forward(c, t(p), ids, mask, dec)[0] for wi, c, p in zip(w, cfgs, params))
        logits = forward(fcfg, t(fparams), ids, mask, dec)[0]
        diff = (logits - mix)
        rel = float(diff.norm() / mix.norm())
        print(f"float64 forward: fused logits vs sum_i w_i logits_i: max abs {float(diff.abs().max()):.3e}, relative {rel:.3e}")
        if a.norm == "grouped":
            ok = ok and rel < 1e-5
    print("OK" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
