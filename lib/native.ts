// The ONE place that loads the addon, plus the typed Binding interface every other module uses.
//
// Buffers are device-tagged handles (`NativeTensor`): activations and weights live in native memory
// (CPU now, CUDA later) and JS only passes handles and already-checked dims to the primitives.
// Every primitive returns a Promise (it runs on a Napi::AsyncWorker, off the main thread) that
// resolves with the native compute time in nanoseconds (steady clock around the kernel), which the
// profiler uses; it costs two clock reads.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Isa = 'avx512' | 'avx2' | 'portable';

export interface CpuFeatures {
  /** what the CPU reports (cpuid) */
  avx2: boolean;
  fma: boolean;
  avx512f: boolean;
  /** the kernel set in use now: the best supported, or the one forced by ALEXNET_CLI_ISA / setIsa() */
  isa: Isa;
  /** kernel sets this CPU can run, best first */
  supported: Isa[];
  /** kernel sets compiled into this build */
  compiled: Isa[];
}

/** A float32 buffer in native memory on one device. */
export interface NativeTensor {
  readonly device: string;
  /** number of float32 elements */
  readonly length: number;
  /** copy host data in at element offset (default 0) */
  write(src: Float32Array, offset?: number): void;
  /** copy out `length` elements from element offset (defaults: whole buffer) */
  read(offset?: number, length?: number): Float32Array;
  /** free the native memory now (also freed by GC); using it afterwards throws ERR_DISPOSED */
  dispose(): void;
}

/**
 * conv2d dims, in this order (Int32Array of 16):
 * [batch, inChannels, inHeight, inWidth, outChannels, kernelH, kernelW, strideH, strideW,
 *  padTop, padLeft, padBottom, padRight, groups, outHeight, outWidth]
 * weight is OIHW [outChannels, inChannels/groups, kernelH, kernelW]; bias [outChannels] or null.
 */
export const CONV2D_DIMS = 16;
/**
 * pool2d dims (Int32Array of 14):
 * [batch, channels, inHeight, inWidth, kernelH, kernelW, strideH, strideW,
 *  padTop, padLeft, padBottom, padRight, outHeight, outWidth]
 * Output size (floor or ceil rounding) is computed in TypeScript; windows are clipped to the input.
 */
export const POOL2D_DIMS = 14;

export interface Binding {
  version: string;
  backends(): string[];
  cpuFeatures(): CpuFeatures;
  /** force a kernel set ('auto' = best supported); throws ERR_ISA if the CPU cannot run it */
  setIsa(isa: Isa | 'auto'): Isa;
  setThreads(threads: number): void;
  getThreads(): number;

  alloc(device: string, length: number): NativeTensor;
  /** read `length` float32 (little-endian) elements at byteOffset of a file straight into a new buffer */
  fromFile(device: string, path: string, byteOffset: number, length: number): Promise<NativeTensor>;

  conv2d(dims: Int32Array, input: NativeTensor, weight: NativeTensor, bias: NativeTensor | null,
    output: NativeTensor, relu: boolean): Promise<number>;
  maxPool2d(dims: Int32Array, input: NativeTensor, output: NativeTensor): Promise<number>;
  /** average pool; countIncludePad as ONNX count_include_pad */
  avgPool2d(dims: Int32Array, input: NativeTensor, output: NativeTensor, countIncludePad: boolean): Promise<number>;
  /** dims [batch, channels, height, width, size]; y = x / (k + alpha/size * sum x^2)^beta (ONNX/Caffe) */
  lrn(dims: Int32Array, input: NativeTensor, output: NativeTensor, alpha: number, beta: number, k: number): Promise<number>;
  /** dims [rows, inFeatures, outFeatures]: output[rows,out] = input[rows,in] x weight[out,in]^T + bias */
  linear(dims: Int32Array, input: NativeTensor, weight: NativeTensor, bias: NativeTensor | null,
    output: NativeTensor, relu: boolean): Promise<number>;
  /** dims [rows, cols]: softmax over each row */
  softmax(dims: Int32Array, input: NativeTensor, output: NativeTensor): Promise<number>;
  /** dims [batch, channels, inHeight, inWidth, outHeight, outWidth]: torch AdaptiveAvgPool2d */
  adaptiveAvgPool2d(dims: Int32Array, input: NativeTensor, output: NativeTensor): Promise<number>;
  /** elementwise max(x, 0), in place allowed */
  relu(input: NativeTensor, output: NativeTensor): Promise<number>;

  /**
   * Linear weights [outFeatures, inFeatures] packed ONCE at load into the layout the CPU kernels stream
   * (same size); linear() takes the result in place of the weight. Consumes `weight` (packed in place,
   * so no second copy exists; the handle reads as disposed). dims [outFeatures, inFeatures]. CPU only.
   */
  packLinear?(dims: Int32Array, weight: NativeTensor): NativeTensor;
  /** a plain [outFeatures, inFeatures] copy of weights packed by packLinear */
  unpackLinear?(dims: Int32Array, packed: NativeTensor): NativeTensor;
  /** fp32 GFLOP/s of a register-only FMA loop of the current ISA on the kernel threads (threads = getThreads()) */
  peakGflops?(threads?: number): number;
}

const here = dirname(fileURLToPath(import.meta.url));

function locateAddon(): string {
  // dist/lib/native.js -> <root>/build/Release/alexnet_native.node
  const candidates = [
    join(here, '..', '..', 'build', 'Release', 'alexnet_native.node'),
    join(here, '..', 'build', 'Release', 'alexnet_native.node'),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    const err = new Error(`Expected the native addon at ${candidates[0]} but it is missing: run "npm install" (it builds with cmake-js)`);
    (err as NodeJS.ErrnoException).code = 'ERR_ADDON';
    throw err;
  }
  return found;
}

let binding: Binding | undefined;

/**
 * The binding whose primitives run on `device` ('cpu' default). Every backend exposes the same
 * primitives; a CUDA backend (a separately loaded library) answers for 'cuda' / 'cuda:N'.
 */
export function native(device = 'cpu'): Binding {
  if (device !== 'cpu') {
    const err = new Error(`Expected a device this build supports (cpu) but received ${device}`);
    (err as NodeJS.ErrnoException).code = 'ERR_DEVICE';
    throw err;
  }
  if (!binding) {
    const require = createRequire(import.meta.url);
    binding = require(locateAddon()) as Binding;
  }
  return binding;
}
