#!/usr/bin/python3
"""Writes the seed corpora in fuzz/corpus/<target>/: small valid files of each
format (and the committed suites and quick results for the JSON and CSV
readers). Run from the repository root; the output is committed."""
import gzip
import json
import os
import struct

import numpy as np

OUT = "fuzz/corpus"


def put(target, name, data):
    os.makedirs(f"{OUT}/{target}", exist_ok=True)
    with open(f"{OUT}/{target}/{name}", "wb") as f:
        f.write(data)


def gz(data):
    # mtime 0: the same bytes on every run.
    return gzip.compress(data, mtime=0)


def idx_images(n, rows, cols):
    pixels = (np.arange(n * rows * cols) * 37 % 256).astype(np.uint8)
    return struct.pack(">IIII", 0x803, n, rows, cols) + pixels.tobytes()


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def cifar(labels, coarse=None):
    out = b""
    for i, label in enumerate(labels):
        head = bytes([coarse[i], label]) if coarse else bytes([label])
        out += head + bytes((np.arange(3072) * (i + 3) % 256).astype(np.uint8))
    return out


def safetensors(dtype, metadata=None):
    """The layout SaveSafetensors and the Python package write, for the
    parameters the fuzz target loads into."""
    np_type = {"F32": "<f4", "F64": "<f8", "F16": "<f2"}
    tensors = [("conv1.weight", [2, 1, 2, 2]), ("conv1.bias", [2])]
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, shape in tensors:
        values = np.linspace(-1, 1, int(np.prod(shape)))
        if dtype == "BF16":
            raw = (values.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
        else:
            raw = values.astype(np_type[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def eval_every(curve, every, swap):
    """A curve as eval_every writes it: the four evaluation cells empty (and eval_seconds 0)
    but on the first, the last, the swap and every `every`-th epoch."""
    lines = curve.decode().splitlines()
    header = lines[0].split(",")
    evaluation = [header.index(c) for c in
                  ("train_loss", "train_accuracy", "test_loss", "test_accuracy")]
    out = [lines[0]]
    for line in lines[1:]:
        fields = line.split(",")
        epoch = int(fields[0])
        if epoch not in (1, len(lines) - 1, swap) and epoch % every != 0:
            for k in evaluation:
                fields[k] = ""
            fields[header.index("eval_seconds")] = "0.000"
        out.append(",".join(fields))
    return ("\n".join(out) + "\n").encode()


def main():
    # Overwrites its own files only: the found-* inputs of the long runs stay.
    put("idx", "images.idx", idx_images(2, 3, 3))
    put("idx", "labels.idx", idx_labels([0, 1, 2, 9]))
    put("idx", "images.idx.gz", gz(idx_images(2, 4, 4)))
    put("idx", "labels.idx.gz", gz(idx_labels([3, 1])))
    put("idx", "two-members.gz", gz(idx_labels([5])[:5]) + gz(idx_labels([5])[5:]))

    put("cifar", "cifar10.bin", cifar([3]))
    put("cifar", "cifar100.bin", cifar([42], coarse=[7]))
    put("cifar", "cifar10-2.bin.gz", gz(cifar([0, 9])))

    put("safetensors", "f32.safetensors", safetensors("F32"))
    put("safetensors", "f64-meta.safetensors", safetensors("F64", {"epoch": "3"}))
    put("safetensors", "f16.safetensors", safetensors("F16"))
    put("safetensors", "bf16.safetensors", safetensors("BF16"))

    for name in sorted(os.listdir("suites")):
        if name.endswith(".json"):
            put("suite", name, open(f"suites/{name}", "rb").read())

    cells = "results/quick/cells"
    for cell in ["mnist.vgg5.adam.onednn.s0", "mnist.vit-mlp.cg.onednn.s0",
                 "mnist.vgg5.two-phase.onednn.s0"]:
        optimizer = cell.split(".")[2]
        put("metadata", f"{optimizer}.json", open(f"{cells}/{cell}/metadata.json", "rb").read())
        put("curve", f"{optimizer}.csv", open(f"{cells}/{cell}/curve.csv", "rb").read())
    two_phase = f"{cells}/mnist.vgg5.two-phase.onednn.s0"
    swap = json.load(open(f"{two_phase}/metadata.json"))["swap"]["epoch"]
    put("curve", "eval-every-5.csv",
        eval_every(open(f"{two_phase}/curve.csv", "rb").read(), 5, swap))


if __name__ == "__main__":
    main()
