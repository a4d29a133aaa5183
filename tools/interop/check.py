#!/usr/bin/env python3
"""Checks zoo's exchange formats with the real clients: the `safetensors` and `onnxruntime`
Python packages. Run by tools/test inside a virtual environment it creates.

usage: check.py ZOO_BINARY SHIPPED_REGISTRY WORK_DIR

For every generator of the shipped zoo:
- safetensors: the export loads in the safetensors library with the names, dtypes and shapes
  the zoo stores; export -> import -> generate draws byte-identical images; tampered headers
  (wrong offsets, absurd shape, dtype that does not match the bytes) are refused with zoo's
  typed error and leave no model behind;
- ONNX: onnxruntime's images from the exported generator equal `zoo generate --noise z.npy
  --format npy` within 1e-4.
"""
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
from safetensors.numpy import load_file

zoo, shipped, work = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(work, exist_ok=True)
registry = os.path.join(work, "registry.sqlite")
shutil.copyfile(shipped, registry)
failures = []


def run(*args, expect_ok=True):
    result = subprocess.run([zoo, *args, "--registry", registry], capture_output=True, text=True, cwd=work)
    if expect_ok and result.returncode != 0:
        raise RuntimeError(f"zoo {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def check(condition, message):
    print(("ok    " if condition else "FAIL  ") + message)
    if not condition:
        failures.append(message)


models = json.loads(run("list", "--json").stdout)
generators = [m for m in models if m["architecture"] != "classifier"]
try:
    import onnxruntime as ort
except ImportError:
    ort = None

for model in generators:
    name, arch = model["name"], model["architecture"]
    conditional = bool(model.get("conditional")) or arch in ("cgan", "cdcgan", "acgan", "projection-cgan")
    st = os.path.join(work, f"{name}.safetensors")
    run("export", name, st)
    tensors = load_file(st)
    with open(st, "rb") as f:
        header_length = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(header_length))
    meta = header["__metadata__"]
    check(meta["architecture"] == arch and meta["model"] == name, f"{name}: safetensors metadata names the model")
    check(all(k.startswith("generator.") for k in tensors), f"{name}: {len(tensors)} generator tensors load in safetensors")
    copy = f"{name}-copy"
    run("import", st, "--architecture", arch, "--name", copy)
    digit = ["--digit", "3"] if conditional else []
    run("generate", name, "--count", "16", *digit, "--format", "npy", "--out", f"{name}-a.npy")
    run("generate", copy, "--count", "16", *digit, "--format", "npy", "--out", f"{name}-b.npy")
    a, b = np.load(os.path.join(work, f"{name}-a.npy")), np.load(os.path.join(work, f"{name}-b.npy"))
    check(a.shape[0] == 16 and np.array_equal(a, b), f"{name}: export -> import -> generate is byte-identical")

    # Tampered copies of the file.
    raw = open(st, "rb").read()
    body = raw[8 + header_length:]
    first = sorted(k for k in header if k != "__metadata__")[0]
    for label, edit in [
        ("wrong offsets", lambda h: h[first].__setitem__("data_offsets", [1, h[first]["data_offsets"][1] + 7])),
        ("absurd shape", lambda h: h[first].__setitem__("shape", [2**40, 2**40])),
        ("dtype mismatch", lambda h: h[first].__setitem__("dtype", "F32" if h[first]["dtype"] == "F16" else "F16")),
    ]:
        tampered = json.loads(json.dumps(header))
        edit(tampered)
        text = json.dumps(tampered).encode()
        path = os.path.join(work, f"{name}-tampered.safetensors")
        open(path, "wb").write(struct.pack("<Q", len(text)) + text + body)
        result = run("import", path, "--architecture", arch, "--name", "tampered", expect_ok=False)
        check(
            result.returncode == 1 and "not a usable safetensors file" in result.stderr,
            f"{name}: {label} refused ({result.stderr.strip()[:90]})",
        )
    listed = [m["name"] for m in json.loads(run("list", "--json").stdout)]
    check("tampered" not in listed, f"{name}: refused imports left no model")

    # ONNX against zoo generate on the same noise.
    onnx_path = os.path.join(work, f"{name}.onnx")
    exported = run("export", name, onnx_path, expect_ok=False)
    if exported.returncode != 0:
        print(f"skip  {name}: ONNX ({exported.stderr.strip()[:100]})")
        continue
    if ort is None:
        print(f"skip  {name}: onnxruntime is not installed")
        continue
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    latent = session.get_inputs()[0].shape[1]
    noise = np.random.default_rng(0).standard_normal((16, latent)).astype(np.float32)
    np.save(os.path.join(work, "z.npy"), noise)
    feeds = {"noise": noise}
    if conditional:
        feeds["labels"] = np.full(16, 3, dtype=np.int64)
    (images,) = session.run(["images"], feeds)
    run("generate", name, "--noise", "z.npy", *digit, "--format", "npy", "--out", f"{name}-z.npy")
    reference = np.load(os.path.join(work, f"{name}-z.npy"))
    difference = float(np.max(np.abs(images - reference)))
    check(images.shape == reference.shape and difference <= 1e-4, f"{name}: onnxruntime within 1e-4 of zoo (max |diff| {difference:.2e})")

print(f"{len(generators)} generators checked, {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
