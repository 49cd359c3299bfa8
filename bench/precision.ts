// The fc layers and the convolutions at each precision (fp32 packed, with Winograd for the convs, bf16, int8
// with dynamic activation quantization) and kernel set, through the same linear() / conv2d() primitives the
// model runs: milliseconds per call (the native compute time each call resolves with; median of the repeats)
// and, for the fc layers, the weight bytes read per ms. Cases are interleaved repeat by repeat, so only
// ratios from the same run count. The convs are seed's (conv2 of caffe and its groups: --arch caffe).
// --cpu-time: process CPU time (user + system, both threads) per call instead of wall time: on a machine shared
// by many, where the 2 cores are time-sliced, it shows the work each kernel does rather than when it got the cores.
// Run: npx tsc -p . && node dist/bench/precision.js [--repeats 15] [--isa avx512-vnni,avx2] [--rows 1,32] [--arch seed] [--cpu-time]
import { native, type Isa, type NativeTensor, type Precision } from '../lib/native.js';
import { filled, flag, option } from './common.js';
import { buildArchitecture } from '../lib/model/archs.js';
import type { ArchName } from '../lib/model/layers.js';
import { inferShapes } from '../lib/model/shapes.js';

const b = native();
const repeats = Number(option('repeats', '15'));
const features = b.cpuFeatures();
const isas = option('isa', features.supported.join(',')).split(',') as Isa[];
const rowsList = option('rows', '1,32').split(',').map(Number);
const precisions: Precision[] = ['fp32', 'bf16', 'int8'];
const archName = option('arch', 'seed') as ArchName;
const cpuTime = flag('cpu-time');

interface Case { name: string; isa: Isa; precision: Precision; rows: number; inF: number; outF: number; bytes: number; times: number[];
  run: () => Promise<number> }

// torchvision AlexNet's fc6, fc7, fc8
const LAYERS: Array<[number, number]> = [[9216, 4096], [4096, 4096], [4096, 1000]];
const cases: Case[] = [];
for (const [inF, outF] of LAYERS) {
  const bias = filled(b, outF, 3);
  for (const precision of precisions) {
    const weight = await b.packLinear!(Int32Array.of(outF, inF), filled(b, outF * inF, 2), precision);
    for (const rows of rowsList) {
      const input = filled(b, rows * inF, 1), output = b.alloc('cpu', rows * outF);
      const dims = Int32Array.from([rows, inF, outF]);
      for (const isa of isas)
        cases.push({ name: `${inF} -> ${outF}`, isa, precision, rows, inF, outF, bytes: weight.length * 4, times: [],
          run: () => b.linear(dims, input, weight, bias, output, true) });
    }
  }
}
for (const layer of inferShapes(buildArchitecture(archName))) {
  if (layer.spec.type !== 'conv2d') continue;
  const spec = layer.spec;
  const [c, h, w] = layer.inShape;
  const p = layer.pads!;
  const weightLength = spec.outChannels * (c / spec.groups) * spec.kernel[0] * spec.kernel[1];
  for (const rows of rowsList) {
    const dims = Int32Array.of(rows, c, h, w, spec.outChannels, spec.kernel[0], spec.kernel[1], spec.stride[0], spec.stride[1],
      p[0], p[1], p[2], p[3], spec.groups, layer.outShape[1], layer.outShape[2]);
    const input = filled(b, rows * c * h * w, 1), output = b.alloc('cpu', rows * spec.outChannels * layer.outShape[1] * layer.outShape[2]);
    const bias = filled(b, spec.outChannels, 3);
    for (const precision of precisions) {
      const weight = b.packConv!(dims, filled(b, weightLength, 2), precision === 'fp32', precision);
      for (const isa of isas)
        cases.push({ name: `${archName} ${spec.name}`, isa, precision, rows, inF: c, outF: spec.outChannels, bytes: weight.length * 4, times: [],
          run: () => b.conv2d(dims, input, weight, bias, output, true) });
    }
  }
}
console.log(`threads ${b.getThreads()}; CPU supports ${features.supported.join(', ')}; ms are ${cpuTime ? 'CPU time of both threads' : 'wall time'}`);
for (let r = 0; r < repeats; r++)
  for (const c of cases) {
    b.setIsa(c.isa);
    const cpu0 = process.cpuUsage();
    const ns = await c.run();
    const cpu = process.cpuUsage(cpu0);
    c.times.push(cpuTime ? (cpu.user + cpu.system) / 1e3 : ns / 1e6);
  }
b.setIsa('auto');
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const fp32Of = (c: Case) => cases.find((o) => o.precision === 'fp32' && o.isa === c.isa && o.rows === c.rows && o.name === c.name)!;
console.log('layer                  rows  isa          precision  kernel                      ms     GB/s   vs fp32');
for (const c of cases) {
  b.setIsa(c.isa);
  const kernel = c.precision === 'fp32' ? `${c.isa} fp32` : b.cpuFeatures().lowpKernels[c.precision];
  const ms = median(c.times);
  console.log(`${c.name.padEnd(22)} ${String(c.rows).padStart(4)}  ${c.isa.padEnd(12)} ${c.precision.padEnd(10)} ${kernel.padEnd(24)} ${ms.toFixed(3).padStart(8)} ${(c.bytes / ms / 1e6).toFixed(1).padStart(7)} ${(ms / median(fp32Of(c).times)).toFixed(2).padStart(8)}x`);
}
b.setIsa('auto');
