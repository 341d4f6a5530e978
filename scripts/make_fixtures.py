#!/usr/bin/env python3
"""Writes the PyTorch reference fixture for anogan's DCGAN tests.

Builds exactly the generator and discriminator of docs contract §1 (same parameter
names and shapes, a small configuration), gives them deterministic weights and
records, in float64 from float32 inputs:

* two complete DCGAN training steps in the order of pytorch/examples dcgan/main.py
  (BCE-with-logits averaged over the batch, Adam lr 2e-4, β1 0.5): G(z), D's
  logits, the losses, every gradient, BatchNorm running statistics and every
  parameter after the Adam updates;
* five steps of AnoGAN's latent mapping (inference-mode BatchNorm,
  L = 0.9·Σ|x − G(z)| + 0.1·Σ|f(x) − f(G(z))| per image, Adam on z with lr 0.01,
  β1 0.9, z clipped to [-1, 1]) and three steps of the reference-loss variant
  (second term the sigmoid cross entropy of D(G(z)) against 1).

Output: Tests/AnoGANTests/Fixtures/dcgan_reference.safetensors (float32 tensors;
names are listed in the test, Tests/AnoGANTests/DCGANFixtureTests.swift), and
Tests/AnoGANTests/Fixtures/dcgan_paper.safetensors: the paper's full-size model with
formula weights, one training step and three mapping steps (see write_paper_fixture).

Also writes the small numpy-made .npy files that Tests/NeuralNetTests/NPYTests.swift
reads (Tests/NeuralNetTests/Fixtures), and prints torch.optim.Adam reference numbers
used as literals in Tests/NeuralNetTests/AdamTests.swift.
Run from the repository root:  python3 scripts/make_fixtures.py
Needs torch, numpy and safetensors; the Swift build and tests never run it.
"""

import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.numpy import save_file

from dcgan_torch import Discriminator, Generator

LATENT, WIDTH, CHANNELS, SIZE, BATCH = 16, 4, 1, 32, 4
LAMBDA = 0.1
OUT = os.path.join("Tests", "AnoGANTests", "Fixtures", "dcgan_reference.safetensors")


def f32(shape, fill):
    """A float32 tensor (the values Swift sees), widened to float64 exactly."""
    return fill(torch.empty(shape, dtype=torch.float32)).double()


def initialize(net, gen):
    """Weights N(0, 1/fan_in) so signals neither vanish nor explode in this small
    network (with DCGAN's N(0, 0.02) G(z) barely depends on z here, which would make
    the mapping fixture blind); BatchNorm γ ~ N(1, 0.1), β ~ N(0, 0.1), biases
    N(0, 0.05). The test loads these weights, it does not re-draw them."""
    with torch.no_grad():
        for name, t in net.named_parameters():
            module = net.get_submodule(name.rsplit(".", 1)[0])
            if isinstance(module, nn.BatchNorm2d):
                mean = 1.0 if name.endswith(".weight") else 0.0
                v = f32(t.shape, lambda e: e.normal_(mean, 0.1, generator=gen))
            elif name.endswith(".bias"):
                v = f32(t.shape, lambda e: e.normal_(0.0, 0.05, generator=gen))
            else:
                fan_in = t[0].numel()
                if isinstance(module, nn.ConvTranspose2d):
                    fan_in = t.shape[0] * 25 // 4  # stride 2: each output sees a quarter of the taps
                v = f32(t.shape, lambda e: e.normal_(0.0, fan_in ** -0.5, generator=gen))
            t.copy_(v)


def calibrate(net, batch):
    """Running statistics that match the activations, as in a trained network:
    one train-mode pass with a cumulative average (momentum None), rounded to float32."""
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for m in bns:
            m.momentum = None
            m.reset_running_stats()
        net.train()
        net(batch)
        for m in bns:
            m.momentum = 0.1
            m.running_mean.copy_(m.running_mean.float().double())
            m.running_var.copy_(m.running_var.float().double())


def state(net):
    """Parameters and running statistics under the contract's names (no counters)."""
    return {k: v.detach().clone() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}


def grads(net):
    return {k: p.grad.detach().clone() for k, p in net.named_parameters()}


def training_step(G, D, optG, optD, real, z, out, prefix):
    """One iteration of pytorch/examples dcgan/main.py (both networks in train mode)."""
    bce = nn.BCEWithLogitsLoss()  # mean over the batch
    ones = torch.ones(real.shape[0], 1, dtype=torch.float64)
    zeros = torch.zeros(real.shape[0], 1, dtype=torch.float64)

    D.zero_grad()
    logits_real, _ = D(real)
    loss_real = bce(logits_real, ones)
    loss_real.backward()
    fake = G(z)
    logits_fake, _ = D(fake.detach())
    loss_fake = bce(logits_fake, zeros)
    loss_fake.backward()
    grad_d = grads(D)
    optD.step()

    G.zero_grad()
    logits_after, _ = D(fake)
    loss_g = bce(logits_after, ones)
    loss_g.backward()
    grad_g = grads(G)
    optG.step()

    out[f"{prefix}.fake"] = fake
    out[f"{prefix}.logits_real"] = logits_real
    out[f"{prefix}.logits_fake"] = logits_fake
    out[f"{prefix}.logits_fake_after"] = logits_after
    out[f"{prefix}.loss_d"] = (loss_real + loss_fake).reshape(1)
    out[f"{prefix}.loss_g"] = loss_g.reshape(1)
    out[f"{prefix}.d_real"] = torch.sigmoid(logits_real).mean().reshape(1)
    out[f"{prefix}.d_fake"] = torch.sigmoid(logits_fake).mean().reshape(1)
    out[f"{prefix}.d_fake_after"] = torch.sigmoid(logits_after).mean().reshape(1)
    for k, v in grad_g.items():
        out[f"{prefix}.grad.generator.{k}"] = v
    for k, v in grad_d.items():
        out[f"{prefix}.grad.discriminator.{k}"] = v
    for k, v in state(G).items():
        out[f"{prefix}.after.generator.{k}"] = v
    for k, v in state(D).items():
        out[f"{prefix}.after.discriminator.{k}"] = v


def mapping_losses(G, D, x, fx, z, reference):
    """Per-image residual, discrimination and total loss (networks in eval mode)."""
    gz = G(z)
    logits, fgz = D(gz)
    residual = (x - gz).abs().flatten(1).sum(1)
    if reference:
        discrimination = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits), reduction="none").flatten()
    else:
        discrimination = (fx - fgz).abs().flatten(1).sum(1)
    return gz, residual, discrimination, (1 - LAMBDA) * residual + LAMBDA * discrimination


def mapping_gradient(G, D, x, fx, z, reference):
    z = z.clone().requires_grad_(True)
    _, _, _, total = mapping_losses(G, D, x, fx, z, reference)
    total.sum().backward()  # images are independent in eval mode: each z gets its own loss's gradient
    return z.grad.detach()


def pushes_out(G, D, x, fx, z, entries):
    """True when Adam's first step (≈ −0.01·sign(gradient)) moves every entry outward."""
    g = mapping_gradient(G, D, x, fx, z, reference=False)
    return all((z[b, j] > 0 and g[b, j] < 0) or (z[b, j] < 0 and g[b, j] > 0) for b, j in entries)


def mapping(G, D, x, z0, out, reference, prefix, steps):
    G.eval()
    D.eval()
    for p in list(G.parameters()) + list(D.parameters()):
        p.requires_grad_(False)
    with torch.no_grad():
        _, fx = D(x)
    z = z0.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    for step in range(1, steps + 1):
        opt.zero_grad()
        gz, residual, discrimination, total = mapping_losses(G, D, x, fx, z, reference)
        total.sum().backward()
        g = z.grad.detach().clone()
        print(prefix, step, "min |grad z|", g.abs().min().item(), "max", g.abs().max().item())
        out[f"{prefix}.residual{step}"] = residual
        out[f"{prefix}.discrimination{step}"] = discrimination
        out[f"{prefix}.total{step}"] = total
        out[f"{prefix}.grad_z{step}"] = g
        if step == 1:
            out[f"{prefix}.reconstruction1"] = gz
            out[f"{prefix}.features_x"] = fx
        opt.step()
        unclipped = z.detach().clone()
        with torch.no_grad():
            z.clamp_(-1, 1)
        if step == 1:
            out[f"{prefix}.clipped_count1"] = torch.tensor([(unclipped != z.detach()).sum().item()], dtype=torch.float64)
        out[f"{prefix}.z{step}"] = z.detach().clone()


def main():
    gen = torch.Generator().manual_seed(20170312)  # IPMI 2017
    G = Generator(LATENT, WIDTH, CHANNELS, SIZE).double()
    D = Discriminator(WIDTH, CHANNELS, SIZE).double()
    initialize(G, gen)
    initialize(D, gen)
    calibrate(G, f32((32, LATENT), lambda e: e.uniform_(-1, 1, generator=gen)))
    G.eval()  # the calibration batch for D must not move G's statistics
    with torch.no_grad():
        mix = torch.cat([G(f32((16, LATENT), lambda e: e.uniform_(-1, 1, generator=gen))),
                         torch.tanh(f32((16, CHANNELS, SIZE, SIZE), lambda e: e.normal_(0, 1, generator=gen)))])
    calibrate(D, mix)
    init_g, init_d = state(G), state(D)

    out = {}
    for k, v in init_g.items():
        out[f"generator.{k}"] = v
    for k, v in init_d.items():
        out[f"discriminator.{k}"] = v

    # Training inputs: "real" images in [-1, 1] and z uniform on [-1, 1].
    real = torch.tanh(f32((BATCH, CHANNELS, SIZE, SIZE), lambda e: e.normal_(0, 1, generator=gen)))
    real = real.float().double()
    z = f32((BATCH, LATENT), lambda e: e.uniform_(-1, 1, generator=gen))
    out["input.real"] = real
    out["input.z"] = z
    G.train()
    D.train()
    optD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    optG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    training_step(G, D, optG, optD, real, z, out, "step")
    # A second step with new inputs: Adam's moments carry over, and every layer must
    # see the weights the first step wrote (no stale cached copies).
    real2 = torch.tanh(f32((BATCH, CHANNELS, SIZE, SIZE), lambda e: e.normal_(0, 1, generator=gen))).float().double()
    z2 = f32((BATCH, LATENT), lambda e: e.uniform_(-1, 1, generator=gen))
    out["input.real2"] = real2
    out["input.z2"] = z2
    training_step(G, D, optG, optD, real2, z2, out, "step2")
    # Size: D's parameters after step 2 are left out (D's carried-over Adam moments already
    # show in step 2's logits after D's update and in G's gradients).
    for k in [k for k in out if k.startswith("step2.after.discriminator.") and "running_" not in k]:
        del out[k]

    # Mapping starts again from the initial networks, frozen, in inference mode.
    G.load_state_dict({**init_g, **{k: v for k, v in G.state_dict().items() if k.endswith("num_batches_tracked")}})
    D.load_state_dict({**init_d, **{k: v for k, v in D.state_dict().items() if k.endswith("num_batches_tracked")}})
    G.eval()
    D.eval()
    # The query lies near G's range, generated from a latent code with three entries
    # beyond ±1; z0 starts near that code with those entries at ±0.996, so the first
    # Adam step pushes them out of [-1, 1] and clipping is exercised.
    for p in list(G.parameters()) + list(D.parameters()):
        p.requires_grad_(False)
    z_target = f32((BATCH, LATENT), lambda e: e.uniform_(-0.8, 0.8, generator=gen))
    z0 = (z_target + f32((BATCH, LATENT), lambda e: e.uniform_(-0.3, 0.3, generator=gen))).clamp(-0.9, 0.9)
    entries = [(0, 3), (1, 10), (3, 6)]
    for k, (b, j) in enumerate(entries):
        sign = 1.0 if k % 2 == 0 else -1.0
        z_target[b, j] = 1.6 * sign
        z0[b, j] = 0.996 * sign
    z0 = z0.float().double()
    with torch.no_grad():
        noise = f32((BATCH, CHANNELS, SIZE, SIZE), lambda e: e.normal_(0, 0.1, generator=gen))
        x = (G(z_target) + noise).clamp(-1, 1).float().double()
        _, fx = D(x)
    assert pushes_out(G, D, x, fx, z0, entries), "the chosen entries would not be clipped"
    out["mapping.x"] = x
    out["mapping.z0"] = z0
    mapping(G, D, x, z0, out, reference=False, prefix="mapping", steps=5)
    mapping(G, D, x, z0, out, reference=True, prefix="reference", steps=3)
    assert out["mapping.clipped_count1"].item() == 3, out["mapping.clipped_count1"]

    arrays = {k: np.ascontiguousarray(v.detach().numpy().astype(np.float32)) for k, v in out.items()}
    metadata = {
        "config": json.dumps({"latentDimension": LATENT, "imageSize": SIZE, "width": WIDTH, "channels": CHANNELS}),
        "batch": str(BATCH),
        "lambda": str(LAMBDA),
        "generated_by": "scripts/make_fixtures.py",
        "torch": torch.__version__,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save_file(arrays, OUT, metadata=metadata)
    total = sum(a.size for a in arrays.values())
    print(f"wrote {OUT}: {len(arrays)} tensors, {total} floats, {os.path.getsize(OUT)} bytes")


# ---------------------------------------------------------------------------
# The paper's full-size model (latent 100, width 64, 64×64), with weights from a
# formula both sides compute bit for bit, so the fixture stays small: it stores
# inputs, outputs, BatchNorm running statistics, small gradients in full and every
# large gradient as a projection onto a formula vector.

PAPER_OUT = os.path.join("Tests", "AnoGANTests", "Fixtures", "dcgan_paper.safetensors")
MASK = (1 << 64) - 1


def fnv1a(text):
    """64-bit FNV-1a of the UTF-8 bytes: the per-tensor seed."""
    h = 0xCBF29CE484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) & MASK
    return h


def formula(name, count):
    """count values in [-1, 1): SplitMix64 of (fnv1a(name)·φ + i), top 24 bits / 2^23 − 1 (exact in float64).
    DCGANFixtureTests.swift computes the same numbers."""
    with np.errstate(over="ignore"):
        z = np.uint64((fnv1a(name) * 0x9E3779B97F4A7C15) & MASK) + np.arange(count, dtype=np.uint64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float64) / 8388608.0 - 1.0


def formula_weights(net, prefix):
    """weight: uniform with std 1/√fan_in; BN γ = 1 + 0.1u, β = 0.1u; other biases 0.05u. Rounded to float32."""
    with torch.no_grad():
        for name, t in net.named_parameters():
            module = net.get_submodule(name.rsplit(".", 1)[0])
            u = formula(prefix + name, t.numel())
            if isinstance(module, nn.BatchNorm2d):
                v = 1 + 0.1 * u if name.endswith(".weight") else 0.1 * u
            elif name.endswith(".bias"):
                v = 0.05 * u
            else:
                fan_in = t[0].numel()
                if isinstance(module, nn.ConvTranspose2d):
                    fan_in = t.shape[0] * 25 // 4
                v = np.sqrt(3.0 / fan_in) * u
            t.copy_(torch.from_numpy(v.astype(np.float32).astype(np.float64)).reshape(t.shape))


def write_paper_fixture():
    latent, width, size, batch = 100, 64, 64, 2
    gen = torch.Generator().manual_seed(2017)
    G = Generator(latent, width, 1, size).double()
    D = Discriminator(width, 1, size).double()
    formula_weights(G, "generator.")
    formula_weights(D, "discriminator.")
    calibrate(G, f32((16, latent), lambda e: e.uniform_(-1, 1, generator=gen)))
    G.eval()
    with torch.no_grad():
        mix = torch.cat([G(f32((8, latent), lambda e: e.uniform_(-1, 1, generator=gen))),
                         torch.tanh(f32((8, 1, size, size), lambda e: e.normal_(0, 1, generator=gen)))])
    calibrate(D, mix)
    init_g, init_d = state(G), state(D)

    out = {}
    for prefix, init in (("generator.", init_g), ("discriminator.", init_d)):
        for k, v in init.items():
            if "running_" in k:
                out[prefix + k] = v
    # Training inputs from the formula too (uniform on [-1, 1)), so they need no storage.
    real = torch.from_numpy(formula("input.real", batch * size * size).astype(np.float32).astype(np.float64)).reshape(batch, 1, size, size)
    z = torch.from_numpy(formula("input.z", batch * latent).astype(np.float32).astype(np.float64)).reshape(batch, latent)
    G.train()
    D.train()
    optD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    optG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    full = {}
    training_step(G, D, optG, optD, real, z, full, "step")
    for k, v in full.items():
        if ".after." in k and "running_" not in k:
            continue  # parameters after Adam: checked at full precision by the small fixture
        if ".grad." in k and v.numel() > 4096:
            r = torch.from_numpy(formula(k.replace(".grad.", ".projection."), v.numel()))
            g = v.flatten()
            out[k.replace(".grad.", ".gradproj.")] = torch.stack([(g * r).sum(), (g * r).abs().sum()])
            continue
        out[k] = v

    # Mapping from the initial networks (inference mode), feature matching, three steps.
    G.load_state_dict({**init_g, **{k: v for k, v in G.state_dict().items() if k.endswith("num_batches_tracked")}})
    D.load_state_dict({**init_d, **{k: v for k, v in D.state_dict().items() if k.endswith("num_batches_tracked")}})
    with torch.no_grad():
        x = (G.eval()(f32((batch, latent), lambda e: e.uniform_(-0.8, 0.8, generator=gen)))
             + f32((batch, 1, size, size), lambda e: e.normal_(0, 0.1, generator=gen))).clamp(-1, 1).float().double()
    z0 = f32((batch, latent), lambda e: e.uniform_(-0.9, 0.9, generator=gen))
    out["mapping.x"] = x
    out["mapping.z0"] = z0
    mapping(G, D, x, z0, out, reference=False, prefix="mapping", steps=3)
    del out["mapping.reconstruction1"], out["mapping.clipped_count1"], out["mapping.features_x"]

    arrays = {k: np.ascontiguousarray(v.detach().numpy().astype(np.float32)) for k, v in out.items()}
    metadata = {
        "config": json.dumps({"latentDimension": latent, "imageSize": size, "width": width, "channels": 1}),
        "batch": str(batch),
        "generated_by": "scripts/make_fixtures.py",
        "torch": torch.__version__,
    }
    save_file(arrays, PAPER_OUT, metadata=metadata)
    print(f"wrote {PAPER_OUT}: {len(arrays)} tensors, {os.path.getsize(PAPER_OUT)} bytes")


def write_npy_fixtures():
    d = os.path.join("Tests", "NeuralNetTests", "Fixtures")
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "float32_2x3.npy"), np.array([[1.5, -2.25, 0.0], [3.0e-8, 65504.0, -1.0e10]], dtype=np.float32))
    np.save(os.path.join(d, "int64_5.npy"), np.array([0, 1, -1, 7, 123456789], dtype=np.int64))
    np.save(os.path.join(d, "uint8_2x2x2.npy"), np.arange(0, 255, 32, dtype=np.uint8).reshape(2, 2, 2))
    np.save(os.path.join(d, "float64_3.npy"), np.array([0.1, -2.5, 1e30], dtype=np.float64))
    np.save(os.path.join(d, "float32_scalar.npy"), np.float32(4.5))
    with open(os.path.join(d, "float32_v2_2x2.npy"), "wb") as f:
        np.lib.format.write_array(f, np.array([[1, 2], [3, 4]], dtype=np.float32), version=(2, 0))
    np.save(os.path.join(d, "float32_fortran_2x3.npy"), np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    np.save(os.path.join(d, "float32_bigendian_2.npy"), np.array([1, 2], dtype=">f4"))
    print(f"wrote .npy fixtures in {d}")


def print_adam_reference():
    """torch.optim.Adam on three parameters over three steps of fixed gradients, in
    float64; AdamTests.swift holds these numbers as literals."""
    for name, lr, b1, eps in [("dcgan", 2e-4, 0.5, 1e-8), ("large-eps", 0.1, 0.9, 0.1)]:
        p = torch.tensor([1.0, -0.5, 0.25], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([p], lr=lr, betas=(b1, 0.999), eps=eps)
        for g in ([0.1, -0.2, 0.0], [0.3, 0.1, -0.05], [-0.2, 0.4, 0.5]):
            p.grad = torch.tensor(g, dtype=torch.float64)
            opt.step()
            print(name, [f"{v:.9g}" for v in p.detach().tolist()])


if __name__ == "__main__":
    main()
    write_paper_fixture()
    write_npy_fixtures()
    print_adam_reference()
