// Keras weights for the seed architecture:
//  - .h5 from Keras 2 `model.save` (weights under /model_weights) or `save_weights` (at the root): the
//    attribute layer_names lists layers in model order, each layer group's weight_names its datasets
//    (model_weights/conv2d/conv2d/kernel:0);
//  - .keras from Keras 3: a zip of config.json (layer order) and model.weights.h5 (layers/<name>/vars/0, 1).
// Layouts are converted: conv kernels HWIO -> OIHW, Dense kernels (in, out) -> (out, in), and the first
// Dense after the convolutions has its inputs reordered from Keras' H,W,C flatten to the engine's C,H,W.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { PREPROCESS } from '../model/archs.js';
import type { WeightSet, WeightTensor } from './types.js';
import { weightsError } from './types.js';
import { ZipFile, isZip, readHead } from './zip.js';

type H5File = InstanceType<typeof h5wasm.File>;

interface KerasLayerWeights {
  layer: string;
  /** kernel then bias, in Keras layouts */
  values: { shape: number[]; data: Float32Array }[];
}

function toFloat32Array(path: string, what: string, value: unknown): Float32Array {
  if (value instanceof Float32Array) return value;
  if (value instanceof Float64Array) return Float32Array.from(value);
  throw weightsError(path, `expected float32 or float64 values for ${what} but found ${value?.constructor?.name ?? typeof value}`);
}

function readDataset(path: string, file: H5File, name: string): { shape: number[]; data: Float32Array } {
  const entity = file.get(name);
  if (!entity || !(entity instanceof h5wasm.Dataset)) throw weightsError(path, `expected an HDF5 dataset ${name} but it is missing`);
  return { shape: entity.shape ?? [], data: toFloat32Array(path, name, entity.value) };
}

function stringList(value: unknown): string[] {
  const items = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return items.map((v) => (typeof v === 'string' ? v : Buffer.from(v as Uint8Array).toString('utf8')));
}

/** Keras 2 layout: layer_names on `group`, weight_names on each layer group */
function readKeras2(path: string, file: H5File, group: string): KerasLayerWeights[] {
  const g = file.get(group || '/') as InstanceType<typeof h5wasm.Group>;
  const layerNames = stringList(g.attrs.layer_names?.value);
  const prefix = group ? `${group}/` : '';
  const result: KerasLayerWeights[] = [];
  for (const layer of layerNames) {
    const layerGroup = file.get(`${prefix}${layer}`) as InstanceType<typeof h5wasm.Group> | null;
    if (!layerGroup) throw weightsError(path, `expected the layer group ${prefix}${layer} listed in layer_names but it is missing`);
    const weightNames = stringList(layerGroup.attrs.weight_names?.value);
    if (weightNames.length === 0) continue;
    result.push({ layer, values: weightNames.map((w) => readDataset(path, file, `${prefix}${layer}/${w}`)) });
  }
  return result;
}

/** Keras 3 layout: layers/<name>/vars/<i>, layer order from config.json */
function readKeras3(path: string, file: H5File, order: string[]): KerasLayerWeights[] {
  const layersGroup = file.get('layers') as InstanceType<typeof h5wasm.Group> | null;
  if (!layersGroup) throw weightsError(path, 'expected a layers group in model.weights.h5 but it is missing');
  const present = layersGroup.keys();
  // without a config, natural order of the default names (conv2d, conv2d_1, ..., conv2d_10)
  const naturalOrder = [...present].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const names = order.length > 0 ? order.filter((n) => present.includes(n)) : naturalOrder;
  const result: KerasLayerWeights[] = [];
  for (const layer of names) {
    const vars = file.get(`layers/${layer}/vars`) as InstanceType<typeof h5wasm.Group> | null;
    if (!vars) continue;
    const keys = vars.keys().sort((a, b) => Number(a) - Number(b));
    if (keys.length === 0) continue;
    result.push({ layer, values: keys.map((k) => readDataset(path, file, `layers/${layer}/vars/${k}`)) });
  }
  return result;
}

function layerOrderFromConfig(config: unknown): string[] {
  const layers = (config as { config?: { layers?: unknown[] } })?.config?.layers ?? [];
  return layers.map((l) => {
    const entry = l as { name?: string; config?: { name?: string } };
    return entry.config?.name ?? entry.name ?? '';
  }).filter((n) => n !== '');
}

/** HWIO -> OIHW */
function convKernel(kernel: { shape: number[]; data: Float32Array }): { shape: number[]; data: Float32Array } {
  const [kh, kw, cin, cout] = kernel.shape;
  const out = new Float32Array(kernel.data.length);
  for (let h = 0; h < kh; h++) for (let w = 0; w < kw; w++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) {
    out[((o * cin + i) * kh + h) * kw + w] = kernel.data[((h * kw + w) * cin + i) * cout + o];
  }
  return { shape: [cout, cin, kh, kw], data: out };
}

/** (in, out) -> (out, in); with `chw` = [C, H, W] the inputs are also reordered from H,W,C to C,H,W */
function denseKernel(kernel: { shape: number[]; data: Float32Array }, chw?: [number, number, number]): { shape: number[]; data: Float32Array } {
  const [fin, fout] = kernel.shape;
  const out = new Float32Array(kernel.data.length);
  if (!chw) {
    for (let i = 0; i < fin; i++) for (let o = 0; o < fout; o++) out[o * fin + i] = kernel.data[i * fout + o];
  } else {
    const [c, h, w] = chw;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) {
      const kerasIn = (y * w + x) * c + ch;
      const ourIn = (ch * h + y) * w + x;
      for (let o = 0; o < fout; o++) out[o * fin + ourIn] = kernel.data[kerasIn * fout + o];
    }
  }
  return { shape: [fout, fin], data: out };
}

function toCanonical(path: string, layers: KerasLayerWeights[], channelsFirst: boolean): Map<string, WeightTensor> {
  const tensors = new Map<string, WeightTensor>();
  const convs = layers.filter((l) => l.values[0].shape.length === 4);
  const denses = layers.filter((l) => l.values[0].shape.length === 2);
  const other = layers.filter((l) => l.values[0].shape.length !== 4 && l.values[0].shape.length !== 2);
  if (other.length > 0) throw weightsError(path, `expected only Conv2D and Dense layers with weights but found ${other.map((l) => `${l.layer} [${l.values[0].shape.join(',')}]`).join(', ')}`);
  for (const [i, layer] of convs.entries()) {
    const name = `conv${i + 1}`;
    tensors.set(`${name}.weight`, convKernel(layer.values[0]));
    if (layer.values[1]) tensors.set(`${name}.bias`, layer.values[1]);
  }
  const lastChannels = convs.length > 0 ? convs[convs.length - 1].values[0].shape[3] : 0;
  for (const [i, layer] of denses.entries()) {
    const name = `fc${convs.length + i + 1}`;
    let chw: [number, number, number] | undefined;
    if (i === 0 && lastChannels > 0 && !channelsFirst) {
      // Flatten of the last pool's (H, W, C) output; the seed network's pool5 is square
      const inFeatures = layer.values[0].shape[0];
      const side = Math.round(Math.sqrt(inFeatures / lastChannels));
      if (side * side * lastChannels !== inFeatures) {
        throw weightsError(path, `expected ${layer.layer}'s ${inFeatures} inputs to be a square H x W x ${lastChannels} flatten but they are not`);
      }
      if (side > 1) chw = [lastChannels, side, side];
    }
    tensors.set(`${name}.weight`, denseKernel(layer.values[0], chw));
    if (layer.values[1]) tensors.set(`${name}.bias`, layer.values[1]);
  }
  return tensors;
}

function openH5(path: string, h5Path: string, what: string): H5File {
  try {
    return new h5wasm.File(h5Path, 'r');
  } catch (e) {
    throw weightsError(path, `expected ${what} but HDF5 cannot open it (${(e as Error).message}; truncated?)`);
  }
}

export async function readKeras(path: string): Promise<WeightSet> {
  await h5wasm.ready;
  const metadata: Record<string, string> = {};
  let layers: KerasLayerWeights[];
  let channelsFirst = false;
  if (isZip(readHead(path, 4))) {
    const zip = new ZipFile(path);
    let order: string[] = [];
    let weights: Buffer;
    try {
      if (zip.entries.has('config.json')) {
        const configText = zip.read('config.json').toString('utf8');
        channelsFirst = configText.includes('"channels_first"');
        order = layerOrderFromConfig(JSON.parse(configText));
      }
      if (zip.entries.has('metadata.json')) {
        const meta = JSON.parse(zip.read('metadata.json').toString('utf8')) as { keras_version?: string };
        if (meta.keras_version) metadata.keras_version = meta.keras_version;
      }
      weights = zip.read('model.weights.h5');
    } finally {
      zip.close();
    }
    // h5wasm opens files by path: the weights go to a private temporary file for the read
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-keras-'));
    try {
      const h5Path = join(dir, 'model.weights.h5');
      writeFileSync(h5Path, weights);
      const file = openH5(path, h5Path, 'model.weights.h5 in a .keras archive');
      try {
        layers = readKeras3(path, file, order);
      } finally {
        file.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return finish(path, 'keras-v3', layers, channelsFirst, metadata);
  }
  const file = openH5(path, path, 'a Keras .h5 file');
  try {
    const version = file.attrs.keras_version?.value ?? (file.get('model_weights') as InstanceType<typeof h5wasm.Group> | null)?.attrs.keras_version?.value;
    if (version !== undefined) metadata.keras_version = stringList(version)[0];
    const config = file.attrs.model_config?.value;
    if (config !== undefined) channelsFirst = stringList(config)[0].includes('"channels_first"');
    if (file.get('model_weights')) layers = readKeras2(path, file, 'model_weights');
    else if (file.attrs.layer_names) layers = readKeras2(path, file, '');
    else throw weightsError(path, 'expected a Keras .h5 file (model_weights group or layer_names attribute) but found neither');
  } finally {
    file.close();
  }
  return finish(path, 'keras-h5', layers, channelsFirst, metadata);
}

function finish(path: string, format: string, layers: KerasLayerWeights[], channelsFirst: boolean, metadata: Record<string, string>): WeightSet {
  if (layers.length === 0) throw weightsError(path, 'expected Keras layers with weights but found none');
  return { format, path, tensors: toCanonical(path, layers, channelsFirst), preprocess: PREPROCESS.seed, metadata };
}
