#!/usr/bin/env python3
"""The PyTorch side of UNetStep.java: one CFG step (batch 2) of diffusers' UNet2DConditionModel,
eager, F16 or BF16, random weights, on the same GPU. diffusers is not installed on the device
machines: bench/gpu/pack carries its pure-Python sources (bench/gpu/carry/diffusers-src.tar.gz,
git-ignored), unpacked here into /tmp. Attention goes through diffusers' default processor
(torch SDPA, i.e. flash attention on H100).

usage: torch_unet.py sd15|sdxl f16|bf16 OUT.csv
"""
import os
import sys
import tarfile
import time

import torch

SD15 = dict(sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
            block_out_channels=(320, 640, 1280, 1280),
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
            cross_attention_dim=768, attention_head_dim=8)
SDXL = dict(sample_size=128, in_channels=4, out_channels=4, layers_per_block=2,
            block_out_channels=(320, 640, 1280),
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
            transformer_layers_per_block=(1, 2, 10), attention_head_dim=(5, 10, 20),
            cross_attention_dim=2048, use_linear_projection=True,
            addition_embed_type="text_time", addition_time_embed_dim=256,
            projection_class_embeddings_input_dim=2816)


def import_diffusers():
    src = os.path.join(os.path.dirname(__file__), "carry", "diffusers-src.tar.gz")
    dest = "/tmp/d4j-diffusers"
    if not os.path.isdir(os.path.join(dest, "diffusers")):
        if not os.path.isfile(src):
            sys.exit(f"[torch-unet] {src} missing: run bench/gpu/pack with a diffusers checkout (D4J_DIFFUSERS_GIT)")
        with tarfile.open(src) as t:
            t.extractall(dest)
    sys.path.insert(0, dest)
    from diffusers import UNet2DConditionModel
    return UNet2DConditionModel


def main():
    model, dt, out = sys.argv[1], sys.argv[2], sys.argv[3]
    dtype = torch.bfloat16 if dt == "bf16" else torch.float16
    try:
        UNet2DConditionModel = import_diffusers()
    except Exception as e:  # report and let the Java column stand alone
        print(f"[torch-unet] diffusers does not import: {e!r}")
        sys.exit(2)
    cfg = SDXL if model == "sdxl" else SD15
    torch.manual_seed(0)
    t0 = time.time()
    with torch.device("cuda"):
        unet = UNet2DConditionModel(**cfg).to(dtype).eval()
    side, b = cfg["sample_size"], 2
    x = torch.randn(b, 4, side, side, device="cuda", dtype=dtype)
    ctx = torch.randn(b, 77, cfg["cross_attention_dim"], device="cuda", dtype=dtype)
    t = torch.tensor([500, 500], device="cuda")
    extra = {}
    if model == "sdxl":
        extra["added_cond_kwargs"] = {"text_embeds": torch.randn(b, 1280, device="cuda", dtype=dtype),
                                      "time_ids": torch.tensor([[1024, 1024, 0, 0, 1024, 1024]] * b, device="cuda", dtype=dtype)}
    print(f"[torch-unet] {model} {dt} built in {time.time() - t0:.1f} s, torch {torch.__version__}")

    def step():
        with torch.no_grad():
            return unet(x, t, encoder_hidden_states=ctx, **extra).sample

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(10):
        s = time.perf_counter()
        step()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - s) * 1e3)
    times.sort()
    ms, peak = times[len(times) // 2], torch.cuda.max_memory_allocated()
    print(f"[torch-unet] {model} {dt} diffusers eager CFG step: {ms:.2f} ms, peak {peak / 1e9:.2f} GB")
    with open(out, "w") as f:
        f.write("model,dtype,torch_eager_ms,torch_peak_bytes\n")
        f.write(f"{model},{dt},{ms:.4f},{peak}\n")


if __name__ == "__main__":
    main()
