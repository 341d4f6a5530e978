#!/usr/bin/env python3
"""Times the PyTorch twin of anogan's DCGAN (same architecture, same steps as
`anogan speed`) for a side-by-side comparison. Never run by CI.

    python3 scripts/bench_pytorch.py --threads 2 --batch 64 --iterations 10 [--json]

Measurements (median of --iterations runs after --warmup runs):
  g_forward   G(z) in eval mode, no autograd
  d_forward   D(x) in eval mode, no autograd (logit)
  train_step  one DCGAN step in dcgan/main.py order (D real, D fake detached, Adam D, G step, Adam G)
  map_step    one latent-mapping step: G, D frozen in eval mode, feature matching, Adam on z, clip
"""
import argparse, json, statistics, time

import torch
import torch.nn as nn

from dcgan_torch import Discriminator, Generator


def init(m):
    for name, p in m.named_parameters():
        if name.startswith("bn") and name.endswith("weight"):
            nn.init.normal_(p, 1.0, 0.02)
        elif name.endswith("weight"):
            nn.init.normal_(p, 0.0, 0.02)
        else:
            nn.init.zeros_(p)


def median_ms(fn, warmup, iterations):
    """(median, fastest) milliseconds over `iterations` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    n, size, w = a.batch, a.image_size, a.width
    G = Generator(latent=100, w=w, c=1, size=size)
    D = Discriminator(w=w, c=1, size=size)
    init(G), init(D)
    real = torch.rand(n, 1, size, size) * 2 - 1
    z = torch.rand(n, 100) * 2 - 1

    G.eval(), D.eval()
    with torch.no_grad():
        g_ms = median_ms(lambda: G(z), a.warmup, a.iterations)
        d_ms = median_ms(lambda: D(real), a.warmup, a.iterations)

    G.train(), D.train()
    optG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)

    def train_step():
        D.zero_grad()
        bce(D(real)[0], ones).backward()
        fake = G(z)
        bce(D(fake.detach())[0], zeros).backward()
        optD.step()
        G.zero_grad()
        bce(D(fake)[0], ones).backward()
        optG.step()

    t_ms = median_ms(train_step, a.warmup, a.iterations)

    G.eval(), D.eval()
    for p in list(G.parameters()) + list(D.parameters()):
        p.requires_grad_(False)
    with torch.no_grad():
        fx = D(real)[1]
    zz = z.clone().requires_grad_(True)
    optZ = torch.optim.Adam([zz], lr=0.01, betas=(0.9, 0.999))
    lam = 0.1

    def map_step():
        optZ.zero_grad()
        gz = G(zz)
        residual = (real - gz).abs().flatten(1).sum(1)
        disc = (fx - D(gz)[1]).abs().flatten(1).sum(1)
        ((1 - lam) * residual + lam * disc).sum().backward()
        optZ.step()
        with torch.no_grad():
            zz.clamp_(-1, 1)

    m_ms = median_ms(map_step, a.warmup, a.iterations)
    r = {"threads": a.threads, "batch": n, "torch": torch.__version__}
    for k, (med, fastest) in [("g_forward", g_ms), ("d_forward", d_ms), ("train_step", t_ms), ("map_step", m_ms)]:
        r[k + "_ms"] = round(med, 3)
        r[k + "_min_ms"] = round(fastest, 3)
        r[k + "_images_per_s"] = round(n / med * 1000, 1)
    if a.json:
        print(json.dumps(r, sort_keys=True))
    else:
        for k in ["g_forward", "d_forward", "train_step", "map_step"]:
            print(f"{k:12s} {r[k + '_ms']:10.1f} ms (fastest {r[k + '_min_ms']:.1f}) {r[k + '_images_per_s']:9.1f} images/s")


if __name__ == "__main__":
    main()
