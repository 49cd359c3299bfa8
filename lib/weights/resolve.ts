// Which architecture, classes and preprocessing a weight set has: the one owner of that question, used by
// loading (model/load.ts), `info`, convert (weights/convert.ts) and so the pretrained weights in the cache.
import { buildArchitecture, isArchName, ARCH_NAMES } from '../model/archs.js';
import type { Architecture, LayerSpec, Pair, Preprocess } from '../model/layers.js';
import { architectureProblem, checkWeights, describeValue, inferShapes, MAX_DIM } from '../model/shapes.js';
import { usageError } from '../errors.js';
import { preprocessProblem } from '../model/preprocess.js';
import { detectArchitecture, numClassesOf } from './detect.js';
import type { WeightSet } from './types.js';
import { weightsError } from './types.js';

export interface ResolvedWeights {
  /** the architecture, its tensors checked against the set */
  arch: Architecture;
  /** stored with the weights (convert's metadata), else the source's, else the architecture's preset */
  preprocess: Preprocess;
}

// The metadata (safetensors __metadata__, ONNX metadata_props) is whatever the file says: each field is
// checked here, where it is read, before anything is built or allocated from it; a bad one is one line
// naming the file and the field.

type MetadataSource = Pick<WeightSet, 'path' | 'metadata'>;

/** metadata `key` parsed as JSON */
function metadataJson(set: MetadataSource, key: string): unknown {
  const text = set.metadata[key];
  try {
    return JSON.parse(text);
  } catch {
    throw weightsError(set.path, `expected JSON in the metadata ${key} but found text that does not parse: ${describeValue(text)}`);
  }
}

/**
 * Metadata `key` (convert's `architecture`; quantize's alexnet.architecture) as an architecture: its
 * fields, its shapes and its preprocess checked, else one line naming the file and the field
 */
export function metadataArchitecture(set: MetadataSource, key = 'architecture'): Architecture {
  const arch = metadataJson(set, key);
  const problem = architectureProblem(arch, key) ?? preprocessProblem((arch as Architecture).preprocess, `${key}.preprocess`);
  if (problem) throw weightsError(set.path, `expected metadata ${problem}`);
  return arch as Architecture;
}

/** Metadata `key` (convert's `preprocess`; quantize's alexnet.preprocessing) as a preprocessing, checked likewise */
export function metadataPreprocess(set: MetadataSource, key = 'preprocess'): Preprocess {
  const preprocess = metadataJson(set, key);
  const problem = preprocessProblem(preprocess, key);
  if (problem) throw weightsError(set.path, `expected metadata ${problem}`);
  return preprocess as Preprocess;
}

/** The architecture stored with the weights (safetensors metadata written by convert) */
function archFromMetadata(set: WeightSet): Architecture | undefined {
  const m = set.metadata;
  if (m.architecture !== undefined) return metadataArchitecture(set);
  if (m.arch && isArchName(m.arch)) return buildArchitecture(m.arch, m.numClasses === undefined ? 1000 : metadataNumClasses(set));
  return undefined;
}

/** metadata numClasses: the decimal integer convert writes */
function metadataNumClasses(set: WeightSet): number {
  const text = set.metadata.numClasses;
  const count = /^[1-9][0-9]*$/.test(text) ? Number(text) : NaN;
  if (!(count <= MAX_DIM)) throw weightsError(set.path, `expected metadata numClasses to be an integer from 1 to ${MAX_DIM} but found ${describeValue(text)}`);
  return count;
}

/**
 * What a layer computes, without its name and width: two architectures whose layers give the same list
 * run the same network but for their channel counts. Dropout and flatten compute nothing at inference;
 * a separate ReLU after a conv or linear layer is that layer's fused one; pads are resolved ('same').
 */
function computation(arch: Architecture): string[] | undefined {
  let shapes;
  try {
    shapes = inferShapes(arch);
  } catch {
    return undefined;
  }
  const ops: { op: string; fusable: boolean; relu: boolean }[] = [];
  for (const { spec: layer, pads, outShape } of shapes) {
    const out = outShape.slice(1).join('x');
    const last = ops[ops.length - 1];
    switch (layer.type) {
      case 'dropout':
      case 'flatten':
        break;
      case 'relu':
        if (last?.fusable && !last.relu) last.relu = true;
        else ops.push({ op: 'relu', fusable: false, relu: false });
        break;
      case 'conv2d':
        ops.push({ op: `conv k${layer.kernel} s${layer.stride} p${pads} g${layer.groups} b${layer.bias} -> ${out}`, fusable: true, relu: layer.relu });
        break;
      case 'linear':
        ops.push({ op: `linear b${layer.bias}`, fusable: true, relu: layer.relu });
        break;
      case 'maxPool2d':
      case 'avgPool2d':
        ops.push({ op: `${layer.type} k${layer.kernel} s${layer.stride} p${pads} ${layer.countIncludePad ?? false} -> ${out}`, fusable: false, relu: false });
        break;
      case 'lrn':
        ops.push({ op: `lrn ${layer.size} ${layer.alpha} ${layer.beta} ${layer.k}`, fusable: false, relu: false });
        break;
      case 'adaptiveAvgPool2d':
        ops.push({ op: `adaptiveAvgPool2d ${layer.output}`, fusable: false, relu: false });
        break;
      case 'softmax':
        ops.push({ op: 'softmax', fusable: false, relu: false });
        break;
    }
  }
  return ops.map((o) => `${o.op}${o.relu ? ' relu' : ''}`);
}

/**
 * A graph (ONNX) that computes one of the named architectures at its input size, whatever the graph is
 * called: that architecture, with the graph's channel counts where they differ (a narrower variant).
 */
export function recogniseGraph(graph: Architecture): Architecture | undefined {
  const found = computation(graph);
  if (!found) return undefined;
  for (const name of ARCH_NAMES) {
    const named = buildArchitecture(name, graph.numClasses);
    if (named.input.join() !== graph.input.join()) continue;
    const expected = computation(named);
    if (!expected || expected.join('\n') !== found.join('\n')) continue;
    const convs = graph.layers.filter((l) => l.type === 'conv2d');
    const linears = graph.layers.filter((l) => l.type === 'linear');
    let conv = 0;
    let linear = 0;
    const layers = named.layers.map((l): LayerSpec => {
      if (l.type === 'conv2d') return { ...l, outChannels: convs[conv++].outChannels };
      if (l.type === 'linear') return { ...l, outFeatures: linears[linear++].outFeatures };
      return l;
    });
    return { ...named, layers };
  }
  return undefined;
}

/** A preprocessing guessed for a graph, made to give the graph's declared input size */
function fitToInput(p: Preprocess, input: Architecture['input']): Preprocess {
  const size: Pair = [input[1], input[2]];
  if (p.crop) {
    if (p.crop[0] === size[0] && p.crop[1] === size[1]) return p;
    const resize: Pair = [Math.max(p.resize[0], size[0]), Math.max(p.resize[1], size[1])];
    return { ...p, resize, crop: size };
  }
  if (p.resizeMode === 'exact') return p.resize[0] === size[0] && p.resize[1] === size[1] ? p : { ...p, resize: size };
  return p;
}

/**
 * The set's architecture and preprocessing. The architecture: `arch` (--arch: a name, built with the set's
 * classes, or a full one), else the file's own graph (recognised as a named architecture when it computes
 * one), else convert's metadata, else recognised from the tensor shapes (detectArchitecture). Its tensors
 * are checked (checkWeights: one check, one message).
 */
export function resolveWeights(set: WeightSet, options: { arch?: string | Architecture } = {}): ResolvedWeights {
  let arch: Architecture;
  let fromGraph = false;
  if (typeof options.arch === 'object') {
    // a caller's own network (the library's `arch` option): checked as a file's would be
    const problem = architectureProblem(options.arch, 'arch');
    if (problem) throw usageError(`Expected ${problem}`);
    arch = options.arch;
  }
  else if (options.arch !== undefined) {
    if (!isArchName(options.arch)) throw usageError(`Expected one of ${ARCH_NAMES.join(', ')} for --arch but received ${options.arch}`);
    arch = buildArchitecture(options.arch, numClassesOf(set) ?? 1000);
  } else if (set.arch) {
    // the network an ONNX graph describes: sizes, strides and pads are the file's, checked as metadata is
    const problem = architectureProblem(set.arch, 'graph');
    if (problem) throw weightsError(set.path, `expected a ${problem}`);
    arch = recogniseGraph(set.arch) ?? set.arch;
    fromGraph = true;
  } else arch = archFromMetadata(set) ?? detectArchitecture(set);
  checkWeights(arch, set);
  return { arch, preprocess: sourcePreprocess(set, fromGraph) ?? arch.preprocess };
}

/**
 * The preprocessing the weights carry: convert's metadata, else what their source implies (a graph's
 * fitted to its declared input size: that size, not a preset's, is what the graph takes)
 */
export function sourcePreprocess(set: WeightSet, fromGraph = !!set.arch): Preprocess | undefined {
  if (set.metadata.preprocess !== undefined) return metadataPreprocess(set);
  if (set.preprocess && fromGraph && set.arch) return fitToInput(set.preprocess, set.arch.input);
  return set.preprocess;
}
