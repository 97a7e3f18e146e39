/**
 * Calibration cached by content (src/convert/calib-cache.ts): the statistics round-trip exactly,
 * a conversion from the cache is the same bytes as a fresh one, the key follows the network's
 * contents and the images' bytes (not file names), and a damaged entry is recomputed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calibrate } from '../src/convert/calibrate.ts';
import { calibrationKey, decodeStats, encodeStats, networkHash } from '../src/convert/calib-cache.ts';
import { calibrateModel, convertCalibrated, loadAnnModel } from '../src/convert/from-model.ts';
import { encodeSnn } from '../src/convert/snn-file.ts';
import { faceSamplePhotos } from '../src/model/faceapi.ts';

const dir = mkdtempSync(join(tmpdir(), 'neuroemu-calib-cache-'));
process.env.NEUROEMU_CACHE_DIR = dir;
test.after(() => rmSync(dir, { recursive: true, force: true }));
const photos = faceSamplePhotos().slice(0, 2);
const spec = { model: 'face', size: 128 };

test('statistics round-trip bit for bit; another key or a flipped byte is refused', () => {
  const net = loadAnnModel(spec);
  const stats = calibrate(net, photos);
  const bytes = encodeStats(stats, 'k');
  const back = decodeStats(bytes, net, 'k')!;
  assert.ok(back);
  for (const [i, s] of stats.layers) {
    const b = back.layers.get(i)!;
    assert.is(b.count, s.count);
    for (const k of ['max', 'min', 'minPos', 'minNegAbs', 'posHist'] as const) assert.equal(Array.from(b[k]), Array.from(s[k]), `layer ${i} ${k}`);
    assert.equal(b.negHist && Array.from(b.negHist), s.negHist && Array.from(s.negHist));
  }
  assert.equal(back.hashes, stats.hashes);
  assert.is(decodeStats(bytes, net, 'other'), null);
  const flipped = Uint8Array.from(bytes);
  flipped[flipped.length - 5] ^= 1;
  assert.is(decodeStats(flipped, net, 'k'), null);
  assert.is(decodeStats(bytes.subarray(0, bytes.length - 8), net, 'k'), null);
});

test('the key: the network\'s contents and the images\' bytes, not where they were read from', () => {
  const a = loadAnnModel(spec), b = loadAnnModel(spec);
  assert.is(networkHash(a), networkHash(b));
  assert.is.not(networkHash(a), networkHash(loadAnnModel({ model: 'face', size: 160 })));
  const conv = b.layers.find((l) => l.kind === 'conv')! as { weights: Float32Array };
  conv.weights[0] += 1e-3;
  assert.is.not(networkHash(a), networkHash(b));
  assert.is.not(calibrationKey(a, ['x'], 'wasm'), calibrationKey(a, ['y'], 'wasm'));
});

test('a conversion from the cache is the same bytes as a fresh one; copies of the photos under other names hit the cache; a damaged entry is recomputed', () => {
  const first = encodeSnn(convertCalibrated(calibrateModel(spec, { calib: photos })).snn);
  assert.is(readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.bin')).length, 1);
  const copies = photos.map((p, i) => {
    const c = join(dir, `copy-${i}.jpg`);
    copyFileSync(p, c);
    return c;
  });
  const said: string[] = [];
  const cached = calibrateModel(spec, { calib: copies, onImage: (_i, _n, f) => said.push(f) });
  assert.match(said.join('\n'), /2 images: cached calibration [0-9a-f]{12}/);
  assert.equal(cached.stats.images, copies);
  // the same statistics: converting gives the same network (file names aside)
  const fromCache = encodeSnn(convertCalibrated(calibrateModel(spec, { calib: photos })).snn);
  assert.ok(Buffer.from(fromCache).equals(Buffer.from(first)), 'cached conversion differs from the fresh one');
  // damage the entry: ignored and rewritten
  const entry = join(dir, 'calibration', readdirSync(join(dir, 'calibration'))[0]);
  writeFileSync(entry, 'garbage');
  const again = encodeSnn(convertCalibrated(calibrateModel(spec, { calib: photos })).snn);
  assert.ok(Buffer.from(again).equals(Buffer.from(first)));
});

test.run();
