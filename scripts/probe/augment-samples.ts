/**
 * Probe (development tool): augmented variants of the six face-api sample photos, written as PNG
 * files for calibration experiments (`--calib @samples DIR/*.png`): 2×2, 3×3 and 4×4 mosaics (many
 * small faces, like a crowd photo) and the samples blurred by an area downscale ×4 and upscale
 * (smooth, like an upscaled 150×150 portrait). Deterministic; not used by any command.
 *   node --import tsx scripts/probe/augment-samples.ts OUTDIR [all|mosaic|smooth]
 */
import { PNG } from 'pngjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { faceSamplePhotos } from '../../src/model/faceapi.ts';
import { loadImage, type RgbImage } from '../../src/image/decode.ts';

const [out, mode = 'all'] = process.argv.slice(2);
if (!out || !['all', 'mosaic', 'smooth'].includes(mode)) {
  console.error('usage: augment-samples.ts OUTDIR [all|mosaic|smooth]');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const samples = faceSamplePhotos().map(loadImage);

/** Area-average resize: each output pixel is the mean of the source pixels its rectangle touches. */
function resize(img: RgbImage, w: number, h: number): RgbImage {
  const d = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const ya = Math.floor((y * img.height) / h), yb = Math.min(img.height, Math.max(ya + 1, Math.ceil(((y + 1) * img.height) / h)));
    for (let x = 0; x < w; x++) {
      const xa = Math.floor((x * img.width) / w), xb = Math.min(img.width, Math.max(xa + 1, Math.ceil(((x + 1) * img.width) / w)));
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let yy = ya; yy < yb; yy++) for (let xx = xa; xx < xb; xx++) sum += img.data[(yy * img.width + xx) * 3 + c];
        d[(y * w + x) * 3 + c] = Math.round(sum / ((yb - ya) * (xb - xa)));
      }
    }
  }
  return { width: w, height: h, data: d };
}

function save(img: RgbImage, name: string): void {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.width * img.height; i++) {
    png.data.set(img.data.subarray(i * 3, i * 3 + 3), i * 4);
    png.data[i * 4 + 3] = 255;
  }
  writeFileSync(`${out}/${name}.png`, PNG.sync.write(png));
}

/** n×n square cells of `size`/n pixels, the samples in `order` (repeated), each squeezed to its cell. */
function mosaic(n: number, order: number[], size: number): RgbImage {
  const cell = Math.floor(size / n), d = new Uint8Array(size * size * 3);
  for (let k = 0; k < n * n; k++) {
    const r = resize(samples[order[k % order.length]], cell, cell), ox = (k % n) * cell, oy = Math.floor(k / n) * cell;
    for (let y = 0; y < cell; y++) d.set(r.data.subarray(y * cell * 3, (y + 1) * cell * 3), ((oy + y) * size + ox) * 3);
  }
  return { width: size, height: size, data: d };
}

if (mode !== 'smooth') {
  save(mosaic(2, [0, 1, 2, 3], 832), 'mosaic2-a');
  save(mosaic(2, [4, 5, 0, 2], 832), 'mosaic2-b');
  save(mosaic(3, [0, 1, 2, 3, 4, 5, 1, 3, 5], 1248), 'mosaic3-a');
  save(mosaic(4, [5, 4, 3, 2, 1, 0], 1248), 'mosaic4-a');
}
if (mode !== 'mosaic') {
  samples.forEach((s, i) => save(resize(resize(s, Math.round(s.width / 4), Math.round(s.height / 4)), s.width, s.height), `smooth4-${i + 1}`));
}
