// A worker thread of the score pipeline: decodes and preprocesses one batch of images straight into
// the batch tensor it was handed (an ArrayBuffer moved here and back, never copied): each image is
// written by loadImageInto at its row (a JPEG by the addon's fused decode + preprocess, with no
// Float32Array of its own and no copy into the batch), good images packed from row 0; the reply says which
// image each row holds and why the others failed. The main thread writes the batch into the model's input
// once (Model.forward).
import { parentPort } from 'node:worker_threads';
import { join } from 'node:path';
import { loadImageInto } from '../image/preprocess.js';
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

/** images decoded at once per worker: the next one is on its way while one finishes (as before the copy went) */
const IN_FLIGHT = 2;

async function handle(request: DecodeRequest): Promise<DecodeReply> {
  const { paths, perImage, preprocess } = request;
  const tensor = new Float32Array(request.buffer);
  const errors: { index: number; message: string }[] = [];
  const fullPath = (i: number) => join(request.root, paths[i]);
  // image i goes to row i; a failed image leaves a hole that the good rows after it close up below
  const started = process.hrtime.bigint();
  const ok = new Array<boolean>(paths.length).fill(false);
  let next = 0;
  const decodeNext = async (): Promise<void> => {
    while (next < paths.length) {
      const i = next++;
      try {
        await loadImageInto(fullPath(i), preprocess, tensor, i * perImage, perImage, { exifOrientation: request.exifOrientation });
        ok[i] = true;
      } catch (e) {
        // the record names the file already: keep the reason only
        const prefix = `${fullPath(i)}: `;
        const message = (e as Error).message;
        errors.push({ index: i, message: message.startsWith(prefix) ? message.slice(prefix.length) : message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, paths.length) }, decodeNext));
  const decoded = process.hrtime.bigint();
  // good images packed from row 0: a copy only for the rows after a failed image
  const rows: number[] = [];
  ok.forEach((good, i) => {
    if (!good) return;
    if (i !== rows.length) tensor.copyWithin(rows.length * perImage, i * perImage, (i + 1) * perImage);
    rows.push(i);
  });
  errors.sort((a, b) => a.index - b.index);
  // JPEGs decode and preprocess in one native call: decodeNs holds both, preprocessNs the packing
  return {
    id: request.id, buffer: request.buffer, rows, errors,
    decodeNs: Number(decoded - started), preprocessNs: Number(process.hrtime.bigint() - decoded),
  };
}

parentPort!.on('message', (request: DecodeRequest) => {
  handle(request).then((reply) => parentPort!.postMessage(reply, [reply.buffer]));
});
