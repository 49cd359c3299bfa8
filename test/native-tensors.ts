// The NativeTensors a kernel test file allocates, kept in one list so that one `after` disposes them all
// (test/kernels, precision, precision-conv and cuda: the same upload / empty on the CPU or a GPU).
import type { NativeTensor } from '../lib/native.js';

export interface TensorPool {
  /** every tensor made here, and any a test pushes (packed weights), disposed by dispose() */
  live: NativeTensor[];
  /** a tensor holding a copy of `data` */
  upload(data: Float32Array): NativeTensor;
  /** a tensor of `length` elements, not written */
  empty(length: number): NativeTensor;
  dispose(): void;
}

/** `alloc` makes a tensor of `length` elements on the device under test */
export function tensorPool(alloc: (length: number) => NativeTensor): TensorPool {
  const live: NativeTensor[] = [];
  const empty = (length: number): NativeTensor => {
    const t = alloc(length);
    live.push(t);
    return t;
  };
  return {
    live,
    empty,
    upload(data) {
      const t = empty(data.length);
      t.write(data);
      return t;
    },
    dispose() {
      for (const t of live) t.dispose();
    },
  };
}
