#!/usr/bin/env python3
"""Float64 reference for the growth-dynamics instruments (docs/dynamics.md), in PyTorch.

On a model directory and a batch (a case.json as the golden fixtures hold), computes in float64:
- the exact Hessian-vector product H·g at the gradient g (double backward), written to
  <out-dir>/hvp.safetensors as hvp.<param> (stored as float32);
- the modified-loss gap test: for each step size h, the distance between one gradient-descent
  step θ₀ − h·g and the flows of L and of L̃ = L + (h/4)‖∇L‖² at time h (RK4 with --substeps
  steps, ∇L̃ = g + (h/2)·H g with exact H·g), written to <out-dir>/modified_loss.json.

The TypeScript measurement (float32 gradients, central-difference Hessian-vector products) is
tested against both (test/analysis/). Usage:

    /usr/bin/python3 scripts/dynamics_reference.py <model-dir> <case.json> <out-dir> \
        [--h 0.001,0.002,0.005,0.01] [--substeps 8]
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fusion_reference import load  # noqa: E402
from t5_reference import forward, write_safetensors  # noqa: E402

torch.set_default_dtype(torch.float64)


def loss_fn(cfg, case):
    ids = torch.tensor(case["input_ids"])
    mask = torch.tensor(case["attention_mask"], dtype=torch.float64)
    labels = torch.tensor(case["labels"])
    dec = torch.tensor(case["decoder_input_ids"])
    vocab = cfg["vocab_size"]

    def f(params):
        logits, _ = forward(cfg, params, ids, mask, dec)
        return torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), labels.reshape(-1), ignore_index=-100)
    return f


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("case")
    ap.add_argument("out")
    ap.add_argument("--h", default="0.001,0.002,0.005,0.01")
    ap.add_argument("--substeps", type=int, default=8)
    a = ap.parse_args()
    cfg, raw = load(a.model)
    with open(a.case) as fh:
        case = json.load(fh)
    names = [n for n in raw if n not in ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight")]
    theta0 = {n: torch.tensor(raw[n]) for n in names}
    f = loss_fn(cfg, case)

    def at(delta):
        return {n: (theta0[n] + delta[n]).requires_grad_(True) for n in names}

    def grad(delta):
        p = at(delta)
        gs = torch.autograd.grad(f(p), [p[n] for n in names])
        return {n: g.detach() for n, g in zip(names, gs)}

    def hvp(delta, v):
        p = at(delta)
        gs = torch.autograd.grad(f(p), [p[n] for n in names], create_graph=True)
        dot = sum((g * v[n]).sum() for g, n in zip(gs, names))
        hs = torch.autograd.grad(dot, [p[n] for n in names])
        return {n: h.detach() for n, h in zip(names, hs)}

    zero = {n: torch.zeros_like(theta0[n]) for n in names}
    g0 = grad(zero)
    hg = hvp(zero, g0)
    os.makedirs(a.out, exist_ok=True)
    tensors = {f"hvp.{n}": hg[n] for n in names}
    write_safetensors(os.path.join(a.out, "hvp.safetensors"), tensors)

    axpy = lambda s, x, y: {n: y[n] + s * x[n] for n in names}
    norm = lambda v: math.sqrt(sum(float((v[n] ** 2).sum()) for n in names))

    def rk4(field, t, steps):
        d = dict(zero)
        dt = t / steps
        for _ in range(steps):
            k1 = field(d)
            k2 = field(axpy(dt / 2, k1, d))
            k3 = field(axpy(dt / 2, k2, d))
            k4 = field(axpy(dt, k3, d))
            d = {n: d[n] + dt / 6 * (k1[n] + 2 * k2[n] + 2 * k3[n] + k4[n]) for n in names}
        return d

    rows = []
    for h in [float(x) for x in a.h.split(",")]:
        gd = {n: -h * g0[n] for n in names}
        flow = rk4(lambda d: {n: -g for n, g in grad(d).items()}, h, a.substeps)

        def modified(d, h=h):
            g = grad(d)
            hv = hvp(d, g)
            return {n: -(g[n] + h / 2 * hv[n]) for n in names}
        mflow = rk4(modified, h, a.substeps)
        rows.append({"h": h, "gd_vs_flow": norm(axpy(-1, flow, gd)), "gd_vs_modified_flow": norm(axpy(-1, mflow, gd))})
        print(f"h {h:g}: |GD − flow(L)| {rows[-1]['gd_vs_flow']:.6e}  |GD − flow(L~)| {rows[-1]['gd_vs_modified_flow']:.6e}")
    lh = [math.log(r["h"]) for r in rows]

    def slope(key):
        if len(rows) < 2:
            return None
        ly = [math.log(r[key]) for r in rows]
        mx, my = sum(lh) / len(lh), sum(ly) / len(ly)
        return sum((x - mx) * (y - my) for x, y in zip(lh, ly)) / sum((x - mx) ** 2 for x in lh)
    out = {"precision": "float64", "substeps": a.substeps, "grad_norm": norm(g0), "hvp_norm": norm(hg), "rows": rows,
           "slope_flow": slope("gd_vs_flow"), "slope_modified_flow": slope("gd_vs_modified_flow")}
    with open(os.path.join(a.out, "modified_loss.json"), "w") as fh:
        json.dump(out, fh, indent=2)
    print(f"|g| {out['grad_norm']:.6f}  |Hg| {out['hvp_norm']:.6f}  slopes {out['slope_flow']} {out['slope_modified_flow']}")


if __name__ == "__main__":
    main()
