// The decoded picture every decoder returns and every preprocessing step takes.

/** 8-bit RGB, interleaved, rows top to bottom: data.length === width * height * 3 */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}
