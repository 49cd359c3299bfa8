#!/usr/bin/python3
"""PyTorch as a benchmark peer, driven line by line by bench/torch-peer.ts (which alternates it with ours).

stdin, one JSON object a line; stdout, one JSON reply a line:
  {"op": "load", "key": K, "precision": "fp32"|"int8"|"bf16", "batch": B, "classes": 1000, "seed": S}
      torchvision AlexNet with random weights (torch.manual_seed(S)); int8: eager static quantization,
      conv+relu and linear+relu fused, per-channel symmetric int8 weights, HistogramObserver activations
      calibrated on 4 batches of N(0, 1) inputs, on the x86 engine this build has (fbgemm, else onednn);
      bf16: torch.autocast('cpu', torch.bfloat16). Replies {"ok": true, "engine": ..., "torch": version}.
  {"op": "run", "key": K}   one forward pass of batch B on a fixed input; replies {"ms": wall milliseconds}
  {"op": "quit"}
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torchvision


class Quantizable(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.model = model
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        m = self.model
        x = torch.flatten(m.avgpool(m.features(self.quant(x))), 1)
        return self.dequant(m.classifier(x))


def engine():
    engines = torch.backends.quantized.supported_engines
    return 'fbgemm' if 'fbgemm' in engines else 'onednn' if 'onednn' in engines else None


def load(msg):
    torch.manual_seed(msg.get('seed', 1))
    model = torchvision.models.alexnet(num_classes=msg.get('classes', 1000)).eval()
    batch = msg['batch']
    x = torch.randn(batch, 3, 224, 224)
    precision = msg['precision']
    eng = None
    if precision == 'int8':
        eng = engine()
        if eng is None:
            raise RuntimeError(f'this torch has no x86 int8 engine (supported: {torch.backends.quantized.supported_engines})')
        torch.backends.quantized.engine = eng
        q = Quantizable(model).eval()
        torch.ao.quantization.fuse_modules(q.model.features, [['0', '1'], ['3', '4'], ['6', '7'], ['8', '9'], ['10', '11']], inplace=True)
        torch.ao.quantization.fuse_modules(q.model.classifier, [['1', '2'], ['4', '5']], inplace=True)
        q.qconfig = torch.ao.quantization.get_default_qconfig(eng)
        torch.ao.quantization.prepare(q, inplace=True)
        with torch.no_grad():
            for _ in range(4):
                q(torch.randn(8, 3, 224, 224))
        torch.ao.quantization.convert(q, inplace=True)
        model = q

    def run():
        with torch.no_grad():
            if precision == 'bf16':
                with torch.autocast('cpu', dtype=torch.bfloat16):
                    model(x)
            else:
                model(x)
    return run, eng


def main():
    if len(sys.argv) > 1 and sys.argv[1].startswith('--threads='):
        torch.set_num_threads(int(sys.argv[1].split('=')[1]))
    runs = {}
    for line in sys.stdin:
        msg = json.loads(line)
        try:
            if msg['op'] == 'load':
                runs[msg['key']], eng = load(msg)
                reply = {'ok': True, 'engine': eng, 'torch': torch.__version__, 'threads': torch.get_num_threads()}
            elif msg['op'] == 'run':
                start = time.perf_counter()
                runs[msg['key']]()
                reply = {'ms': (time.perf_counter() - start) * 1000}
            else:
                break
        except Exception as e:  # the driver reports it in one line
            reply = {'error': f'{type(e).__name__}: {e}'}
        print(json.dumps(reply), flush=True)


if __name__ == '__main__':
    main()
