"""PyTorch definitions of the zoo's seed architectures, and the mapping between their
state_dicts and the zoo's tensor names (NETWORK.PATH, as `zoo export --format safetensors`
writes them and `zoo import` reads them).

Layouts that differ between the engine and PyTorch:
- Dense kernels are [in, out] in the zoo (Keras), Linear.weight is [out, in]: transposed.
- BatchNorm: gamma/beta/moving_mean/moving_variance = weight/bias/running_mean/running_var;
  the zoo uses Keras's ε 1e-3 (set here), so inference agrees exactly.
- Conv2D [out, in, k, k] and Conv2DTranspose [in, out, k, k] match PyTorch's layouts, but the
  zoo pads as Keras's "same" does, unevenly: a stride-2 5×5 conv pads 1 before and 2 after
  (PyTorch's `padding` is symmetric), and a stride-2 5×5 transposed conv is PyTorch's
  padding=1 with its last row and column cropped.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-3


class SameConv2d(nn.Conv2d):
    """Keras 'same' padding: total max((out-1)*s + k - in, 0), the smaller half before."""

    def forward(self, x):
        k, s = self.kernel_size[0], self.stride[0]
        size = x.shape[-1]
        out = (size + s - 1) // s
        total = max((out - 1) * s + k - size, 0)
        before = total // 2
        return F.conv2d(F.pad(x, (before, total - before, before, total - before)), self.weight, self.bias, s)


class SameConvTranspose2d(nn.ConvTranspose2d):
    """The transpose of a Keras 'same' conv: output size × stride."""

    def __init__(self, cin, cout, k, s, bias):
        total = max(k - s, 0)
        super().__init__(cin, cout, k, s, padding=total // 2, bias=bias)
        self.s = s

    def forward(self, x):
        y = super().forward(x)
        size = x.shape[-1] * self.s
        return y[:, :, :size, :size]


class DenseGAN(nn.Module):
    latent, conditional = 100, False

    def __init__(self):
        super().__init__()
        self.g = nn.ModuleDict(dict(
            dense1=nn.Linear(100, 256), bn1=nn.BatchNorm1d(256, eps=EPS),
            dense2=nn.Linear(256, 512), bn2=nn.BatchNorm1d(512, eps=EPS),
            dense3=nn.Linear(512, 1024), bn3=nn.BatchNorm1d(1024, eps=EPS),
            dense4=nn.Linear(1024, 784)))
        self.d = nn.ModuleDict(dict(dense1=nn.Linear(784, 512), dense2=nn.Linear(512, 256), logit=nn.Linear(256, 1)))

    def generate(self, z, labels=None):
        g = self.g
        h = g.bn1(F.leaky_relu(g.dense1(z), 0.2))
        h = g.bn2(F.leaky_relu(g.dense2(h), 0.2))
        h = g.bn3(F.leaky_relu(g.dense3(h), 0.2))
        return torch.tanh(g.dense4(h)).view(-1, 1, 28, 28)

    def discriminate(self, x, labels=None):
        d = self.d
        h = F.leaky_relu(d.dense1(x.flatten(1)), 0.2)
        return d.logit(F.leaky_relu(d.dense2(h), 0.2))


class ConditionalGAN(nn.Module):
    latent, conditional = 100, True

    def __init__(self):
        super().__init__()
        self.g = nn.ModuleDict(dict(dense1=nn.Linear(110, 128), dense2=nn.Linear(128, 784)))
        self.d = nn.ModuleDict(dict(dense1=nn.Linear(794, 256), dense2=nn.Linear(256, 128), logit=nn.Linear(128, 1)))

    def generate(self, z, labels):
        h = torch.cat([z, F.one_hot(labels, 10).float()], 1)
        return torch.tanh(self.g.dense2(F.relu(self.g.dense1(h)))).view(-1, 1, 28, 28)

    def discriminate(self, x, labels):
        h = torch.cat([x.flatten(1), F.one_hot(labels, 10).float()], 1)
        return self.d.logit(F.relu(self.d.dense2(F.relu(self.d.dense1(h)))))


class DCGAN(nn.Module):
    latent, conditional = 100, False

    def __init__(self):
        super().__init__()
        self.g = nn.ModuleDict(dict(
            dense=nn.Linear(100, 7 * 7 * 256, bias=False), bn0=nn.BatchNorm1d(7 * 7 * 256, eps=EPS),
            deconv1=SameConvTranspose2d(256, 128, 5, 1, bias=False), bn1=nn.BatchNorm2d(128, eps=EPS),
            deconv2=SameConvTranspose2d(128, 64, 5, 2, bias=False), bn2=nn.BatchNorm2d(64, eps=EPS),
            deconv3=SameConvTranspose2d(64, 1, 5, 2, bias=False)))
        self.d = nn.ModuleDict(dict(
            conv1=SameConv2d(1, 64, 5, 2), conv2=SameConv2d(64, 128, 5, 2), logit=nn.Linear(128 * 7 * 7, 1)))

    def generate(self, z, labels=None):
        g = self.g
        h = F.leaky_relu(g.bn0(g.dense(z)), 0.3).view(-1, 256, 7, 7)
        h = F.leaky_relu(g.bn1(g.deconv1(h)), 0.3)
        h = F.leaky_relu(g.bn2(g.deconv2(h)), 0.3)
        return torch.tanh(g.deconv3(h))

    def discriminate(self, x, labels=None):
        d = self.d
        h = F.dropout(F.leaky_relu(d.conv1(x), 0.3), 0.3, self.training)
        h = F.dropout(F.leaky_relu(d.conv2(h), 0.3), 0.3, self.training)
        return d.logit(h.flatten(1))


ARCHITECTURES = {"dense-gan": DenseGAN, "cgan": ConditionalGAN, "dcgan": DCGAN}
NETWORKS = {"g": "generator", "d": "discriminator"}
BN = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance"}


def to_zoo(model):
    """state_dict → {zoo name: numpy float32 array}."""
    out = {}
    for key, value in model.state_dict().items():
        net, layer, field = key.split(".")
        if field == "num_batches_tracked":
            continue
        module = getattr(model, net)[layer]
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            name = BN[field]
        else:
            name = "kernel" if field == "weight" else "bias"
            if isinstance(module, nn.Linear) and field == "weight":
                value = value.t()
        out[f"{NETWORKS[net]}.{layer}.{name}"] = value.detach().contiguous().float().numpy()
    return out


def from_zoo(model, tensors):
    """Loads {zoo name: array} into the model, strictly."""
    state = {}
    for key, current in model.state_dict().items():
        net, layer, field = key.split(".")
        if field == "num_batches_tracked":
            state[key] = current
            continue
        module = getattr(model, net)[layer]
        name = BN[field] if isinstance(module, nn.modules.batchnorm._BatchNorm) else ("kernel" if field == "weight" else "bias")
        value = torch.from_numpy(tensors[f"{NETWORKS[net]}.{layer}.{name}"].astype("float32"))
        if isinstance(module, nn.Linear) and field == "weight":
            value = value.t()
        state[key] = value.contiguous()
    model.load_state_dict(state, strict=True)
