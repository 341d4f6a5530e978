"""The paper's DCGAN in PyTorch, with anogan's parameter names (contracts §1):
the twin that scripts/make_fixtures.py records fixtures from and
scripts/bench_pytorch.py times. Never used by the build, the tests or CI."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Generator(nn.Module):
    def __init__(self, latent, w, c, size):
        super().__init__()
        self.s = size // 16
        self.w = w
        self.project = nn.Linear(latent, 8 * w * self.s * self.s, bias=False)
        self.bn0 = nn.BatchNorm2d(8 * w)

        def deconv(i, o, bias=False):
            return nn.ConvTranspose2d(i, o, 5, stride=2, padding=2, output_padding=1, bias=bias)

        self.deconv1, self.bn1 = deconv(8 * w, 4 * w), nn.BatchNorm2d(4 * w)
        self.deconv2, self.bn2 = deconv(4 * w, 2 * w), nn.BatchNorm2d(2 * w)
        self.deconv3, self.bn3 = deconv(2 * w, w), nn.BatchNorm2d(w)
        self.deconv4 = deconv(w, c, bias=True)

    def forward(self, z):
        h = self.project(z).view(z.shape[0], 8 * self.w, self.s, self.s)
        h = F.relu(self.bn0(h))
        h = F.relu(self.bn1(self.deconv1(h)))
        h = F.relu(self.bn2(self.deconv2(h)))
        h = F.relu(self.bn3(self.deconv3(h)))
        return torch.tanh(self.deconv4(h))


class Discriminator(nn.Module):
    def __init__(self, w, c, size):
        super().__init__()
        s = size // 16

        def conv(i, o, bias=False):
            return nn.Conv2d(i, o, 5, stride=2, padding=2, bias=bias)

        self.conv1 = conv(c, w, bias=True)
        self.conv2, self.bn2 = conv(w, 2 * w), nn.BatchNorm2d(2 * w)
        self.conv3, self.bn3 = conv(2 * w, 4 * w), nn.BatchNorm2d(4 * w)
        self.conv4, self.bn4 = conv(4 * w, 8 * w), nn.BatchNorm2d(8 * w)
        self.classify = nn.Linear(8 * w * s * s, 1)

    def forward(self, x):
        """Returns (logits N×1, features f(x) N×8w×s×s)."""
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.leaky_relu(self.bn2(self.conv2(h)), 0.2)
        h = F.leaky_relu(self.bn3(self.conv3(h)), 0.2)
        f = F.leaky_relu(self.bn4(self.conv4(h)), 0.2)
        return self.classify(f.flatten(1)), f
