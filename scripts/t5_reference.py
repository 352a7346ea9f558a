#!/usr/bin/env python3
"""Independent float64 reference of T5 (docs/t5.md) in PyTorch, used to make golden
fixtures the TypeScript model is tested against. Writes a model directory (config.json +
model.safetensors), case/case.json and case/expected.safetensors in the layout of
test/fixtures/. Run with Debian's torch: /usr/bin/python3 scripts/t5_reference.py <out-dir> [preset]
"""
import json
import math
import os
import struct
import sys

import torch

from t5_buckets import bucket

torch.set_default_dtype(torch.float64)


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def init(cfg, gen):
    d, dkv, h, ff, V = cfg["d_model"], cfg["d_kv"], cfg["num_heads"], cfg["d_ff"], cfg["vocab_size"]
    n = lambda shape, std: torch.randn(*shape, generator=gen) * std
    p = {"shared.weight": n([V, d], 1.0)}

    def attn(prefix, bias):
        p[f"{prefix}.q.weight"] = n([h * dkv, d], (d * dkv) ** -0.5)
        p[f"{prefix}.k.weight"] = n([h * dkv, d], d ** -0.5)
        p[f"{prefix}.v.weight"] = n([h * dkv, d], d ** -0.5)
        p[f"{prefix}.o.weight"] = n([d, h * dkv], (h * dkv) ** -0.5)
        if bias:
            p[f"{prefix}.relative_attention_bias.weight"] = n([cfg["relative_attention_num_buckets"], h], d ** -0.5)

    def ffn(prefix):
        names = ["wi_0", "wi_1"] if cfg["feed_forward_proj"] == "gated-gelu" else ["wi"]
        for w in names:
            p[f"{prefix}.DenseReluDense.{w}.weight"] = n([ff, d], d ** -0.5)
        p[f"{prefix}.DenseReluDense.wo.weight"] = n([d, ff], ff ** -0.5)
        p[f"{prefix}.layer_norm.weight"] = 1 + n([d], 0.1)  # not all ones, so norm weights are exercised

    for stack, layers in (("encoder", cfg["num_layers"]), ("decoder", cfg["num_decoder_layers"])):
        for i in range(layers):
            b = f"{stack}.block.{i}.layer"
            attn(f"{b}.0.SelfAttention", i == 0)
            p[f"{b}.0.layer_norm.weight"] = 1 + n([d], 0.1)
            if stack == "decoder":
                attn(f"{b}.1.EncDecAttention", False)
                p[f"{b}.1.layer_norm.weight"] = 1 + n([d], 0.1)
            ffn(f"{b}.{2 if stack == 'decoder' else 1}")
        p[f"{stack}.final_layer_norm.weight"] = 1 + n([d], 0.1)
    if not cfg["tie_word_embeddings"]:
        p["lm_head.weight"] = n([V, d], d ** -0.5)
    return p


def forward(cfg, p, input_ids, attention_mask, decoder_input_ids):
    d, h, dkv, eps = cfg["d_model"], cfg["num_heads"], cfg["d_kv"], cfg["layer_norm_epsilon"]

    def norm(x, w):
        # norm_groups (docs/t5.md): each group of features is normalised on its own.
        groups = cfg.get("norm_groups") or [d]
        parts = torch.split(x, groups, dim=-1)
        return w * torch.cat([g / torch.sqrt((g * g).mean(-1, keepdim=True) + eps) for g in parts], -1)

    def bias_for(stack, tq, tk):
        table = p[f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
        ids = torch.tensor([[bucket(k - q, stack == "encoder", cfg["relative_attention_num_buckets"],
                                    cfg["relative_attention_max_distance"]) for k in range(tk)] for q in range(tq)])
        return table[ids].permute(2, 0, 1)  # [h, tq, tk]

    def attention(prefix, xq, xkv, add):
        B, tq, _ = xq.shape
        split = lambda t: t.view(B, -1, h, dkv).transpose(1, 2)
        q = split(xq @ p[f"{prefix}.q.weight"].T)
        k = split(xkv @ p[f"{prefix}.k.weight"].T)
        v = split(xkv @ p[f"{prefix}.v.weight"].T)
        probs = torch.softmax(q @ k.transpose(-1, -2) + add, -1)
        return (probs @ v).transpose(1, 2).reshape(B, tq, h * dkv) @ p[f"{prefix}.o.weight"].T

    def ffn(prefix, x):
        f = f"{prefix}.DenseReluDense"
        if cfg["feed_forward_proj"] == "gated-gelu":
            g = x @ p[f"{f}.wi_0.weight"].T
            gelu = 0.5 * g * (1 + torch.tanh(math.sqrt(2 / math.pi) * (g + 0.044715 * g ** 3)))
            hidden = gelu * (x @ p[f"{f}.wi_1.weight"].T)
        else:
            hidden = torch.relu(x @ p[f"{f}.wi.weight"].T)
        return hidden @ p[f"{f}.wo.weight"].T

    pad_mask = (1 - attention_mask[:, None, None, :]) * -1e9
    te, td = input_ids.shape[1], decoder_input_ids.shape[1]
    x = p["shared.weight"][input_ids]
    enc_add = bias_for("encoder", te, te)[None] + pad_mask
    for i in range(cfg["num_layers"]):
        b = f"encoder.block.{i}.layer"
        hx = norm(x, p[f"{b}.0.layer_norm.weight"])
        x = x + attention(f"{b}.0.SelfAttention", hx, hx, enc_add)
        x = x + ffn(f"{b}.1", norm(x, p[f"{b}.1.layer_norm.weight"]))
    enc = norm(x, p["encoder.final_layer_norm.weight"])

    causal = torch.triu(torch.ones(td, td), 1) * -1e9
    dec_add = bias_for("decoder", td, td)[None] + causal
    y = p["shared.weight"][decoder_input_ids]
    for i in range(cfg["num_decoder_layers"]):
        b = f"decoder.block.{i}.layer"
        hy = norm(y, p[f"{b}.0.layer_norm.weight"])
        y = y + attention(f"{b}.0.SelfAttention", hy, hy, dec_add)
        y = y + attention(f"{b}.1.EncDecAttention", norm(y, p[f"{b}.1.layer_norm.weight"]), enc, pad_mask)
        y = y + ffn(f"{b}.2", norm(y, p[f"{b}.2.layer_norm.weight"]))
    y = norm(y, p["decoder.final_layer_norm.weight"])
    if cfg["tie_word_embeddings"]:
        logits = (y * d ** -0.5) @ p["shared.weight"].T
    else:
        logits = y @ p["lm_head.weight"].T
    return logits, enc


PRESETS = {
    # Uneven depths, tied relu, a small max_distance and long sequences so logarithmic buckets
    # (and the cap at the last bucket) are reached in both directions; padding in both batches.
    "uneven-long": dict(
        config=dict(vocab_size=64, d_model=16, d_kv=4, d_ff=24, num_layers=3, num_decoder_layers=1, num_heads=3,
                    relative_attention_num_buckets=16, relative_attention_max_distance=24, feed_forward_proj="relu",
                    tie_word_embeddings=True),
        batch=3, enc_len=70, dec_len=40),
    "deep-decoder": dict(
        config=dict(vocab_size=50, d_model=12, d_kv=5, d_ff=20, num_layers=1, num_decoder_layers=3, num_heads=2,
                    relative_attention_num_buckets=32, relative_attention_max_distance=128,
                    feed_forward_proj="gated-gelu", tie_word_embeddings=False),
        batch=2, enc_len=150, dec_len=140),
}


def main():
    out, preset = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "uneven-long"
    spec = PRESETS[preset]
    cfg = dict(layer_norm_epsilon=1e-6, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, dropout_rate=0.0,
               model_type="t5", architectures=["T5ForConditionalGeneration"], **spec["config"])
    gen = torch.Generator().manual_seed(1234)
    params = init(cfg, gen)
    B, te, td, V = spec["batch"], spec["enc_len"], spec["dec_len"], cfg["vocab_size"]
    input_ids = torch.randint(2, V, (B, te), generator=gen)
    attention_mask = torch.ones(B, te)
    attention_mask[1, te // 2:] = 0
    input_ids[1, te // 2:] = 0
    labels = torch.randint(2, V, (B, td), generator=gen)
    labels[-1, td - td // 3:] = -100
    decoder_input_ids = torch.cat([torch.zeros(B, 1, dtype=torch.long), labels[:, :-1]], 1).clamp(min=0)

    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    logits, enc = forward(cfg, leaves, input_ids, attention_mask, decoder_input_ids)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100)
    loss.backward()

    os.makedirs(os.path.join(out, "model"), exist_ok=True)
    os.makedirs(os.path.join(out, "case"), exist_ok=True)
    with open(os.path.join(out, "model", "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(out, "model", "model.safetensors"), params)
    with open(os.path.join(out, "case", "case.json"), "w") as f:
        json.dump(dict(input_ids=input_ids.tolist(), attention_mask=attention_mask.long().tolist(),
                       labels=labels.tolist(), decoder_input_ids=decoder_input_ids.tolist()), f)
    expected = {"logits": logits, "encoder_last_hidden_state": enc, "loss": loss.reshape(1)}
    expected.update({f"grad.{k}": v.grad for k, v in leaves.items()})
    write_safetensors(os.path.join(out, "case", "expected.safetensors"), expected)
    print(f"wrote {out}: loss {loss.item():.6f}")


if __name__ == "__main__":
    main()
