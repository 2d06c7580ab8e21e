#!/usr/bin/env python3
"""PyTorch peers of `coevo bench kernels`: the same cases, names and shapes (Llama-3.2-1B, 8192 tokens; 2048 with
--quick), timed the same way (CUDA events around batches of calls, median of 5 batches after 2 warm-up calls).

Each peer is what a PyTorch + PEFT + transformers training step runs for that piece, in bf16, eager:
rms_norm, HF's rotate-half RoPE, silu(gate) * up, scaled_dot_product_attention (causal, kv heads repeated as HF's
repeat_kv does, the repeat outside the timing), linear, PEFT's LoRA (base + B(A(x)) * s), matmul + log_softmax +
gather for the target log-probs, fused AdamW on fp32 parameters, and HF-style top-p sampling.
peak_bytes: torch.cuda.max_memory_allocated() during the call minus what was allocated before it (the inputs).

Usage: python3 bench/torch/kernels.py --out FILE [--quick] [--cases a,b]
Writes {"device", "torch", "cuda", "tokens", "cases": [{"name", "op", "ms", "peak_bytes"}], "errors": {name: message}}.
"""
import argparse
import json
import os
import sys
import traceback

import torch
import torch.nn.functional as F

DIM, HEADS, KV_HEADS, HEAD_DIM, FFN, VOCAB, RANK = 2048, 32, 8, 64, 8192, 128256, 16
CASES = [
    "d2d_copy", "embedding_fwd", "rmsnorm_fwd", "rmsnorm_bwd", "rope_fwd", "swiglu_fwd", "swiglu_bwd",
    "attention_fwd_2k", "attention_bwd_2k", "attention_fwd_8k", "attention_bwd_8k",
    "linear_fwd", "lora_fwd", "lora_bwd", "token_logprobs_fwd", "token_logprobs_bwd", "adamw", "sampling",
]
BF16 = torch.bfloat16


def median_ms(run, repetitions):
    for _ in range(2):
        run()
    samples = []
    for _ in range(5):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(repetitions):
            run()
        stop.record()
        stop.synchronize()
        samples.append(start.elapsed_time(stop) / repetitions)
    samples.sort()
    return samples[len(samples) // 2]


def peak_bytes(run):
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    run()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - before


def rand(*shape, scale=1.0, dtype=BF16):
    return ((torch.rand(*shape, device="cuda", dtype=torch.float32) * 2 - 1) * scale).to(dtype)


def rope_tables(tokens):
    inv = 1.0 / (500000.0 ** (torch.arange(0, HEAD_DIM, 2, device="cuda", dtype=torch.float32) / HEAD_DIM))
    angles = torch.arange(tokens, device="cuda", dtype=torch.float32)[:, None] * inv[None, :]
    emb = torch.cat([angles, angles], dim=-1)
    return emb.cos().to(BF16)[:, None, :], emb.sin().to(BF16)[:, None, :]


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def case(name, tokens, repetitions):
    """Returns (op, ms, peak_bytes) for one case."""
    t = tokens
    if name == "d2d_copy":
        a = torch.zeros(1 << 30, dtype=torch.uint8, device="cuda")
        b = torch.empty_like(a)
        return "Tensor.copy_ (1 GiB)", median_ms(lambda: b.copy_(a), repetitions), None
    if name == "embedding_fwd":
        table, ids = rand(VOCAB, DIM, scale=0.05), torch.randint(0, VOCAB, (t,), device="cuda")
        return "F.embedding", median_ms(lambda: F.embedding(ids, table), repetitions), None
    if name in ("rmsnorm_fwd", "rmsnorm_bwd"):
        x, w = rand(t, DIM, scale=3.0), rand(DIM, scale=0.25) + 1
        if name == "rmsnorm_fwd":
            return "F.rms_norm", median_ms(lambda: F.rms_norm(x, (DIM,), w, 1e-5), repetitions), None
        x.requires_grad_(True)
        y, dy = F.rms_norm(x, (DIM,), w, 1e-5), rand(t, DIM)
        return "F.rms_norm backward (dx)", median_ms(lambda: torch.autograd.grad(y, x, dy, retain_graph=True), repetitions), None
    if name == "rope_fwd":
        q, k = rand(t, HEADS, HEAD_DIM), rand(t, KV_HEADS, HEAD_DIM)
        cos, sin = rope_tables(t)

        def run():
            return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        return "HF apply_rotary_pos_emb (q and k)", median_ms(run, repetitions), None
    if name in ("swiglu_fwd", "swiglu_bwd"):
        g, u = rand(t, FFN, scale=4.0), rand(t, FFN, scale=2.0)
        if name == "swiglu_fwd":
            return "F.silu(gate) * up", median_ms(lambda: F.silu(g) * u, repetitions), None
        g.requires_grad_(True)
        u.requires_grad_(True)
        h, dh = F.silu(g) * u, rand(t, FFN)
        return "F.silu(gate) * up backward", median_ms(lambda: torch.autograd.grad(h, (g, u), dh, retain_graph=True), repetitions), None
    if name.startswith("attention_"):
        length = 2048 if name.endswith("2k") else 8192
        batch = max(t, length) // length
        q = rand(batch, HEADS, length, HEAD_DIM)
        k = rand(batch, KV_HEADS, length, HEAD_DIM).repeat_interleave(HEADS // KV_HEADS, dim=1)
        v = rand(batch, KV_HEADS, length, HEAD_DIM).repeat_interleave(HEADS // KV_HEADS, dim=1)
        if "_fwd_" in name:
            return "F.scaled_dot_product_attention (causal)", median_ms(
                lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), repetitions), None
        for x in (q, k, v):
            x.requires_grad_(True)
        o, do = F.scaled_dot_product_attention(q, k, v, is_causal=True), rand(batch, HEADS, length, HEAD_DIM)
        return "F.scaled_dot_product_attention backward", median_ms(
            lambda: torch.autograd.grad(o, (q, k, v), do, retain_graph=True), repetitions), None
    if name == "linear_fwd":
        x, w = rand(t, DIM), rand(FFN, DIM, scale=0.02)
        return "F.linear", median_ms(lambda: F.linear(x, w), repetitions), None
    if name in ("lora_fwd", "lora_bwd"):
        x, a, b, y = rand(t, DIM), rand(RANK, DIM, scale=0.02), rand(FFN, RANK, scale=0.02), rand(t, FFN)
        if name == "lora_fwd":
            return "PEFT: base + lora_B(lora_A(x)) * s", median_ms(lambda: y + F.linear(F.linear(x, a), b) * 2.0, repetitions), None
        for p in (x, a, b):
            p.requires_grad_(True)
        out, dy = y + F.linear(F.linear(x, a), b) * 2.0, rand(t, FFN)
        return "PEFT LoRA backward (dx, dA, dB)", median_ms(lambda: torch.autograd.grad(out, (x, a, b), dy, retain_graph=True), repetitions), None
    if name in ("token_logprobs_fwd", "token_logprobs_bwd"):
        h, w = rand(t, DIM), rand(VOCAB, DIM, scale=0.05)
        targets = torch.randint(0, VOCAB, (t, 1), device="cuda")

        def forward():
            return torch.log_softmax(h @ w.T, dim=-1).gather(-1, targets)
        if name == "token_logprobs_fwd":
            return "matmul + log_softmax + gather (bf16)", median_ms(forward, repetitions), peak_bytes(forward)
        h.requires_grad_(True)
        logp, dlogp = forward(), rand(t, 1)

        def backward():
            return torch.autograd.grad(logp, h, dlogp, retain_graph=True)
        return "matmul + log_softmax + gather backward (dh)", median_ms(backward, repetitions), peak_bytes(backward)
    if name == "adamw":
        n = 16 * RANK * (4 * (DIM + DIM) - 2 * (DIM - 512) + 3 * (DIM + FFN))
        p = torch.nn.Parameter(rand(n, scale=0.02, dtype=torch.float32))
        p.grad = rand(n, scale=0.001, dtype=torch.float32)
        opt = torch.optim.AdamW([p], lr=1e-4, weight_decay=0.01, fused=True)
        return "torch.optim.AdamW(fused=True), fp32", median_ms(opt.step, repetitions), None
    if name == "sampling":
        logits = rand(64, VOCAB, scale=8.0, dtype=torch.float32)

        def sample():
            probs = torch.softmax(logits / 1.0, dim=-1)
            sorted_probs, sorted_ids = torch.sort(probs, descending=True, dim=-1)
            cumulative = sorted_probs.cumsum(dim=-1)
            sorted_probs[(cumulative - sorted_probs) > 0.9] = 0
            choice = torch.multinomial(sorted_probs, 1)
            return sorted_ids.gather(-1, choice)
        return "softmax + sort + cumsum top-p + multinomial", median_ms(sample, repetitions), None
    raise ValueError(f"unknown case {name}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cases", default="")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("kernels.py: no CUDA device", file=sys.stderr)
        return 2
    tokens, repetitions = (2048, 2) if args.quick else (8192, 10)
    selected = [c for c in args.cases.split(",") if c] or CASES
    unknown = [c for c in selected if c not in CASES]
    if unknown:
        print(f"kernels.py: unknown case(s) {unknown}; known: {CASES}", file=sys.stderr)
        return 2
    torch.manual_seed(2026)
    results, errors = [], {}
    for name in selected:
        try:
            op, ms, peak = case(name, tokens, repetitions)
            results.append({"name": name, "op": op, "ms": ms, "peak_bytes": peak})
            print(f"{name}: {ms:.3f} ms ({op})" + ("" if peak is None else f", peak {peak / 2**20:.0f} MiB"), flush=True)
        except Exception as error:  # one case failing (e.g. out of memory) must not lose the others
            errors[name] = f"{type(error).__name__}: {error}"
            traceback.print_exc()
        torch.cuda.empty_cache()
    report = {
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "tokens": tokens,
        "cases": results,
        "errors": errors,
    }
    with open(args.out + ".tmp", "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    os.replace(args.out + ".tmp", args.out)
    print(f"written: {args.out}")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
