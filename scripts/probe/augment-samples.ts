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
const out = process.argv[2] ?? '/tmp/aug';
mkdirSync(out, { recursive: true });
const S = faceSamplePhotos().map(loadImage);
function resize(img: RgbImage, w: number, h: number): RgbImage {
  const d = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    // area average over the source rectangle
    const x0 = (x * img.width) / w, x1 = ((x + 1) * img.width) / w, y0 = (y * img.height) / h, y1 = ((y + 1) * img.height) / h;
    const xa = Math.floor(x0), xb = Math.max(xa + 1, Math.ceil(x1)), ya = Math.floor(y0), yb = Math.max(ya + 1, Math.ceil(y1));
    for (let c = 0; c < 3; c++) { let s = 0, n = 0;
      for (let yy = ya; yy < Math.min(yb, img.height); yy++) for (let xx = xa; xx < Math.min(xb, img.width); xx++) { s += img.data[(yy * img.width + xx) * 3 + c]; n++; }
      d[(y * w + x) * 3 + c] = Math.round(s / n); }
  }
  return { width: w, height: h, data: d };
}
function save(img: RgbImage, name: string) {
  const p = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.width * img.height; i++) { p.data[i*4]=img.data[i*3]; p.data[i*4+1]=img.data[i*3+1]; p.data[i*4+2]=img.data[i*3+2]; p.data[i*4+3]=255; }
  writeFileSync(`${out}/${name}.png`, PNG.sync.write(p));
}
function mosaic(n: number, order: number[], size: number): RgbImage {
  const cell = Math.floor(size / n), d = new Uint8Array(size * size * 3);
  for (let k = 0; k < n * n; k++) {
    const src = S[order[k % order.length]], r = resize(src, cell, cell), ox = (k % n) * cell, oy = Math.floor(k / n) * cell;
    for (let y = 0; y < cell; y++) d.set(r.data.subarray(y * cell * 3, (y + 1) * cell * 3), ((oy + y) * size + ox) * 3);
  }
  return { width: size, height: size, data: d };
}
const mode = process.argv[3] ?? 'all';
if (mode === 'all' || mode === 'mosaic') {
  save(mosaic(2, [0, 1, 2, 3], 832), 'mosaic2-a'); save(mosaic(2, [4, 5, 0, 2], 832), 'mosaic2-b');
  save(mosaic(3, [0, 1, 2, 3, 4, 5, 1, 3, 5], 1248), 'mosaic3-a'); save(mosaic(4, [5, 4, 3, 2, 1, 0], 1248), 'mosaic4-a');
}
if (mode === 'all' || mode === 'smooth') S.forEach((s, i) => save(resize(resize(s, Math.round(s.width / 4), Math.round(s.height / 4)), s.width, s.height), `smooth4-${i + 1}`));
