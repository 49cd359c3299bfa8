// Caffe .caffemodel: a NetParameter with the trained blobs, either in V1 `layers` (field 2, what the
// BVLC AlexNet release uses: blobs with num/channels/height/width, fc weights as 1x1xOUTxIN) or in the
// newer `layer` (field 100, blobs with a BlobShape). Caffe's own layouts are already the canonical ones:
// conv OIHW, InnerProduct [out, in] over a C,H,W flatten. The i-th Convolution becomes conv{i}, the i-th
// InnerProduct fc{convs+i}.
import protobuf from 'protobufjs';
import { PREPROCESS } from '../model/archs.js';
import { toFloat32 } from './dtypes.js';
import { CAFFE_PROTO } from './proto/caffe-schema.js';
import type { WeightSet, WeightTensor } from './types.js';
import { readWeightsFile } from './read.js';
import { weightsError } from './types.js';

// caffe.proto V1LayerParameter.LayerType
const V1_CONVOLUTION = 4;
const V1_INNER_PRODUCT = 14;

/* eslint-disable @typescript-eslint/no-explicit-any -- decoded protobuf messages */
type Message = any;

let root: protobuf.Root | undefined;
function caffeRoot(): protobuf.Root {
  root ??= protobuf.parse(CAFFE_PROTO, { keepCase: true }).root;
  return root;
}

const num = (v: unknown): number => (typeof v === 'object' && v !== null ? Number((v as { toString(): string }).toString()) : Number(v ?? 0));

function blobShape(blob: Message): number[] {
  if (blob.shape) return (blob.shape.dim ?? []).map(num);
  return [blob.num, blob.channels, blob.height, blob.width].map(num);
}

function blobValues(path: string, layer: string, blob: Message, count: number): Float32Array {
  const floats: Uint8Array | undefined = blob.data?.length ? blob.data : undefined;
  const doubles: Uint8Array | undefined = blob.double_data?.length ? blob.double_data : undefined;
  const values = floats ? toFloat32(floats, 'float32') : doubles ? toFloat32(doubles, 'float64') : new Float32Array(0);
  if (values.length !== count) throw weightsError(path, `expected ${count} values in a blob of layer ${layer} but found ${values.length}`);
  return values;
}

interface CaffeLayer {
  name: string;
  kind: 'conv' | 'fc' | 'other';
  blobs: Message[];
  transpose: boolean;
}

export async function readCaffe(path: string): Promise<WeightSet> {
  const bytes = readWeightsFile(path);
  let net: Message;
  try {
    net = caffeRoot().lookupType('caffe.NetParameter').decode(bytes);
  } catch (e) {
    throw weightsError(path, `expected a Caffe NetParameter but it does not decode (${(e as Error).message}; truncated?)`);
  }
  const layers: CaffeLayer[] = [
    ...(net.layers ?? []).map((l: Message): CaffeLayer => ({
      name: l.name, blobs: l.blobs ?? [], transpose: !!l.inner_product_param?.transpose,
      kind: l.type === V1_CONVOLUTION ? 'conv' : l.type === V1_INNER_PRODUCT ? 'fc' : 'other',
    })),
    ...(net.layer ?? []).map((l: Message): CaffeLayer => ({
      name: l.name, blobs: l.blobs ?? [], transpose: !!l.inner_product_param?.transpose,
      kind: l.type === 'Convolution' ? 'conv' : l.type === 'InnerProduct' ? 'fc' : 'other',
    })),
  ];
  const withBlobs = layers.filter((l) => l.blobs.length > 0);
  if (withBlobs.length === 0) throw weightsError(path, 'expected a Caffe model with trained blobs but found no layer with weights');
  const other = withBlobs.filter((l) => l.kind === 'other');
  if (other.length > 0) throw weightsError(path, `expected weights only in Convolution and InnerProduct layers but found them in ${other.map((l) => l.name).join(', ')}`);
  const convs = withBlobs.filter((l) => l.kind === 'conv');
  const tensors = new Map<string, WeightTensor>();
  for (const [i, layer] of convs.entries()) {
    const name = `conv${i + 1}`;
    const shape = blobShape(layer.blobs[0]);
    if (shape.length !== 4) throw weightsError(path, `expected a 4-D weight blob for convolution ${layer.name} but found [${shape.join(',')}]`);
    tensors.set(`${name}.weight`, { shape, data: blobValues(path, layer.name, layer.blobs[0], shape.reduce((a, b) => a * b, 1)) });
    if (layer.blobs[1]) tensors.set(`${name}.bias`, { shape: [shape[0]], data: blobValues(path, layer.name, layer.blobs[1], shape[0]) });
  }
  for (const [i, layer] of withBlobs.filter((l) => l.kind === 'fc').entries()) {
    const name = `fc${convs.length + i + 1}`;
    // V1 blobs are 4-D (1, 1, out, in); BlobShape ones are [out, in]; the last two dims either way
    const dims = blobShape(layer.blobs[0]);
    const [rows, cols] = dims.slice(-2);
    if (dims.slice(0, -2).some((d) => d !== 1)) throw weightsError(path, `expected a 2-D weight blob for InnerProduct ${layer.name} but found [${dims.join(',')}]`);
    let weight = blobValues(path, layer.name, layer.blobs[0], rows * cols);
    let shape = [rows, cols];
    if (layer.transpose) {
      // inner_product_param.transpose: stored [in, out]
      const t = new Float32Array(weight.length);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = weight[r * cols + c];
      weight = t;
      shape = [cols, rows];
    }
    tensors.set(`${name}.weight`, { shape, data: weight });
    if (layer.blobs[1]) tensors.set(`${name}.bias`, { shape: [shape[0]], data: blobValues(path, layer.name, layer.blobs[1], shape[0]) });
  }
  return {
    format: 'caffe', path, tensors, preprocess: PREPROCESS.caffe,
    metadata: net.name ? { name: net.name } : {},
  };
}
