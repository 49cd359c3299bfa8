// Architectures as data: a network is a list of layer specs plus its input and preprocessing.
// Shapes are inferred from these in shapes.ts; the pipeline runs them on native primitives.

/** [top, left, bottom, right], as ONNX pads [x1_begin, x2_begin, x1_end, x2_end] */
export type Pads = [number, number, number, number];
export type Pair = [number, number];

export interface Conv2dSpec {
  type: 'conv2d';
  name: string;
  outChannels: number;
  kernel: Pair;
  stride: Pair;
  /** explicit pads, or Keras' 'same' (resolved from the input size, extra row/col at bottom/right) */
  pad: Pads | 'same';
  groups: number;
  bias: boolean;
  relu: boolean;
}

export interface Pool2dSpec {
  type: 'maxPool2d' | 'avgPool2d';
  name: string;
  kernel: Pair;
  stride: Pair;
  pad: Pads;
  /** output size rounding: Caffe and ONNX ceil_mode=1 round up, PyTorch/Keras default down */
  ceil: boolean;
  /** avgPool2d only: ONNX count_include_pad */
  countIncludePad?: boolean;
}

export interface LrnSpec {
  type: 'lrn';
  name: string;
  /** y = x / (k + alpha/size * sum over `size` neighbouring channels of x^2)^beta (ONNX LRN, Caffe ACROSS_CHANNELS) */
  size: number;
  alpha: number;
  beta: number;
  k: number;
}

export interface AdaptiveAvgPool2dSpec {
  type: 'adaptiveAvgPool2d';
  name: string;
  output: Pair;
}

export interface FlattenSpec {
  type: 'flatten';
  name: string;
}

export interface LinearSpec {
  type: 'linear';
  name: string;
  outFeatures: number;
  bias: boolean;
  relu: boolean;
}

export interface ReluSpec { type: 'relu'; name: string }
/** identity at inference; kept so summaries match the reference code */
export interface DropoutSpec { type: 'dropout'; name: string; rate: number }
export interface SoftmaxSpec { type: 'softmax'; name: string }

export type LayerSpec =
  | Conv2dSpec
  | Pool2dSpec
  | LrnSpec
  | AdaptiveAvgPool2dSpec
  | FlattenSpec
  | LinearSpec
  | ReluSpec
  | DropoutSpec
  | SoftmaxSpec;

/** Image preprocessing, stored with the weights (safetensors __metadata__) */
export interface Preprocess {
  /** 'shorter': scale the shorter side to resize[0] keeping aspect; 'exact': resize to resize[0] x resize[1] (h, w) */
  resizeMode: 'shorter' | 'exact';
  resize: Pair;
  /** centre crop (h, w) after resizing, or null for none */
  crop: Pair | null;
  /** 1: pixel values scaled to [0,1]; 255: kept at 0..255 */
  range: 1 | 255;
  /** per-channel mean and std in RGB order, in the units of `range` */
  mean: [number, number, number];
  std: [number, number, number];
  /** feed channels as BGR (Caffe) instead of RGB */
  bgr: boolean;
}

export type ArchName = 'seed' | 'caffe' | 'torchvision';

export interface Architecture {
  /** 'seed' | 'caffe' | 'torchvision', or a name from an imported graph */
  name: string;
  /** [channels, height, width] the network is built for */
  input: [number, number, number];
  layers: LayerSpec[];
  preprocess: Preprocess;
  /** whether the last layer already yields probabilities (softmax) or logits */
  output: 'probabilities' | 'logits';
  numClasses: number;
}
