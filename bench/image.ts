// Per-image preprocessing cost, JavaScript vs native, in one run: median of N per stage.
//
//   node dist/bench/image.js [--n 50] [--image test/fixtures/images/coffee-baseline.jpg] [--preset torchvision]
//
// Stages, on one ImageNet-sized JPEG (the default fixture is 500x375):
//   decode js / native       decodeImage with jpeg-js / libjpeg-turbo (file already in memory)
//   resize js                resize.ts resizeBilinear to the preset's Resize (the JS reference twin)
//   crop js                  resize.ts centerCrop of the resized image
//   resize+crop native       preprocess.ts resizeAndCrop on the native path (only the kept window)
//   toTensor js              preprocess.ts toTensor (ToTensor + Normalize, + BGR for caffe)
//   decode+preprocess native the fused decodePreprocessJpeg on the addon's worker (file in memory)
// Stages whose native side the addon lacks are reported as "n/a".
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { decodeImage, hasNativeJpeg } from '../lib/image/decode.js';
import { centerCrop, resizeBilinear, resizedSize } from '../lib/image/resize.js';
import * as preprocessModule from '../lib/image/preprocess.js';
import { PREPROCESS } from '../lib/model/archs.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const n = Number(option('n', '50'));
const path = option('image', 'test/fixtures/images/coffee-baseline.jpg');
const preset = option('preset', 'torchvision') as keyof typeof PREPROCESS;
const p = PREPROCESS[preset];
const bytes = readFileSync(path);

async function median(run: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n + 3; i++) {
    const start = process.hrtime.bigint();
    await run();
    if (i >= 3) times.push(Number(process.hrtime.bigint() - start) / 1e6);  // 3 warm-up runs
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const rows: [string, number | null][] = [];
const image = await decodeImage(bytes, { jpegDecoder: hasNativeJpeg() ? 'native' : 'js', exifOrientation: false });
const [height, width] = resizedSize(image.height, image.width, p.resize[0]);
const resized = resizeBilinear(image, width, height);
const cropped = centerCrop(resized, p.crop![0], p.crop![1]);

rows.push(['decode js (jpeg-js)', await median(() => decodeImage(bytes, { jpegDecoder: 'js', exifOrientation: false }))]);
rows.push(['decode native (libjpeg-turbo)', hasNativeJpeg()
  ? await median(() => decodeImage(bytes, { jpegDecoder: 'native', exifOrientation: false })) : null]);
rows.push(['resize js', await median(() => resizeBilinear(image, width, height))]);
rows.push(['crop js', await median(() => centerCrop(resized, p.crop![0], p.crop![1]))]);
rows.push(['toTensor js', await median(() => preprocessModule.toTensor(cropped, p))]);

// the native entry points exist only after the native preprocessing change: looked up by name so
// this script also runs (and gave the baseline) on the version before it
const api = preprocessModule as Record<string, unknown>;
const nativeMode = typeof api.preprocessBackend === 'function' ? (api.preprocessBackend as () => string)() : 'js';
if (nativeMode === 'native') {
  const previous = process.env.ALEXNET_CLI_PREPROCESS;
  process.env.ALEXNET_CLI_PREPROCESS = 'native';
  rows.push(['resize+crop native', await median(() => preprocessModule.resizeAndCrop(image, p))]);
  const loadImageTensor = api.loadImageTensor as (input: Uint8Array, p: unknown, o: object) => Promise<Float32Array>;
  rows.push(['decode+preprocess native (fused)', await median(() => loadImageTensor(bytes, p, { exifOrientation: false }))]);
  process.env.ALEXNET_CLI_PREPROCESS = previous;
} else {
  rows.push(['resize+crop native', null], ['decode+preprocess native (fused)', null]);
}

console.log(`${cpus()[0]?.model ?? 'unknown CPU'}; ${path} ${image.width}x${image.height} -> ${width}x${height} -> ${p.crop![1]}x${p.crop![0]} (${preset}); median of ${n}`);
for (const [name, ms] of rows) console.log(`${name.padEnd(34)} ${ms === null ? 'n/a' : `${ms.toFixed(2)} ms`}`);
