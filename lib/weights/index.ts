// Reading weights in any supported format: dispatch on magic bytes, then on the file extension.
import { statSync } from 'node:fs';
import { extname } from 'node:path';
import type { ArchName } from '../model/layers.js';
import { resolveWeights } from './resolve.js';
import { isNpy, readNpz } from './npy.js';
// the readers of other formats (protobufjs, the HDF5 WebAssembly module, ...) load only when a file needs them
import { readSafetensors } from './safetensors.js';
import type { WeightSet } from './types.js';
import { weightsError } from './types.js';
import { ZipFile, isZip, readHead } from './zip.js';

export { checkWeights, detectArchitecture, parameterShapes, ARCH_SIGNATURES } from './detect.js';
export { readNpy, writeNpy } from './npy.js';
export type { WeightSet, WeightTensor } from './types.js';

export const HDF5_MAGIC = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface ReadWeightsOptions {
  /** the architecture the weights are for; checked against the tensors and attached to the set */
  arch?: ArchName;
}

/** What kind of file this is: 'safetensors' | 'pytorch' | 'onnx' | 'caffe' | 'keras-h5' | 'keras-v3' | 'npz' */
export function detectFormat(path: string): string {
  const { format, zip } = openWeightsFile(path);
  zip?.close();
  return format;
}

/** detectFormat, and for a zip archive the archive itself, open, for the reader (the caller closes it) */
function openWeightsFile(path: string): { format: string; zip?: ZipFile } {
  // before any open: opening a FIFO blocks, a device reads forever (/dev/zero)
  let stats;
  try {
    stats = statSync(path);
  } catch (e) {
    throw weightsError(path, `cannot open: ${(e as Error).message}`);
  }
  if (!stats.isFile()) throw weightsError(path, `expected a weights file but it is ${stats.isDirectory() ? 'a folder' : stats.isFIFO() ? 'a FIFO' : 'a device or other special file'}`);
  const head = readHead(path, 16);
  const ext = extname(path).toLowerCase();
  if (isZip(head)) {
    const zip = new ZipFile(path);
    const names = [...zip.entries.keys()];
    if (names.some((n) => n === 'data.pkl' || n.endsWith('/data.pkl'))) return { format: 'pytorch', zip };
    zip.close();
    if (names.includes('model.weights.h5')) return { format: 'keras-v3' };
    if (names.some((n) => n.endsWith('.npy'))) return { format: 'npz' };
    throw weightsError(path, `expected a PyTorch (data.pkl), Keras 3 (model.weights.h5) or .npz archive but the zip holds ${names.slice(0, 5).join(', ')}`);
  }
  if (head.length >= 8 && head.subarray(0, 8).equals(HDF5_MAGIC)) return { format: 'keras-h5' };
  if (isNpy(head)) throw weightsError(path, 'expected a weights file but found a single .npy array (use .npz for named tensors)');
  // safetensors: u64 header length, then a JSON object (checked before pickles: a length of 128 starts with 0x80)
  if (head.length >= 9 && head[8] === 0x7b && head.readBigUInt64LE(0) < 100n * 1024n * 1024n) return { format: 'safetensors' };
  // legacy PyTorch: a pickle (PROTO opcode) of the magic number
  if (head.length >= 1 && head[0] === 0x80 && ext !== '.onnx' && ext !== '.caffemodel') return { format: 'pytorch' };
  if (ext === '.onnx') return { format: 'onnx' };
  if (ext === '.caffemodel') return { format: 'caffe' };
  if (head.length === 0) throw weightsError(path, 'expected a weights file but it is empty');
  throw weightsError(path, 'expected safetensors, PyTorch (.pth), ONNX (.onnx), Caffe (.caffemodel), Keras (.h5/.keras) or .npz but the format is not recognised');
}

export async function readWeights(path: string, options: ReadWeightsOptions = {}): Promise<WeightSet> {
  let set: WeightSet;
  const { format, zip } = openWeightsFile(path);
  try {
    switch (format) {
      // a .pth archive's directory is parsed once: the reader takes the archive detection opened
      case 'pytorch': set = await (await import('./torch.js')).readTorch(path, zip); break;
      case 'keras-h5': case 'keras-v3': set = await (await import('./keras.js')).readKeras(path); break;
      case 'npz': set = await readNpz(path); break;
      case 'safetensors': set = await readSafetensors(path); break;
      case 'onnx': set = await (await import('./onnx.js')).readOnnx(path); break;
      default: set = await (await import('./caffe.js')).readCaffe(path); break;
    }
  } finally {
    zip?.close();
  }
  if (options.arch) set.arch = resolveWeights(set, { arch: options.arch }).arch;
  return set;
}
