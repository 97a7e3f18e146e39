/** Image decoding (jpeg-js, pngjs: pure JS, nothing downloaded at install). */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { inflateSync } from 'node:zlib';
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

/** true when the JPEG's marker sequence reaches a start-of-scan (SOS): there is image data. */
function jpegHasScan(b: Uint8Array): boolean {
  let off = 2;
  while (off + 4 <= b.length) {
    if (b[off] !== 0xff) return false;
    const marker = b[off + 1];
    if (marker === 0xff) {
      off++;
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      off += 2;
      continue;
    }
    if (marker === 0xda) return off + 4 < b.length;
    if (marker === 0xd9) return false;
    const len = (b[off + 2] << 8) | b[off + 3];
    if (len < 2) return false;
    off += 2 + len;
  }
  return false;
}

/**
 * A PNG's chunks walked before decoding: it must end with IEND, and (non-interlaced) its IDAT
 * stream must inflate to exactly the bytes its IHDR declares, so a truncated file or a tiny file
 * declaring a huge image is refused before the decoder allocates or reads past the data.
 */
function checkPngStructure(bytes: Uint8Array, file: string): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 8;
  let width = 0, height = 0, depth = 0, colour = 0, interlace = 0, sawEnd = false;
  const idat: Uint8Array[] = [];
  while (off + 8 <= bytes.length) {
    const len = dv.getUint32(off);
    const type = String.fromCharCode(bytes[off + 4], bytes[off + 5], bytes[off + 6], bytes[off + 7]);
    if (off + 12 + len > bytes.length) fail(file, `truncated PNG image (chunk ${JSON.stringify(type)} at byte ${off} ends past the file)`);
    if (type === 'IHDR' && len >= 13) {
      width = dv.getUint32(off + 8);
      height = dv.getUint32(off + 12);
      depth = bytes[off + 16];
      colour = bytes[off + 17];
      interlace = bytes[off + 20];
    } else if (type === 'IDAT') idat.push(bytes.subarray(off + 8, off + 8 + len));
    else if (type === 'IEND') {
      sawEnd = true;
      break;
    }
    off += 12 + len;
  }
  if (!sawEnd) fail(file, 'truncated PNG image (no IEND chunk)');
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colour];
  if (!width || !height || !channels || interlace !== 0) return; // the decoder judges the rest
  const expected = height * (1 + Math.ceil((width * channels * depth) / 8));
  let got: number;
  try {
    got = inflateSync(Buffer.concat(idat), { maxOutputLength: expected + 1 }).length;
  } catch (e) {
    const why = describeThrown(e);
    if (/maxOutputLength|Cannot create a Buffer|larger than/i.test(why)) fail(file, `corrupt PNG image (its pixel data inflates to more than the ${width}x${height} it declares)`);
    fail(file, `truncated or corrupt PNG image (its pixel data does not inflate: ${why})`);
  }
  if (got !== expected) fail(file, `truncated PNG image (pixel data for ${Math.floor(got / (expected / height))} of ${height} rows)`);
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
    if (!jpegHasScan(bytes)) fail(file, 'JPEG image with no image data (no start-of-scan marker)');
    try {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 2048 });
      ({ width, height } = img);
      rgba = img.data;
      if (declared && (declared.width !== width || declared.height !== height)) fail(file, `corrupt JPEG image (declares ${declared.width}x${declared.height}, decodes to ${width}x${height})`);
    } catch (e) {
      fail(file, `truncated or corrupt JPEG image (jpeg-js: ${describeThrown(e)})`);
    }
  } else if (isPng) {
    // IHDR is the first chunk: length, "IHDR", width, height (big-endian)
    if (bytes.length >= 24 && bytes[12] === 0x49 && bytes[13] === 0x48 && bytes[14] === 0x44 && bytes[15] === 0x52) {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      checkDeclaredSize(file, 'PNG', dv.getUint32(16), dv.getUint32(20));
    }
    checkPngStructure(bytes, file);
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
