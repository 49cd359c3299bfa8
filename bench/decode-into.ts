// Images into a batch input, the way classify() did it and the way it does it now, interleaved in one run:
//   copy:   loadImageTensor per image (a Float32Array each), set into a host batch, written into the
//           model's input NativeTensor (Model.forward's host-input copy): 2 copies of every value
//   direct: loadImageInto, decodePreprocessJpeg straight into the input NativeTensor at the image's row
// Run: npx tsc -p . && node dist/bench/decode-into.js [--images 32] [--rounds 7] [--file test/fixtures/images/coffee-baseline.jpg]
import { readFileSync } from 'node:fs';
import { PREPROCESS } from '../lib/model/archs.js';
import { inputSize, loadImageInto, loadImageTensor } from '../lib/image/preprocess.js';
import { native } from '../lib/native.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const images = Number(flag('images', '32'));
const rounds = Number(flag('rounds', '7'));
const bytes = new Uint8Array(readFileSync(flag('file', 'test/fixtures/images/coffee-baseline.jpg')));
const p = PREPROCESS.seed;
const [height, width] = inputSize(p);
const per = 3 * height * width;
const input = native().alloc('cpu', images * per);
const concurrency = 4;

/** `images` jobs, `concurrency` at a time, as classify runs them */
async function each(job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < images) await job(next++);
  }));
}

const modes = {
  async copy() {
    const tensors: Float32Array[] = new Array(images);
    await each(async (i) => { tensors[i] = await loadImageTensor(bytes, p); });
    const batch = new Float32Array(images * per);
    tensors.forEach((t, i) => batch.set(t, i * per));
    input.write(batch);
  },
  async direct() {
    await each((i) => loadImageInto(bytes, p, input, i * per, per));
  },
};

const ms: Record<keyof typeof modes, number[]> = { copy: [], direct: [] };
for (const mode of Object.keys(modes) as (keyof typeof modes)[]) await modes[mode](); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const mode of (r % 2 ? ['direct', 'copy'] : ['copy', 'direct']) as (keyof typeof modes)[]) {
    const start = process.hrtime.bigint();
    await modes[mode]();
    ms[mode].push(Number(process.hrtime.bigint() - start) / 1e6);
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const mb = (n: number) => (n / 1e6).toFixed(1);
console.log(`${images} JPEGs (${width}x${height} crop, ${mb(per * 4)} MB of float32 each) into one batch input, median of ${rounds} interleaved rounds:`);
console.log(`  copy   ${median(ms.copy).toFixed(1)} ms  (values copied after decoding: ${mb(2 * images * per * 4)} MB; ${images} Float32Arrays + a batch of ${mb(images * per * 4)} MB allocated)`);
console.log(`  direct ${median(ms.direct).toFixed(1)} ms  (values copied after decoding: 0 MB)`);
console.log(`  direct/copy time ratio ${(median(ms.direct) / median(ms.copy)).toFixed(3)}`);
input.dispose();
