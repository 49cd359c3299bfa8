// Which algorithm the CPU kernels run for a layer, and how many multiply-adds that algorithm does.
//
// The MACs of a convolution (shapes.ts) are the direct count, out * in/groups * kh * kw per output pixel.
// Winograd F(4,3) and F(4,5) do fewer: per 4x4 output tile alpha^2 (36 or 64) multiply-adds per channel
// pair instead of 16 * kh * kw, so GFLOP/s from the direct count ("effective" GFLOP/s) can exceed the
// machine's peak. The algorithm's own count is what the hardware executes.
//
// The choice mirrors conv2d_packed_forward_cpu (native/kernels/cpu/conv2d.cc): with Winograd-domain weights
// packed at load (Model PackOptions.winograd, default true), a 3x3 or 5x5 stride-1 conv runs Winograd, and a
// strided conv whose space-to-depth rewrite is one (conv1: 11x11 stride 4 -> 3x3 over 48 phase channels,
// space-to-depth.cc) runs it over the phases; both only where winograd_pays (>= 16 channels per group each
// way), unless ALEXNET_CLI_WINOGRAD=0 (never) or =1 (wherever it applies). Everything else runs the GEMM,
// which does the direct count (the space-to-depth GEMM gathers from the phases but multiplies the same taps).
// bf16 weights (conv2d_bf16_packed_forward_cpu) run the same Winograd variants, their GEMMs in bf16, the
// space-to-depth rewrite only from batch 8 (S2D_BF16_MIN_BATCH); int8 weights always run the direct count.
//
// Counted: the alpha^2 x groups GEMMs of the Winograd domain. Not counted: the tile transforms (B^T d B and
// A^T M A, a few % of the GEMMs' work: most for conv1, whose 48 input channels amortise them least) and
// the GEMMs' padding (output channels rounded up to the panel rows, tiles to the panel columns).
import type { LayerShape } from '../model/shapes.js';

export interface LayerAlgorithm {
  /** 'GEMM', 'Winograd F(4,3)', 'Winograd F(4,3) (space-to-depth)', ... ; '-' for layers without MACs */
  name: string;
  /** multiply-adds the algorithm does per image */
  macs: number;
}

export interface AlgorithmOptions {
  /** the device the model runs on: only the CPU kernels are modelled (others: the direct count) */
  device: string;
  /** Winograd-domain weights were packed at load (PackOptions.winograd) */
  winograd: boolean;
  /** the value of ALEXNET_CLI_WINOGRAD the kernels read */
  winogradEnv?: string;
  /**
   * the layer's weights' precision (default fp32). int8: its conv runs the panels GEMM on its patches
   * (lowp-conv.cc), never Winograd, so the direct count. bf16: Winograd where fp32 runs it (the bf16 GEMMs of
   * winograd.cc)
   */
  precision?: 'fp32' | 'bf16' | 'int8';
  /** images per pass (bf16 runs the space-to-depth rewrite from S2D_BF16_MIN_BATCH); default 1 */
  batch?: number;
}

/** conv2d.cc: bf16's space-to-depth Winograd from this batch (unless ALEXNET_CLI_WINOGRAD=1) */
const S2D_BF16_MIN_BATCH = 8;

/** Winograd F(4, r): output tile 4x4, input tile alpha = 4 + r - 1 */
const WINOGRAD_TILE = 4;
const WINOGRAD_KERNELS = [3, 5];

export function layerAlgorithm(layer: LayerShape, options: AlgorithmOptions): LayerAlgorithm {
  const spec = layer.spec;
  if (layer.macs === 0) return { name: '-', macs: 0 };
  if (spec.type !== 'conv2d') return { name: spec.type === 'linear' ? 'GEMM' : 'direct', macs: layer.macs };
  const direct: LayerAlgorithm = { name: 'GEMM', macs: layer.macs };
  if (options.device !== 'cpu') return { name: 'direct', macs: layer.macs };
  if (options.precision === 'int8') return direct;
  if (!options.winograd || options.winogradEnv === '0') return direct;
  const [inChannels] = layer.inShape;
  const [outChannels, outHeight, outWidth] = layer.outShape;
  const [sh, sw] = spec.stride;
  const strided = sh > 1 || sw > 1;
  // the space-to-depth rewrite: s*s phases of every channel, kernel ceil(k / s), stride 1
  const kh = Math.ceil(spec.kernel[0] / sh);
  const kw = Math.ceil(spec.kernel[1] / sw);
  const phaseChannels = inChannels * sh * sw;
  if (kh !== kw || !WINOGRAD_KERNELS.includes(kh)) return direct;
  const inPerGroup = phaseChannels / spec.groups;
  const outPerGroup = outChannels / spec.groups;
  const pays = inPerGroup >= 16 && outPerGroup >= 16;
  if (!pays && options.winogradEnv !== '1') return direct;
  if (strided && options.precision === 'bf16' && (options.batch ?? 1) < S2D_BF16_MIN_BATCH && options.winogradEnv !== '1') return direct;
  const alpha = WINOGRAD_TILE + kh - 1;
  const tiles = Math.ceil(outHeight / WINOGRAD_TILE) * Math.ceil(outWidth / WINOGRAD_TILE);
  return {
    name: `Winograd F(${WINOGRAD_TILE},${kh})${strided ? ' s2d' : ''}`,
    macs: spec.groups * alpha * alpha * tiles * inPerGroup * outPerGroup,
  };
}
