// What the benchmarks share: `--name value` options, an addon build loaded from a path to
// interleave with the current one (--previous), and tensors of reproducible pseudo-random data.
import { createRequire } from 'node:module';
import type { Binding, NativeTensor } from '../lib/native.js';

const args = process.argv.slice(2);

/** The value after `--name`, or `fallback` */
export function option(name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
}

/** Whether the bare flag `--name` was given */
export const flag = (name: string): boolean => args.includes(`--${name}`);

/** The addon build at `path` (an older alexnet_native.node), or undefined for none */
export function loadBuild(path: string | undefined): Binding | undefined {
  return path ? (createRequire(import.meta.url)(path) as Binding) : undefined;
}

/** A CPU tensor of `length` values in [-0.5, 0.5), the same for the same seed (an LCG: glibc rand's constants) */
export function filled(binding: Binding, length: number, seed: number): NativeTensor {
  const data = new Float32Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) { x = (x * 1103515245 + 12345) % 2147483648; data[i] = x / 2147483648 - 0.5; }
  const t = binding.alloc('cpu', length);
  t.write(data);
  return t;
}
