// The accuracy table of docs/precision.md in small: PyTorch trains / fits two AlexNets and makes their
// labelled sets (bench/accuracy/make_sets.py --small: 100-105 evaluation images each, never used for
// training or calibration; made once into the temporary folder per version of the scripts), we quantize on the sets' calibration images and evaluate fp32, bf16 and int8;
// the targets are checked on each set: bf16 agrees with fp32 on >= 99.5% of top-1, int8 on >= 98%,
// each precision's accuracy within 1 point of fp32's, our int8 accuracy at least PyTorch's own int8.
// Needs /usr/bin/python3 with torch, torchvision, scikit-learn and scikit-image (Debian's python3-torch,
// python3-torchvision, python3-sklearn, python3-skimage); skipped, saying which is missing, without them.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../lib/native.js';
import { evaluateSet, mcnemarExact, pairedComparison, renderAccuracy, renderPaired, type SetResult } from '../bench/accuracy/evaluate.js';

const python = '/usr/bin/python3';
const script = fileURLToPath(new URL('../../bench/accuracy/make_sets.py', import.meta.url));
const torchInt8 = fileURLToPath(new URL('../../bench/torch_int8.py', import.meta.url));

function missing(): string | false {
  if (!existsSync(python)) return `${python} is not installed (the accuracy sets are made by PyTorch)`;
  const r = spawnSync(python, ['-c', 'import importlib.util as u; print(",".join(m for m in ["torch", "torchvision", "sklearn", "skimage"] if u.find_spec(m) is None))'], { encoding: 'utf8' });
  if (r.status !== 0) return `${python} does not run (${r.stderr.trim().split('\n').pop()})`;
  const absent = r.stdout.trim();
  return absent ? `${python} lacks ${absent} (Debian: python3-torch, python3-torchvision, python3-sklearn, python3-skimage)` : false;
}

const skip = missing();

// the paired comparison the accuracy runs print beside the table (ours int8 against PyTorch's, image by image)
test('the exact McNemar test: binomial tails worked out by hand, and the counts it is given', () => {
  const near = (got: number, want: number) => assert.ok(Math.abs(got - want) <= 1e-12 * want, `${got} vs ${want}`);
  assert.equal(mcnemarExact(0, 0), 1);
  assert.equal(mcnemarExact(3, 3), 1);
  near(mcnemarExact(0, 5), 0.0625);  // 2 * (1/2)^5
  near(mcnemarExact(5, 0), 0.0625);
  near(mcnemarExact(1, 10), 0.01171875);  // 2 * (1 + 11) / 2^11
  near(mcnemarExact(9, 13), 0.5234670639038086);  // 2 * sum_{i<=9} C(22, i) / 2^22 (Python, exact integers)
  // 1500 discordant images, where 2^-1500 is 0 in a double: Python's exact value
  assert.ok(Math.abs(mcnemarExact(700, 800) - 0.010559255466711544) < 1e-9);
  const labels = [0, 1, 2, 3, 4, 5];
  const c = pairedComparison(labels, [0, 1, 9, 9, 4, 9], [0, 9, 2, 3, 9, 9]);
  assert.deepEqual({ oursOnly: c.oursOnly, theirsOnly: c.theirsOnly }, { oursOnly: 2, theirsOnly: 2 });
  assert.equal(c.p, 1);
});

describe('accuracy: fp32, bf16 and int8 on networks PyTorch trained and fitted (small sets)', { skip }, () => {
  // made once per version of make_sets.py and the torch_int8.py it imports (training takes minutes on two
  // shared cores), then reused
  const hash = createHash('sha256').update(readFileSync(script)).update(readFileSync(torchInt8)).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), `alexnet-cli-accuracy-small-${hash}`);
  const results = new Map<string, SetResult>();

  before(async () => {
    if (!['digits', 'photos'].every((set) => existsSync(join(dir, set, 'meta.json')))) {
      const r = spawnSync(python, [script, dir, '--small'], { encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
      assert.equal(r.status, 0, r.stderr);
    }
    for (const set of ['digits', 'photos']) results.set(set, await evaluateSet(join(dir, set)));
  });

  for (const set of ['digits', 'photos']) {
    test(`${set}: bf16 and int8 meet the targets against fp32 and PyTorch int8`, (t) => {
      const r = results.get(set)!;
      for (const line of renderAccuracy([r]).split('\n')) t.diagnostic(line);
      const row = (precision: string, runtime: RegExp) => r.rows.find((x) => x.precision === precision && runtime.test(x.runtime))!;
      const fp32 = row('fp32', /^ours/);
      const bf16 = row('bf16', /^ours/);
      const int8 = row('int8', /^ours/);
      assert.ok(r.images >= 100);
      // the native bf16 / int8 runtime measured wherever this build has it
      const runtime = (native() as { packQuantized?: unknown }).packQuantized ? 'ours (native)' : 'ours (simulated)';
      assert.equal(int8.runtime, runtime);
      assert.equal(bf16.runtime, runtime);
      // the weights made it across: our fp32 and PyTorch's fp32 give the same top-1
      assert.ok(r.torchFp32Agreement >= 0.99, `fp32 top-1 equal to PyTorch's on ${r.torchFp32Agreement}`);
      // a classifier worth measuring: well above chance
      assert.ok(fp32.accuracy > 3 / r.meta.classes, `fp32 accuracy ${fp32.accuracy}`);
      assert.ok(bf16.agreement >= 0.995, `bf16 agreement ${bf16.agreement}`);
      assert.ok(int8.agreement >= 0.98, `int8 agreement ${int8.agreement}`);
      assert.ok(Math.abs(bf16.accuracy - fp32.accuracy) <= 0.01 + 1e-9, `bf16 accuracy ${bf16.accuracy} vs fp32 ${fp32.accuracy}`);
      assert.ok(Math.abs(int8.accuracy - fp32.accuracy) <= 0.01 + 1e-9, `int8 accuracy ${int8.accuracy} vs fp32 ${fp32.accuracy}`);
      const torchInt8 = r.rows.find((x) => x.precision === 'int8' && x.runtime.startsWith('PyTorch'));
      if (torchInt8) {
        t.diagnostic(renderPaired(r)!);
        const c = r.int8VsTorch!;
        assert.equal(c.oursOnly - c.theirsOnly, int8.correct - torchInt8.correct);
        assert.ok(int8.accuracy >= torchInt8.accuracy, `ours int8 ${int8.accuracy} vs ${torchInt8.runtime} ${torchInt8.accuracy}`);
      }
      else t.diagnostic(`PyTorch here has no x86 int8 engine (${JSON.stringify(r.meta.torch)}): that comparison is not made`);
    });
  }
});
