// GEMM throughput of each kernel set (ISA) this CPU can run, through the native primitives the model
// uses: linear with packed weights (the fc layers: batched tiles at 5+ rows, the weight stream below),
// linear with plain weights (the general GEMM) and conv2d with packed weights (the packed-A GEMM, B
// gathered from the input). GFLOP/s = 2 * multiply-adds / compute time (the nanoseconds each primitive
// resolves with). Cases are interleaved repeat by repeat, so only ratios from the same run count.
// Run: npx tsc -p . && node dist/bench/kernels.js [--repeats 10] [--isa avx2,portable] [--threads N]
//        [--previous path/to/old/alexnet_native.node]  (adds that build's runs, interleaved, current ISA only)
import { native, type Binding, type Isa } from '../lib/native.js';
import { filled, loadBuild, option } from './common.js';

const b = native();
const repeats = Number(option('repeats', '10'));
const previousPath = option('previous', '');
const previous = loadBuild(previousPath);

interface Case { name: string; flops: number; run: () => Promise<number>; dispose: () => void }

async function linearCase(bb: Binding, rows: number, inF: number, outF: number, packed: boolean): Promise<Case> {
  const input = filled(bb, rows * inF, 1), bias = filled(bb, outF, 3), output = bb.alloc('cpu', rows * outF);
  const weight = packed ? await bb.packLinear!(Int32Array.of(outF, inF), filled(bb, outF * inF, 2)) : filled(bb, outF * inF, 2);
  const dims = Int32Array.from([rows, inF, outF]);
  return {
    name: `linear ${rows}x${inF} -> ${outF}${packed ? ', packed' : ''}`,
    flops: 2 * rows * inF * outF,
    run: () => bb.linear(dims, input, weight, bias, output, true),
    dispose: () => [input, weight, bias, output].forEach((t) => t.dispose()),
  };
}

// AlexNet (torchvision) conv2: 64 -> 192, 5x5, pad 2, 27x27, packed weights (the packed-A GEMM path)
function convCase(bb: Binding, batch: number): Case {
  const [inC, inH, outC, k, pad] = [64, 27, 192, 5, 2];
  const dims = Int32Array.from([batch, inC, inH, inH, outC, k, k, 1, 1, pad, pad, pad, pad, 1, inH, inH]);
  const input = filled(bb, batch * inC * inH * inH, 4), bias = filled(bb, outC, 6);
  const weight = bb.packConv!(dims, filled(bb, outC * inC * k * k, 5));
  const output = bb.alloc('cpu', batch * outC * inH * inH);
  return {
    name: `conv2d ${batch}x${inC}x${inH}x${inH} -> ${outC}, 5x5, packed`,
    flops: 2 * batch * outC * inH * inH * inC * k * k,
    run: () => bb.conv2d(dims, input, weight, bias, output, true),
    dispose: () => [input, weight, bias, output].forEach((t) => t.dispose()),
  };
}

async function casesOf(bb: Binding): Promise<Case[]> {
  return [
    await linearCase(bb, 32, 9216, 4096, true), await linearCase(bb, 32, 4096, 4096, true),
    await linearCase(bb, 8, 9216, 4096, true), await linearCase(bb, 1, 9216, 4096, true),
    await linearCase(bb, 32, 9216, 4096, false), convCase(bb, 8),
  ];
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const threads = Number(option('threads', '0'));
if (threads > 0) {
  b.setThreads(threads);
  previous?.setThreads(threads);
}
const features = b.cpuFeatures();
const isas = option('isa', 'avx512,avx2,portable').split(',') as Isa[];
console.log(`threads ${b.getThreads()}; CPU supports ${features.supported.join(', ')}; compiled ${features.compiled.join(', ')}; peak ${b.peakGflops?.().toFixed(1)} GFLOP/s`);
if (previous) console.log(`previous build: ${previousPath} (same ISA, interleaved)`);
const current = await casesOf(b);
const old = previous ? await casesOf(previous) : [];
for (const isa of isas) {
  if (!features.supported.includes(isa)) { console.log(`${isa}: skipped (not supported here)`); continue; }
  b.setIsa(isa);
  previous?.setIsa(isa);
  const times = current.map(() => [] as number[]), oldTimes = old.map(() => [] as number[]);
  for (let i = 0; i <= repeats; i++) {
    for (let c = 0; c < current.length; c++) {
      const ns = await current[c].run();
      if (i > 0) times[c].push(ns); // the first repeat warms up: packing buffers, page faults
      if (old[c]) {
        const oldNs = await old[c].run();
        if (i > 0) oldTimes[c].push(oldNs);
      }
    }
  }
  for (let c = 0; c < current.length; c++) {
    const ns = median(times[c]);
    let line = `${isa.padEnd(8)} ${current[c].name.padEnd(40)} median ${(ns / 1e6).toFixed(2).padStart(8)} ms ${(current[c].flops / ns).toFixed(1).padStart(7)} GFLOP/s`;
    if (old[c]) {
      const oldNs = median(oldTimes[c]);
      line += `   previous ${(oldNs / 1e6).toFixed(2).padStart(8)} ms ${(old[c].flops / oldNs).toFixed(1).padStart(7)} GFLOP/s   speedup ${(oldNs / ns).toFixed(3)}`;
    }
    console.log(line);
  }
}
for (const c of [...current, ...old]) c.dispose();
b.setIsa('auto');
previous?.setIsa('auto');
