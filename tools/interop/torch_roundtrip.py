#!/usr/bin/env python3
"""Trains a seed architecture for one epoch in PyTorch, exports it as safetensors with the
zoo's names and layouts (zoo_torch.py), imports it with `zoo import`, and compares the images
both draw from the same noise; then exports the imported model back and loads it into PyTorch.

usage: torch_roundtrip.py ZOO_BINARY MNIST_DIR WORK_DIR [ARCH …] [--limit N]
(ARCH: dense-gan, cgan, dcgan; default dense-gan cgan). Exit 1 on any mismatch.
"""
import gzip
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zoo_torch import ARCHITECTURES, from_zoo, to_zoo  # noqa: E402

args = [a for a in sys.argv[1:] if not a.startswith("--")]
limit = int(sys.argv[sys.argv.index("--limit") + 1]) if "--limit" in sys.argv else 60000
if "--limit" in sys.argv:
    args.remove(str(limit))
zoo, mnist, work, arches = args[0], args[1], args[2], args[3:] or ["dense-gan", "cgan"]
os.makedirs(work, exist_ok=True)
registry = os.path.join(work, "registry.sqlite")
torch.manual_seed(0)
torch.set_num_threads(2)


def idx(name):
    path = os.path.join(mnist, name)
    opener = gzip.open if os.path.exists(path + ".gz") else open
    with opener(path + ".gz" if os.path.exists(path + ".gz") else path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


images = torch.from_numpy(idx("train-images-idx3-ubyte")[:limit].astype(np.float32) / 127.5 - 1).unsqueeze(1)
labels = torch.from_numpy(idx("train-labels-idx1-ubyte")[:limit].astype(np.int64))


def zoo_run(*a):
    r = subprocess.run([zoo, *a, "--registry", registry], capture_output=True, text=True,
                       env={**os.environ, "ZOO_PRETRAINED": ""})
    if r.returncode != 0:
        raise RuntimeError(f"zoo {' '.join(a)}: {r.stderr.strip()}")
    return r.stdout


failures = 0
for arch in arches:
    model = ARCHITECTURES[arch]()
    g_params = [p for n, p in model.named_parameters() if n.startswith("g.")]
    d_params = [p for n, p in model.named_parameters() if n.startswith("d.")]
    g_opt = torch.optim.Adam(g_params, 2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(d_params, 2e-4, betas=(0.5, 0.999))
    model.train()
    order = torch.randperm(len(images))
    for start in range(0, len(images) - 127, 128):
        batch = order[start:start + 128]
        x, y = images[batch], labels[batch]
        z = torch.randn(len(batch), model.latent)
        fake = model.generate(z, y)
        real_logits, fake_logits = model.discriminate(x, y), model.discriminate(fake.detach(), y)
        d_loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + \
            F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        d_opt.zero_grad(); d_loss.backward(); d_opt.step()
        g_logits = model.discriminate(fake, y)
        g_loss = F.binary_cross_entropy_with_logits(g_logits, torch.ones_like(g_logits))
        g_opt.zero_grad(); g_loss.backward(); g_opt.step()
    print(f"{arch}: one epoch on {len(images)} images, d_loss {d_loss.item():.3f} g_loss {g_loss.item():.3f}")

    model.eval()
    path = os.path.join(work, f"torch-{arch}.safetensors")
    save_file(to_zoo(model), path, metadata={"architecture": arch, "source": "tools/interop/torch_roundtrip.py"})
    name = f"torch-{arch}"
    zoo_run("import", path, "--architecture", arch, "--name", name)

    z = np.random.default_rng(1).standard_normal((32, model.latent)).astype(np.float32)
    np.save(os.path.join(work, "z.npy"), z)
    digit = ["--digit", "7"] if model.conditional else []
    zoo_run("generate", name, "--noise", os.path.join(work, "z.npy"), *digit, "--format", "npy",
            "--out", os.path.join(work, f"{name}.npy"))
    from_the_zoo = np.load(os.path.join(work, f"{name}.npy"))
    with torch.no_grad():
        wanted = torch.full((32,), 7, dtype=torch.int64) if model.conditional else None
        from_torch = model.generate(torch.from_numpy(z), wanted).numpy()
    difference = float(np.abs(from_the_zoo - from_torch).max())
    ok = difference <= 1e-4
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {arch}: PyTorch -> safetensors -> zoo draws the same images (max |diff| {difference:.2e})")

    back = os.path.join(work, f"{name}-back.safetensors")
    zoo_run("export", name, back, "--dtype", "float32")
    again = ARCHITECTURES[arch]()
    from_zoo(again, load_file(back))
    again.eval()
    with torch.no_grad():
        same = np.array_equal(again.generate(torch.from_numpy(z), wanted).numpy(), from_torch)
    failures += not same
    print(f"{'ok  ' if same else 'FAIL'} {arch}: zoo -> safetensors -> PyTorch gives the weights back exactly")

sys.exit(1 if failures else 0)
