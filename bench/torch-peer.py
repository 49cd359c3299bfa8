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
import torchvision

from torch_int8 import static_int8, x86_engine


def load(msg):
    torch.manual_seed(msg.get('seed', 1))
    model = torchvision.models.alexnet(num_classes=msg.get('classes', 1000)).eval()
    batch = msg['batch']
    x = torch.randn(batch, 3, 224, 224)
    precision = msg['precision']
    eng = None
    if precision == 'int8':
        eng = x86_engine()
        if eng is None:
            raise RuntimeError(f'this torch has no x86 int8 engine (supported: {torch.backends.quantized.supported_engines})')

        def calibrate(q):
            with torch.no_grad():
                for _ in range(4):
                    q(torch.randn(8, 3, 224, 224))
        model = static_int8(model, eng, calibrate)

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
