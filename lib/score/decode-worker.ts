// A worker thread of the score pipeline: decodes and preprocesses one batch of images straight into
// the batch tensor it was handed (an ArrayBuffer moved here and back, never copied), good images
// packed from row 0, and says which image each row holds and why the others failed.
import { parentPort } from 'node:worker_threads';
import { join } from 'node:path';
import { loadImageTensor } from '../image/preprocess.js';
import type { Preprocess } from '../model/layers.js';

export interface DecodeRequest {
  id: number;
  root: string;
  paths: string[];
  /** room for paths.length tensors of `perImage` floats */
  buffer: ArrayBuffer;
  perImage: number;
  preprocess: Preprocess;
  exifOrientation: boolean;
}

export interface DecodeReply {
  id: number;
  buffer: ArrayBuffer;
  /** rows[r] = index into paths of the image in row r */
  rows: number[];
  errors: { index: number; message: string }[];
  decodeNs: number;
  preprocessNs: number;
}

type Decoded = { input: Float32Array } | { error: Error };

function decodeSafely(path: string, preprocess: Preprocess, exifOrientation: boolean): Promise<Decoded> {
  // never rejects. JPEGs decode and preprocess in one native call on the addon's threads (the next
  // image is already on its way while this one is copied into the batch); other images in JS.
  return loadImageTensor(path, preprocess, { exifOrientation }).then((input) => ({ input }), (error: Error) => ({ error }));
}

async function handle(request: DecodeRequest): Promise<DecodeReply> {
  const { paths, perImage, preprocess } = request;
  const tensor = new Float32Array(request.buffer);
  const rows: number[] = [];
  const errors: { index: number; message: string }[] = [];
  // JPEGs decode and preprocess in one native call: decodeNs holds both, preprocessNs the copy into the batch
  let decodeNs = 0n;
  let preprocessNs = 0n;
  let started = process.hrtime.bigint();
  const fullPath = (i: number) => join(request.root, paths[i]);
  let pending = paths.length ? decodeSafely(fullPath(0), preprocess, request.exifOrientation) : undefined;
  for (let i = 0; i < paths.length; i++) {
    const decoded = await pending!;
    const decodedAt = process.hrtime.bigint();
    decodeNs += decodedAt - started;
    started = decodedAt;
    pending = i + 1 < paths.length ? decodeSafely(fullPath(i + 1), preprocess, request.exifOrientation) : undefined;
    if ('error' in decoded) {
      // the record names the file already: keep the reason only
      const prefix = `${fullPath(i)}: `;
      const message = decoded.error.message;
      errors.push({ index: i, message: message.startsWith(prefix) ? message.slice(prefix.length) : message });
      continue;
    }
    try {
      const input = decoded.input;
      if (input.length !== perImage) throw new Error(`preprocessing gave ${input.length} values, expected ${perImage}`);
      tensor.set(input, rows.length * perImage);
      rows.push(i);
    } catch (e) {
      errors.push({ index: i, message: (e as Error).message });
    }
    const done = process.hrtime.bigint();
    preprocessNs += done - started;
    started = done;
  }
  return { id: request.id, buffer: request.buffer, rows, errors, decodeNs: Number(decodeNs), preprocessNs: Number(preprocessNs) };
}

parentPort!.on('message', (request: DecodeRequest) => {
  handle(request).then((reply) => parentPort!.postMessage(reply, [reply.buffer]));
});
