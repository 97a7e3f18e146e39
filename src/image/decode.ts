/** Image decoding (jpeg-js, pngjs: pure JS, nothing downloaded at install). */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { readFileChecked } from '../model/darknet.ts';
import { describeThrown, fail } from '../util/errors.ts';

/** 8-bit RGB, row-major, interleaved (H×W×3). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Largest image decoded: 100 megapixels (jpeg-js's own default). */
export const MAX_PIXELS = 100e6;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Width and height a JPEG's first SOF segment declares, or undefined when the markers before the
 * first scan do not lead to one (jpeg-js then reports what is wrong).
 */
function jpegDeclaredSize(b: Uint8Array): { width: number; height: number } | undefined {
  let off = 2;
  while (off + 4 <= b.length) {
    if (b[off] !== 0xff) return undefined;
    const marker = b[off + 1];
    if (marker === 0xff) {
      off++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      off += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // scan or end before any frame header
    const len = (b[off + 2] << 8) | b[off + 3];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (off + 9 > b.length) return undefined;
      return { height: (b[off + 5] << 8) | b[off + 6], width: (b[off + 7] << 8) | b[off + 8] };
    }
    if (len < 2) return undefined;
    off += 2 + len;
  }
  return undefined;
}

function checkDeclaredSize(file: string, kind: string, width: number, height: number): void {
  if (width * height > MAX_PIXELS) {
    fail(file, `${kind} declares ${width}x${height} pixels (${(width * height / 1e6).toFixed(0)} MP): too large (limit ${MAX_PIXELS / 1e6} MP)`);
  }
}

export function decodeImage(bytes: Uint8Array, file: string): RgbImage {
  if (bytes.length === 0) fail(file, 'file is empty');
  const isJpeg = bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xd8;
  const isPng = bytes.length >= 8 && PNG_SIGNATURE.every((v, i) => bytes[i] === v);
  let rgba: Uint8Array, width: number, height: number;
  if (isJpeg) {
    const declared = jpegDeclaredSize(bytes);
    if (declared) checkDeclaredSize(file, 'JPEG', declared.width, declared.height);
    try {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 2048 });
      ({ width, height } = img);
      rgba = img.data;
    } catch (e) {
      fail(file, `truncated or corrupt JPEG image (jpeg-js: ${describeThrown(e)})`);
    }
  } else if (isPng) {
    // IHDR is the first chunk: length, "IHDR", width, height (big-endian)
    if (bytes.length >= 24 && bytes[12] === 0x49 && bytes[13] === 0x48 && bytes[14] === 0x44 && bytes[15] === 0x52) {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      checkDeclaredSize(file, 'PNG', dv.getUint32(16), dv.getUint32(20));
    }
    try {
      const img = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      ({ width, height } = img);
      rgba = img.data;
    } catch (e) {
      const why = describeThrown(e);
      fail(file, `${/read requests waitng on finished stream|unexpected end/i.test(why) ? 'truncated' : 'truncated or corrupt'} PNG image (pngjs: ${why})`);
    }
  } else {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    fail(file, `not a JPEG or PNG image (starts with bytes ${head})`);
  }
  if (!(width >= 1 && height >= 1)) fail(file, `image has zero width or height (${width}x${height})`);
  if (width * height > MAX_PIXELS) checkDeclaredSize(file, isJpeg ? 'JPEG' : 'PNG', width, height);
  if (!rgba || rgba.length < width * height * 4) fail(file, `decoder returned ${rgba?.length ?? 0} bytes for a ${width}x${height} image: corrupt image`);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height; i++, j += 4) {
    data[3 * i] = rgba[j];
    data[3 * i + 1] = rgba[j + 1];
    data[3 * i + 2] = rgba[j + 2];
  }
  return { width, height, data };
}

export function loadImage(file: string): RgbImage {
  return decodeImage(readFileChecked(file), file);
}
