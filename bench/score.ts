// End-to-end `score` throughput against the raw forward throughput at the same batch size, in one run.
//
//   node dist/bench/score.js [--images 256] [--batch 32] [--arch torchvision] [--workers N] [--dir DIR]
//
// Makes (once) a folder of ImageNet-like JPEGs, about 500x375 at quality 90, by re-encoding crops,
// flips and resizes of the scikit-image photographs with PIL (Debian's /usr/bin/python3), in 4 class
// folders named 0..3; then times, with random weights:
//   forward: classifier.probabilities on a ready [batch, 3, H, W] tensor (what score cannot beat);
//   score:   runScore on the folder: decode + preprocess in worker threads, overlapped with inference.
// The target (issue 5) is score >= 0.75x forward.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../lib/index.js';
import { inputSize } from '../lib/image/preprocess.js';
import { hasNativeJpeg } from '../lib/image/decode.js';
import { ClassResolver, readDataset } from '../lib/score/dataset.js';
import { runScore } from '../lib/score/run.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const images = Number(option('images', '256'));
const batch = Number(option('batch', '32'));
const arch = option('arch', 'torchvision');
const workers = Number(option('workers', String(availableParallelism())));
const dir = option('dir', join(tmpdir(), `alexnet-cli-bench-score-${images}`));

const MAKE_FOLDER = `
import os, sys, random
from PIL import Image
out, count = sys.argv[1], int(sys.argv[2])
data = '/usr/lib/python3/dist-packages/skimage/data'
names = ['astronaut.png', 'chelsea.png', 'coffee.png', 'rocket.jpg', 'motorcycle_left.png', 'hubble_deep_field.jpg', 'immunohistochemistry.png', 'logo.png']
photos = [Image.open(os.path.join(data, n)).convert('RGB') for n in names if os.path.exists(os.path.join(data, n))]
rng = random.Random(0)
for i in range(count):
    img = photos[i % len(photos)]
    w, h = img.size
    cw, ch = int(w * rng.uniform(0.6, 1.0)), int(h * rng.uniform(0.6, 1.0))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    img2 = img.crop((x, y, x + cw, y + ch))
    if rng.random() < 0.5: img2 = img2.transpose(Image.FLIP_LEFT_RIGHT)
    size = (500, 375) if rng.random() < 0.7 else (375, 500)
    img2 = img2.resize(size, Image.BILINEAR)
    folder = os.path.join(out, str(i % 4))
    os.makedirs(folder, exist_ok=True)
    img2.save(os.path.join(folder, 'img%05d.JPEG' % i), quality=90)
`;

function countFiles(root: string): number {
  if (!existsSync(root)) return 0;
  return readdirSync(root).reduce((n, d) => n + readdirSync(join(root, d)).length, 0);
}

if (countFiles(dir) !== images) {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('/usr/bin/python3', ['-c', MAKE_FOLDER, dir, String(images)], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('making the JPEG folder failed (needs Debian python3 with PIL at /usr/bin/python3)');
}

const classifier = await loadModel({ arch: arch as never, weights: 'random:1', numClasses: 4 });
const [height, width] = inputSize(classifier.preprocess);

// raw forward: a ready batch, warm-up pass first (arena allocation)
const input = new Float32Array(batch * 3 * height * width).map(() => Math.random() - 0.5);
await classifier.probabilities(input, [batch, 3, height, width]);
const passes = Math.max(2, Math.ceil(images / batch));
let start = process.hrtime.bigint();
for (let i = 0; i < passes; i++) await classifier.probabilities(input, [batch, 3, height, width]);
const forwardSeconds = Number(process.hrtime.bigint() - start) / 1e9;
const forwardRate = (passes * batch) / forwardSeconds;

const dataset = readDataset(dir, undefined, new ClassResolver(classifier.labels), 'numbered classes');
start = process.hrtime.bigint();
const result = await runScore(dataset, classifier, {
  batch, workers, top: 5, shard: { index: 0, count: 1 }, resume: false, exifOrientation: false, weights: 'random:1',
});
const t = result.timing;
const scoreRate = t.imagesPerSecond;

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`${cpu}, ${availableParallelism()} cores; JPEG decoder: ${hasNativeJpeg() ? 'libjpeg-turbo (native)' : 'jpeg-js'}`);
console.log(`${arch} (random weights), input ${height}x${width}, batch ${batch}, ${workers} decode workers, ${dataset.items.length} JPEGs ~500x375 in ${dir}`);
console.log(`forward   ${forwardRate.toFixed(1)} images/s (${passes} passes of ${batch})`);
console.log(`score     ${scoreRate.toFixed(1)} images/s (${t.images} images in ${(t.wallMs / 1000).toFixed(2)} s; per image: decode ${(t.decodeMs / t.images).toFixed(1)} ms + preprocess ${(t.preprocessMs / t.images).toFixed(1)} ms in workers, inference ${(t.inferenceMs / t.images).toFixed(1)} ms, waiting for decode ${(100 * t.waitMs / t.wallMs).toFixed(1)}% of the run)`);
console.log(`ratio     ${(scoreRate / forwardRate).toFixed(2)} (target >= 0.75)`);
classifier.dispose();
