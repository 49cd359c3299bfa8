// `alexnet-cli info FILE`: what a weights file holds: format, architecture, tensors, parameter count,
// preprocessing and metadata.
import type { Argv, CommandModule } from 'yargs';
import { ARCH_NAMES } from '../model/archs.js';
import type { Architecture, Preprocess } from '../model/layers.js';
import { readWeights } from '../weights/index.js';
import { resolveWeights, sourcePreprocess } from '../weights/resolve.js';
import { numClassesOf } from '../weights/detect.js';
import { usageError } from '../errors.js';
import { formatInt, renderTable } from '../format.js';

export interface WeightsInfo {
  path: string;
  format: string;
  /** the architecture the tensors fit, or null with the reason in architectureError */
  architecture: string | null;
  architectureError?: string;
  numClasses: number | null;
  /** layer names and types when the file describes its own graph (ONNX) or a named architecture fits */
  layers?: { name: string; type: string }[];
  tensors: { name: string; shape: number[]; params: number; storage: 'file' | 'memory'; dtype?: 'int8' }[];
  /** 'int8' for a file written by `quantize` (its layers below), else 'fp32' */
  precision: 'fp32' | 'int8';
  /** int8 files: per quantized layer, the weight scales' range and the input's static u8 quantization */
  quantized?: { layer: string; weightScaleMin: number; weightScaleMax: number; inputScale: number; inputZeroPoint: number }[];
  totalParams: number;
  preprocess: Preprocess | null;
  metadata: Record<string, string>;
}

export async function weightsInfo(path: string, archName?: string): Promise<WeightsInfo> {
  const set = await readWeights(path);
  let arch: Architecture | undefined;
  let preprocess: Preprocess | null = null;
  let architectureError: string | undefined;
  try {
    ({ arch, preprocess } = resolveWeights(set, { arch: archName }));
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_USAGE') throw e;
    architectureError = (e as Error).message.replace(`${path}: `, '');
    preprocess = sourcePreprocess(set) ?? null;
  }
  const tensors = [...set.tensors].map(([name, t]) => ({
    name, shape: t.shape, params: t.shape.reduce((a, b) => a * b, 1), storage: (t.file || t.int8 ? 'file' : 'memory') as 'file' | 'memory',
    ...(t.int8 ? { dtype: 'int8' as const } : {}),
  }));
  const quantized = [...set.tensors].filter(([, t]) => t.int8).map(([name, t]) => ({
    layer: name.replace(/\.weight$/, ''),
    weightScaleMin: Math.min(...t.int8!.scales), weightScaleMax: Math.max(...t.int8!.scales),
    inputScale: t.int8!.inputScale, inputZeroPoint: t.int8!.inputZeroPoint,
  }));
  return {
    path,
    format: set.format,
    architecture: arch?.name ?? null,
    ...(architectureError ? { architectureError } : {}),
    numClasses: arch?.numClasses ?? numClassesOf(set) ?? null,
    ...(arch ? { layers: arch.layers.map((l) => ({ name: l.name, type: l.type })) } : {}),
    tensors,
    totalParams: tensors.reduce((a, t) => a + t.params, 0),
    precision: quantized.length > 0 ? 'int8' : 'fp32',
    ...(quantized.length > 0 ? { quantized } : {}),
    preprocess,
    metadata: set.metadata,
  };
}

function describePreprocess(p: Preprocess): string {
  const resize = p.resizeMode === 'shorter' ? `shorter side ${p.resize[0]}` : `${p.resize[0]}x${p.resize[1]}`;
  const crop = p.crop ? `, centre crop ${p.crop[0]}x${p.crop[1]}` : '';
  const order = p.bgr ? 'BGR' : 'RGB';
  return `resize ${resize}${crop}, ${order} 0..${p.range}, mean [${p.mean.join(', ')}], std [${p.std.join(', ')}]`;
}

export function formatInfo(info: WeightsInfo): string {
  const lines = [
    `file          ${info.path}`,
    `format        ${info.format}`,
    `architecture  ${info.architecture ?? `unknown (${info.architectureError})`}`,
    `classes       ${info.numClasses ?? 'unknown'}`,
    `parameters    ${formatInt(info.totalParams)} (${formatInt(info.totalParams * 4)} bytes as float32)`,
    ...(info.precision === 'int8' ? [`precision     int8 (static activation scales; runs as int8 unless --precision says otherwise)`] : []),
    `preprocess    ${info.preprocess ? describePreprocess(info.preprocess) : 'unknown'}`,
  ];
  for (const [k, v] of Object.entries(info.metadata)) {
    if (k === 'preprocess' || k === 'architecture' || k === 'alexnet.architecture' || k === 'alexnet.preprocessing') continue;
    lines.push(`${`meta ${k}`.padEnd(13)} ${v}`);
  }
  lines.push('', renderTable(['tensor', 'shape', 'params', ...(info.quantized ? ['dtype'] : [])],
    info.tensors.map((t) => [t.name, `[${t.shape.join(', ')}]`, formatInt(t.params), ...(info.quantized ? [t.dtype ?? 'float32'] : [])]),
    [false, false, true, false]));
  if (info.quantized) {
    const g = (x: number) => x.toPrecision(4);
    lines.push('', renderTable(['layer', 'weight scales (per channel)', 'input scale', 'input zero point'],
      info.quantized.map((q) => [q.layer, `${g(q.weightScaleMin)} .. ${g(q.weightScaleMax)}`, g(q.inputScale), String(q.inputZeroPoint)]),
      [false, false, true, true]));
  }
  return lines.join('\n');
}

interface InfoArgs {
  file?: string;
  devices: boolean;
  json: boolean;
  arch?: string;
}

export const infoCommand: CommandModule<object, InfoArgs> = {
  command: 'info [file]',
  describe: 'show the format, architecture, tensors and preprocessing of a weights file; --devices lists where models can run',
  builder: (y: Argv) => y
    .positional('file', { type: 'string', describe: 'weights file (.safetensors, .pth, .onnx, .caffemodel, .h5, .keras, .npz) or a name: torchvision (IMAGENET1K_V1, DEFAULT), bvlc' })
    .option('devices', { type: 'boolean', default: false, describe: 'list the CPU and any CUDA devices found' })
    .option('arch', { type: 'string', choices: ARCH_NAMES, describe: 'check the tensors against this architecture' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as unknown as Argv<InfoArgs>,
  handler: async (argv) => {
    if (argv.devices) {
      const { formatDevices, listDevices } = await import('../native.js');
      process.stdout.write(argv.json ? `${JSON.stringify(listDevices(), null, 2)}\n` : `${formatDevices()}\n`);
      return;
    }
    if (!argv.file) throw usageError('Expected a weights file for info (or --devices) but received nothing');
    const { resolveWeightsArg } = await import('../weights/registry.js');
    const info = await weightsInfo(await resolveWeightsArg(argv.file), argv.arch);
    process.stdout.write(argv.json ? `${JSON.stringify(info, null, 2)}\n` : `${formatInfo(info)}\n`);
  },
};
