#!/usr/bin/env python3
"""fashion_mnist.py — a real PyTorch trainer that logs through wb.

A 784-256-10 MLP (ReLU, dropout) trained with SGD + momentum and a cosine
learning rate on Fashion-MNIST, read from the same files as the C example
(integrations/examples/fmnist.c): Debian's dataset-fashion-mnist, the four
gzip'd IDX files in /usr/share/datasets/fashion-mnist. The last 5,000
training images are the validation set, t10k the test set.

wb records the hyperparameters (config), the loss and accuracy of every
mini-batch, validation figures per epoch, the test figures as summary
values, and — through wb.watch — histograms of every weight and gradient
every --log-freq steps.

    WB_LIBRARY=build/sdk/libwb.so PYTHONPATH=integrations/python \\
        python3 integrations/python/examples/fashion_mnist.py --epochs 3
"""

import argparse
import gzip
import math
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import wb  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
NVAL = 5000


def read_idx(path, magic):
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        sys.exit("fashion_mnist: cannot open %s: install the dataset with `apt-get install "
                 "dataset-fashion-mnist`, or pass --data DIR" % path)
    (got,) = struct.unpack(">I", raw[:4])
    if got != magic:
        sys.exit("fashion_mnist: %s: not an IDX file (magic 0x%08x, expected 0x%08x)" % (path, got, magic))
    dims = raw[3]
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
    t = torch.frombuffer(bytearray(raw[4 + 4 * dims:]), dtype=torch.uint8)
    if t.numel() != math.prod(shape):
        sys.exit("fashion_mnist: %s: file is truncated" % path)
    return t.reshape(shape)


def load(data, split):
    x = read_idx(os.path.join(data, "%s-images-idx3-ubyte.gz" % split), 0x803)
    y = read_idx(os.path.join(data, "%s-labels-idx1-ubyte.gz" % split), 0x801)
    if x.shape[0] != y.shape[0] or int(y.max()) > 9:
        sys.exit("fashion_mnist: %s: images and labels do not match" % split)
    return x.reshape(x.shape[0], -1).float().div_(255.0), y.long()


class MLP(torch.nn.Module):
    def __init__(self, hidden, dropout):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, hidden)
        self.fc2 = torch.nn.Linear(hidden, 10)
        self.dropout = dropout

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.dropout(x, self.dropout, self.training)
        return self.fc2(x)


def evaluate(model, x, y, batch=2000):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            out = model(x[i:i + batch])
            loss += float(F.cross_entropy(out, y[i:i + batch], reduction="sum"))
            correct += int((out.argmax(1) == y[i:i + batch]).sum())
    model.train()
    return loss / x.shape[0], correct / x.shape[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N training images only")
    ap.add_argument("--log-freq", type=int, default=100, help="histograms of weights and gradients every N steps")
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--project", default=None, help="wb project (default $WB_PROJECT, else fashion-mnist)")
    ap.add_argument("--name", default=None)
    args = ap.parse_args()
    if args.project is None and not os.environ.get("WB_PROJECT"):
        args.project = "fashion-mnist"

    torch.manual_seed(args.seed)
    xtr, ytr = load(args.data, "train")
    xte, yte = load(args.data, "t10k")
    xva, yva = xtr[-NVAL:], ytr[-NVAL:]
    xtr, ytr = xtr[:-NVAL], ytr[:-NVAL]
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]

    model = MLP(args.hidden, args.dropout)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    steps_per_epoch = (xtr.shape[0] + args.batch - 1) // args.batch
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))

    config = {k: v for k, v in vars(args).items() if k not in ("project", "name", "data")}
    config.update(model="mlp", data={"name": "fashion-mnist", "train": xtr.shape[0], "val": NVAL},
                  torch=torch.__version__)
    with wb.init(project=args.project, name=args.name, config=config) as run:
        print("wb: run %s: %s" % (run.name, run.url), flush=True)
        wb.watch(model, log="all", log_freq=args.log_freq)
        run.define_metric("val/*", step_metric="epoch")
        t0 = time.monotonic()
        for epoch in range(args.epochs):
            perm = torch.randperm(xtr.shape[0])
            for i in range(steps_per_epoch):
                idx = perm[i * args.batch:(i + 1) * args.batch]
                out = model(xtr[idx])
                loss = F.cross_entropy(out, ytr[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                acc = (out.argmax(1) == ytr[idx]).float().mean()
                run.log({"train": {"loss": loss.item(), "acc": acc.item()}, "lr": sched.get_last_lr()[0]})
            vloss, vacc = evaluate(model, xva, yva)
            run.log({"epoch": epoch + 1, "val": {"loss": vloss, "acc": vacc}})
            print("epoch %d: val loss %.4f acc %.4f (%.1f s)" % (epoch + 1, vloss, vacc, time.monotonic() - t0),
                  flush=True)
        tloss, tacc = evaluate(model, xte, yte)
        run.summary["test/loss"] = tloss
        run.summary["test/acc"] = tacc
        run.summary["train/seconds"] = time.monotonic() - t0
        print("test loss %.4f acc %.4f" % (tloss, tacc), flush=True)
        print("wb: run %s: %s" % (run.name, run.url), flush=True)


if __name__ == "__main__":
    main()
