#!/usr/bin/python3
"""PyTorch reference for twophase's five models (a cross-check, not part of the build).

The modules below mirror models/vit.cc, models/attention.cc, models/embedding.cc and
models/vgg5.cc; their state_dict keys and shapes are exactly those of
`build/twophase model --model M --dataset D`, so a twophase .safetensors file loads with
load_state_dict(strict=True). Models output logits; the loss is the paper's MSE on the
softmax against one-hot targets, mean over samples and classes (models/loss.h).
Needs only Debian's python3-torch and python3-numpy (safetensors and IDX readers included).

Usage (from anywhere; paths default to this checkout):
  /usr/bin/python3 scripts/torch_reference.py evaluate --model vit-mlp --dataset mnist \
      --init params.safetensors [--subset K] [--double] [--threads T]
      -> train_loss=... train_accuracy=... test_loss=... test_accuracy=...  (as twophase's)
  /usr/bin/python3 scripts/torch_reference.py compare --model vgg5 --dataset mnist \
      [--subset 2000] [--seed 0] [--epochs 2] [--max-flips 1]
      -> twophase's seeded init (train --epochs 0 --save) and its weights after --epochs
         of its training, each evaluated by twophase (float32) and here (float64);
         PASS if every loss agrees to 1e-5 relative and every accuracy to within
         --max-flips samples, else FAIL (exit code 1).
  /usr/bin/python3 scripts/torch_reference.py train --model vit-mlp --dataset mnist \
      --subset 10000 --epochs 5 [--init FILE] [--lr 1e-3] [--batch 512] [--seed 0]
      [--threads 2]
      -> torch.optim.Adam (defaults), batches reshuffled every epoch by a seeded
         torch.Generator, last partial batch kept; one line per epoch like twophase train.
Models: vit-mlp, vit-nomlp, vit-nomlp-wkewq, vit-nomlp-wkewq-wvwo, vgg5.
Data sets: mnist (--data-dir, default <repo>/data/mnist), fashion-mnist
(default /usr/share/datasets/fashion-mnist); raw or gzipped IDX files.
"""
import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIRS = {'mnist': os.path.join(REPO, 'data', 'mnist'),
             'fashion-mnist': '/usr/share/datasets/fashion-mnist'}
MODELS = ('vit-mlp', 'vit-nomlp', 'vit-nomlp-wkewq', 'vit-nomlp-wkewq-wvwo', 'vgg5')


# ----------------------------------------------------------------------------- models

class Attention(nn.Module):
    """Multi-head self-attention: per head softmax(Q_h K_h^T / sqrt(dim/heads)) V_h.

    shared_qk: one projection "qk" gives both Q and K. no_value_output: V = x (the
    layer's normalised input) and the concatenated heads are the output (no v, out).
    """

    def __init__(self, dim, heads, shared_qk, no_value_output):
        super().__init__()
        self.heads, self.shared_qk, self.no_vo = heads, shared_qk, no_value_output
        if shared_qk:
            self.qk = nn.Linear(dim, dim)
        else:
            self.q = nn.Linear(dim, dim)
            self.k = nn.Linear(dim, dim)
        if not no_value_output:
            self.v = nn.Linear(dim, dim)
            self.out = nn.Linear(dim, dim)

    def forward(self, x):
        n, t, dim = x.shape
        h = self.heads
        d = dim // h

        def split(y):  # [n, t, dim] -> [n, h, t, d]
            return y.reshape(n, t, h, d).transpose(1, 2)

        if self.shared_qk:
            q = k = split(self.qk(x))
        else:
            q, k = split(self.q(x)), split(self.k(x))
        v = split(x if self.no_vo else self.v(x))
        p = torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(d), dim=-1)
        c = (p @ v).transpose(1, 2).reshape(n, t, dim)
        return c if self.no_vo else self.out(c)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU


class Block(nn.Module):
    """Pre-LN encoder block: x += Attn(LN1(x)); x += MLP(LN2(x)) (if mlp)."""

    def __init__(self, dim, heads, mlp_dim, mlp, shared_qk, no_vo):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn = Attention(dim, heads, shared_qk, no_vo)
        if mlp:
            self.norm2 = nn.LayerNorm(dim, eps=1e-5)
            self.mlp = Mlp(dim, mlp_dim)
        self.has_mlp = mlp

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        if self.has_mlp:
            x = x + self.mlp(self.norm2(x))
        return x


class ViT(nn.Module):
    """4x4 patches unfolded in (channel, row, col) order -> Linear, class token
    prepended, pos_embedding added, blocks, LayerNorm on the class token, head."""

    def __init__(self, variant, channels=1, size=28, classes=10, patch=4, dim=64,
                 depth=3, heads=4, mlp_dim=256):
        super().__init__()
        mlp = variant == 'vit-mlp'
        shared_qk = 'wkewq' in variant
        no_vo = variant.endswith('wvwo')
        if no_vo:
            heads = 1
        self.patch = patch
        tokens = (size // patch) ** 2
        self.patch_embed = nn.Linear(channels * patch * patch, dim)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.randn(1, tokens + 1, dim) * 0.02)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_dim, mlp, shared_qk, no_vo)
                                    for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-5)
        self.head = nn.Linear(dim, classes)

    def forward(self, images):
        n, c, hgt, wid = images.shape
        p = self.patch
        x = images.reshape(n, c, hgt // p, p, wid // p, p).permute(0, 2, 4, 1, 3, 5)
        x = self.patch_embed(x.reshape(n, (hgt // p) * (wid // p), c * p * p))
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        x = x + self.pos_embedding
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x[:, 0]))


class Vgg5(nn.Module):
    """3 x (conv3x3 same -> ReLU -> maxpool2, floor) -> flatten -> fc1(64) -> ReLU -> fc2."""

    def __init__(self, channels=1, size=28, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1)
        side = size // 2 // 2 // 2
        self.fc1 = nn.Linear(128 * side * side, 64)
        self.fc2 = nn.Linear(64, classes)

    def forward(self, x):
        for conv in (self.conv1, self.conv2, self.conv3):
            x = F.max_pool2d(F.relu(conv(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def make_model(name, channels=1, size=28, classes=10):
    if name == 'vgg5':
        return Vgg5(channels, size, classes)
    if name in MODELS:
        return ViT(name, channels, size, classes)
    sys.exit(f'unknown model {name!r} (known: {", ".join(MODELS)})')


# ----------------------------------------------------------------------------- files

def read_safetensors(path):
    """{name: float32/float64 numpy array}; F32 and F64 only."""
    with open(path, 'rb') as f:
        blob = f.read()
    header_len = int.from_bytes(blob[:8], 'little')
    header = json.loads(blob[8:8 + header_len])
    data = memoryview(blob)[8 + header_len:]
    dtypes = {'F32': '<f4', 'F64': '<f8'}
    tensors = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        if info['dtype'] not in dtypes:
            sys.exit(f'{path}: {name}: unsupported dtype {info["dtype"]}')
        begin, end = info['data_offsets']
        array = np.frombuffer(data[begin:end], dtype=dtypes[info['dtype']])
        tensors[name] = array.reshape(info['shape']).copy()
    return tensors


def load_weights(model, path):
    state = {k: torch.from_numpy(v) for k, v in read_safetensors(path).items()}
    model.load_state_dict(state, strict=True)


def read_idx(path):
    """An IDX file (raw or gzip, told by the magic bytes) as a numpy array."""
    if not os.path.exists(path) and os.path.exists(path + '.gz'):
        path += '.gz'
    with open(path, 'rb') as f:
        blob = f.read()
    if blob[:2] == b'\x1f\x8b':
        blob = gzip.decompress(blob)
    if blob[:2] != b'\0\0' or blob[2] != 0x08:
        sys.exit(f'{path}: not an unsigned-byte IDX file')
    ndim = blob[3]
    shape = [int.from_bytes(blob[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(blob, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_dataset(name, data_dir=None, subset=0):
    """(train_x, train_y, test_x, test_y): float32 NCHW pixels / 255, int64 labels."""
    if name not in DATA_DIRS:
        sys.exit(f'unknown data set {name!r} (known: {", ".join(DATA_DIRS)})')
    folder = data_dir or DATA_DIRS[name]

    def part(prefix):
        images = read_idx(os.path.join(folder, f'{prefix}-images-idx3-ubyte'))
        labels = read_idx(os.path.join(folder, f'{prefix}-labels-idx1-ubyte'))
        x = torch.from_numpy(images.astype(np.float32) / np.float32(255.0))
        return x.unsqueeze(1), torch.from_numpy(labels.astype(np.int64))

    train_x, train_y = part('train')
    if subset > 0:
        train_x, train_y = train_x[:subset], train_y[:subset]
    return (train_x, train_y) + part('t10k')


# ----------------------------------------------------------------------------- loss

def mse_loss(logits, labels):
    """Per-sample (1/C) sum_c (softmax(z)_c - onehot_c)^2."""
    err = torch.softmax(logits, dim=1) - F.one_hot(labels, logits.shape[1]).to(logits.dtype)
    return (err * err).mean(dim=1)


@torch.no_grad()
def evaluate(model, x, y, dtype=torch.float32, chunk=1000):
    """(mean loss, accuracy, near_ties); the loss is taken in float64 from the logits
    (as models/loss.cc); near_ties counts samples whose top two logits differ by
    < 1e-5 relative (argmax there may flip between implementations)."""
    model.eval()
    loss_sum, correct, ties = 0.0, 0, 0
    for start in range(0, len(x), chunk):
        logits = model(x[start:start + chunk].to(dtype)).double()
        labels = y[start:start + chunk]
        loss_sum += mse_loss(logits, labels).sum().item()
        correct += (logits.argmax(dim=1) == labels).sum().item()  # first max on ties
        top = logits.topk(2, dim=1).values
        ties += ((top[:, 0] - top[:, 1]) <= 1e-5 * top[:, 0].abs().clamp(min=1)).sum().item()
    return loss_sum / len(x), correct / len(x), ties


def evaluate_all(model, data, dtype):
    train_x, train_y, test_x, test_y = data
    model.to(dtype)
    return evaluate(model, train_x, train_y, dtype), evaluate(model, test_x, test_y, dtype)


def format_result(train, test):
    return (f'train_loss={train[0]:.9g} train_accuracy={train[1]:.9g} '
            f'test_loss={test[0]:.9g} test_accuracy={test[1]:.9g}')


# ----------------------------------------------------------------------------- commands

def cmd_evaluate(args):
    torch.set_num_threads(args.threads)
    data = load_dataset(args.dataset, args.data_dir, args.subset)
    model = make_model(args.model)
    load_weights(model, args.init)
    train, test = evaluate_all(model, data, torch.float64 if args.double else torch.float32)
    print(format_result(train, test))


def run_ours(args, *extra):
    cmd = [args.binary, *extra, '--model', args.model, '--dataset', args.dataset,
           '--subset', str(args.subset), '--threads', str(args.threads)]
    if args.data_dir:
        cmd += ['--data-dir', args.data_dir]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return out


def parse_result(text):
    line = [s for s in text.splitlines() if s.startswith('train_loss=')][-1]
    values = dict(item.split('=') for item in line.split())
    return ((float(values['train_loss']), float(values['train_accuracy'])),
            (float(values['test_loss']), float(values['test_accuracy'])))


def compare_once(args, label, weights, data):
    ours = parse_result(run_ours(args, 'evaluate', '--init', weights))
    model = make_model(args.model)
    load_weights(model, weights)
    ref = evaluate_all(model, data, torch.float64)
    print(f'[{label}] twophase: {format_result(*ours)}')
    print(f'[{label}] torch64:  {format_result(*ref)}')
    ok, max_rel = True, 0.0
    for part, (o, r), n in zip(('train', 'test'), zip(ours, ref),
                               (len(data[0]), len(data[2]))):
        rel = abs(o[0] - r[0]) / abs(r[0])
        flips = round(abs(o[1] - r[1]) * n)
        max_rel = max(max_rel, rel)
        good = rel <= args.rtol and flips <= args.max_flips
        ok &= good
        print(f'[{label}] {part}: loss rel diff {rel:.3g}, accuracy differs by {flips} '
              f'of {n} samples ({r[2]} near ties) -> {"ok" if good else "MISMATCH"}')
    return ok, max_rel


def cmd_compare(args):
    torch.set_num_threads(args.threads)
    data = load_dataset(args.dataset, args.data_dir, args.subset)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for label, epochs in (('init', 0), (f'after {args.epochs} epochs', args.epochs)):
            weights = os.path.join(tmp, f'e{epochs}.safetensors')
            run_ours(args, 'train', '--epochs', str(epochs), '--seed', str(args.seed),
                     '--save', weights)
            good, max_rel = compare_once(args, label, weights, data)
            print(f'[{label}] max loss rel diff {max_rel:.3g}')
            ok &= good
    print(f'{args.model} {args.dataset}: {"PASS" if ok else "FAIL"}')
    return 0 if ok else 1


def cmd_train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = load_dataset(args.dataset, args.data_dir, args.subset)
    train_x, train_y = data[0], data[1]
    model = make_model(args.model)
    if args.init:
        load_weights(model, args.init)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    generator = torch.Generator().manual_seed(args.seed)
    n = len(train_x)
    print(f'# torch {args.model} ({sum(p.numel() for p in model.parameters())} parameters), '
          f'{args.dataset} ({n} train, {len(data[2])} test), Adam lr {args.lr} batch '
          f'{args.batch}, seed {args.seed}, threads {torch.get_num_threads()}')
    print(f'{"epoch":>5} {"train_loss":>12} {"train_acc":>9} {"test_loss":>12} '
          f'{"test_acc":>9} {"seconds":>8} {"eval_s":>8}')
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=generator)
        for b in range(0, n, args.batch):
            idx = order[b:b + args.batch]
            optimizer.zero_grad(set_to_none=True)
            loss = mse_loss(model(train_x[idx]), train_y[idx]).mean()
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - start
        train, test = evaluate_all(model, data, torch.float32)
        eval_s = time.perf_counter() - start - seconds
        print(f'{epoch:5d} {train[0]:12.6g} {train[1]:9.4f} {test[0]:12.6g} '
              f'{test[1]:9.4f} {seconds:8.2f} {eval_s:8.2f}', flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)

    def common(p):
        p.add_argument('--model', required=True, choices=MODELS)
        p.add_argument('--dataset', required=True, choices=sorted(DATA_DIRS))
        p.add_argument('--subset', type=int, default=0, help='first K training images')
        p.add_argument('--data-dir', default=None)
        p.add_argument('--threads', type=int, default=1)
        return p

    p = common(sub.add_parser('evaluate', help='loss and accuracy of saved weights'))
    p.add_argument('--init', required=True)
    p.add_argument('--double', action='store_true', help='compute in float64')
    p = common(sub.add_parser('compare', help='twophase vs torch on the same weights'))
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--epochs', type=int, default=2, help='twophase epochs for (b)')
    p.add_argument('--rtol', type=float, default=1e-5)
    p.add_argument('--max-flips', type=int, default=1)
    p.add_argument('--binary', default=os.path.join(REPO, 'build', 'twophase'))
    p = common(sub.add_parser('train', help='train the torch model with Adam'))
    p.add_argument('--epochs', type=int, required=True)
    p.add_argument('--init', default=None)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--batch', type=int, default=512)
    p.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    return {'evaluate': cmd_evaluate, 'compare': cmd_compare,
            'train': cmd_train}[args.command](args) or 0


if __name__ == '__main__':
    sys.exit(main())
