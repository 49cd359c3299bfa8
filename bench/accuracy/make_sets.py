#!/usr/bin/python3
"""The accuracy study's networks and labelled images (docs/precision.md), and PyTorch's own int8 on them.

Two torchvision-architecture AlexNets with real weights made here by PyTorch, each with a labelled image set:
  digits  scikit-learn's 8x8 digits (1797 scans of handwriting, 10 classes), upscaled 28x (nearest) to
          224x224; conv1-5 keep PyTorch's random initialisation (seed 0, frozen) and fc6-fc8 are trained on
          their features (Adam, a few epochs): a net actually trained, in minutes on two cores.
  photos  15 real photographs shipped with scikit-image (astronaut, coffee, chelsea, rocket, ...); the
          images are random crops (35-90% of the shorter side, random position, mirrored half the time)
          resized to 224x224, labelled by their photograph; conv and fc6/fc7 keep PyTorch's random
          initialisation (seed 1) and fc8 is a logistic regression fitted to fc7's features of the
          training crops.
Each set is split into training images (only for fitting), calibration images (a subset of the training
images) and evaluation images (never seen by training or calibration).

Written to OUT/<set>/: model.safetensors (fp32, our canonical names), images.u8 (uint8 [N, h, w, 3]: the
calibration images then the evaluation images, before upscaling and normalisation), meta.json (sizes,
labels, torchvision's normalisation, and PyTorch's fp32 and int8 predictions on the evaluation images),
and without --small calibration.npy (the calibration images as model inputs, for alexnet-cli quantize).
The inputs are rebuilt bit for bit on the Node side: nearest upscaling, then (u8 / 255 - mean) / std with
every step in float32, in that order.

PyTorch int8: torch.ao.quantization eager static quantization, per-channel symmetric int8 weights,
HistogramObserver activations, calibrated on the same calibration images. This Debian build of
torch 1.13 has no fbgemm (torch.backends.quantized.supported_engines lists qnnpack and onednn), so
the x86 engine is onednn, whose qconfig is fbgemm's without reduce_range.

usage: make_sets.py OUT [--small | --large] [--sets digits,photos]
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from torch_int8 import static_int8, x86_engine  # noqa: E402 (bench/, beside torch-peer.py, which shares it)

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# torchvision alexnet module indices -> canonical layer names (lib/model/archs.ts)
CANONICAL = {'features.0': 'conv1', 'features.3': 'conv2', 'features.6': 'conv3', 'features.8': 'conv4',
             'features.10': 'conv5', 'classifier.1': 'fc6', 'classifier.4': 'fc7', 'classifier.6': 'fc8'}
PHOTOS = ['astronaut', 'coffee', 'chelsea', 'rocket', 'immunohistochemistry', 'hubble_deep_field', 'retina',
          'camera', 'coins', 'moon', 'brick', 'grass', 'gravel', 'clock', 'cell']


def log(msg):
    print(f'[{time.strftime("%H:%M:%S")}] {msg}', file=sys.stderr, flush=True)


def write_safetensors(path, tensors, metadata):
    header = {'__metadata__': metadata}
    offset = 0
    blobs = []
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype='<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(array.shape), 'data_offsets': [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b' ' * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(len(text).to_bytes(8, 'little'))
        f.write(text)
        for b in blobs:
            f.write(b)


def to_inputs(u8, upscale):
    """uint8 [N, h, w, 3] -> float32 [N, 3, h*upscale, w*upscale], as bench/accuracy/sets.ts builds them"""
    if upscale > 1:
        u8 = np.repeat(np.repeat(u8, upscale, axis=1), upscale, axis=2)
    x = u8.astype(np.float32) / np.float32(255)
    x = (x - MEAN) / STD
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def batched(model, x, batch=16):
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            outs.append(model(x[i:i + batch]))
    return torch.cat(outs)


def features(model, x, batch=16):
    """the fc6 input: conv stack, pooling, flatten"""
    return batched(lambda t: torch.flatten(model.avgpool(model.features(t)), 1), x, batch)


def digits_set(small, large=False):
    from sklearn.datasets import load_digits
    d = load_digits()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(d.target))
    n_train, n_eval, n_calib = (300, 100, 32) if small else (500, 500, 100)
    if large:
        n_eval = len(d.target) - n_train  # every digit training did not use: 1297
    train, evaluation = order[:n_train], order[n_train:n_train + n_eval]
    u8 = np.rint(d.images * (255 / 16)).astype(np.uint8)
    u8 = np.repeat(u8[..., None], 3, axis=3)
    torch.manual_seed(0)
    model = torchvision.models.alexnet(num_classes=10).eval()
    log(f'digits: conv features of {n_train} training images')
    feats = features(model, to_inputs(u8[train], 28))
    labels = torch.from_numpy(d.target[train]).long()
    # fc6-fc8 trained on the frozen conv features, dropout on as in training. The optimiser sees each
    # feature standardised (random conv features differ in scale by orders of magnitude); the
    # standardisation is folded into fc6 afterwards, so the network takes the plain features.
    mean = feats.mean(0)
    std = feats.std(0) + 1e-3
    feats = (feats - mean) / std
    opt = torch.optim.Adam(model.classifier.parameters(), lr=5e-4)
    epochs = 2 if small else 4
    for epoch in range(epochs):
        model.classifier.train()
        perm = torch.randperm(n_train)
        total, correct = 0.0, 0
        for i in range(0, n_train, 16):
            idx = perm[i:i + 16]
            opt.zero_grad()
            out = model.classifier(feats[idx])
            loss = nn.functional.cross_entropy(out, labels[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            correct += (out.argmax(1) == labels[idx]).sum().item()
        log(f'digits: epoch {epoch + 1}/{epochs} loss {total / n_train:.4f}, training accuracy {correct / n_train:.3f}')
    with torch.no_grad():
        fc6 = model.classifier[1]
        fc6.weight.div_(std)
        fc6.bias.sub_(fc6.weight @ mean)
    model.eval()
    calib = train[:n_calib]
    return model, u8, calib, evaluation, d.target, 28, {'train': int(n_train), 'epochs': epochs}


def photos_set(small, large=False):
    import skimage.data
    from skimage.transform import resize
    from sklearn.linear_model import LogisticRegression
    rng = np.random.default_rng(1)
    per_train, per_calib, per_eval = (8, 3, 7) if small else (12, 6, 100 if large else 34)
    crops, labels, split = [], [], []
    for label, name in enumerate(PHOTOS):
        image = getattr(skimage.data, name)()
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        image = image[..., :3]
        h, w = image.shape[:2]
        for k in range(per_train + per_eval):
            side = int(min(h, w) * rng.uniform(0.35, 0.9))
            top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
            crop = image[top:top + side, left:left + side]
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            crops.append(np.rint(resize(crop, (224, 224), anti_aliasing=True, preserve_range=True)).clip(0, 255).astype(np.uint8))
            labels.append(label)
            split.append('train' if k < per_train else 'eval')
    u8 = np.stack(crops)
    labels = np.array(labels)
    split = np.array(split)
    train = np.nonzero(split == 'train')[0]
    evaluation = np.nonzero(split == 'eval')[0]
    # calibration: the first per_calib training crops of each photograph
    calib = np.concatenate([train[labels[train] == c][:per_calib] for c in range(len(PHOTOS))])
    torch.manual_seed(1)
    model = torchvision.models.alexnet(num_classes=len(PHOTOS)).eval()
    log(f'photos: fc7 features of {len(train)} training crops')
    fc7 = batched(lambda t: model.classifier[:6](t), features(model, to_inputs(u8[train], 1))).numpy()
    clf = LogisticRegression(C=1.0, max_iter=2000).fit(fc7, labels[train])
    with torch.no_grad():
        model.classifier[6].weight.copy_(torch.from_numpy(clf.coef_.astype(np.float32)))
        model.classifier[6].bias.copy_(torch.from_numpy(clf.intercept_.astype(np.float32)))
    return model, u8, calib, evaluation, labels, 1, {'train': int(len(train)), 'photographs': PHOTOS}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('out')
    parser.add_argument('--small', action='store_true', help='the test\'s smaller sets and training')
    parser.add_argument('--large', action='store_true',
                        help='more evaluation images: every held-out digit (1297), 100 crops per photograph (1500)')
    parser.add_argument('--sets', default='digits,photos')
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    engine = x86_engine()
    for name in args.sets.split(','):
        model, u8, calib, evaluation, labels, upscale, info = (digits_set if name == 'digits' else photos_set)(args.small, args.large)
        out = os.path.join(args.out, name)
        os.makedirs(out, exist_ok=True)
        sd = model.state_dict()
        tensors = {}
        for prefix, layer in CANONICAL.items():
            tensors[f'{layer}.weight'] = sd[f'{prefix}.weight'].numpy()
            tensors[f'{layer}.bias'] = sd[f'{prefix}.bias'].numpy()
        num_classes = int(tensors['fc8.weight'].shape[0])
        write_safetensors(os.path.join(out, 'model.safetensors'), tensors, {
            'arch': 'torchvision', 'numClasses': str(num_classes), 'source': f'bench/accuracy/make_sets.py {name}'})
        order = np.concatenate([calib, evaluation])
        u8[order].tofile(os.path.join(out, 'images.u8'))
        if not args.small:
            # the calibration images as the model's input, for `alexnet-cli quantize --calibrate calibration.npy`
            np.save(os.path.join(out, 'calibration.npy'), to_inputs(u8[calib], upscale).numpy())
        eval_x = to_inputs(u8[evaluation], upscale)
        log(f'{name}: PyTorch fp32 on {len(evaluation)} evaluation images')
        fp32 = batched(model, eval_x).argmax(1).numpy()
        result = {'fp32': fp32.tolist()}
        if engine:
            log(f'{name}: PyTorch int8 ({engine}), calibrated on {len(calib)} images')
            calib_x = to_inputs(u8[calib], upscale)
            q = static_int8(copy.deepcopy(model), engine, lambda q: batched(q, calib_x))
            result['int8'] = batched(q, eval_x).argmax(1).numpy().tolist()
        eval_labels = labels[evaluation]
        acc = lambda p: float(np.mean(np.array(p) == eval_labels))
        log(f'{name}: PyTorch accuracy fp32 {acc(result["fp32"]):.4f}' + (f', int8 {acc(result["int8"]):.4f}' if engine else ''))
        meta = {
            'set': name, 'classes': num_classes, 'height': int(u8.shape[1]), 'width': int(u8.shape[2]), 'upscale': upscale,
            'mean': MEAN.tolist(), 'std': STD.tolist(), 'calibration': int(len(calib)), 'evaluation': int(len(evaluation)),
            'labels': eval_labels.tolist(), 'torch': {'version': torch.__version__, 'engine': engine, 'engines': torch.backends.quantized.supported_engines, **result},
            'info': info,
        }
        with open(os.path.join(out, 'meta.json'), 'w') as f:
            json.dump(meta, f)
        log(f'{name}: written to {out}')


if __name__ == '__main__':
    main()
