// The three AlexNet architectures, as data. Layer names are shared (conv1..conv5, fc6..fc8) so that
// every weight format maps onto the same canonical tensor names.
import type { ArchName, Architecture, LayerSpec, Pads, Preprocess } from './layers.js';

const NO_PAD: Pads = [0, 0, 0, 0];
const pad = (p: number): Pads => [p, p, p, p];

function conv(name: string, outChannels: number, kernel: number, stride: number, padding: Pads | 'same', groups = 1): LayerSpec {
  return { type: 'conv2d', name, outChannels, kernel: [kernel, kernel], stride: [stride, stride], pad: padding, groups, bias: true, relu: true };
}

function maxPool(name: string, ceil: boolean): LayerSpec {
  return { type: 'maxPool2d', name, kernel: [3, 3], stride: [2, 2], pad: NO_PAD, ceil };
}

function linear(name: string, outFeatures: number, relu: boolean): LayerSpec {
  return { type: 'linear', name, outFeatures, bias: true, relu };
}

// BVLC deploy.prototxt: LRN local_size 5, alpha 1e-4, beta 0.75 (k defaults to 1)
function lrn(name: string): LayerSpec {
  return { type: 'lrn', name, size: 5, alpha: 1e-4, beta: 0.75, k: 1 };
}

// AlexNet (Krizhevsky et al. 2012) and BVLC deploy.prototxt (dropout_ratio 0.5): dropout 0.5 beside fc6 and fc7
function dropout(name: string): LayerSpec {
  return { type: 'dropout', name, rate: 0.5 };
}

// the seed and Caffe classifier (BVLC deploy.prototxt): fc6 and fc7 each followed by dropout, fc8 to the
// classes, softmax; torchvision puts the dropout before fc6 and fc7 and ends at the logits
function softmaxClassifier(numClasses: number): LayerSpec[] {
  return [
    { type: 'flatten', name: 'flatten' },
    linear('fc6', 4096, true),
    dropout('drop6'),
    linear('fc7', 4096, true),
    dropout('drop7'),
    linear('fc8', numClasses, false),
    { type: 'softmax', name: 'prob' },
  ];
}

export const PREPROCESS: Record<ArchName | 'bvlc-zoo', Preprocess> = {
  // torchvision.transforms: Resize(256) (bilinear, antialias), CenterCrop(224), ToTensor, Normalize
  torchvision: {
    resizeMode: 'shorter', resize: [256, 256], crop: [224, 224], range: 1,
    mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], bgr: false,
  },
  // BVLC: images warped to 256x256, centre crop 227, BGR 0..255 minus ilsvrc_2012_mean (B 104.007 G 116.669 R 122.679)
  caffe: {
    resizeMode: 'exact', resize: [256, 256], crop: [227, 227], range: 255,
    mean: [122.679, 116.669, 104.007], std: [1, 1, 1], bgr: true,
  },
  // reference Keras code: shorter side 256, centre crop 227, pixels / 255
  seed: {
    resizeMode: 'shorter', resize: [256, 256], crop: [227, 227], range: 1,
    mean: [0, 0, 0], std: [1, 1, 1], bgr: false,
  },
  // ONNX model zoo bvlcalexnet: RGB resized to 224x224 without crop, minus R 123.68 G 116.779 B 103.939, BGR
  'bvlc-zoo': {
    resizeMode: 'exact', resize: [224, 224], crop: null, range: 255,
    mean: [123.68, 116.779, 103.939], std: [1, 1, 1], bgr: true,
  },
};

export const ARCH_NAMES: ArchName[] = ['seed', 'caffe', 'torchvision'];

export function isArchName(name: string): name is ArchName {
  return (ARCH_NAMES as string[]).includes(name);
}

export function buildArchitecture(name: ArchName, numClasses = 1000): Architecture {
  switch (name) {
    case 'seed':
      return {
        name, input: [3, 227, 227], preprocess: PREPROCESS.seed, output: 'probabilities', numClasses,
        layers: [
          conv('conv1', 96, 11, 4, NO_PAD),
          maxPool('pool1', false),
          conv('conv2', 256, 5, 1, 'same'),
          maxPool('pool2', false),
          conv('conv3', 384, 3, 1, 'same'),
          conv('conv4', 384, 3, 1, 'same'),
          conv('conv5', 256, 3, 1, 'same'),
          maxPool('pool5', false),
          ...softmaxClassifier(numClasses),
        ],
      };
    case 'caffe':
      return {
        name, input: [3, 227, 227], preprocess: PREPROCESS.caffe, output: 'probabilities', numClasses,
        layers: [
          conv('conv1', 96, 11, 4, NO_PAD),
          lrn('norm1'),
          maxPool('pool1', true),
          conv('conv2', 256, 5, 1, pad(2), 2),
          lrn('norm2'),
          maxPool('pool2', true),
          conv('conv3', 384, 3, 1, pad(1)),
          conv('conv4', 384, 3, 1, pad(1), 2),
          conv('conv5', 256, 3, 1, pad(1), 2),
          maxPool('pool5', true),
          ...softmaxClassifier(numClasses),
        ],
      };
    case 'torchvision':
      return {
        name, input: [3, 224, 224], preprocess: PREPROCESS.torchvision, output: 'logits', numClasses,
        layers: [
          conv('conv1', 64, 11, 4, pad(2)),
          maxPool('pool1', false),
          conv('conv2', 192, 5, 1, pad(2)),
          maxPool('pool2', false),
          conv('conv3', 384, 3, 1, pad(1)),
          conv('conv4', 256, 3, 1, pad(1)),
          conv('conv5', 256, 3, 1, pad(1)),
          maxPool('pool5', false),
          { type: 'adaptiveAvgPool2d', name: 'avgpool', output: [6, 6] },
          { type: 'flatten', name: 'flatten' },
          dropout('drop6'),
          linear('fc6', 4096, true),
          dropout('drop7'),
          linear('fc7', 4096, true),
          linear('fc8', numClasses, false),
        ],
      };
  }
}
