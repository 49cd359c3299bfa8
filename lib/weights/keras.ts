// Keras weights for the seed architecture:
//  - .h5 from Keras 2 `model.save` (weights under /model_weights) or `save_weights` (at the root): the
//    attribute layer_names lists layers in model order, each layer group's weight_names its datasets
//    (model_weights/conv2d/conv2d/kernel:0);
//  - .keras from Keras 3: a zip of config.json (layer order) and model.weights.h5 (layers/<name>/vars/0, 1).
// Layouts are converted: conv kernels HWIO -> OIHW, Dense kernels (in, out) -> (out, in), and the first
// Dense after the convolutions has its inputs reordered from Keras' H,W,C flatten to the engine's C,H,W.
// HDF5 itself is read on a worker thread (keras-h5-worker.ts), bounded in time, its diagnostics kept off stderr.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PREPROCESS } from '../model/archs.js';
import type { KerasH5Reply, KerasH5Request, KerasLayerWeights } from './keras-h5-worker.js';
import { MAX_JSON_MEMBER_BYTES } from './limits.js';
import type { WeightSet, WeightTensor } from './types.js';
import { weightsError } from './types.js';
import { ZipFile, isZip, readHead } from './zip.js';

/**
 * How long HDF5 may take to read one file before it is stopped (damaged files can make it spin for
 * minutes); a real seed .h5 (250 MB) reads in about 1 s. ALEXNET_CLI_H5_TIMEOUT_S overrides.
 */
export const H5_READ_TIMEOUT_S = 120;

function layerOrderFromConfig(config: unknown): string[] {
  const layers = (config as { config?: { layers?: unknown } })?.config?.layers;
  if (!Array.isArray(layers)) return [];
  return layers.map((l) => {
    const entry = (l ?? {}) as { name?: unknown; config?: { name?: unknown } };
    const name = entry.config?.name ?? entry.name;
    return typeof name === 'string' ? name : '';
  }).filter((n) => n !== '');
}

function parseJsonMember(path: string, name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw weightsError(path, `expected ${name} in the .keras archive to be JSON but it does not parse (${(e as Error).message})`);
  }
}

/** What HDF5's first error says at its deepest level ("File has been truncated"), for the message */
function diagnosis(diagnostics: string): string | undefined {
  const first = diagnostics.split('HDF5-DIAG:')[1] ?? '';
  const minors = [...first.matchAll(/minor: (.+)/g)];
  return minors.length ? minors[minors.length - 1][1].trim() : undefined;
}

/** Runs keras-h5-worker.ts on `request`; `path` (the user's file) and `what` name it in errors */
function readH5InWorker(path: string, what: string, request: KerasH5Request): Promise<Extract<KerasH5Reply, { layers: unknown }>> {
  const timeoutS = Number(process.env.ALEXNET_CLI_H5_TIMEOUT_S) || H5_READ_TIMEOUT_S;
  return new Promise((resolve, reject) => {
    // stderr: true keeps HDF5-DIAG off the user's terminal; one line of it goes into the error
    const worker = new Worker(new URL('./keras-h5-worker.js', import.meta.url), { workerData: request, stderr: true, stdout: true });
    let stderr = '';
    worker.stderr.on('data', (d: Buffer) => { if (stderr.length < 65536) stderr += d.toString(); });
    worker.stdout.resume();
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      f();
    };
    const fail = (message: string) => finish(() => reject(weightsError(path, `expected ${what} but ${message}`)));
    const timer = setTimeout(() => fail(`HDF5 did not finish reading it in ${timeoutS} s (a damaged file?)`), timeoutS * 1000);
    worker.on('message', (reply: KerasH5Reply) => {
      if ('error' in reply) {
        const why = diagnosis(reply.diagnostics + stderr);
        fail(`${reply.error.split('\n')[0]}${why && !reply.error.includes(why) ? ` (HDF5: ${why})` : ''}; damaged or truncated?`);
      } else finish(() => resolve(reply));
    });
    worker.on('error', (e: Error) => fail(`HDF5 stopped reading it (${e.message})`));
    worker.on('exit', (code) => fail(`HDF5 stopped reading it (exit code ${code})`));
  });
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

export async function readKeras(path: string): Promise<WeightSet> {
  if (isZip(readHead(path, 4))) {
    const zip = new ZipFile(path);
    const metadata: Record<string, string> = {};
    let order: string[] = [];
    let channelsFirst = false;
    let weights: Buffer;
    try {
      if (zip.entries.has('config.json')) {
        const configText = zip.read('config.json', MAX_JSON_MEMBER_BYTES).toString('utf8');
        channelsFirst = configText.includes('"channels_first"');
        order = layerOrderFromConfig(parseJsonMember(path, 'config.json', configText));
      }
      if (zip.entries.has('metadata.json')) {
        const meta = parseJsonMember(path, 'metadata.json', zip.read('metadata.json', MAX_JSON_MEMBER_BYTES).toString('utf8')) as { keras_version?: unknown } | null;
        if (typeof meta?.keras_version === 'string') metadata.keras_version = meta.keras_version;
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
      const { layers } = await readH5InWorker(path, 'model.weights.h5 in a .keras archive', { h5Path, layout: 'keras3', order });
      return finish(path, 'keras-v3', layers, channelsFirst, metadata);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const { layers, metadata, channelsFirst } = await readH5InWorker(path, 'a Keras .h5 file', { h5Path: path, layout: 'keras2', order: [] });
  return finish(path, 'keras-h5', layers, channelsFirst, metadata);
}

function finish(path: string, format: string, layers: KerasLayerWeights[], channelsFirst: boolean, metadata: Record<string, string>): WeightSet {
  if (layers.length === 0) throw weightsError(path, 'expected Keras layers with weights but found none');
  return { format, path, tensors: toCanonical(path, layers, channelsFirst), preprocess: PREPROCESS.seed, metadata };
}
