// The three AlexNet architectures written out by hand, for tests that must not take their expectations
// from the code under test (inferShapes, layerTypeName): every shape follows from the published layer
// definitions with out = floor((in + pads - kernel) / stride) + 1 (ceil for Caffe's pools), every
// parameter count is weights + biases. Totals: seed 62,378,344 (the reference Keras code's
// model.summary()), caffe 60,965,224 (BVLC bvlc_alexnet), torchvision 61,100,840 (sum of
// p.numel() over models.alexnet().parameters()).

export interface HandLayer {
  name: string;
  /** Keras-style type as the tools print it */
  type: string;
  in: number[];
  out: number[];
  params: number;
  /** conv: square kernel size and groups */
  kernel?: number;
  groups?: number;
}

const conv = (name: string, type: string, inShape: number[], out: number[], kernel: number, groups = 1): HandLayer => ({
  name, type, in: inShape, out, kernel, groups,
  params: out[0] * (inShape[0] / groups) * kernel * kernel + out[0],
});
const dense = (name: string, type: string, inFeatures: number, outFeatures: number): HandLayer => ({
  name, type, in: [inFeatures], out: [outFeatures], params: inFeatures * outFeatures + outFeatures,
});
const free = (name: string, type: string, inShape: number[], out: number[]): HandLayer => ({ name, type, in: inShape, out, params: 0 });

// seed and Caffe end alike (deploy.prototxt fc6, drop6, fc7, drop7, fc8, prob): 256x6x6 in, 1000 classes out
const SOFTMAX_CLASSIFIER: HandLayer[] = [
  free('flatten', 'Flatten', [256, 6, 6], [9216]),
  dense('fc6', 'Dense+ReLU', 9216, 4096),
  free('drop6', 'Dropout', [4096], [4096]),
  dense('fc7', 'Dense+ReLU', 4096, 4096),
  free('drop7', 'Dropout', [4096], [4096]),
  dense('fc8', 'Dense', 4096, 1000),
  free('prob', 'Softmax', [1000], [1000]),
];

export const HAND_TABLES: Record<'seed' | 'caffe' | 'torchvision', HandLayer[]> = {
  // 227 -> conv1 11x11/4: (227 - 11) / 4 + 1 = 55; pools 3x3/2: 55 -> 27 -> 13 -> 6; convs 2-5 keep the size
  seed: [
    conv('conv1', 'Conv2D+ReLU', [3, 227, 227], [96, 55, 55], 11),
    free('pool1', 'MaxPool2D', [96, 55, 55], [96, 27, 27]),
    conv('conv2', 'Conv2D+ReLU', [96, 27, 27], [256, 27, 27], 5),
    free('pool2', 'MaxPool2D', [256, 27, 27], [256, 13, 13]),
    conv('conv3', 'Conv2D+ReLU', [256, 13, 13], [384, 13, 13], 3),
    conv('conv4', 'Conv2D+ReLU', [384, 13, 13], [384, 13, 13], 3),
    conv('conv5', 'Conv2D+ReLU', [384, 13, 13], [256, 13, 13], 3),
    free('pool5', 'MaxPool2D', [256, 13, 13], [256, 6, 6]),
    ...SOFTMAX_CLASSIFIER,
  ],
  // BVLC: LRN after conv1 and conv2, ceil pools (the same sizes here), conv2/4/5 in two groups
  caffe: [
    conv('conv1', 'Conv2D+ReLU', [3, 227, 227], [96, 55, 55], 11),
    free('norm1', 'LRN', [96, 55, 55], [96, 55, 55]),
    free('pool1', 'MaxPool2D/ceil', [96, 55, 55], [96, 27, 27]),
    conv('conv2', 'Conv2D/g2+ReLU', [96, 27, 27], [256, 27, 27], 5, 2),
    free('norm2', 'LRN', [256, 27, 27], [256, 27, 27]),
    free('pool2', 'MaxPool2D/ceil', [256, 27, 27], [256, 13, 13]),
    conv('conv3', 'Conv2D+ReLU', [256, 13, 13], [384, 13, 13], 3),
    conv('conv4', 'Conv2D/g2+ReLU', [384, 13, 13], [384, 13, 13], 3, 2),
    conv('conv5', 'Conv2D/g2+ReLU', [384, 13, 13], [256, 13, 13], 3, 2),
    free('pool5', 'MaxPool2D/ceil', [256, 13, 13], [256, 6, 6]),
    ...SOFTMAX_CLASSIFIER,
  ],
  // torchvision: 224 -> conv1 11x11/4 pad 2: (224 + 4 - 11) / 4 + 1 = 55 (floor); 64/192/384/256/256 channels
  torchvision: [
    conv('conv1', 'Conv2D+ReLU', [3, 224, 224], [64, 55, 55], 11),
    free('pool1', 'MaxPool2D', [64, 55, 55], [64, 27, 27]),
    conv('conv2', 'Conv2D+ReLU', [64, 27, 27], [192, 27, 27], 5),
    free('pool2', 'MaxPool2D', [192, 27, 27], [192, 13, 13]),
    conv('conv3', 'Conv2D+ReLU', [192, 13, 13], [384, 13, 13], 3),
    conv('conv4', 'Conv2D+ReLU', [384, 13, 13], [256, 13, 13], 3),
    conv('conv5', 'Conv2D+ReLU', [256, 13, 13], [256, 13, 13], 3),
    free('pool5', 'MaxPool2D', [256, 13, 13], [256, 6, 6]),
    free('avgpool', 'AdaptiveAvgPool2D', [256, 6, 6], [256, 6, 6]),
    free('flatten', 'Flatten', [256, 6, 6], [9216]),
    free('drop6', 'Dropout', [9216], [9216]),
    dense('fc6', 'Dense+ReLU', 9216, 4096),
    free('drop7', 'Dropout', [4096], [4096]),
    dense('fc7', 'Dense+ReLU', 4096, 4096),
    dense('fc8', 'Dense', 4096, 1000),
  ],
};

/** Published totals, written out rather than summed from the tables above */
export const HAND_TOTAL_PARAMS = { seed: 62_378_344, caffe: 60_965_224, torchvision: 61_100_840 };

/** Multiply-accumulates per image by the direct formula: conv out_c * in_c/groups * k * k * out_h * out_w, dense in * out */
export function handMacs(l: HandLayer): number {
  if (l.kernel !== undefined) return l.out[0] * (l.in[0] / l.groups!) * l.kernel * l.kernel * l.out[1] * l.out[2];
  if (l.type.startsWith('Dense')) return l.in[0] * l.out[0];
  return 0;
}
