// GEMM throughput of each kernel set (ISA) this CPU can run, through the native linear and conv2d
// primitives: GFLOP/s = 2 * multiply-adds / compute time (the nanoseconds each primitive resolves with).
// Run: npx tsc -p . && node dist/bench/kernels.js [repeats]
import { native, type Isa } from '../lib/native.js';

const b = native();
const repeats = Number(process.argv[2] ?? 10);

function filled(length: number, seed: number) {
  const t = b.alloc('cpu', length);
  const data = new Float32Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) { x = (x * 1103515245 + 12345) % 2147483648; data[i] = x / 2147483648 - 0.5; }
  t.write(data);
  return t;
}

interface Case { name: string; flops: number; run: () => Promise<number>; dispose: () => void }

function linearCase(rows: number, inF: number, outF: number): Case {
  const input = filled(rows * inF, 1), weight = filled(outF * inF, 2), bias = filled(outF, 3), output = b.alloc('cpu', rows * outF);
  const dims = Int32Array.from([rows, inF, outF]);
  return {
    name: `linear ${rows}x${inF} -> ${outF}`,
    flops: 2 * rows * inF * outF,
    run: () => b.linear(dims, input, weight, bias, output, true),
    dispose: () => [input, weight, bias, output].forEach((t) => t.dispose()),
  };
}

// AlexNet (torchvision) conv2: 64 -> 192, 5x5, pad 2, 27x27, batch 8
function convCase(batch: number): Case {
  const [inC, inH, outC, k, pad] = [64, 27, 192, 5, 2];
  const input = filled(batch * inC * inH * inH, 4), weight = filled(outC * inC * k * k, 5), bias = filled(outC, 6);
  const output = b.alloc('cpu', batch * outC * inH * inH);
  const dims = Int32Array.from([batch, inC, inH, inH, outC, k, k, 1, 1, pad, pad, pad, pad, 1, inH, inH]);
  return {
    name: `conv2d ${batch}x${inC}x${inH}x${inH} -> ${outC}, 5x5 (im2col + GEMM)`,
    flops: 2 * batch * outC * inH * inH * inC * k * k,
    run: () => b.conv2d(dims, input, weight, bias, output, true),
    dispose: () => [input, weight, bias, output].forEach((t) => t.dispose()),
  };
}

const features = b.cpuFeatures();
console.log(`threads ${b.getThreads()}; CPU supports ${features.supported.join(', ')}; compiled ${features.compiled.join(', ')}`);
const cases = [linearCase(32, 9216, 4096), linearCase(1, 9216, 4096), convCase(8)];
for (const isa of ['avx512', 'avx2', 'portable'] as Isa[]) {
  if (!features.supported.includes(isa)) { console.log(`${isa}: skipped (not supported here)`); continue; }
  b.setIsa(isa);
  for (const c of cases) {
    await c.run(); // warm-up: packing buffers, page faults
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) times.push(await c.run());
    times.sort((x, y) => x - y);
    const median = times[Math.floor(times.length / 2)];
    console.log(`${isa.padEnd(8)} ${c.name.padEnd(52)} median ${(median / 1e6).toFixed(2).padStart(8)} ms  ${(c.flops / median).toFixed(1).padStart(7)} GFLOP/s`);
  }
}
for (const c of cases) c.dispose();
b.setIsa('auto');
