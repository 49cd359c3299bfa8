// A walk over a JPEG's marker segments (ITU T.81 annex B), without decoding: the frame size, the
// EXIF orientation, and whether the data reaches the end-of-image marker. jpeg-js decodes data that
// stops mid-scan without complaint (the missing blocks come out grey), so a truncated file is caught
// here, before either decoder runs.

export interface JpegLayout {
  width: number;
  height: number;
  /** 1 (grey), 3 (YCbCr/RGB) or 4 (CMYK/YCCK) */
  components: number;
  /** per component, in frame order: id and sampling factors (h, v) */
  componentIds: number[];
  sampling: [number, number][];
  /** the APP14 "Adobe" segment's colour transform code (0 none/RGB/CMYK, 1 YCbCr, 2 YCCK), null without one */
  adobeTransform: number | null;
  progressive: boolean;
  /** EXIF IFD0 Orientation (1..8); 1 when there is none or it cannot be read */
  orientation: number;
  /** whether the EOI marker was found after the frame's scans */
  complete: boolean;
}

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP1 = 0xe1;
const APP14 = 0xee;

/** SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share the range */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** RST0..RST7 and TEM stand alone: no length field */
function isStandalone(marker: number): boolean {
  return (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01;
}

export function isJpeg(data: Uint8Array): boolean {
  return data.length >= 3 && data[0] === 0xff && data[1] === SOI && data[2] === 0xff;
}

/**
 * Throws a plain Error saying what is wrong (the caller adds the file name) when the marker structure is broken;
 * a file that simply stops early is reported as `complete: false`.
 */
export function scanJpeg(data: Uint8Array): JpegLayout {
  const layout: JpegLayout = {
    width: 0, height: 0, components: 0, componentIds: [], sampling: [], adobeTransform: null,
    progressive: false, orientation: 1, complete: false,
  };
  let pos = 2;
  let sawFrame = false;
  while (pos < data.length) {
    if (data[pos] !== 0xff) {
      throw new Error(`no marker at byte ${pos}: 0x${data[pos].toString(16).padStart(2, '0')}`);
    }
    // any number of 0xFF fill bytes may precede a marker (T.81 B.1.1.2)
    while (pos < data.length && data[pos] === 0xff) pos++;
    if (pos >= data.length) break;
    const marker = data[pos++];
    if (marker === EOI) {
      layout.complete = sawFrame;
      return layout;
    }
    if (isStandalone(marker)) continue;
    if (pos + 2 > data.length) break;
    const length = (data[pos] << 8) | data[pos + 1];
    if (length < 2) throw new Error(`segment length ${length} at byte ${pos}`);
    const body = pos + 2;
    const end = pos + length;
    if (end > data.length) break;
    if (isStartOfFrame(marker) && length >= 8) {
      sawFrame = true;
      layout.progressive = marker === 0xc2 || marker === 0xc6 || marker === 0xca || marker === 0xce;
      layout.height = (data[body + 1] << 8) | data[body + 2];
      layout.width = (data[body + 3] << 8) | data[body + 4];
      layout.components = data[body + 5];
      layout.componentIds = [];
      layout.sampling = [];
      for (let i = 0; i < layout.components && body + 8 + i * 3 < end; i++) {
        layout.componentIds.push(data[body + 6 + i * 3]);
        const factors = data[body + 7 + i * 3];
        layout.sampling.push([factors >> 4, factors & 15]);
      }
    } else if (marker === APP1 && layout.orientation === 1) {
      layout.orientation = exifOrientation(data.subarray(body, end));
    } else if (marker === APP14 && length >= 14 && String.fromCharCode(...data.subarray(body, body + 5)) === 'Adobe') {
      layout.adobeTransform = data[body + 11];
    }
    pos = end;
    if (marker === SOS) pos = skipEntropyCodedData(data, pos);
  }
  return layout;
}

/** position of the next marker after entropy-coded data (0xFF00 is a stuffed byte, RSTn is inside the scan) */
function skipEntropyCodedData(data: Uint8Array, pos: number): number {
  while (pos + 1 < data.length) {
    if (data[pos] === 0xff) {
      const next = data[pos + 1];
      if (next !== 0x00 && next !== 0xff && !(next >= 0xd0 && next <= 0xd7)) return pos;
      if (next === 0xff) {
        pos++;
        continue;
      }
      pos += 2;
      continue;
    }
    pos++;
  }
  return data.length;
}

/** Orientation (tag 0x0112) from an APP1 payload "Exif\0\0" + TIFF header + IFD0; 1 when absent or malformed */
export function exifOrientation(app1: Uint8Array): number {
  const EXIF = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00];
  if (app1.length < 14 || EXIF.some((b, i) => app1[i] !== b)) return 1;
  const tiff = app1.subarray(6);
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  let little: boolean;
  if (tiff[0] === 0x49 && tiff[1] === 0x49) little = true;
  else if (tiff[0] === 0x4d && tiff[1] === 0x4d) little = false;
  else return 1;
  if (view.getUint16(2, little) !== 42) return 1;
  const ifd0 = view.getUint32(4, little);
  if (ifd0 + 2 > tiff.length) return 1;
  const entries = view.getUint16(ifd0, little);
  for (let i = 0; i < entries; i++) {
    const entry = ifd0 + 2 + i * 12;
    if (entry + 12 > tiff.length) return 1;
    if (view.getUint16(entry, little) !== 0x0112) continue;
    const type = view.getUint16(entry + 2, little);
    // SHORT as the spec says; some writers use LONG
    const value = type === 3 ? view.getUint16(entry + 8, little) : type === 4 ? view.getUint32(entry + 8, little) : 0;
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}
