#!/usr/bin/env python3
"""Peer implementations of Zoo's three seed networks for the benchmark.

The same networks as docs/DESIGN.md ("The seed networks"), in Keras (TensorFlow)
and in PyTorch, both on the CPU with 2 intra-op threads and 1 inter-op thread.

Tasks (one JSON line on stdout; parameter counts and notes go to stderr):
  --task step   --arch A --batch B --steps S --warmup W
        {"framework","arch","batch","median_ms","p10_ms","p90_ms","steps"}
  --task infer  --arch A --batch 256 [--steps S --warmup W]
        {"framework","arch","batch","images_per_s","median_ms","steps"}
  --task rss    --arch dcgan [--batch 256 --steps 5 --warmup 1]
        {"framework","arch","batch","peak_rss_mb","steps"}
  --task save-weights --arch dcgan --weights FILE     (untrained generator, seed 0)
  --task cold   --arch dcgan --weights FILE --out grid.png
        import framework, build G, load weights, generate 16, write a 4x4 PNG grid.
        The caller times the whole process.

The training step is the TensorFlow DCGAN tutorial's for all three networks:
one GradientTape pair; G makes fakes, D runs on real and on fake, both losses,
both gradients, both Adam updates. PyTorch does the same with one forward of D
on the fakes and torch.autograd.grad for each loss.

Data is random, shaped like MNIST, in [-1, 1] (timing does not depend on it).
TensorFlow weight files must end in ".weights.h5" (Keras 3 rule).
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time
import zlib
import struct

NOISE = 100
CLASSES = 10

# Trainable parameter counts from docs/DESIGN.md.
EXPECTED = {
    "dense": (1_489_936, 533_505),
    "dcgan": (2_305_472, 212_865),
    "cgan": (115_344, 236_545),
}
LEARNING_RATE = {"dense": 1e-3, "dcgan": 1e-4, "cgan": 1e-3}
# Keras Adam defaults, used for both frameworks.
BETA_1, BETA_2, ADAM_EPS = 0.9, 0.999, 1e-7
# Keras BatchNormalization defaults (PyTorch momentum = 1 - Keras momentum).
BN_MOMENTUM, BN_EPS = 0.99, 1e-3

INTRA_THREADS, INTER_THREADS = 2, 1


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def check_params(framework, arch, g, d):
    eg, ed = EXPECTED[arch]
    log(f"[{framework}] {arch}: G {g:,} trainable params, D {d:,} trainable params")
    assert (g, d) == (eg, ed), f"{framework} {arch}: params G {g} D {d}, expected G {eg} D {ed}"


def percentile(sorted_values, q):
    """Linear-interpolated percentile (numpy's default), q in [0, 100]."""
    n = len(sorted_values)
    if n == 1:
        return sorted_values[0]
    pos = (n - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, n - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def timing_summary(times_s):
    ms = sorted(t * 1000.0 for t in times_s)
    return {
        "median_ms": round(statistics.median(ms), 3),
        "p10_ms": round(percentile(ms, 10), 3),
        "p90_ms": round(percentile(ms, 90), 3),
        "steps": len(ms),
    }


def peak_rss_mb():
    # Linux: ru_maxrss is in kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --------------------------------------------------------------------------- PNG

def grid_pixels(images, rows=4, cols=4):
    """images: list of 28x28 nested lists / arrays in [-1, 1] -> 112x112 bytes rows."""
    h = w = 28
    out = []
    for r in range(rows):
        for y in range(h):
            row = bytearray()
            for c in range(cols):
                img = images[r * cols + c]
                for x in range(w):
                    v = (float(img[y][x]) + 1.0) * 127.5
                    row.append(0 if v < 0 else 255 if v > 255 else int(v + 0.5))
            out.append(bytes(row))
    return out


def write_png_gray(path, rows):
    """Tiny pure-python 8-bit grayscale PNG writer (zlib only)."""
    height, width = len(rows), len(rows[0])
    raw = b"".join(b"\x00" + r for r in rows)

    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def save_grid(path, images):
    rows = grid_pixels(images)
    try:
        from PIL import Image  # noqa: WPS433
        Image.frombytes("L", (len(rows[0]), len(rows)), b"".join(rows)).save(path)
    except ImportError:
        write_png_gray(path, rows)


# ------------------------------------------------------------------- TensorFlow

class TFPeer:
    name = "tensorflow"

    def __init__(self):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(INTRA_THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(INTER_THREADS)
        self.tf = tf
        self.keras = tf.keras
        self.version = tf.__version__

    # Networks -------------------------------------------------------------
    def generator(self, arch):
        k = self.keras
        L = k.layers
        if arch == "dense":
            return k.Sequential([
                k.Input(shape=(NOISE,)),
                L.Dense(256), L.LeakyReLU(0.2), L.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPS),
                L.Dense(512), L.LeakyReLU(0.2), L.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPS),
                L.Dense(1024), L.LeakyReLU(0.2), L.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPS),
                L.Dense(784, activation="tanh"), L.Reshape((28, 28, 1)),
            ], name="dense_generator")
        if arch == "dcgan":
            # make_generator_model() of the TensorFlow DCGAN tutorial.
            return k.Sequential([
                k.Input(shape=(NOISE,)),
                L.Dense(7 * 7 * 256, use_bias=False), L.BatchNormalization(), L.LeakyReLU(0.3),
                L.Reshape((7, 7, 256)),
                L.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False),
                L.BatchNormalization(), L.LeakyReLU(0.3),
                L.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False),
                L.BatchNormalization(), L.LeakyReLU(0.3),
                L.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False, activation="tanh"),
            ], name="dcgan_generator")
        if arch == "cgan":
            return k.Sequential([
                k.Input(shape=(NOISE + CLASSES,)),  # concat(noise, one-hot)
                L.Dense(128, activation="relu"),
                L.Dense(784, activation="tanh"), L.Reshape((28, 28, 1)),
            ], name="cgan_generator")
        raise ValueError(arch)

    def discriminator(self, arch):
        k = self.keras
        L = k.layers
        if arch == "dense":
            return k.Sequential([
                k.Input(shape=(28, 28, 1)), L.Flatten(),
                L.Dense(512), L.LeakyReLU(0.2),
                L.Dense(256), L.LeakyReLU(0.2),
                L.Dense(1, activation="sigmoid"),
            ], name="dense_discriminator")
        if arch == "dcgan":
            # make_discriminator_model() of the TensorFlow DCGAN tutorial.
            return k.Sequential([
                k.Input(shape=(28, 28, 1)),
                L.Conv2D(64, (5, 5), strides=(2, 2), padding="same"), L.LeakyReLU(0.3), L.Dropout(0.3),
                L.Conv2D(128, (5, 5), strides=(2, 2), padding="same"), L.LeakyReLU(0.3), L.Dropout(0.3),
                L.Flatten(), L.Dense(1),
            ], name="dcgan_discriminator")
        if arch == "cgan":
            return k.Sequential([
                k.Input(shape=(784 + CLASSES,)),  # concat(flattened image, one-hot)
                L.Dense(256, activation="relu"),
                L.Dense(128, activation="relu"),
                L.Dense(1, activation="sigmoid"),
            ], name="cgan_discriminator")
        raise ValueError(arch)

    @staticmethod
    def trainable(model):
        n = 0
        for v in model.trainable_variables:
            c = 1
            for s in v.shape:
                c *= int(s)
            n += c
        return n

    def build(self, arch):
        g, d = self.generator(arch), self.discriminator(arch)
        check_params(self.name, arch, self.trainable(g), self.trainable(d))
        return g, d

    # Data -----------------------------------------------------------------
    def real_batch(self, batch, seed=1):
        tf = self.tf
        images = tf.random.stateless_uniform([batch, 28, 28, 1], seed=[seed, 0], minval=-1.0, maxval=1.0)
        labels = tf.one_hot(tf.random.stateless_uniform([batch], seed=[seed, 1], maxval=CLASSES, dtype=tf.int32),
                            CLASSES)
        return images, labels

    # Train step -----------------------------------------------------------
    def make_train_step(self, arch, g, d, batch):
        tf = self.tf
        k = self.keras
        from_logits = arch == "dcgan"
        cross_entropy = k.losses.BinaryCrossentropy(from_logits=from_logits)
        lr = LEARNING_RATE[arch]
        g_opt = k.optimizers.Adam(lr, beta_1=BETA_1, beta_2=BETA_2, epsilon=ADAM_EPS)
        d_opt = k.optimizers.Adam(lr, beta_1=BETA_1, beta_2=BETA_2, epsilon=ADAM_EPS)
        g_opt.build(g.trainable_variables)
        d_opt.build(d.trainable_variables)

        def discriminator_loss(real_output, fake_output):
            real_loss = cross_entropy(tf.ones_like(real_output), real_output)
            fake_loss = cross_entropy(tf.zeros_like(fake_output), fake_output)
            return real_loss + fake_loss

        def generator_loss(fake_output):
            return cross_entropy(tf.ones_like(fake_output), fake_output)

        conditional = arch == "cgan"

        @tf.function
        def train_step(images, labels):
            noise = tf.random.normal([batch, NOISE])
            with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
                if conditional:
                    generated_images = g(tf.concat([noise, labels], axis=1), training=True)
                    real_output = d(tf.concat([tf.reshape(images, [batch, 784]), labels], axis=1), training=True)
                    fake_output = d(tf.concat([tf.reshape(generated_images, [batch, 784]), labels], axis=1),
                                    training=True)
                else:
                    generated_images = g(noise, training=True)
                    real_output = d(images, training=True)
                    fake_output = d(generated_images, training=True)
                gen_loss = generator_loss(fake_output)
                disc_loss = discriminator_loss(real_output, fake_output)
            gradients_of_generator = gen_tape.gradient(gen_loss, g.trainable_variables)
            gradients_of_discriminator = disc_tape.gradient(disc_loss, d.trainable_variables)
            g_opt.apply_gradients(zip(gradients_of_generator, g.trainable_variables))
            d_opt.apply_gradients(zip(gradients_of_discriminator, d.trainable_variables))
            return gen_loss, disc_loss

        images, labels = self.real_batch(batch)

        def step():
            gl, dl = train_step(images, labels)
            return float(gl.numpy()) + float(dl.numpy())  # forces completion

        return step

    def make_infer(self, arch, g, batch):
        tf = self.tf
        conditional = arch == "cgan"

        @tf.function
        def generate(noise, labels):
            x = tf.concat([noise, labels], axis=1) if conditional else noise
            return g(x, training=False)

        _, labels = self.real_batch(batch, seed=2)

        def infer():
            out = generate(tf.random.normal([batch, NOISE]), labels)
            return out.numpy()

        return infer

    def seed(self, s):
        self.keras.utils.set_random_seed(s)

    def save_weights(self, g, path):
        if not path.endswith(".weights.h5"):
            raise SystemExit("TensorFlow weight files must end in .weights.h5")
        g.save_weights(path)

    def cold(self, arch, path, out):
        g = self.generator(arch)
        g.load_weights(path)
        noise = self.tf.random.normal([16, NOISE])
        if arch == "cgan":
            noise = self.tf.concat([noise, self.tf.one_hot(self.tf.range(16) % CLASSES, CLASSES)], axis=1)
        images = g(noise, training=False).numpy()[..., 0]
        save_grid(out, images)


# ---------------------------------------------------------------------- PyTorch

class TorchPeer:
    name = "pytorch"

    def __init__(self):
        import torch
        torch.set_num_threads(INTRA_THREADS)
        torch.set_num_interop_threads(INTER_THREADS)
        self.torch = torch
        self.nn = torch.nn
        self.version = torch.__version__

    def _bn1d(self, n):
        return self.nn.BatchNorm1d(n, eps=BN_EPS, momentum=1.0 - BN_MOMENTUM)

    def _bn2d(self, n):
        return self.nn.BatchNorm2d(n, eps=BN_EPS, momentum=1.0 - BN_MOMENTUM)

    def generator(self, arch):
        nn = self.nn
        if arch == "dense":
            return nn.Sequential(
                nn.Linear(NOISE, 256), nn.LeakyReLU(0.2), self._bn1d(256),
                nn.Linear(256, 512), nn.LeakyReLU(0.2), self._bn1d(512),
                nn.Linear(512, 1024), nn.LeakyReLU(0.2), self._bn1d(1024),
                nn.Linear(1024, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)),
            )
        if arch == "dcgan":
            # 'same' transposed convolutions: stride 1 -> padding 2; stride 2 -> padding 2, output_padding 1.
            return nn.Sequential(
                nn.Linear(NOISE, 7 * 7 * 256, bias=False), self._bn1d(7 * 7 * 256), nn.LeakyReLU(0.3),
                nn.Unflatten(1, (256, 7, 7)),
                nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2, bias=False), self._bn2d(128), nn.LeakyReLU(0.3),
                nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1, bias=False),
                self._bn2d(64), nn.LeakyReLU(0.3),
                nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1, bias=False), nn.Tanh(),
            )
        if arch == "cgan":
            return nn.Sequential(
                nn.Linear(NOISE + CLASSES, 128), nn.ReLU(),
                nn.Linear(128, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)),
            )
        raise ValueError(arch)

    def discriminator(self, arch):
        nn = self.nn
        if arch == "dense":
            return nn.Sequential(
                nn.Flatten(),
                nn.Linear(784, 512), nn.LeakyReLU(0.2),
                nn.Linear(512, 256), nn.LeakyReLU(0.2),
                nn.Linear(256, 1), nn.Sigmoid(),
            )
        if arch == "dcgan":
            return nn.Sequential(
                nn.Conv2d(1, 64, 5, stride=2, padding=2), nn.LeakyReLU(0.3), nn.Dropout(0.3),
                nn.Conv2d(64, 128, 5, stride=2, padding=2), nn.LeakyReLU(0.3), nn.Dropout(0.3),
                nn.Flatten(), nn.Linear(7 * 7 * 128, 1),
            )
        if arch == "cgan":
            return nn.Sequential(
                nn.Linear(784 + CLASSES, 256), nn.ReLU(),
                nn.Linear(256, 128), nn.ReLU(),
                nn.Linear(128, 1), nn.Sigmoid(),
            )
        raise ValueError(arch)

    @staticmethod
    def trainable(model):
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    def build(self, arch):
        g, d = self.generator(arch), self.discriminator(arch)
        check_params(self.name, arch, self.trainable(g), self.trainable(d))
        return g, d

    def real_batch(self, batch, seed=1):
        torch = self.torch
        gen = torch.Generator().manual_seed(seed)
        images = torch.rand(batch, 1, 28, 28, generator=gen) * 2 - 1
        labels = torch.nn.functional.one_hot(torch.randint(0, CLASSES, (batch,), generator=gen), CLASSES).float()
        return images, labels

    def make_train_step(self, arch, g, d, batch):
        torch = self.torch
        lr = LEARNING_RATE[arch]
        g_opt = torch.optim.Adam(g.parameters(), lr=lr, betas=(BETA_1, BETA_2), eps=ADAM_EPS)
        d_opt = torch.optim.Adam(d.parameters(), lr=lr, betas=(BETA_1, BETA_2), eps=ADAM_EPS)
        bce = torch.nn.BCEWithLogitsLoss() if arch == "dcgan" else torch.nn.BCELoss()
        g.train()
        d.train()
        g_params = list(g.parameters())
        d_params = list(d.parameters())
        images, labels = self.real_batch(batch)
        conditional = arch == "cgan"

        def step():
            noise = torch.randn(batch, NOISE)
            if conditional:
                generated = g(torch.cat([noise, labels], dim=1))
                real_output = d(torch.cat([images.reshape(batch, 784), labels], dim=1))
                fake_output = d(torch.cat([generated.reshape(batch, 784), labels], dim=1))
            else:
                generated = g(noise)
                real_output = d(images)
                fake_output = d(generated)
            gen_loss = bce(fake_output, torch.ones_like(fake_output))
            disc_loss = bce(real_output, torch.ones_like(real_output)) + bce(fake_output, torch.zeros_like(fake_output))
            # Same as the tutorial's two tapes: each loss differentiated w.r.t. its own network.
            g_grads = torch.autograd.grad(gen_loss, g_params, retain_graph=True)
            d_grads = torch.autograd.grad(disc_loss, d_params)
            for p, gr in zip(g_params, g_grads):
                p.grad = gr
            for p, gr in zip(d_params, d_grads):
                p.grad = gr
            g_opt.step()
            d_opt.step()
            return float(gen_loss.item()) + float(disc_loss.item())

        return step

    def make_infer(self, arch, g, batch):
        torch = self.torch
        g.eval()
        _, labels = self.real_batch(batch, seed=2)
        conditional = arch == "cgan"

        def infer():
            with torch.inference_mode():
                noise = torch.randn(batch, NOISE)
                x = torch.cat([noise, labels], dim=1) if conditional else noise
                return g(x).numpy()

        return infer

    def seed(self, s):
        self.torch.manual_seed(s)

    def save_weights(self, g, path):
        self.torch.save(g.state_dict(), path)

    def cold(self, arch, path, out):
        torch = self.torch
        g = self.generator(arch)
        g.load_state_dict(torch.load(path, weights_only=True))
        g.eval()
        with torch.inference_mode():
            noise = torch.randn(16, NOISE)
            if arch == "cgan":
                noise = torch.cat([noise, torch.nn.functional.one_hot(torch.arange(16) % CLASSES, CLASSES).float()], 1)
            images = g(noise)[:, 0].numpy()
        save_grid(out, images)


# ------------------------------------------------------------------------ tasks

def timed(fn, warmup, steps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--framework", choices=["tf", "torch"], required=True)
    ap.add_argument("--task", choices=["step", "infer", "rss", "cold", "save-weights", "params", "version"],
                    required=True)
    ap.add_argument("--arch", choices=["dense", "dcgan", "cgan"], default="dcgan")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=None, help="timed steps (default: step 20, infer 20, rss 5)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps first (default: step 3, infer 3, rss 1)")
    ap.add_argument("--weights", help="generator weights file (save-weights / cold)")
    ap.add_argument("--out", default="peer-grid.png", help="PNG grid path (cold)")
    args = ap.parse_args(argv)

    peer = TFPeer() if args.framework == "tf" else TorchPeer()
    fw = peer.name
    head = {"framework": fw, "arch": args.arch}

    if args.task == "version":
        print(json.dumps({"framework": fw, "version": peer.version}))
        return 0

    if args.task == "cold":
        if not args.weights:
            raise SystemExit("--weights is required for --task cold")
        peer.cold(args.arch, args.weights, args.out)
        return 0

    if args.task == "save-weights":
        if not args.weights:
            raise SystemExit("--weights is required for --task save-weights")
        peer.seed(0)
        g, _ = peer.build(args.arch)
        if fw == "tensorflow":
            g(peer.tf.zeros([1, NOISE + (CLASSES if args.arch == "cgan" else 0)]), training=False)
        peer.save_weights(g, args.weights)
        print(json.dumps({**head, "weights": args.weights}))
        return 0

    peer.seed(0)
    g, d = peer.build(args.arch)
    if args.task == "params":
        print(json.dumps({**head, "generator": peer.trainable(g), "discriminator": peer.trainable(d)}))
        return 0

    if args.task == "step":
        steps = args.steps or 20
        warmup = 3 if args.warmup is None else args.warmup
        times = timed(peer.make_train_step(args.arch, g, d, args.batch), warmup, steps)
        print(json.dumps({**head, "batch": args.batch, **timing_summary(times)}))
    elif args.task == "infer":
        steps = args.steps or 20
        warmup = 3 if args.warmup is None else args.warmup
        times = timed(peer.make_infer(args.arch, g, args.batch), warmup, steps)
        med = statistics.median(times)
        print(json.dumps({**head, "batch": args.batch, "images_per_s": round(args.batch / med, 1),
                          "median_ms": round(med * 1000.0, 3), "steps": steps}))
    elif args.task == "rss":
        steps = args.steps or 5
        warmup = 1 if args.warmup is None else args.warmup
        timed(peer.make_train_step(args.arch, g, d, args.batch), warmup, steps)
        print(json.dumps({**head, "batch": args.batch, "peak_rss_mb": round(peak_rss_mb(), 1),
                          "steps": warmup + steps}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
