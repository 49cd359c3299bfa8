// The library's main object: a loaded network with its preprocessing and labels.
import { AlexnetError, usageError } from './errors.js';
import type { Preprocess } from './model/layers.js';
import type { Model, ForwardOptions } from './model/model.js';
import type { NativeTensor } from './native.js';
import { defaultLabels, type ClassLabel } from './labels.js';
import { loadInputs, loadInputsSettled, type InputItem } from './image/preprocess.js';
import { imageError } from './image/input.js';
import { inferShapes } from './model/shapes.js';

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

/** softmax over each row of a [rows, cols] matrix, in float64 for the sums */
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

  /** Class probabilities [N, classes] (softmax applied when the network outputs logits) */
  async probabilities(data: Float32Array, shape: number[]): Promise<Float32Array> {
    const out = await this.forward(data, shape);
    const classes = this.model.arch.numClasses;
    return this.model.arch.output === 'logits' ? softmaxRows(out, shape[0], classes) : out;
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
    const results: Classification[] = new Array(items.length);
    const groups = new Map<string, number[]>();
    items.forEach((item, i) => {
      const key = item.shape.join('x');
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push(i);
    });
    const classes = this.model.arch.numClasses;
    for (const indices of groups.values()) {
      const [, height, width] = items[indices[0]].shape;
      if (!this.acceptsInputSize(height, width)) {
        const [h, w] = this.model.arch.input.slice(1);
        throw imageError(items[indices[0]].name, `expected ${h}x${w} input for ${this.model.arch.name} but found ${height}x${width}`);
      }
      for (let start = 0; start < indices.length; start += batchSize) {
        const chunk = indices.slice(start, start + batchSize);
        const itemShape = items[chunk[0]].shape;
        const per = items[chunk[0]].data.length;
        const batch = new Float32Array(per * chunk.length);
        chunk.forEach((idx, j) => batch.set(items[idx].data, j * per));
        const probs = await this.probabilities(batch, [chunk.length, ...itemShape]);
        chunk.forEach((idx, j) => {
          const row = probs.subarray(j * classes, (j + 1) * classes);
          results[idx] = {
            input: items[idx].name,
            predictions: topK(row, top).map((k) => ({ index: k, wnid: this.labels[k].wnid, label: this.labels[k].label, probability: row[k] })),
          };
        });
      }
    }
    return results;
  }

  /**
   * Decode, preprocess and classify image files (JPEG, PNG) or preprocessed .npy tensors, `batch` images
   * (of one shape) per forward pass (default 32)
   */
  async classify(paths: string[], options: { top?: number; preprocess?: Preprocess; batch?: number } = {}): Promise<Classification[]> {
    const batch = options.batch ?? 32;
    if (!Number.isInteger(batch) || batch < 1) throw usageError(`Expected a positive integer for batch but received ${batch}`);
    const items = await loadInputs(paths, options.preprocess ?? this.preprocess);
    return this.classifyItems(items, options.top ?? 5, batch);
  }

  /**
   * classify() that goes on past inputs that fail: every good input classified, each bad one a
   * ClassificationFailure in its place (input order kept), as `classify a.jpg truncated.jpg b.jpg` does.
   */
  async classifyEach(paths: string[], options: { top?: number; preprocess?: Preprocess; batch?: number } = {}): Promise<(Classification | ClassificationFailure)[]> {
    const codeOf = (error: Error): string => (error as NodeJS.ErrnoException).code ?? ((error.cause as NodeJS.ErrnoException | undefined)?.code) ?? 'ERR_INPUT';
    // the Error itself rides along, not enumerable, so JSON output stays {input, error, code}
    const failure = (input: string, error: Error): ClassificationFailure =>
      Object.defineProperty({ input, error: error.message, code: codeOf(error) }, 'cause', { value: error, enumerable: false });
    const settled = await loadInputsSettled(paths, options.preprocess ?? this.preprocess);
    // inputs of one shape run together; a shape the network cannot take (a .npy too small) fails its own inputs only
    const byShape = new Map<string, InputItem[]>();
    for (const item of settled.flatMap((s) => s.items ?? [])) {
      const key = item.shape.join('x');
      if (!byShape.has(key)) byShape.set(key, []);
      byShape.get(key)!.push(item);
    }
    const done = new Map<InputItem, Classification | ClassificationFailure>();
    for (const items of byShape.values()) {
      try {
        const results = await this.classifyItems(items, options.top ?? 5, options.batch ?? 32);
        items.forEach((item, i) => done.set(item, results[i]));
      } catch (error) {
        if (!['ERR_SHAPE', 'ERR_IMAGE'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
        // the error names the first input of the group (classifyItems' size check): each other input gets the reason under its own name
        const message = (error as Error).message;
        const reason = message.startsWith(`${items[0].name}: `) ? message.slice(items[0].name.length + 2) : message;
        for (const item of items) {
          done.set(item, failure(item.name, message.startsWith(`${item.name}: `) ? error as Error : new Error(`${item.name}: ${reason}`, { cause: error })));
        }
      }
    }
    return settled.flatMap((s) => (s.error ? [failure(s.input, s.error)] : s.items!.map((item) => done.get(item)!)));
  }

  dispose(): void {
    this.model.dispose();
  }
}
