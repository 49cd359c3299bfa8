// libjpeg's last two decoding steps, applied to jpeg-js output so that the pure-JS path lands close
// to libjpeg-turbo (and so to PIL): jpeg-js upsamples chroma by pixel repetition and converts
// YCbCr -> RGB in floating point, truncating; libjpeg interpolates chroma ("fancy upsampling",
// jdsample.c) and converts with rounded 16-bit fixed-point tables (jdcolor.c). Asking jpeg-js for
// raw YCbCr and redoing both steps brings the mean difference to libjpeg from ~1 level to ~0.15
// (what remains is jpeg-js' IDCT) and the largest from 33 levels to 3 on the fixtures.
import type { RgbImage } from './rgb-image.js';
import type { JpegLayout } from './jpeg-markers.js';

const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);
const fix = (x: number) => Math.trunc(x * (1 << SCALEBITS) + 0.5);

// jdcolor.c build_ycc_rgb_table
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (fix(1.402) * x + ONE_HALF) >> SCALEBITS;
  CB_B[i] = (fix(1.772) * x + ONE_HALF) >> SCALEBITS;
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + ONE_HALF;
}

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/**
 * Whether `libjpegColor` can redo this file's colour steps: a YCbCr frame (libjpeg's guess in
 * jdapimin.c default_decompress_parms: three components, no Adobe marker, ids not 'R','G','B')
 * with luma sampled 1x1, 2x1 or 2x2 and chroma 1x1 (4:4:4, 4:2:2, 4:2:0).
 */
export function canRedoColor(layout: JpegLayout): boolean {
  if (layout.components !== 3 || layout.adobeTransform !== null) return false;
  const [a, b, c] = layout.componentIds;
  if (a === 0x52 && b === 0x47 && c === 0x42) return false;
  const [[h, v], cb, cr] = layout.sampling;
  const chromaFull = cb[0] === 1 && cb[1] === 1 && cr[0] === 1 && cr[1] === 1;
  return chromaFull && ((h === 1 && v === 1) || (h === 2 && v === 1) || (h === 2 && v === 2));
}

/** `ycc`: jpeg-js output with colorTransform false (Y, Cb, Cr per pixel, chroma repeated) */
export function libjpegColor(ycc: Uint8Array, width: number, height: number, layout: JpegLayout): RgbImage {
  const [h, v] = layout.sampling[0];
  const cb = upsample(chromaPlane(ycc, width, height, h, v, 1), width, height, h, v);
  const cr = upsample(chromaPlane(ycc, width, height, h, v, 2), width, height, h, v);
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const y = ycc[i * 3];
    out[i * 3] = clamp(y + CR_R[cr[i]]);
    out[i * 3 + 1] = clamp(y + ((CB_G[cb[i]] + CR_G[cr[i]]) >> SCALEBITS));
    out[i * 3 + 2] = clamp(y + CB_B[cb[i]]);
  }
  return { width, height, data: out };
}

interface Plane { data: Uint8Array; width: number; height: number }

/** the downsampled chroma plane back from jpeg-js' pixel repetition (floor(x / h) sampling) */
function chromaPlane(ycc: Uint8Array, width: number, height: number, h: number, v: number, channel: number): Plane {
  const planeWidth = Math.ceil(width / h);
  const planeHeight = Math.ceil(height / v);
  const data = new Uint8Array(planeWidth * planeHeight);
  for (let y = 0; y < planeHeight; y++) {
    for (let x = 0; x < planeWidth; x++) data[y * planeWidth + x] = ycc[((y * v) * width + x * h) * 3 + channel];
  }
  return { data, width: planeWidth, height: planeHeight };
}

/** jdsample.c h2v1_fancy_upsample / h2v2_fancy_upsample (triangle filter, alternating rounding) */
function upsample(plane: Plane, width: number, height: number, h: number, v: number): Uint8Array {
  if (h === 1 && v === 1) return plane.data;
  const out = new Uint8Array(width * height);
  const cw = plane.width;
  const row = new Uint8Array(cw * 2);
  const p = plane.data;
  for (let y = 0; y < height; y++) {
    if (cw === 1) {
      row[0] = row[1] = p[Math.floor(y / v) * cw];
    } else if (v === 1) {
      const r = y * cw;
      row[0] = p[r];
      row[1] = (p[r] * 3 + p[r + 1] + 2) >> 2;
      for (let c = 1; c < cw - 1; c++) {
        const value = p[r + c] * 3;
        row[2 * c] = (value + p[r + c - 1] + 1) >> 2;
        row[2 * c + 1] = (value + p[r + c + 1] + 2) >> 2;
      }
      row[2 * cw - 2] = (p[r + cw - 1] * 3 + p[r + cw - 2] + 1) >> 2;
      row[2 * cw - 1] = p[r + cw - 1];
    } else {
      // output row y sits between chroma row y/2 and the one above (even y) or below (odd y);
      // at the image edges libjpeg's context rows repeat the first/last row
      const cy = y >> 1;
      const ny = y & 1 ? Math.min(cy + 1, plane.height - 1) : Math.max(cy - 1, 0);
      const r0 = cy * cw;
      const r1 = ny * cw;
      let thisSum = p[r0] * 3 + p[r1];
      let nextSum = p[r0 + 1] * 3 + p[r1 + 1];
      row[0] = (thisSum * 4 + 8) >> 4;
      row[1] = (thisSum * 3 + nextSum + 7) >> 4;
      let lastSum = thisSum;
      thisSum = nextSum;
      for (let c = 1; c < cw - 1; c++) {
        nextSum = p[r0 + c + 1] * 3 + p[r1 + c + 1];
        row[2 * c] = (thisSum * 3 + lastSum + 8) >> 4;
        row[2 * c + 1] = (thisSum * 3 + nextSum + 7) >> 4;
        lastSum = thisSum;
        thisSum = nextSum;
      }
      row[2 * cw - 2] = (thisSum * 3 + lastSum + 8) >> 4;
      row[2 * cw - 1] = (thisSum * 4 + 7) >> 4;
    }
    out.set(row.subarray(0, width), y * width);
  }
  return out;
}
