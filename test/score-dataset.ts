// The dataset and the networks that the score, Slurm and Kubernetes tests run on: an ImageFolder of
// 4 classes generated from the committed photographs (crops, flips, resizes, JPEG/PNG re-encodings)
// plus broken files, and a tiny random AlexNet (written as safetensors with its architecture in the
// metadata, so it loads and runs in milliseconds).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { decodeImage, type RgbImage } from '../lib/image/decode.js';
import { resizeBilinear } from '../lib/image/resize.js';
import type { Architecture, Preprocess } from '../lib/model/layers.js';
import { inferShapes } from '../lib/model/shapes.js';
import { initParameter, Rng } from '../lib/model/random.js';
import { writeSafetensors } from '../lib/weights/safetensors.js';

// dist/test/score-dataset.js -> <root>/test/fixtures/images
export const IMAGES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'images');

export const CLASSES = ['astronaut', 'cat', 'coffee', 'rocket'];
const PHOTOS: Record<string, string> = {
  astronaut: 'astronaut.png', cat: 'chelsea-progressive.jpg', coffee: 'coffee-baseline.jpg', rocket: 'rocket-rgba.png',
};

function crop(image: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    out.set(image.data.subarray(((top + y) * image.width + left) * 3, ((top + y) * image.width + left + width) * 3), y * width * 3);
  }
  return { width, height, data: out };
}

function flip(image: RgbImage): RgbImage {
  const out = new Uint8Array(image.data.length);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const s = (y * image.width + x) * 3;
      const d = (y * image.width + (image.width - 1 - x)) * 3;
      out[d] = image.data[s];
      out[d + 1] = image.data[s + 1];
      out[d + 2] = image.data[s + 2];
    }
  }
  return { ...image, data: out };
}

function rgba(image: RgbImage): Buffer {
  const out = Buffer.alloc(image.width * image.height * 4, 255);
  for (let i = 0; i < image.width * image.height; i++) {
    out[i * 4] = image.data[i * 3];
    out[i * 4 + 1] = image.data[i * 3 + 1];
    out[i * 4 + 2] = image.data[i * 3 + 2];
  }
  return out;
}

const encodeJpeg = (image: RgbImage, quality: number) => jpeg.encode({ data: rgba(image), width: image.width, height: image.height }, quality).data;

function encodePng(image: RgbImage): Buffer {
  const png = new PNG({ width: image.width, height: image.height });
  png.data = rgba(image);
  return PNG.sync.write(png);
}

/** 4 variants per photograph, small so that the test stays quick */
export async function variants(name: string): Promise<{ file: string; data: Uint8Array }[]> {
  const photo = await decodeImage(join(IMAGES, PHOTOS[name]));
  const w = photo.width;
  const h = photo.height;
  const small = (img: RgbImage, width: number) => resizeBilinear(img, width, Math.max(1, Math.round((img.height * width) / img.width)));
  return [
    { file: `${name}-whole.jpg`, data: encodeJpeg(small(photo, 96), 90) },
    { file: `${name}-flip-crop.jpg`, data: encodeJpeg(small(flip(crop(photo, Math.floor(w / 10), Math.floor(h / 10), Math.floor(w * 0.8), Math.floor(h * 0.8))), 80), 70) },
    { file: `${name}-corner.png`, data: encodePng(small(crop(photo, 0, 0, Math.floor(w * 0.6), Math.floor(h * 0.6)), 72)) },
    { file: `${name}-squashed.JPEG`, data: encodeJpeg(resizeBilinear(photo, 61, 97), 50) },
  ];
}

export interface Generated {
  root: string;
  labelsFile: string;
  /** relative path -> class index, the images only */
  truth: Map<string, number>;
  /** relative paths of the broken files */
  broken: string[];
}

export async function makeImageFolder(root: string): Promise<Generated> {
  const truth = new Map<string, number>();
  for (const [index, name] of CLASSES.entries()) {
    mkdirSync(join(root, name), { recursive: true });
    for (const v of await variants(name)) {
      writeFileSync(join(root, name, v.file), v.data);
      truth.set(`${name}/${v.file}`, index);
    }
  }
  const broken = ['cat/corrupt.jpg', 'coffee/truncated.jpg', 'rocket/not-an-image.jpg', 'astronaut/empty.jpg'];
  for (const b of broken) copyFileSync(join(IMAGES, b.split('/')[1]), join(root, b));
  writeFileSync(join(root, 'rocket', 'notes.txt'), 'not an image by extension\n');
  const labelsFile = join(root, '..', 'labels.txt');
  writeFileSync(labelsFile, `${CLASSES.join('\n')}\n`);
  return { root, labelsFile, truth, broken };
}

export interface Rec { path: string; label: number; top?: number[]; prob?: number[]; error?: string }

export function readJsonl(path: string): { header: Record<string, unknown>; records: Rec[] } {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
  return { header: JSON.parse(lines[0]), records: lines.slice(1).map((l) => JSON.parse(l) as Rec) };
}

/** An AlexNet in miniature (same layer types as torchvision's), random He-initialised weights */
export function writeTinyWeights(path: string, numClasses: number, seed: number): void {
  const preprocess: Preprocess = {
    resizeMode: 'shorter', resize: [72, 72], crop: [64, 64], range: 1, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], bgr: false,
  };
  const conv = (name: string, outChannels: number, kernel: number, stride: number, p: number) => ({
    type: 'conv2d' as const, name, outChannels, kernel: [kernel, kernel] as [number, number], stride: [stride, stride] as [number, number],
    pad: [p, p, p, p] as [number, number, number, number], groups: 1, bias: true, relu: true,
  });
  const pool = (name: string) => ({ type: 'maxPool2d' as const, name, kernel: [3, 3] as [number, number], stride: [2, 2] as [number, number], pad: [0, 0, 0, 0] as [number, number, number, number], ceil: false });
  const arch: Architecture = {
    name: 'tiny', input: [3, 64, 64], preprocess, output: 'logits', numClasses,
    layers: [
      conv('conv1', 8, 11, 4, 2), pool('pool1'), conv('conv2', 12, 5, 1, 2), pool('pool2'), conv('conv3', 16, 3, 1, 1),
      { type: 'flatten', name: 'flatten' },
      { type: 'linear', name: 'fc6', outFeatures: 32, bias: true, relu: true },
      { type: 'linear', name: 'fc8', outFeatures: numClasses, bias: true, relu: false },
    ],
  };
  const rng = new Rng(seed);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const layer of inferShapes(arch)) {
    for (const [name, shape] of layer.params) {
      const weightShape = layer.params.get(`${layer.spec.name}.weight`)!;
      const fanIn = weightShape.slice(1).reduce((a, b) => a * b, 1);
      tensors.set(name, { shape, data: initParameter(rng, shape, fanIn, name.endsWith('.bias')) });
    }
  }
  writeSafetensors(path, tensors, { architecture: JSON.stringify(arch), preprocess: JSON.stringify(preprocess) });
}

