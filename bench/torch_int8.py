"""PyTorch's own int8 AlexNet, for the peers that compare ours with it (bench/torch-peer.py, the accuracy
study's bench/accuracy/make_sets.py): torch.ao.quantization eager static quantization of torchvision's
AlexNet, conv+relu and linear+relu fused, per-channel symmetric int8 weights, HistogramObserver
activations (the engine's default qconfig), on the x86 engine this build has.
"""
import torch
import torch.nn as nn


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


def x86_engine():
    """fbgemm where this build has it, else onednn (Debian's torch 1.13 has only qnnpack and onednn), else None"""
    engines = torch.backends.quantized.supported_engines
    return 'fbgemm' if 'fbgemm' in engines else 'onednn' if 'onednn' in engines else None


def static_int8(model, engine, calibrate):
    """`model` (a torchvision AlexNet, changed in place) quantized on `engine`; calibrate(q) runs the
    calibration inputs through the prepared model"""
    torch.backends.quantized.engine = engine
    q = Quantizable(model).eval()
    torch.ao.quantization.fuse_modules(q.model.features, [['0', '1'], ['3', '4'], ['6', '7'], ['8', '9'], ['10', '11']], inplace=True)
    torch.ao.quantization.fuse_modules(q.model.classifier, [['1', '2'], ['4', '5']], inplace=True)
    q.qconfig = torch.ao.quantization.get_default_qconfig(engine)
    torch.ao.quantization.prepare(q, inplace=True)
    calibrate(q)
    torch.ao.quantization.convert(q, inplace=True)
    return q
