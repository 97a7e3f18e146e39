/** Image decoding (jpeg-js, pngjs: pure JS, nothing downloaded at install). */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { readFileChecked } from '../model/darknet.ts';
import { fail } from '../util/errors.ts';

/** 8-bit RGB, row-major, interleaved (H×W×3). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

const MAX_PIXELS = 100e6;

export function decodeImage(bytes: Uint8Array, file: string): RgbImage {
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  const isPng = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  let rgba: Uint8Array, width: number, height: number;
  try {
    if (isJpeg) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 2048 });
      ({ width, height } = img);
      rgba = img.data;
    } else if (isPng) {
      const img = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      ({ width, height } = img);
      rgba = img.data;
    } else {
      fail(file, 'not a JPEG or PNG image');
    }
  } catch (e) {
    if ((e as Error).name === 'UserError') throw e;
    fail(file, `cannot decode image (${(e as Error).message})`);
  }
  if (!width || !height) fail(file, 'image has zero width or height');
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
