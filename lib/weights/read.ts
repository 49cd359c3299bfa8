// Reading weight files: one way to open them, with the one message a file that cannot be opened gets
// (`<path>: cannot open: <reason>`, ERR_WEIGHTS), the handle closed whatever the reader throws, and reads
// of an exact byte range.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { weightsError } from './types.js';

/** A read-only handle on a weights file (the caller closes it) */
export function openWeightsHandle(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw weightsError(path, `cannot open: ${(e as Error).message}`);
  }
}

/** `read` with an open handle on the file, closed when it returns or throws */
export function withWeightsHandle<T>(path: string, read: (fd: number) => T): T {
  const fd = openWeightsHandle(path);
  try {
    return read(fd);
  } finally {
    closeSync(fd);
  }
}

/** The whole file, for the formats decoded from one buffer (ONNX, Caffe, .npy) */
export function readWeightsFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw weightsError(path, `cannot open: ${(e as Error).message}`);
  }
}

/** `length` bytes from `position`, or fewer where the file ends first */
export function readExact(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/** `length` bytes from `position`, all of them: a file that ends first is an ERR_WEIGHTS naming it */
export function readRange(fd: number, path: string, length: number, position: number): Buffer {
  const bytes = readExact(fd, length, position);
  if (bytes.length !== length) throw weightsError(path, `expected ${length} bytes at offset ${position} but the file ends early`);
  return bytes;
}
