// Any readable weights -> .safetensors (canonical tensors with the architecture, classes, preprocessing
// and source format in __metadata__) or .onnx (opset 13). Used by `convert` and by the cache, which
// converts the pretrained weights once.
import { extname } from 'node:path';
import { buildArchitecture, isArchName } from '../model/archs.js';
import type { Architecture, Preprocess } from '../model/layers.js';
import { usageError } from '../errors.js';
import { readWeights } from './index.js';
import { resolveWeights } from './resolve.js';
import { tensorValues, writeSafetensors } from './safetensors.js';

export interface ConvertResult {
  arch: Architecture;
  preprocess: Preprocess;
  source: string;
  tensors: number;
}

export async function convertWeights(src: string, dst: string, options: { arch?: string } = {}): Promise<ConvertResult> {
  const ext = extname(dst).toLowerCase();
  if (ext !== '.safetensors' && ext !== '.onnx') throw usageError(`Expected an output file ending in .safetensors or .onnx but received ${dst}`);
  const set = await readWeights(src);
  const { arch, preprocess } = resolveWeights(set, { arch: options.arch });
  // only the architecture's parameters, in layer order
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const layer of arch.layers) {
    for (const kind of ['weight', 'bias']) {
      const t = set.tensors.get(`${layer.name}.${kind}`);
      if (t) tensors.set(`${layer.name}.${kind}`, { shape: t.shape, data: tensorValues(t) });
    }
  }
  const metadata: Record<string, string> = {
    arch: arch.name, numClasses: String(arch.numClasses), preprocess: JSON.stringify(preprocess), source: set.format,
  };
  // a graph that is not one of the three named architectures, or a narrower variant of one, travels whole
  if (!isArchName(arch.name) || JSON.stringify(arch) !== JSON.stringify(buildArchitecture(arch.name, arch.numClasses))) {
    metadata.architecture = JSON.stringify(arch);
  }
  // protobufjs (~10 MB of RSS) loads only when an ONNX file is written
  if (ext === '.onnx') (await import('./onnx-export.js')).writeOnnx(dst, arch, tensors, { metadata });
  else writeSafetensors(dst, tensors, metadata);
  return { arch, preprocess, source: set.format, tensors: tensors.size };
}

