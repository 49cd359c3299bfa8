// Look at a page the way a person would: headless Chromium renders it at a given window width, and the
// tests read the screenshot's pixels and the layout's own measurements. Chromium is a system package
// (.ci/run installs it); tests skip, naming it, only where it is not installed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';

export const CHROMIUM = '/usr/bin/chromium';

/** The reason to skip, or null where Chromium is installed */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing: install it (apt-get install -y chromium) to render the page`;
}

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--force-device-scale-factor=1'];

function chromium(dir: string, args: string[]): string {
  const r = spawnSync(CHROMIUM, [...FLAGS, `--user-data-dir=${join(dir, 'chromium-profile')}`, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return r.stdout;
}

export interface Rendering {
  png: PNG;
  /** layout measurements taken in the page (a copy with a script added: the page itself has none) */
  layout: { innerWidth: number; scrollWidth: number; overflowing: string[] };
}

/**
 * Render `html` (a page's text; `files` are written beside it) in a window `width` x `height` px: a
 * screenshot, and from a copy of the page with a measuring script, the document's scroll width and the
 * elements that scroll sideways inside it (scrollWidth > clientWidth) or reach past the window's right edge
 */
export function render(html: string, width: number, height: number, files: Record<string, Buffer> = {}): Rendering {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-chromium-'));
  try {
    for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
    const page = join(dir, 'page.html');
    const shot = join(dir, 'shot.png');
    writeFileSync(page, html);
    chromium(dir, [`--screenshot=${shot}`, `--window-size=${width},${height}`, pathToFileURL(page).href]);
    if (!existsSync(shot)) throw new Error(`Chromium wrote no screenshot of ${page}`);
    const png = PNG.sync.read(readFileSync(shot));
    const probe = `<script>window.addEventListener('load', () => {
  const root = document.documentElement;
  const overflowing = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    const name = el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '');
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') overflowing.push(name + ' scrolls ' + el.scrollWidth + '>' + el.clientWidth);
    if (r.width > 0 && r.right > window.innerWidth + 0.5) overflowing.push(name + ' ends at ' + Math.round(r.right));
  }
  const out = document.createElement('pre');
  out.id = 'layout-probe';
  out.textContent = JSON.stringify({ innerWidth: window.innerWidth, scrollWidth: root.scrollWidth, overflowing });
  document.body.appendChild(out);
});</script>`;
    const probed = join(dir, 'probed.html');
    writeFileSync(probed, html.replace(/<\/body>/i, `${probe}</body>`));
    const dom = chromium(dir, ['--dump-dom', '--virtual-time-budget=3000', `--window-size=${width},${height}`, pathToFileURL(probed).href]);
    const match = /<pre id="layout-probe">([^<]*)<\/pre>/.exec(dom);
    if (!match) throw new Error(`the layout probe did not report: ${dom.slice(0, 300)}`);
    const layout = JSON.parse(match[1].replace(/&gt;/g, '>').replace(/&lt;/g, '<').replace(/&quot;/g, '"').replace(/&amp;/g, '&'));
    return { png, layout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Standard deviation of the luminance over the rectangle (0 for a single flat colour) */
export function luminanceSpread(png: PNG, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  for (let y = Math.max(0, y0); y < Math.min(png.height, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(png.width, x1); x++) {
      const i = 4 * (y * png.width + x);
      const l = 0.2126 * png.data[i] + 0.7152 * png.data[i + 1] + 0.0722 * png.data[i + 2];
      n++;
      sum += l;
      sumSq += l * l;
    }
  }
  if (n === 0) return 0;
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sumSq / n - mean * mean));
}

/** The horizontal extent [left, right) of pixels that differ from `background` by more than a few levels, or null */
export function inkExtent(png: PNG, background: [number, number, number], y0 = 0, y1 = png.height): [number, number] | null {
  let left = Infinity;
  let right = -Infinity;
  for (let y = Math.max(0, y0); y < Math.min(png.height, y1); y++) {
    for (let x = 0; x < png.width; x++) {
      const i = 4 * (y * png.width + x);
      if (Math.abs(png.data[i] - background[0]) + Math.abs(png.data[i + 1] - background[1]) + Math.abs(png.data[i + 2] - background[2]) > 12) {
        if (x < left) left = x;
        if (x + 1 > right) right = x + 1;
      }
    }
  }
  return right > left ? [left, right] : null;
}
