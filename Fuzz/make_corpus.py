#!/usr/bin/env python3
"""Writes the seed corpora of scripts/fuzz to Fuzz/corpus/<harness>/ (small valid
files of every parser, plus a few near-misses). Standard library only; rerun after
a format changes. The files are committed, so scripts/fuzz needs no Python."""
import gzip, json, os, struct, zlib

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

def put(harness, name, data):
    os.makedirs(os.path.join(root, harness), exist_ok=True)
    with open(os.path.join(root, harness, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)

# .npy
def npy(descr, shape, payload, version=1):
    dims = ", ".join(map(str, shape))
    shape_text = f"({dims},)" if len(shape) == 1 else f"({dims})"
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}"
    pre = 10 if version == 1 else 12
    header += " " * ((64 - (pre + len(header) + 1) % 64) % 64) + "\n"
    length = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header.encode() + payload

put("npy", "f4_2x3", npy("<f4", [2, 3], struct.pack("<6f", *range(6))))
put("npy", "i8_4", npy("<i8", [4], struct.pack("<4q", 0, 1, -1, 7)))
put("npy", "u1_2x2x2", npy("|u1", [2, 2, 2], bytes(range(8))))
put("npy", "f8_scalar", npy("<f8", [], struct.pack("<d", 2.5)))
put("npy", "u2_v2", npy("<u2", [3], struct.pack("<3H", 1, 2, 3), version=2))
put("npy", "f4_images", npy("<f4", [1, 1, 2, 2], struct.pack("<4f", -1, 0, 0.5, 1)))

# safetensors: a complete checkpoint of the smallest architecture (mirrors CheckpointMetadata.layout).
def layout(latent, size, w, c):
    s = size // 16
    hidden = [8 * w, 4 * w, 2 * w, w]
    out = [("generator.project.weight", [8 * w * s * s, latent])]
    for i in range(4):
        out += [(f"generator.bn{i}.weight", [hidden[i]]), (f"generator.bn{i}.bias", [hidden[i]]),
                (f"generator.bn{i}.running_mean", [hidden[i]]), (f"generator.bn{i}.running_var", [hidden[i]]),
                (f"generator.deconv{i + 1}.weight", [hidden[i], hidden[i + 1] if i < 3 else c, 5, 5])]
    out.append(("generator.deconv4.bias", [c]))
    ch = [c, w, 2 * w, 4 * w, 8 * w]
    out += [("discriminator.conv1.weight", [ch[1], ch[0], 5, 5]), ("discriminator.conv1.bias", [ch[1]])]
    for i in range(2, 5):
        out += [(f"discriminator.conv{i}.weight", [ch[i], ch[i - 1], 5, 5]),
                (f"discriminator.bn{i}.weight", [ch[i]]), (f"discriminator.bn{i}.bias", [ch[i]]),
                (f"discriminator.bn{i}.running_mean", [ch[i]]), (f"discriminator.bn{i}.running_var", [ch[i]])]
    out += [("discriminator.classify.weight", [1, 8 * w * s * s]), ("discriminator.classify.bias", [1])]
    return out

def count(shape):
    n = 1
    for d in shape: n *= d
    return n

def safetensors(tensors, metadata):
    entries, payload = {}, b""
    if metadata: entries["__metadata__"] = metadata
    for name, shape, values in tensors:
        data = struct.pack(f"<{len(values)}f", *values)
        entries[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(payload), len(payload) + len(data)]}
        payload += data
    header = json.dumps(entries, separators=(",", ":")).encode()
    header += b" " * ((8 - len(header) % 8) % 8)
    return struct.pack("<Q", len(header)) + header + payload

arch = {"channels": 1, "imageSize": 16, "latentDimension": 2, "width": 1}
tensors = [(n, s, [1.0 if n.endswith("running_var") else 0.01] * count(s)) for n, s in layout(2, 16, 1, 1)]
g = sum(count(s) for n, s in layout(2, 16, 1, 1) if n.startswith("generator.") and "running" not in n)
d = sum(count(s) for n, s in layout(2, 16, 1, 1) if n.startswith("discriminator.") and "running" not in n)
tensors += [("optim.generator.m", [g], [0.0] * g), ("optim.generator.v", [g], [0.0] * g),
            ("optim.discriminator.m", [d], [0.0] * d), ("optim.discriminator.v", [d], [0.0] * d)]
meta = {"format": "anogan-checkpoint", "version": "1", "architecture": json.dumps(arch, separators=(",", ":"), sort_keys=True),
        "settings": json.dumps({"adam": {"beta1": 0.5, "beta2": 0.999, "epsilon": 1e-8, "learningRate": 0.0002},
                                "batchSize": 2, "epochs": 1, "sampleCount": 4, "seed": 1}, separators=(",", ":"), sort_keys=True),
        "position": json.dumps({"discriminatorAdamSteps": 3, "epoch": 1, "generatorAdamSteps": 3, "iteration": 3,
                                "rngState": [1, 2, 3, 4]}, separators=(",", ":"), sort_keys=True),
        "seed": "1", "epoch": "1", "iteration": "3", "dataset.count": "8", "dataset.path": "patches"}
put("safetensors", "checkpoint_w1", safetensors(tensors, meta))
put("safetensors", "plain", safetensors([("x", [2, 2], [1, 2, 3, 4]), ("y", [1], [5])], {"k": "v"}))
put("safetensors", "empty", safetensors([], {}))

# MetaImage (the harness's folder holds data.raw of 256 bytes and escape.raw → /etc/hostname).
def mha(dims, etype, data, extra="", datafile="LOCAL"):
    header = f"ObjectType = Image\nNDims = {len(dims)}\nBinaryData = True\nBinaryDataByteOrderMSB = False\n{extra}" \
             f"DimSize = {' '.join(map(str, dims))}\nElementSpacing = {' '.join(['0.0117'] * len(dims))}\n" \
             f"ElementType = {etype}\nElementDataFile = {datafile}\n"
    return header.encode() + data
put("metaimage", "uchar_local", mha([4, 3, 2], "MET_UCHAR", bytes(range(24))))
put("metaimage", "float_local", mha([2, 2], "MET_FLOAT", struct.pack("<4f", 0, 1, 2, 3)))
put("metaimage", "short_msb", mha([2, 2, 1], "MET_SHORT", struct.pack(">4h", -1, 0, 1, 2), "ElementByteOrderMSB = True\n"))
put("metaimage", "compressed", mha([4, 4, 2], "MET_USHORT", zlib.compress(struct.pack("<32H", *range(32))), "CompressedData = True\n"))
put("metaimage", "external", mha([16, 8, 2], "MET_UCHAR", b"", datafile="data.raw"))
put("metaimage", "headersize", mha([8, 8], "MET_UCHAR", b"", "HeaderSize = 192\n", datafile="data.raw"))
put("metaimage", "escape", mha([2, 2], "MET_UCHAR", b"", datafile="escape.raw"))

# IDX
def idx(shape, values):
    return bytes([0, 0, 8, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape) + bytes(values)
put("idx", "images_2x3x3", idx([2, 3, 3], range(18)))
put("idx", "labels_5", idx([5], [0, 1, 2, 3, 4]))
put("idx", "images_gz", gzip.compress(idx([2, 4, 4], range(32))))
put("idx", "rank4", idx([1, 2, 2, 2], range(8)))

# PNG
def png(width, height, colour, depth, rows, extra=b""):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + r for r in rows)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)) + extra \
        + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
put("png", "grey8_3x2", png(3, 2, 0, 8, [bytes([0, 128, 255]), bytes([1, 2, 3])]))
put("png", "grey16_2x2", png(2, 2, 0, 16, [struct.pack(">2H", 0, 65535), struct.pack(">2H", 1, 2)]))
put("png", "rgba8_2x1", png(2, 1, 6, 8, [bytes([255, 0, 0, 255, 0, 255, 0, 128])]))
def plte_chunk():
    data = bytes([0, 0, 0, 255, 255, 255])
    return struct.pack(">I", len(data)) + b"PLTE" + data + struct.pack(">I", zlib.crc32(b"PLTE" + data) & 0xFFFFFFFF)
put("png", "palette_2x2", png(2, 2, 3, 8, [bytes([0, 1]), bytes([1, 0])], plte_chunk()))
put("png", "grey1_8x1", png(8, 1, 0, 1, [bytes([0b10101010])]))

# Patch-set manifest (the harness's set: 2 images of 4×4 with labels and masks)
manifest = {"format": "anogan-patchset", "version": 1, "count": 2, "size": 4, "seed": 7,
            "settings": {"protocol": "fuzz"},
            "sources": [{"volume": "v", "bscan": 0, "x": 0, "y": 1}, {"volume": "v", "bscan": 0, "x": 2, "y": 3}],
            "ids": ["a", "b"],
            "bscans": [{"volume": "v", "bscan": 0, "originalWidth": 8, "originalHeight": 8, "columnScale": 1.0,
                        "rowOffsets": [0, 1, 2, 3, 4, 5, 6, 7]}]}
put("manifest", "full", json.dumps(manifest, indent=1))
put("manifest", "minimal", json.dumps({"format": "anogan-patchset", "version": 1, "count": 2, "size": 4}))

# scores.csv
put("scores", "basic", "id,label,A,D,R\n0,0,1.5,0.25,3\n1,1,2,,nan\n\"a,b\",,1e-3,2,3\n")
put("scores", "crlf", "id,label,score\r\nx,0,1\r\ny,1,2\r\n")

# Settings files: the first byte picks the record (0 training, 1 scoring, 2 mapping, 3 architecture,
# 4 Adam) and with its high bit set the file is .json, otherwise .yaml.
put("config", "training_yaml", b"\x00epochs: 5\nbatchSize: 16\nadam:\n  learningRate: 0.001\n")
put("config", "scoring_json", b"\x81" + json.dumps({"variant": "feature", "seed": 3, "mapping": {"steps": 10, "lambda": 0.2}}).encode())
put("config", "mapping_yaml", b"\x02steps: 100\nlambda: 0.1\n")
put("config", "dcgan_json", b"\x83" + json.dumps({"width": 8, "imageSize": 32}).encode())
put("config", "adam_yaml", b"\x04beta1: 0.9\nepsilon: 1.0e-6\n")
