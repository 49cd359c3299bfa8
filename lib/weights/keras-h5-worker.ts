// Reads the weights out of a Keras HDF5 file (h5wasm) on a worker thread, for keras.ts. HDF5 runs in a
// worker because damaged files make it misbehave in ways a parser must not pass on: it prints
// 15-30 lines of HDF5-DIAG on stderr (the worker's stderr goes to keras.ts, which keeps one line), it
// can abort or trap (the WebAssembly instance is then dead: only this worker's, not the caller's), and
// it can spin for minutes (keras.ts terminates the worker after a bound).
import { parentPort, workerData } from 'node:worker_threads';
import fs, { statSync } from 'node:fs';
import { DEFLATE_MAX_RATIO, MAX_ZIP_MEMBER_BYTES } from './limits.js';

// HDF5 prints its diagnostics (HDF5-DIAG, 15-30 lines per error) on file descriptor 2 itself: h5wasm is
// built with the raw Node file system, which writes with fs.writeSync(2, ...). That descriptor is the
// process's own stderr, shared with the main thread, so this worker's fs.writeSync keeps what goes to
// it (for one line of the error) and h5wasm is loaded only after the replacement is in place.
let diagnostics = '';
const writeSync = fs.writeSync;
fs.writeSync = ((fd: number, data: string | NodeJS.ArrayBufferView, ...rest: unknown[]) => {
  if (fd !== 2) return (writeSync as (...a: unknown[]) => number)(fd, data, ...rest);
  if (typeof data === 'string') {
    if (diagnostics.length < 65536) diagnostics += data;
    return Buffer.byteLength(data);
  }
  // (fd, buffer, offset, length, position): only the bytes written (the buffer is the whole heap)
  const offset = Number(rest[0] ?? 0);
  const length = rest[1] === undefined ? data.byteLength - offset : Number(rest[1]);
  if (diagnostics.length < 65536) diagnostics += Buffer.from(data.buffer, data.byteOffset + offset, length).toString('utf8');
  return length;
}) as typeof fs.writeSync;
const h5wasm = (await import('h5wasm/node')).default;

type H5File = InstanceType<typeof h5wasm.File>;
type H5Group = InstanceType<typeof h5wasm.Group>;

export interface KerasLayerWeights {
  layer: string;
  /** kernel then bias, in Keras layouts */
  values: { shape: number[]; data: Float32Array }[];
}

export interface KerasH5Request {
  /** the HDF5 file to open (a .h5, or model.weights.h5 taken out of a .keras) */
  h5Path: string;
  /** 'keras2': model_weights or layer_names at the root; 'keras3': layers/<name>/vars */
  layout: 'keras2' | 'keras3';
  /** Keras 3: the layer order from config.json */
  order: string[];
}

export type KerasH5Reply =
  | { layers: KerasLayerWeights[]; metadata: Record<string, string>; channelsFirst: boolean }
  | { error: string; diagnostics: string };

/** An expected problem with the file: its message is what the user reads (after the file name) */
class FileProblem extends Error {}

function toFloat32Array(what: string, value: unknown): Float32Array {
  if (value instanceof Float32Array) return value;
  if (value instanceof Float64Array) return Float32Array.from(value);
  throw new FileProblem(`expected float32 or float64 values for ${what} but found ${value?.constructor?.name ?? typeof value}`);
}

function readDataset(file: H5File, name: string, fileSize: number): { shape: number[]; data: Float32Array } {
  const entity = file.get(name);
  if (!entity || !(entity instanceof h5wasm.Dataset)) throw new FileProblem(`expected an HDF5 dataset ${name} but it is missing`);
  const shape = entity.shape ?? [];
  // the declared size, checked before HDF5 allocates it: never more than the file holds (Keras does
  // not compress weights), nor, with a compression filter, more than DEFLATE could expand it to
  const bytes = shape.reduce((a, b) => a * b, 1) * (entity.metadata.size || 1);
  const bound = entity.filters.length > 0 ? Math.min(fileSize * DEFLATE_MAX_RATIO, MAX_ZIP_MEMBER_BYTES) : fileSize;
  if (!Number.isFinite(bytes) || bytes > bound) {
    throw new FileProblem(`expected dataset ${name} [${shape.join(',')}] to fit in the file (${fileSize} bytes) but it declares ${bytes} bytes`);
  }
  return { shape, data: toFloat32Array(name, entity.value) };
}

function stringList(value: unknown): string[] {
  const items = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return items.map((v) => (typeof v === 'string' ? v : Buffer.from(v as Uint8Array).toString('utf8')));
}

function group(file: H5File, name: string): H5Group | null {
  const g = file.get(name);
  return g instanceof h5wasm.Group ? g : null;
}

/** Keras 2 layout: layer_names on `groupName`, weight_names on each layer group */
function readKeras2(file: H5File, groupName: string, fileSize: number): KerasLayerWeights[] {
  const g = groupName ? group(file, groupName) : file;
  if (!g) throw new FileProblem(`expected the group ${groupName} but it is missing`);
  const layerNames = stringList(g.attrs.layer_names?.value);
  const prefix = groupName ? `${groupName}/` : '';
  const result: KerasLayerWeights[] = [];
  for (const layer of layerNames) {
    const layerGroup = group(file, `${prefix}${layer}`);
    if (!layerGroup) throw new FileProblem(`expected the layer group ${prefix}${layer} listed in layer_names but it is missing`);
    const weightNames = stringList(layerGroup.attrs.weight_names?.value);
    if (weightNames.length === 0) continue;
    result.push({ layer, values: weightNames.map((w) => readDataset(file, `${prefix}${layer}/${w}`, fileSize)) });
  }
  return result;
}

/** Keras 3 layout: layers/<name>/vars/<i>, layer order from config.json */
function readKeras3(file: H5File, order: string[], fileSize: number): KerasLayerWeights[] {
  const layersGroup = group(file, 'layers');
  if (!layersGroup) throw new FileProblem('expected a layers group in model.weights.h5 but it is missing');
  const present = layersGroup.keys();
  // without a config, natural order of the default names (conv2d, conv2d_1, ..., conv2d_10)
  const naturalOrder = [...present].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const names = order.length > 0 ? order.filter((n) => present.includes(n)) : naturalOrder;
  const result: KerasLayerWeights[] = [];
  for (const layer of names) {
    const vars = group(file, `layers/${layer}/vars`);
    if (!vars) continue;
    const keys = vars.keys().sort((a, b) => Number(a) - Number(b));
    if (keys.length === 0) continue;
    result.push({ layer, values: keys.map((k) => readDataset(file, `layers/${layer}/vars/${k}`, fileSize)) });
  }
  return result;
}

async function read(request: KerasH5Request): Promise<KerasH5Reply> {
  await h5wasm.ready;
  const fileSize = statSync(request.h5Path).size;
  let file: H5File;
  try {
    file = new h5wasm.File(request.h5Path, 'r');
  } catch (e) {
    return { error: `HDF5 cannot open it (${(e as Error).message})`, diagnostics };
  }
  try {
    const metadata: Record<string, string> = {};
    if (request.layout === 'keras3') return { layers: readKeras3(file, request.order, fileSize), metadata, channelsFirst: false };
    const modelWeights = group(file, 'model_weights');
    const version = file.attrs.keras_version?.value ?? modelWeights?.attrs.keras_version?.value;
    if (version !== undefined) metadata.keras_version = stringList(version)[0];
    const config = file.attrs.model_config?.value;
    const channelsFirst = config !== undefined && (stringList(config)[0] ?? '').includes('"channels_first"');
    let layers: KerasLayerWeights[];
    if (modelWeights) layers = readKeras2(file, 'model_weights', fileSize);
    else if (file.attrs.layer_names) layers = readKeras2(file, '', fileSize);
    else throw new FileProblem('expected a Keras .h5 file (model_weights group or layer_names attribute) but found neither');
    return { layers, metadata, channelsFirst };
  } catch (e) {
    if (e instanceof FileProblem) return { error: e.message, diagnostics };
    // h5wasm's own errors, traps and aborts of the WebAssembly module
    const message = (e as Error).message ?? String(e);
    // h5wasm's words for a failed lookup inside the file
    return { error: `HDF5 cannot read it (${message.includes('name not defined') ? 'an object the file refers to is unreadable' : message})`, diagnostics };
  } finally {
    try { file.close(); } catch { /* a dead module cannot close */ }
  }
}

if (parentPort) {
  read(workerData as KerasH5Request).then((reply) => {
    const transfer = 'layers' in reply ? reply.layers.flatMap((l) => l.values.map((v) => v.data.buffer as ArrayBuffer)) : [];
    parentPort!.postMessage(reply, transfer);
  }, (e: Error) => parentPort!.postMessage({ error: `HDF5 cannot read it (${e.message})`, diagnostics }));
}
