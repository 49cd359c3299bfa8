// The library's main object: a loaded network with its preprocessing and labels.
import { AlexnetError, usageError } from './errors.js';
import type { Preprocess } from './model/layers.js';
import type { Model, ForwardOptions } from './model/model.js';
import type { NativeTensor } from './native.js';
import { defaultLabels, type ClassLabel } from './labels.js';
import { availableParallelism } from 'node:os';
import { checkPreprocess, inputSize, loadImageInto, loadInputsSettled, type InputItem } from './image/preprocess.js';
import { imageError, inputName, type ImageInput } from './image/input.js';
import { imageTransforms, type ImageTransforms } from './image/transforms.js';
import { inferShapes, shapeSize } from './model/shapes.js';
import { native } from './native.js';

export interface Prediction {
  index: number;
  wnid: string;
  label: string;
  probability: number;
}

export interface Classification {
  input: string;
  predictions: Prediction[];
}

/** An input that could not be classified: its file, the one-line message and the error's code */
export interface ClassificationFailure {
  input: string;
  error: string;
  code: string;
  /** the Error (not enumerable: left out of JSON) */
  readonly cause?: Error;
}

export const isFailure = (r: Classification | ClassificationFailure): r is ClassificationFailure => 'error' in r;

export interface ClassifyOptions {
  /** predictions per input (default 5) */
  top?: number;
  /** default: the weights' preprocessing */
  preprocess?: Preprocess;
  /** inputs of one shape per forward pass (default 32) */
  batch?: number;
}

/** One item to classify: where it comes from, its [3, H, W] shape, and how it gets into a batch */
interface BatchSource {
  /** the input (path) it belongs to, for input order */
  index: number;
  name: string;
  shape: [number, number, number];
  /** writes the item's values into `out` at element `offset` */
  write(out: NativeTensor | Float32Array, offset: number): Promise<void>;
}

function writeValues(out: NativeTensor | Float32Array, values: Float32Array, offset: number): void {
  if (out instanceof Float32Array) out.set(values, offset);
  else out.write(values, offset);
}

/** the input index of each failure (input order across batches and .npy files) */
const failureIndex = new WeakMap<ClassificationFailure, number>();

/**
 * The failure of one input; an error that does not name the input yet (a batch's, or one thrown from inside an
 * input such as a raw-pixels object's getter) is wrapped in one that does, with the same code.
 * The Error itself rides along, not enumerable, so JSON output stays {input, error, code}.
 */
function failure(index: number, input: string, error: Error): ClassificationFailure {
  const code = (error as NodeJS.ErrnoException).code ?? ((error.cause as NodeJS.ErrnoException | undefined)?.code) ?? 'ERR_INPUT';
  const named = error.message.startsWith(`${input}:`) ? error : Object.assign(new Error(`${input}: ${error.message}`, { cause: error }), { code });
  const f = Object.defineProperty({ input, error: named.message, code }, 'cause', { value: named, enumerable: false }) as ClassificationFailure;
  failureIndex.set(f, index);
  return f;
}

/** the failure of the lowest input index, if any */
function firstFailure(results: (Classification | ClassificationFailure | undefined)[]): ClassificationFailure | undefined {
  let first: ClassificationFailure | undefined;
  for (const r of results) {
    if (r && isFailure(r) && (!first || failureIndex.get(r)! < failureIndex.get(first)!)) first = r;
  }
  return first;
}

/**
 * softmax over each row of a [rows, cols] matrix, in float64 for the sums. Part of the public API (for
 * outputs a caller holds); the library's own probabilities come from the native softmax at the end of
 * the forward plan.
 */
export function softmaxRows(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, values[r * cols + c]);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += Math.exp(values[r * cols + c] - max);
    for (let c = 0; c < cols; c++) out[r * cols + c] = Math.exp(values[r * cols + c] - max) / sum;
  }
  return out;
}

/** indices of the k largest values, ties to the lower index (as torch.topk on CPU in practice) */
export function topK(row: Float32Array, k: number): number[] {
  const idx = Array.from(row.keys());
  idx.sort((a, b) => row[b] - row[a] || a - b);
  return idx.slice(0, Math.min(k, row.length));
}

export class Classifier {
  readonly model: Model;
  readonly preprocess: Preprocess;
  readonly labels: ClassLabel[];
  /** the weights' format ('safetensors', 'pytorch-zip', 'random', ...) */
  readonly format: string;

  constructor(model: Model, preprocess: Preprocess, labels: ClassLabel[] | undefined, format: string) {
    this.model = model;
    this.preprocess = preprocess;
    this.format = format;
    const classes = model.arch.numClasses;
    if (labels && labels.length !== classes) {
      throw new AlexnetError(`Expected ${classes} labels for a ${classes}-class head but received ${labels.length}`, 'ERR_LABELS');
    }
    this.labels = labels ?? defaultLabels(classes);
  }

  get arch() {
    return this.model.arch;
  }

  /**
   * Raw network output [N, classes] for a [N, C, H, W] tensor (probabilities or logits: arch.output); data is
   * host data or a NativeTensor on the model's device (Model.forward)
   */
  forward(data: Float32Array | NativeTensor, shape: number[], options?: ForwardOptions): Promise<Float32Array> {
    return this.model.forward(data, shape, options);
  }

  /**
   * Class probabilities [N, classes]: where the network outputs logits, its plan ends with the native
   * softmax (Model.forward `probabilities`); data as forward's
   */
  probabilities(data: Float32Array | NativeTensor, shape: number[]): Promise<Float32Array> {
    return this.forward(data, shape, { probabilities: true });
  }

  /**
   * Whether the network takes an input of height x width with these weights: the layers' shapes infer and
   * every parameter keeps its shape (a 224x224 input to seed reaches fc6 with 6400 features, not 9216)
   */
  acceptsInputSize(height: number, width: number): boolean {
    const arch = this.model.arch;
    if (height === arch.input[1] && width === arch.input[2]) return true;
    try {
      const expected = inferShapes(arch);
      const shapes = inferShapes(arch, [height, width]);
      return shapes.every((layer, i) => [...layer.params].every(([name, shape]) =>
        expected[i].params.get(name)?.join(',') === shape.join(',')));
    } catch {
      return false;
    }
  }

  /** Preprocessed items -> predictions; items of equal shape run as one batch */
  async classifyItems(items: InputItem[], top = 5, batchSize = 32): Promise<Classification[]> {
    const sources = items.map((item, index): BatchSource => ({
      index, name: item.name, shape: item.shape, write: async (out, offset) => writeValues(out, item.data, offset),
    }));
    const results = await this.classifySources(sources, top, batchSize, 'stop');
    const failed = firstFailure(results);
    if (failed) throw failed.cause;
    return results as Classification[];
  }

  /**
   * This model's preprocessing as a function (torchvision's `weights.transforms()`): an image file, encoded
   * bytes or raw pixels to the float32 [3, H, W] tensor forward() takes, one image at a time
   */
  transforms(): ImageTransforms {
    return imageTransforms(this.preprocess);
  }

  /**
   * Decode, preprocess and classify images: files (JPEG, PNG, WebP, BMP, GIF, TIFF) or preprocessed .npy
   * tensors by path, Buffers/Uint8Arrays of encoded images, or raw pixels `{ data, width, height, channels }`;
   * `batch` images (of one shape) per forward pass (default 32). A result's `input` is the path, the input's
   * `name`, else `<buffer N>` with N its index. The first input that fails (in input order) is thrown.
   */
  async classify(paths: ImageInput[], options: ClassifyOptions = {}): Promise<Classification[]> {
    const results = await this.classifyPaths(paths, options, 'stop');
    const failed = firstFailure(results);
    if (failed) throw failed.cause;
    return results as Classification[];
  }

  /**
   * classify() that goes on past inputs that fail: every good input classified, each bad one a
   * ClassificationFailure in its place (input order kept), as `classify a.jpg truncated.jpg b.jpg` does.
   */
  classifyEach(paths: ImageInput[], options: ClassifyOptions = {}): Promise<(Classification | ClassificationFailure)[]> {
    return this.classifyPaths(paths, options, 'continue');
  }

  /**
   * Images are decoded and preprocessed when their batch runs, straight into the batch's input tensor (the
   * NativeTensor the forward pass reads: no Float32Array per image, no copy into a batch and back into native
   * memory); .npy files are read first (their shape decides their batch)
   */
  private async classifyPaths(paths: ImageInput[], options: ClassifyOptions, onFailure: 'stop' | 'continue'): Promise<(Classification | ClassificationFailure)[]> {
    const batch = options.batch ?? 32;
    if (!Number.isInteger(batch) || batch < 1) throw usageError(`Expected a positive integer for batch but received ${batch}`);
    const p = options.preprocess ?? this.preprocess;
    // the batch tensor is allocated from the crop: an absurd one is refused before that, not by the first image
    checkPreprocess(p);
    const [height, width] = inputSize(p);
    const shape: [number, number, number] = [3, height, width];
    const isNpy = (input: ImageInput): input is string => typeof input === 'string' && input.toLowerCase().endsWith('.npy');
    const npy = await loadInputsSettled(paths.filter(isNpy), p);
    let nextNpy = 0;
    const loadFailures: ClassificationFailure[] = [];
    const sources: BatchSource[] = [];
    paths.forEach((input, index) => {
      // buffers without a name are told apart by their place in the list
      const name = inputName(input, index);
      if (!isNpy(input)) {
        sources.push({ index, name, shape, write: (out, offset) => loadImageInto(input, p, out, offset, 3 * height * width, {}, name) });
        return;
      }
      const settled = npy[nextNpy++];
      if (settled.error) loadFailures.push(failure(index, name, settled.error));
      for (const item of settled.items ?? []) {
        sources.push({ index, name: item.name, shape: item.shape, write: async (out, offset) => writeValues(out, item.data, offset) });
      }
    });
    const results = await this.classifySources(sources, options.top ?? 5, batch, onFailure, loadFailures);
    // input order: a .npy that failed to load stands where its items would have. 'stop' leaves holes where
    // nothing ran; forEach skips them (spreading the sparse array would make them undefined entries)
    const all: { index: number; result: Classification | ClassificationFailure }[] = loadFailures.map((f) => ({ index: failureIndex.get(f)!, result: f }));
    results.forEach((result, i) => all.push({ index: sources[i].index, result }));
    all.sort((a, b) => a.index - b.index);
    return all.map((r) => r.result);
  }

  /**
   * Sources of one shape run as batches of up to `batchSize`, each written straight into the batch's input
   * tensor (a CPU NativeTensor; host memory for other devices, uploaded by forward). 'stop': at the first
   * failure nothing more runs (results then have holes; `known` failures count as found already).
   */
  private async classifySources(sources: BatchSource[], top: number, batchSize: number, onFailure: 'stop' | 'continue',
    known: ClassificationFailure[] = []): Promise<(Classification | ClassificationFailure)[]> {
    const results: (Classification | ClassificationFailure)[] = new Array(sources.length);
    const groups = new Map<string, number[]>();
    sources.forEach((source, i) => {
      const key = source.shape.join('x');
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push(i);
    });
    // the network takes the shape or not: known before anything is decoded
    let firstFailed = Math.min(Infinity, ...known.map((f) => failureIndex.get(f)!));
    const runnable: number[][] = [];
    for (const indices of groups.values()) {
      const [, height, width] = sources[indices[0]].shape;
      if (this.acceptsInputSize(height, width)) {
        runnable.push(indices);
        continue;
      }
      const [h, w] = this.model.arch.input.slice(1);
      // each input under its own name (one shared error would read "b.npy: a.npy: expected ...")
      const reason = `expected ${h}x${w} input for ${this.model.arch.name} but found ${height}x${width}`;
      for (const i of indices) results[i] = failure(sources[i].index, sources[i].name, imageError(sources[i].name, reason));
      firstFailed = Math.min(firstFailed, sources[indices[0]].index);
    }
    const classes = this.model.arch.numClasses;
    const device = this.model.device;
    const concurrency = Math.min(4, availableParallelism());
    for (const indices of runnable) {
      const per = shapeSize(sources[indices[0]].shape);
      const rows = Math.min(batchSize, indices.length);
      // decodePreprocessJpeg writes into CPU tensors only: another device's batch goes through host memory
      const input: NativeTensor | Float32Array = device === 'cpu' ? native(device).alloc(device, rows * per) : new Float32Array(rows * per);
      try {
        for (let start = 0; start < indices.length; start += batchSize) {
          const chunk = indices.slice(start, start + batchSize);
          if (onFailure === 'stop' && sources[chunk[0]].index > firstFailed) break;
          // a few decodes in flight (they run on the addon's worker threads), each into its own row
          let next = 0;
          const failed = new Set<number>();
          const writer = async () => {
            while (next < chunk.length) {
              const row = next++;
              const source = sources[chunk[row]];
              try {
                await source.write(input, row * per);
              } catch (error) {
                results[chunk[row]] = failure(source.index, source.name, error as Error);
                failed.add(row);
                firstFailed = Math.min(firstFailed, source.index);
              }
            }
          };
          await Promise.all(Array.from({ length: Math.min(concurrency, chunk.length) }, writer));
          if (onFailure === 'stop' && failed.size > 0) break;
          if (failed.size === chunk.length) continue;
          // rows that failed hold stale values: they run with the others and their outputs are dropped
          const data = input instanceof Float32Array ? input.subarray(0, chunk.length * per) : input;
          let probs: Float32Array;
          try {
            probs = await this.probabilities(data, [chunk.length, ...sources[chunk[0]].shape]);
          } catch (error) {
            // a shape the network cannot take fails this batch's inputs only (classifyEach)
            if (onFailure === 'stop' || !['ERR_SHAPE', 'ERR_IMAGE'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
            for (const i of chunk) results[i] = failure(sources[i].index, sources[i].name, error as Error);
            continue;
          }
          chunk.forEach((i, row) => {
            if (failed.has(row)) return;
            const scores = probs.subarray(row * classes, (row + 1) * classes);
            results[i] = {
              input: sources[i].name,
              predictions: topK(scores, top).map((k) => ({ index: k, wnid: this.labels[k].wnid, label: this.labels[k].label, probability: scores[k] })),
            };
          });
        }
      } finally {
        if (!(input instanceof Float32Array)) input.dispose();
      }
    }
    return results;
  }

  dispose(): void {
    this.model.dispose();
  }
}
