#!/usr/bin/env node
// Planted bugs in the native addon: each edit below is applied alone to a scratch copy of the tree
// (reports/native-scratch), the addon rebuilt there (cmake's incremental build: the edited file and
// the link; ccache makes putting the file back cheap), the kernel tests run, the file restored.
// A bug is caught when the tests fail. Prints caught/survived per area and every survivor.
//
//   node scripts/mutate-native.mjs [--only NAME,NAME]      (npm run mutate -- native)
//
// An edit whose text is no longer found is reported as stale (the source moved on): update the list.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCRATCH = join(ROOT, 'reports', 'native-scratch');
// the plan's checks are op-checks.h's too; plan.test runs for the runPlan-only edits
const TESTS = ['napi-checks', 'kernels'];

const OC = 'native/napi/op-checks.cc';
/** [area, name, file, original text (found exactly once), planted bug, test files if not TESTS] */
export const BUGS = [
  ['napi checks', 'conv2d output length', OC, 'product({p.batch, p.out_channels, p.out_height, p.out_width})', 'product({p.batch, p.out_channels, p.out_height, p.out_width - 1})'],
  ['napi checks', 'conv2d weight length: longer accepted', OC, 'exact_message(n.weight, product({p.out_channels', 'at_least_message(n.weight, product({p.out_channels'],
  ['napi checks', 'pool output length', OC, 'at_least_message(n.output, product({p.batch, p.channels, p.out_height, p.out_width}), prefix + "output")', 'std::string()'],
  ['napi checks', 'pool input length', OC, 'at_least_message(n.input, product({p.batch, p.channels, p.in_height, p.in_width}), prefix + "input")', 'std::string()'],
  ['napi checks', 'pool ceil bound', OC, '(span_h - p.kernel_h + p.stride_h - 1) / p.stride_h + 1', '(span_h - p.kernel_h + p.stride_h) / p.stride_h + 1'],
  ['napi checks', 'lrn input length', OC, 'first_of({at_least_message(n.input, count, prefix + "input"), ', 'first_of({'],
  ['napi checks', 'lrn output length', OC, ', at_least_message(n.output, count, prefix + "output")});', '});'],
  ['napi checks', 'linear input length', OC, 'at_least_message(n.input, product({rows, in_features}), prefix + "input")', 'std::string()'],
  ['napi checks', 'linear bias length', OC, 'n.bias < 0 ? "" : exact_message(n.bias, out_features, prefix + "bias")', 'std::string()'],
  ['napi checks', 'linear output length', OC, 'at_least_message(n.output, product({rows, out_features}), prefix + "output")', 'std::string()'],
  ['napi checks', 'softmax input length', OC, 'return first_of({at_least_message(n.input, product({d[0], d[1]}), prefix + "input"),', 'return first_of({'],
  ['napi checks', 'softmax output length', OC, 'at_least_message(n.output, product({d[0], d[1]}), prefix + "output")', 'std::string()'],
  ['napi checks', 'adaptiveAvgPool2d input length', OC, 'at_least_message(n.input, product({d[0], d[1], d[2], d[3]}), prefix + "input")', 'std::string()'],
  ['napi checks', 'adaptiveAvgPool2d output length', OC, 'at_least_message(n.output, product({d[0], d[1], d[4], d[5]}), prefix + "output")', 'std::string()'],
  ['napi checks', 'relu output length', OC, 'at_least_message(n.output, d[0], prefix + "output")});', 'at_least_message(n.output, d[0] - 1, prefix + "output")});'],
  ['napi checks', 'dims: zero accepted', OC, 'if ((dim > 0 || (allow_zero && dim == 0))', 'if ((dim >= 0 || (allow_zero && dim == 0))'],
  ['napi checks', 'alloc: negative length', 'native/napi/ops.cc', 'arg_integer(env, info[1], "length", 0,', 'arg_integer(env, info[1], "length", -1,'],
  ['napi checks', 'fromFile: negative byteOffset', 'native/napi/args.cc', 'arg_integer(env, info[2], "byteOffset", 0,', 'arg_integer(env, info[2], "byteOffset", -1,'],
  ['napi checks', 'runPlan: tensor index bound', 'native/napi/op-table.cc', 'static_cast<size_t>(index) >= tensors.size()', 'static_cast<size_t>(index) > tensors.size()', ['plan']],
  ['kernels', 'pool thread split drops the last plane', 'native/kernels/cpu/pool2d.cc', 'split_range(planes, ith, nth, &begin, &end);', 'split_range(planes - (nth > 1), ith, nth, &begin, &end);'],
  ['kernels', 'max pool top padding ignored', 'native/kernels/cpu/pool2d.cc', 'const int h_start = oh * p.stride_h - p.pad_top;\n      const int h0 = clamp_int(h_start, 0, p.in_height), h1 = clamp_int(h_start + p.kernel_h, 0, p.in_height);\n      float* row_out', 'const int h_start = oh * p.stride_h;\n      const int h0 = clamp_int(h_start, 0, p.in_height), h1 = clamp_int(h_start + p.kernel_h, 0, p.in_height);\n      float* row_out'],
  ['kernels', 'avg pool count_include_pad window not clipped to the padded input', 'native/kernels/cpu/pool2d.cc', 'const int h_start = oh * p.stride_h - p.pad_top;\n      const int h0 = clamp_int(h_start, 0, p.in_height), h1 = clamp_int(h_start + p.kernel_h, 0, p.in_height);\n      // torch', 'const int h_start = oh * p.stride_h - p.pad_top + 1;\n      const int h0 = clamp_int(h_start, 0, p.in_height), h1 = clamp_int(h_start + p.kernel_h, 0, p.in_height);\n      // torch'],
  ['kernels', 'lrn thread split drops the last row', 'native/kernels/cpu/lrn.cc', 'split_range(rows, ith, nth, &begin, &end);', 'split_range(rows - (nth > 1), ith, nth, &begin, &end);'],
  ['kernels', 'lrn window one channel short above', 'native/kernels/cpu/lrn.cc', 'const int c1 = c + after >= p.channels ? p.channels - 1 : c + after;', 'const int c1 = c + after >= p.channels ? p.channels - 2 : c + after;'],
  ['kernels', 'softmax thread split drops the last row', 'native/kernels/cpu/softmax.cc', 'split_range(p.rows, ith, nth, &begin, &end);', 'split_range(p.rows - (nth > 1), ith, nth, &begin, &end);'],
  ['kernels', 'softmax max skips the last column', 'native/kernels/cpu/softmax.cc', 'for (int i = 1; i < p.cols; ++i) max =', 'for (int i = 1; i < p.cols - 1; ++i) max ='],
  ['kernels', 'adaptive pool thread split drops the last plane', 'native/kernels/cpu/adaptive-avgpool.cc', 'split_range(planes, ith, nth, &begin, &end);', 'split_range(planes - (nth > 1), ith, nth, &begin, &end);'],
  ['kernels', 'relu thread split drops the last element', 'native/kernels/cpu/relu.cc', 'split_range(static_cast<int64_t>(length), ith, nth, &begin, &end);', 'split_range(static_cast<int64_t>(length) - (nth > 1), ith, nth, &begin, &end);'],
  ['kernels', 'small ops on one thread do half the work', 'native/kernels/cpu/small-op.h', 'fn(0, 1);', 'fn(0, 2);'],
];

function sh(command, cwd, timeoutS = 900) {
  const r = spawnSync('bash', ['-c', command], { cwd, encoding: 'utf8', timeout: timeoutS * 1000, env: { ...process.env, CCACHE_BASEDIR: process.env.CCACHE_BASEDIR ?? dirname(dirname(ROOT)), CCACHE_NOHASHDIR: '1' } });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function prepare() {
  mkdirSync(SCRATCH, { recursive: true });
  for (const p of ['native', 'CMakeLists.txt', 'package.json', 'dist', 'scripts']) {
    rmSync(join(SCRATCH, p), { recursive: true, force: true });
    cpSync(join(ROOT, p), join(SCRATCH, p), { recursive: true });
  }
  for (const p of ['node_modules', 'test', 'data']) if (!existsSync(join(SCRATCH, p))) symlinkSync(join(ROOT, p), join(SCRATCH, p));
  const built = sh(existsSync(join(SCRATCH, 'build', 'CMakeCache.txt')) ? 'cmake --build build --parallel 2' : 'npx cmake-js compile --parallel 2', SCRATCH);
  if (!built.ok) throw new Error(`the scratch copy does not build:\n${built.out.slice(-3000)}`);
}

const testCommand = (tests = TESTS) => `node --test --test-concurrency=1 ${tests.map((t) => `dist/test/${t}.test.js`).join(' ')}`;

function main() {
  const onlyAt = process.argv.indexOf('--only');
  const only = onlyAt > 0 ? process.argv[onlyAt + 1].split(',') : null;
  const bugs = BUGS.filter((b) => !only || only.some((o) => b[1].includes(o)));
  console.log(`\n== native: ${bugs.length} planted bugs; tests: ${testCommand()}`);
  prepare();
  const baseline = sh(`${testCommand()} dist/test/plan.test.js`, SCRATCH);
  if (!baseline.ok) throw new Error(`the kernel tests fail without any planted bug:\n${baseline.out.slice(-3000)}`);
  const results = [];
  for (const [area, name, file, find, replace, tests] of bugs) {
    const path = join(SCRATCH, file);
    const original = readFileSync(path, 'utf8');
    const count = original.split(find).length - 1;
    if (count !== 1) {
      results.push({ area, name, status: 'stale', detail: `${file}: the text to replace is found ${count} times` });
      console.log(`  stale     ${area}: ${name} (${file}: found ${count} times)`);
      continue;
    }
    writeFileSync(path, original.replace(find, replace));
    try {
      const build = sh('cmake --build build --parallel 2', SCRATCH);
      if (!build.ok) {
        results.push({ area, name, status: 'no build' });
        console.log(`  no build  ${area}: ${name}`);
        continue;
      }
      const run = sh(testCommand(tests), SCRATCH);
      const failing = [...run.out.matchAll(/^not ok \d+ - (.*)$/gm)].map((m) => m[1]).slice(0, 3);
      results.push({ area, name, status: run.ok ? 'survived' : 'caught', detail: failing.join('; ') });
      console.log(`  ${run.ok ? 'SURVIVED' : 'caught  '}  ${area}: ${name}${failing.length ? `  (${failing.join('; ')})` : ''}`);
    } finally {
      writeFileSync(path, original);
    }
  }
  sh('cmake --build build --parallel 2', SCRATCH);
  console.log('\nplanted native bugs caught:');
  for (const area of [...new Set(results.map((r) => r.area))]) {
    const mine = results.filter((r) => r.area === area && (r.status === 'caught' || r.status === 'survived'));
    console.log(`  ${area.padEnd(12)} ${mine.filter((r) => r.status === 'caught').length}/${mine.length}`);
  }
  for (const r of results.filter((x) => x.status !== 'caught')) console.log(`  ${r.status}: ${r.area}: ${r.name}${r.detail ? ` (${r.detail})` : ''}`);
  mkdirSync(join(ROOT, 'reports', 'mutation'), { recursive: true });
  writeFileSync(join(ROOT, 'reports', 'mutation', 'native.json'), JSON.stringify(results, null, 1));
  process.exitCode = results.every((r) => r.status === 'caught') ? 0 : 1;
}

main();
