// One layer as `summary` and `profile` describe it: its name, Keras-style type, shapes, parameters and
// multiply-accumulates (per image; profile scales the MACs by its batch).
import { layerTypeName } from '../format.js';
import type { LayerShape } from './shapes.js';

export interface LayerSummary {
  name: string;
  type: string;
  inputShape: number[];
  outputShape: number[];
  params: number;
  macs: number;
}

export function layerSummary(s: LayerShape): LayerSummary {
  return { name: s.spec.name, type: layerTypeName(s.spec), inputShape: s.inShape, outputShape: s.outShape, params: s.paramCount, macs: s.macs };
}
