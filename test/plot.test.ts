import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { PNG } from 'pngjs';
import { ARCH_NAMES, buildArchitecture } from '../lib/model/archs.js';
import type { Architecture } from '../lib/model/layers.js';
import { parseFold, plotCommand, renderSvg, svgToPng } from '../lib/commands/plot.js';
import { HAND_TABLES } from './alexnet-tables.js';
import { chromiumMissing, inkExtent, luminanceSpread, render } from './chromium.js';

type XmlNode = Record<string, unknown>;

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', preserveOrder: true, trimValues: false });

/** preserveOrder nodes: { tag: children[], ':@': attributes } or { '#text': value } */
function tagOf(node: XmlNode): string {
  return Object.keys(node).find((k) => k !== ':@')!;
}
const attrs = (node: XmlNode): Record<string, string> => (node[':@'] ?? {}) as Record<string, string>;
const children = (node: XmlNode): XmlNode[] => (Array.isArray(node[tagOf(node)]) ? node[tagOf(node)] as XmlNode[] : []);

function findAll(nodes: XmlNode[], match: (n: XmlNode) => boolean, found: XmlNode[] = []): XmlNode[] {
  for (const n of nodes) {
    if (tagOf(n) === '#text') continue;
    if (match(n)) found.push(n);
    findAll(children(n), match, found);
  }
  return found;
}

function textOf(node: XmlNode): string {
  if (tagOf(node) === '#text') return String(node['#text']);
  return children(node).map(textOf).join(tagOf(node) === 'text' ? '' : '\n');
}

function parseSvg(svg: string): { root: XmlNode; layers: XmlNode[] } {
  assert.equal(XMLValidator.validate(svg), true);
  const doc = parser.parse(svg) as XmlNode[];
  const root = doc.find((n) => tagOf(n) === 'svg')!;
  assert.ok(root, 'no <svg> root');
  assert.equal(attrs(root)['@xmlns'], 'http://www.w3.org/2000/svg');
  const layers = findAll(children(root), (n) => tagOf(n) === 'g' && attrs(n)['@class'] === 'layer');
  return { root, layers };
}

const shapeText = (shape: number[]): string => `(None, ${shape.join(', ')})`;

const paramsText = (n: number): string => `${n.toLocaleString('en-US')} param${n === 1 ? '' : 's'}`;

/** every rect inside the picture */
function checkInside(root: XmlNode): void {
  const width = Number(attrs(root)['@width']);
  const height = Number(attrs(root)['@height']);
  for (const r of findAll(children(root), (n) => tagOf(n) === 'rect')) {
    const { '@x': x, '@y': y, '@width': rw, '@height': rh } = attrs(r);
    assert.ok(Number(x) >= 0 && Number(y) >= 0 && Number(x) + Number(rw) <= width && Number(y) + Number(rh) <= height, `rect at ${x},${y} leaves the ${width}x${height} picture`);
  }
}

for (const name of ARCH_NAMES) {
  test(`plot --show-shapes ${name}: one box per layer with its name, type, parameters and shapes (hand-written table)`, () => {
    const arch = buildArchitecture(name);
    const { root, layers } = parseSvg(renderSvg(arch, { showShapes: true }));
    const hand = HAND_TABLES[name];
    assert.deepEqual(layers.map((g) => attrs(g)['@data-name']), hand.map((l) => l.name));
    layers.forEach((g, i) => {
      const { name: layerName, type, in: inShape, out: outShape, params } = hand[i];
      const a = attrs(g);
      assert.equal(a['@data-type'], type);
      assert.equal(a['@data-input-shape'], inShape.join(','));
      assert.equal(a['@data-output-shape'], outShape.join(','));
      assert.equal(a['@data-params'], String(params));
      const groups = hand[i].groups ?? 1;
      const rects = findAll(children(g), (n) => tagOf(n) === 'rect');
      assert.equal(rects.length, groups, `${layerName}: ${groups} box(es)`);
      const texts = findAll(children(g), (n) => tagOf(n) === 'text').map(textOf);
      assert.ok(texts.includes(type), `${layerName}: type shown`);
      if (groups === 1) {
        assert.ok(texts.includes(layerName), `${layerName}: name shown`);
        assert.ok(texts.includes(paramsText(params)), `${layerName}: ${paramsText(params)} shown in ${texts.join(' | ')}`);
        assert.ok(texts.includes(`input:  ${shapeText(inShape)}`), `${layerName}: input shape shown in ${texts.join(' | ')}`);
        assert.ok(texts.includes(`output: ${shapeText(outShape)}`), `${layerName}: output shape shown`);
      } else {
        // towers: each shows its slice of the channels and half the weights and biases; the full shapes are in the tooltip
        const [c, h, w] = inShape;
        const [oc, oh, ow] = outShape;
        for (let k = 1; k <= groups; k++) assert.ok(texts.includes(`${layerName} · group ${k}/${groups}`));
        assert.equal(texts.filter((t) => t === paramsText(params / groups)).length, groups);
        assert.equal(texts.filter((t) => t === `input:  ${shapeText([c / groups, h, w])}`).length, groups);
        assert.equal(texts.filter((t) => t === `output: ${shapeText([oc / groups, oh, ow])}`).length, groups);
        const title = findAll(children(g), (n) => tagOf(n) === 'title').map(textOf)[0];
        assert.equal(title, `${layerName}: ${type} ${shapeText(inShape)} → ${shapeText(outShape)}, ${paramsText(params)}`);
      }
    });
    checkInside(root);
  });
}

/** the start and end points of every edge path (M x,y ... x,y) */
function edgeEnds(root: XmlNode): [number, number, number, number][] {
  return findAll(children(root), (n) => tagOf(n) === 'path' && attrs(n)['@class'] === 'edge').map((p) => {
    const numbers = attrs(p)['@d'].match(/-?[\d.]+/g)!.map(Number);
    return [numbers[0], numbers[1], numbers[numbers.length - 2], numbers[numbers.length - 1]];
  });
}

/** the bounding box of a layer group's first rect */
const boxOf = (g: XmlNode): { x: number; y: number; width: number; height: number } => {
  const r = attrs(findAll(children(g), (n) => tagOf(n) === 'rect')[0]);
  return { x: Number(r['@x']), y: Number(r['@y']), width: Number(r['@width']), height: Number(r['@height']) };
};

test('--rankdir LR lays the layers out left to right; TB (the default) top to bottom', () => {
  for (const name of ARCH_NAMES) {
    const arch = buildArchitecture(name);
    const lr = parseSvg(renderSvg(arch, { showShapes: true, rankdir: 'LR' }));
    const tb = parseSvg(renderSvg(arch, { showShapes: true }));
    assert.equal(attrs(lr.root)['@data-rankdir'], 'LR');
    assert.equal(attrs(tb.root)['@data-rankdir'], 'TB');
    const size = (root: XmlNode) => [Number(attrs(root)['@width']), Number(attrs(root)['@height'])];
    const [lrWidth, lrHeight] = size(lr.root);
    const [tbWidth, tbHeight] = size(tb.root);
    assert.ok(lrWidth > 3 * lrHeight, `${name} LR: ${lrWidth}x${lrHeight}`);
    assert.ok(tbHeight > 3 * tbWidth, `${name} TB: ${tbWidth}x${tbHeight}`);
    assert.equal(lr.layers.length, HAND_TABLES[name].length);
    checkInside(lr.root);
    // each box starts right of the end of the one before it (LR), below it (TB)
    lr.layers.forEach((g, i) => {
      if (i > 0) assert.ok(boxOf(g).x > boxOf(lr.layers[i - 1]).x + boxOf(lr.layers[i - 1]).width, `${name} LR: ${attrs(g)['@data-name']} not right of the box before`);
    });
    tb.layers.forEach((g, i) => {
      if (i > 0) assert.ok(boxOf(g).y > boxOf(tb.layers[i - 1]).y + boxOf(tb.layers[i - 1]).height, `${name} TB: ${attrs(g)['@data-name']} not below the box before`);
    });
    // every edge runs forward along the flow
    const lrEdges = edgeEnds(lr.root);
    const towers = HAND_TABLES[name].reduce((a, l, i, all) => a + ((l.groups ?? 1) > 1 && (all[i - 1]?.groups ?? 1) === l.groups ? l.groups! - 1 : 0), 0);
    assert.ok(lrEdges.length >= HAND_TABLES[name].length, `${name}: ${lrEdges.length} edges (${towers} tower links)`);
    for (const [x1, , x2] of lrEdges) assert.ok(x2 > x1 + 10, `${name} LR: an edge from x ${x1} to ${x2}`);
    for (const [, y1, , y2] of edgeEnds(tb.root)) assert.ok(y2 > y1 + 10, `${name} TB: an edge from y ${y1} to ${y2}`);
  }
  // the caffe towers stack vertically in LR: the two groups of conv2 share an x and differ in y
  const caffe = parseSvg(renderSvg(buildArchitecture('caffe'), { rankdir: 'LR' }));
  const conv2 = findAll(children(caffe.layers.find((g) => attrs(g)['@data-name'] === 'conv2')!), (n) => tagOf(n) === 'rect').map(attrs);
  assert.equal(conv2.length, 2);
  assert.equal(conv2[0]['@x'], conv2[1]['@x']);
  assert.ok(Number(conv2[1]['@y']) >= Number(conv2[0]['@y']) + Number(conv2[0]['@height']));
});

test('fold: Dropout and Flatten become a line in the box before them', () => {
  const arch = buildArchitecture('seed');
  const { root, layers } = parseSvg(renderSvg(arch, { showShapes: true, fold: ['dropout', 'flatten'] }));
  const names = HAND_TABLES.seed.filter((l) => l.type !== 'Dropout' && l.type !== 'Flatten').map((l) => l.name);
  assert.deepEqual(layers.map((g) => attrs(g)['@data-name']), names);
  assert.equal(names.length, 12);
  const byName = (n: string) => layers.find((g) => attrs(g)['@data-name'] === n)!;
  const textsOf = (g: XmlNode) => findAll(children(g), (n) => tagOf(n) === 'text').map(textOf);
  assert.equal(attrs(byName('pool5'))['@data-folded'], 'flatten');
  assert.ok(textsOf(byName('pool5')).includes('+ Flatten → (None, 9216)'), textsOf(byName('pool5')).join(' | '));
  assert.equal(attrs(byName('fc6'))['@data-folded'], 'drop6');
  assert.ok(textsOf(byName('fc6')).includes('+ Dropout (rate 0.5)'));
  assert.ok(textsOf(byName('fc7')).includes('+ Dropout (rate 0.5)'));
  // the edges now run pool5 -> fc6 -> fc7 -> fc8: one per box after the input
  assert.equal(edgeEnds(root).length, names.length);
  // torchvision: the dropout after flatten folds into the same box (avgpool)
  const tv = parseSvg(renderSvg(buildArchitecture('torchvision'), { fold: ['dropout', 'flatten'] }));
  const avgpool = tv.layers.find((g) => attrs(g)['@data-name'] === 'avgpool')!;
  assert.equal(attrs(avgpool)['@data-folded'], 'flatten,drop6');
  assert.equal(tv.layers.length, 12);
  // not folded: every layer a box
  assert.equal(parseSvg(renderSvg(arch)).layers.length, 15);
  assert.deepEqual(parseFold(undefined), []);
  assert.deepEqual(parseFold(''), ['dropout', 'flatten']);
  assert.deepEqual(parseFold('Dropout,LRN'), ['dropout', 'lrn']);
  assert.throws(() => parseFold('conv2d'), { code: 'ERR_USAGE', message: 'Expected a comma-separated list of dropout, flatten, relu, lrn, softmax for --fold but received conv2d' });
});

test('--no-show-params leaves the counts out', () => {
  const svg = renderSvg(buildArchitecture('seed'), { showParams: false });
  assert.doesNotMatch(svg, /params<\/text>/);
  assert.match(renderSvg(buildArchitecture('seed')), />37,752,832 params</);
});

test('caffe: grouped convolutions sit on groups=2 bands (conv2; conv4 and conv5 together)', () => {
  const { root } = parseSvg(renderSvg(buildArchitecture('caffe')));
  const bands = findAll(children(root), (n) => tagOf(n) === 'g' && attrs(n)['@class'] === 'band');
  assert.equal(bands.length, 2);
  for (const b of bands) {
    assert.equal(attrs(b)['@data-groups'], '2');
    assert.ok(findAll(children(b), (n) => tagOf(n) === 'text').map(textOf).includes('groups=2'));
  }
  const seed = parseSvg(renderSvg(buildArchitecture('seed'))).root;
  assert.equal(findAll(children(seed), (n) => attrs(n)['@class'] === 'band').length, 0);
});

test('without --show-shapes the boxes carry no shapes', () => {
  const svg = renderSvg(buildArchitecture('torchvision'));
  const { layers } = parseSvg(svg);
  assert.equal(layers.length, 15);
  assert.doesNotMatch(svg, />input: {2}\(/);
  assert.doesNotMatch(svg, />output: \(/);
});

test('layer names are escaped (the parser decodes them back)', () => {
  const base = buildArchitecture('seed');
  const arch: Architecture = { ...base, name: 'a<b>', layers: base.layers.map((l, i) => (i === 0 ? { ...l, name: 'conv<1>&"x\'' } : l)) };
  const { layers } = parseSvg(renderSvg(arch, { showShapes: true }));
  assert.equal(attrs(layers[0])['@data-name'], 'conv<1>&"x\'');
  assert.ok(findAll(children(layers[0]), (n) => tagOf(n) === 'text').map(textOf).includes('conv<1>&"x\''));
});

function pngSize(png: Buffer): { width: number; height: number } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(png.toString('latin1', 12, 16), 'IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

test('PNG: signature, the SVG size times the scale, and boxes drawn', async () => {
  const svg = renderSvg(buildArchitecture('caffe'), { showShapes: true });
  const { root } = parseSvg(svg);
  const width = Number(attrs(root)['@width']);
  const height = Number(attrs(root)['@height']);
  const png = await svgToPng(svg, { scale: 2 });
  const size = pngSize(png);
  assert.equal(size.width, 2 * width);
  assert.equal(size.height, 2 * height);
  assert.ok(size.width > 600 && size.height > 2000 && size.height > 2 * size.width);
  const image = PNG.sync.read(png);
  let blue = 0;
  for (let i = 0; i < image.data.length; i += 4) {
    if (image.data[i] === 0xe3 && image.data[i + 1] === 0xf2 && image.data[i + 2] === 0xfd) blue++; // conv box fill #e3f2fd
  }
  assert.ok(blue > 50_000, `only ${blue} pixels of conv box fill`);
});

test('plot command: -o FILE.svg / FILE.png, --weights from a file, and usage errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-plot-'));
  const run = async (args: Record<string, unknown>): Promise<void> => {
    await plotCommand.handler({ 'show-shapes': false, scale: 2, _: [], $0: '', ...args } as never);
  };
  try {
    await run({ arch: 'caffe', 'show-shapes': true, output: join(dir, 'caffe.svg') });
    assert.equal(parseSvg(readFileSync(join(dir, 'caffe.svg'), 'utf8')).layers.length, 17);
    await run({ arch: 'seed', output: join(dir, 'seed.PNG'), scale: 1 });
    assert.ok(pngSize(readFileSync(join(dir, 'seed.PNG'))).width > 200);
    // an ONNX graph carries its architecture (a small grouped AlexNet)
    const onnx = fileURLToPath(new URL('../../test/fixtures/weights/bvlc_small.onnx', import.meta.url));
    if (existsSync(onnx)) {
      await run({ weights: onnx, 'show-shapes': true, output: join(dir, 'onnx.svg') });
      const { layers } = parseSvg(readFileSync(join(dir, 'onnx.svg'), 'utf8'));
      assert.equal(attrs(layers[0])['@data-input-shape'], '3,99,99');
      assert.equal(attrs(layers.find((g) => attrs(g)['@data-name'] === 'conv2')!)['@data-groups'], '2');
    }
    await assert.rejects(run({ output: join(dir, 'x.jpg') }), { code: 'ERR_USAGE', message: `Expected a .svg or .png file for --output but received ${join(dir, 'x.jpg')}` });
    await assert.rejects(run({ arch: 'vgg', output: join(dir, 'x.svg') }), { code: 'ERR_USAGE', message: 'Expected one of seed, caffe, torchvision for --arch but received vgg' });
    await assert.rejects(run({ output: join(dir, 'x.png'), scale: 0 }), { code: 'ERR_USAGE', message: 'Expected a number in (0, 8] for --scale but received 0' });
    await assert.rejects(run({ output: join(dir, 'x.svg'), rankdir: 'BT' }), { code: 'ERR_USAGE', message: 'Expected one of TB, LR for --rankdir but received BT' });
    await assert.rejects(run({ output: join(dir, 'x.svg'), fold: 'conv' }), { code: 'ERR_USAGE', message: 'Expected a comma-separated list of dropout, flatten, relu, lrn, softmax for --fold but received conv' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plot -o x.png draws its text with the shipped DejaVu, with the system fonts hidden', () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-plot-fonts-'));
  try {
    // resvg finds system fonts through fontconfig's configuration: an empty one hides them all
    const fontsConf = join(dir, 'fonts.conf');
    writeFileSync(fontsConf, '<?xml version="1.0"?>\n<fontconfig></fontconfig>\n');
    const out = join(dir, 'seed.png');
    const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));
    const r = spawnSync(process.execPath, [cli, 'plot', '--arch', 'seed', '-o', out], { encoding: 'utf8', env: { ...process.env, FONTCONFIG_FILE: fontsConf } });
    assert.equal(r.status, 0, r.stderr);
    const image = PNG.sync.read(readFileSync(out));
    // the title and the layer names are #212121; nothing else in the picture is that dark
    let text = 0;
    for (let i = 0; i < image.data.length; i += 4) {
      if (image.data[i] < 0x40 && image.data[i + 1] < 0x40 && image.data[i + 2] < 0x40) text++;
    }
    assert.ok(text > 2000, `only ${text} pixels of dark text`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('through the CLI: --rankdir LR (or --direction lr), --fold, --no-show-params', () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-plot-cli-'));
  const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));
  try {
    for (const flags of [['--rankdir', 'LR'], ['--direction', 'lr']]) {
      const out = join(dir, 'lr.svg');
      const r = spawnSync(process.execPath, [cli, 'plot', '--arch', 'caffe', ...flags, '--fold', '-o', out], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const { root, layers } = parseSvg(readFileSync(out, 'utf8'));
      assert.equal(attrs(root)['@data-rankdir'], 'LR');
      assert.equal(layers.length, 17 - 3);
    }
    const out = join(dir, 'plain.svg');
    const r = spawnSync(process.execPath, [cli, 'plot', '--arch', 'seed', '--no-show-params', '--fold', 'dropout', '-o', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const svg = readFileSync(out, 'utf8');
    assert.doesNotMatch(svg, /params<\/text>/);
    assert.equal(parseSvg(svg).layers.length, 13);
    const bad = spawnSync(process.execPath, [cli, 'plot', '--rankdir', 'XY', '-o', join(dir, 'x.svg')], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, 'alexnet-cli: Expected one of TB, LR for --rankdir but received XY\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A person looks at the PNG in a browser window, as a README or an image viewer shows it (scaled down to
// the window's width, never past it): at 800 and 1400 px it must show, fit, and carry text. A left-to-right
// caffe plot is about 7000 px wide, so in these windows its text is small: the check is that text is there
// (the same picture with its <text> removed is the control), not that it is legible without zooming.
const PAGE = `<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width"><style>body{margin:0;padding:12px;background:#f0f0f0}img{display:block;max-width:100%;height:auto}</style></head>
<body><img src="plot.png" alt="layer graph"></body></html>`;

for (const [rankdir, fold] of [['TB', false], ['LR', true]] as const) {
  for (const width of [800, 1400]) {
    test(`the ${rankdir} PNG shown in a ${width} px Chromium window: drawn, fits, text in the title`, async (t) => {
      const missing = chromiumMissing();
      if (missing) {
        t.skip(missing);
        return;
      }
      const svg = renderSvg(buildArchitecture('caffe'), { showShapes: true, rankdir, fold: fold ? ['dropout', 'flatten'] : [] });
      const look = async (source: string) => {
        const png = await svgToPng(source, { scale: 2 });
        const { png: shot, layout } = render(PAGE, width, 1000, { 'plot.png': png });
        const picture = PNG.sync.read(png);
        // the title and subtitle lie in the top 66 SVG units (2 PNG px each; the first box starts at 76), as
        // scaled into the window
        const shown = Math.min(1, (width - 24) / picture.width);
        const titleBottom = Math.floor(12 + 66 * 2 * shown);
        const pictureRight = Math.floor(12 + picture.width * shown);
        const pictureBottom = Math.min(shot.height, Math.floor(12 + picture.height * shown));
        return {
          shot, layout, titleBottom,
          title: luminanceSpread(shot, 12, 12, pictureRight, titleBottom),
          picture: luminanceSpread(shot, 12, 12, pictureRight, pictureBottom),
        };
      };
      const seen = await look(svg);
      assert.ok(seen.layout.scrollWidth <= width, `${seen.layout.scrollWidth} px wide in a ${width} px window`);
      assert.deepEqual(seen.layout.overflowing, []);
      // the picture is there: white, not the page's grey, from the left padding to near the right edge
      const ink = inkExtent(seen.shot, [0xf0, 0xf0, 0xf0], 12, 100);
      assert.ok(ink, 'no picture in the window');
      assert.ok(ink[0] >= 10 && ink[1] <= width - 10, `the picture spans ${ink[0]}..${ink[1]} of ${width}`);
      assert.ok(seen.picture > 10, `a blank picture (luminance spread ${seen.picture.toFixed(1)})`);
      const control = await look(svg.replace(/<text[^>]*>[^<]*<\/text>/g, ''));
      assert.ok(control.title < 1, `the control without text has a spread of ${control.title.toFixed(2)} in the title area`);
      assert.ok(seen.title > 3, `no text in the title area (rows 12-${seen.titleBottom}: spread ${seen.title.toFixed(2)})`);
    });
  }
}
