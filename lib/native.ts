// The ONE place that loads the addon, plus the typed Binding interface every other module uses.
//
// Buffers are device-tagged handles (`NativeTensor`): activations and weights live in native memory
// (CPU now, CUDA later) and JS only passes handles and already-checked dims to the primitives.
// Every primitive returns a Promise (it runs on a Napi::AsyncWorker, off the main thread) that
// resolves with the native compute time in nanoseconds (steady clock around the kernel), which the
// profiler uses; it costs two clock reads.
import { AlexnetError } from './errors.js';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Kernel sets. The -vnni sets add the dot-product instructions of the bf16/int8 kernels: 'avx2-vnni' =
 * AVX2 + AVX-VNNI, 'avx512-vnni' = AVX-512 + AVX512_VNNI (and vdpbf16ps where the CPU has AVX512_BF16);
 * their fp32 kernels are those of 'avx2' / 'avx512'.
 */
export type Isa = 'avx512-vnni' | 'avx512' | 'avx2-vnni' | 'avx2' | 'portable';
export const ALL_ISAS: readonly Isa[] = ['avx512-vnni', 'avx512', 'avx2-vnni', 'avx2', 'portable'];

/** arithmetic of the conv and linear layers: fp32, or weights held as bf16 or int8 (packLinear, packConv) */
export type Precision = 'fp32' | 'bf16' | 'int8';
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16', 'int8'];

/** what packLinear, packConv or packQuantized made of a weight (linearWeightInfo) */
export interface LinearWeightInfo {
  precision: Precision;
  /** int8: each output feature's (conv: output channel's) weight scale (w = q * scale) */
  scales?: Float32Array;
  /** int8: the static activation quantization (u8 = round(x / scale) + zeroPoint); scale 0: dynamic, per call */
  activationScale?: number;
  activationZeroPoint?: number;
}

export interface CpuFeatures {
  /** what the CPU reports (cpuid) */
  avx2: boolean;
  fma: boolean;
  avx512f: boolean;
  avx512vnni: boolean;
  avx512bf16: boolean;
  avxvnni: boolean;
  /** the bf16 and int8 linear kernels the kernel set in use runs ("avx512-vnni vpdpbusd", ...) */
  lowpKernels: { bf16: string; int8: string };
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
   * (same size); linear() takes the result in place of the weight. Consumes `weight` at the call (packed
   * in place, so no second copy exists; the handle reads as disposed); packs on a worker thread (the
   * event loop is not blocked). dims [outFeatures, inFeatures]. CPU only.
   */
  /**
   * `precision` 'bf16' holds the weights as bf16 (round to nearest even; half the bytes), 'int8' as int8
   * with a symmetric scale per output feature (max |w| / 127; a quarter of the bytes plus the scales): then
   * linear() runs the bf16 / int8 kernels (the input rounded to bf16, or quantized to u8 per call unless
   * setLinearActivationQuant gave a static scale).
   */
  packLinear?(dims: Int32Array, weight: NativeTensor, precision?: Precision): Promise<NativeTensor>;
  /** a plain [outFeatures, inFeatures] copy of weights packed by packLinear (bf16: rounded; int8: q * scale) */
  unpackLinear?(dims: Int32Array, packed: NativeTensor): NativeTensor;
  /** the precision of weights packed by packLinear, packConv or packQuantized, and for int8 their scales */
  linearWeightInfo?(weight: NativeTensor): LinearWeightInfo;
  /** int8 weights (linear or conv): quantize their input with this scale and zero point (calibrated); scale 0 = dynamic */
  setLinearActivationQuant?(weight: NativeTensor, scale: number, zeroPoint: number): void;
  /**
   * int8 weights already quantized (a quantized safetensors file): `q` in [-127, 127] in the plain layout
   * ([outFeatures, inFeatures], or OIHW) and one scale per output feature / channel (w = q * scale), packed as
   * packLinear / packConv pack int8 (the packed copy is the only one). dims: [outFeatures, inFeatures] for a
   * linear layer, conv2d's 16 for a conv. `q` may be where the file holds it ({ path, byteOffset }): then it is
   * read a few hundred rows at a time, so no whole second copy exists (ERR_WEIGHTS if the file ends early).
   * Synchronous. CPU only.
   */
  packQuantized?(dims: Int32Array, q: Int8Array | { path: string; byteOffset: number }, scales: Float32Array): NativeTensor;
  /**
   * For tests: the int32 sums a[m, k] (u8) x q[n, k]^T of int8 weights packed by packLinear, dims [m, n, k],
   * with the current kernel set's int8 kernel. Synchronous.
   */
  int8GemmI32?(dims: Int32Array, a: Uint8Array, weight: NativeTensor): Int32Array;
  /** fp32 GFLOP/s of a register-only FMA loop of the current ISA on the kernel threads (threads = getThreads()) */
  peakGflops?(threads?: number): number;
  /**
   * GB/s of fresh memory (default 256 MB) on the kernel threads, best of 3: a read-only stream with the
   * batch-1 linear kernel's access pattern, and memcpy (bytes read + written). Synchronous (~0.3 s).
   */
  memoryBandwidth?(megabytes?: number): { readGBps: number; copyGBps: number };
  /**
   * A whole forward pass in one call (lib/model/plan.ts compiles it): `program` is a list of records
   * [opcode, dims..., tensor indices..., flags...] (PLAN_OPS), checked in full before anything runs
   * (ERR_SHAPE / ERR_ARG naming the op), then run op by op on the kernel threads without returning to
   * JS. Resolves with the total native ns; `times`, when given, receives each op's ns in order.
   */
  runPlan(program: Int32Array, scalars: Float32Array, tensors: NativeTensor[], times: Float64Array | null): Promise<number>;
  /**
   * Conv weights [outChannels, inChannels/groups, kH, kW] packed ONCE at load into the GEMM panels (and, when
   * `winograd` is true, the default, the Winograd-domain weights where Winograd applies: 3x3 and 5x5 stride-1
   * convs, and strided convs whose space-to-depth rewrite is one, like conv1; F(4,3) 4x and F(4,5) 2.56x the
   * plain size; without them conv2d() runs those convs on the GEMM path); conv2d() takes
   * the result in place of the weight for convs of the same channels, kernel, stride and groups. Consumes
   * `weight` (the handle reads as disposed). dims as conv2d's (only channels, kernel, stride and groups
   * matter). CPU only.
   */
  /**
   * `precision` 'bf16' / 'int8' (default 'fp32') holds the weights only in that precision (as packLinear's, per
   * group, k in patch order): conv2d() then runs the bf16 / int8 conv (native/kernels/cpu/lowp-conv.cc). bf16 with
   * `winograd` also holds the Winograd-domain weights in bf16 after those panels, and conv2d() runs Winograd with
   * bf16 tile GEMMs where fp32 would (conv1's rewrite only from batch 8; winograd.cc); int8 has no Winograd.
   */
  packConv?(dims: Int32Array, weight: NativeTensor, winograd?: boolean, precision?: Precision): NativeTensor;
  /** the plain OIHW weights back from packConv's result */
  unpackConv?(dims: Int32Array, packed: NativeTensor): NativeTensor;

  // native/image, present when the addon was built with libjpeg(-turbo) (lib/image/ uses them, with
  // JavaScript twins for builds without):
  /** JPEG -> 8-bit interleaved RGB on a worker thread (the same pixels as PIL with the same libjpeg); ERR_IMAGE on corrupt data */
  decodeJpeg?(data: Uint8Array): Promise<{ width: number; height: number; data: Uint8Array }>;
  /**
   * Pillow's bilinear resize + centre crop of interleaved RGB, synchronous. geometry: Int32Array(8)
   * [inWidth, inHeight, resizedWidth, resizedHeight, cropTop, cropLeft, outHeight, outWidth]
   */
  resizeCropRgb?(rgb: Uint8Array, geometry: Int32Array): Uint8Array;
  /**
   * decode + EXIF orientation + resize + crop + ToTensor/Normalize of a JPEG on a worker thread, written as
   * float32 [3, outHeight, outWidth] straight into `out` (a CPU NativeTensor, e.g. the model's input batch,
   * or a Float32Array whose buffer stays put until the Promise settles) at element `offset`; ERR_SHAPE when
   * out has no room there. geometry: the 8 of resizeCropRgb (in* after orientation) + [orientation, bgr];
   * lut: Float32Array(768), ToTensor + Normalize per output channel and level (lib/image/preprocess.ts).
   */
  decodePreprocessJpeg?(data: Uint8Array, geometry: Int32Array, lut: Float32Array, out: NativeTensor | Float32Array,
    offset: number): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));

function locateAddon(): string {
  // ALEXNET_CLI_ADDON: another build of the addon (scripts/asan-check.sh runs the tests on the sanitized one)
  const override = process.env.ALEXNET_CLI_ADDON;
  if (override) {
    if (!existsSync(override)) {
      const err = new Error(`Expected the native addon named by ALEXNET_CLI_ADDON at ${override} but it is missing`);
      (err as NodeJS.ErrnoException).code = 'ERR_ADDON';
      throw err;
    }
    return override;
  }
  // dist/lib/native.js -> <root>/build/Release/alexnet_native.node
  const candidates = [
    join(here, '..', '..', 'build', 'Release', 'alexnet_native.node'),
    join(here, '..', 'build', 'Release', 'alexnet_native.node'),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new AlexnetError(`Expected the native addon at ${candidates[0]} but it is missing: run "npm install" (it builds with cmake-js)`, 'ERR_ADDON');
  }
  return found;
}

let binding: Binding | undefined;

function cpuBinding(): Binding {
  if (!binding) {
    const require = createRequire(import.meta.url);
    binding = require(locateAddon()) as Binding;
  }
  return binding;
}

// ---------------------------------------------------------------------------------------------
// CUDA: build/Release/alexnet_cuda.node, built next to the CPU addon where nvcc was found at install.
// It is loaded only when a CUDA device is asked for; it makes no CUDA call at load (the static CUDA
// runtime opens the driver on first use), so machines without a GPU lose nothing.

export type CudaPrecision = 'fp32' | 'tf32' | 'bf16';

export interface CudaDevice {
  /** 'cuda:N' */
  id: string;
  name: string;
  /** bytes */
  totalMemory: number;
  /** '9.0' */
  computeCapability: string;
  multiprocessors: number;
}

export interface CudaInfo {
  deviceCount: number;
  /** CUDA driver API version (12040 = 12.4), 0 without a driver */
  driverVersion: number;
  /** CUDA runtime compiled in (13000 = 13.0) */
  runtimeVersion: number;
  /** why no device is usable, or null */
  error: string | null;
}

/** The CUDA backend: the Binding primitives on GPU buffers, plus device queries and the GEMM precision. */
export interface CudaBinding extends Binding {
  /** usable GPUs; [] without a driver or device (cudaInfo().error says why) */
  devices(): CudaDevice[];
  cudaInfo(): CudaInfo;
  /**
   * arithmetic of conv2d and linear: 'fp32' exact FMA (default), 'tf32' / 'bf16' tensor cores with
   * fp32 accumulation (ALEXNET_CLI_CUDA_PRECISION sets it at load)
   */
  setPrecision(precision: CudaPrecision): CudaPrecision;
  getPrecision(): CudaPrecision;
}

/** the host-CPU members of Binding, which the CUDA backend takes from the CPU addon */
type HostMembers = 'cpuFeatures' | 'setIsa' | 'setThreads' | 'getThreads';

export type CudaAvailability =
  | { available: true; built: true; binding: CudaBinding; devices: CudaDevice[] }
  | { available: false; built: boolean; reason: string };

function codedError(message: string, code: string): AlexnetError {
  return new AlexnetError(message, code);
}

/** ALEXNET_CLI_CUDA_ADDON (a path) overrides where alexnet_cuda.node is looked for */
function locateCudaAddon(): string | undefined {
  const forced = process.env.ALEXNET_CLI_CUDA_ADDON;
  if (forced) return forced;
  return [
    join(here, '..', '..', 'build', 'Release', 'alexnet_cuda.node'),
    join(here, '..', 'build', 'Release', 'alexnet_cuda.node'),
  ].find((p) => existsSync(p));
}

let cudaState: { binding?: CudaBinding; built: boolean; loadError?: string } | undefined;

function loadCuda(): { binding?: CudaBinding; built: boolean; loadError?: string } {
  if (cudaState) return cudaState;
  const path = locateCudaAddon();
  if (!path) {
    cudaState = { built: false };
    return cudaState;
  }
  try {
    const require = createRequire(import.meta.url);
    const addon = require(path) as Omit<CudaBinding, HostMembers>;
    cudaState = {
      built: true,
      binding: {
        ...addon,
        cpuFeatures: () => cpuBinding().cpuFeatures(),
        setIsa: (isa) => cpuBinding().setIsa(isa),
        setThreads: (threads) => cpuBinding().setThreads(threads),
        getThreads: () => cpuBinding().getThreads(),
      },
    };
  } catch (e) {
    // e.g. a dynamic-linker error where a runtime library is missing, or a bad ALEXNET_CLI_CUDA_PRECISION
    cudaState = { built: true, loadError: `alexnet_cuda.node failed to load: ${String((e as Error).message).split('\n')[0]}` };
  }
  return cudaState;
}

let availability: CudaAvailability | undefined;

/** Whether CUDA can be used here and, if not, why (one line): not built, failed to load, no driver or device. */
export function cudaAvailability(): CudaAvailability {
  // devices do not come and go while the process runs: ask the driver once
  availability ??= queryCudaAvailability();
  return availability;
}

function queryCudaAvailability(): CudaAvailability {
  const state = loadCuda();
  if (!state.built) {
    return { available: false, built: false, reason: 'alexnet_cuda.node was not built (no CUDA toolkit (nvcc) at install time, or ALEXNET_CUDA=OFF)' };
  }
  if (!state.binding) return { available: false, built: true, reason: state.loadError! };
  const info = state.binding.cudaInfo();
  const devices = state.binding.devices();
  if (devices.length === 0) return { available: false, built: true, reason: info.error ?? 'no CUDA device' };
  return { available: true, built: true, binding: state.binding, devices };
}

/** 'cuda' -> 0, 'cuda:N' -> N, anything else undefined */
function cudaIndex(device: string): number | undefined {
  if (device === 'cuda') return 0;
  const m = /^cuda:(0|[1-9][0-9]{0,3})$/.exec(device);
  return m ? Number(m[1]) : undefined;
}

/** 'auto' -> 'cuda:0' where a GPU is usable, else 'cpu'; other names unchanged */
export function resolveDevice(device: string): string {
  if (device !== 'auto') return device;
  return cudaAvailability().available ? 'cuda:0' : 'cpu';
}

/**
 * The binding whose primitives run on `device`: 'cpu' (default), 'cuda' / 'cuda:N' (the CUDA addon),
 * or 'auto' (CUDA where a GPU is usable, else the CPU; pass resolveDevice('auto') to alloc/fromFile).
 * Throws ERR_DEVICE for names this build does not support, ERR_CUDA when CUDA is built but unusable.
 */
export function native(device = 'cpu'): Binding {
  if (device === 'cpu') return cpuBinding();
  if (device === 'auto') return native(resolveDevice(device));
  const index = cudaIndex(device);
  const state = loadCuda();
  const supported = state.built ? 'cpu, cuda, cuda:N, auto' : 'cpu, auto';
  if (index === undefined) throw codedError(`Expected a device this build supports (${supported}) but received ${device}`, 'ERR_DEVICE');
  const status = cudaAvailability();
  if (!status.available) {
    if (!status.built) throw codedError(`Expected a device this build supports (${supported}) but received ${device}: ${status.reason}`, 'ERR_DEVICE');
    throw codedError(`CUDA backend unavailable: ${status.reason}`, 'ERR_CUDA');
  }
  if (index >= status.devices.length) {
    throw codedError(`Expected a CUDA device this machine has (${status.devices.map((d) => d.id).join(', ')}) but received ${device}`, 'ERR_DEVICE');
  }
  return status.binding;
}

/** The CUDA binding with its extra members (devices, precision); throws as native('cuda') does */
export function cudaBinding(device = 'cuda'): CudaBinding {
  return native(device) as CudaBinding;
}

export interface DeviceInfo {
  /** 'cpu' or 'cuda:N' */
  id: string;
  name: string;
  /** bytes of host RAM (cpu) or GPU memory */
  memory: number;
  /** 'avx512, 8 threads' or 'compute 9.0, 132 SMs' */
  detail: string;
}

/** The devices `--device` accepts here: the CPU, then every usable GPU */
export function listDevices(): DeviceInfo[] {
  const cpu = cpuBinding();
  const list: DeviceInfo[] = [{
    id: 'cpu', name: cpus()[0]?.model.trim() || 'unknown CPU', memory: totalmem(),
    detail: `${cpu.cpuFeatures().isa}, ${cpu.getThreads()} threads`,
  }];
  const status = cudaAvailability();
  if (status.available) {
    for (const d of status.devices) {
      list.push({ id: d.id, name: d.name, memory: d.totalMemory, detail: `compute ${d.computeCapability}, ${d.multiprocessors} SMs` });
    }
  }
  return list;
}

/** `info --devices`: one line per device, and why CUDA is not listed when it is not */
export function formatDevices(): string {
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  const devices = listDevices();
  const width = Math.max(...devices.map((d) => d.id.length), 4);
  const lines = devices.map((d) => `${d.id.padEnd(width)}  ${d.name} (${d.detail}, ${gib(d.memory)})`);
  const status = cudaAvailability();
  if (!status.available) lines.push(`${'cuda'.padEnd(width)}  unavailable: ${status.reason}`);
  return lines.join('\n');
}
