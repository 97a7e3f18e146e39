import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evalSetPaths, evalSetTuneFetched } from '../src/model/evalset.ts';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { runBin } from './helpers/cli.ts';

const run = runBin;
const dir = mkdtempSync(join(tmpdir(), 'neuroemu-snncli-'));
const photos = faceSamplePhotos();

test('detect --engine snn: detections JSON with engine, timesteps, checkpoints, AP and operating-point fidelity against the ANN', async () => {
  const ann = join(dir, 'ann.json'), snn = join(dir, 'snn.json');
  assert.is(run('detect', photos[0], photos[1], '--size', '128', '--json', ann).code, 0);
  const r = run('detect', photos[0], photos[1], '--size', '128', '--engine', 'snn', '--timesteps', '48', '--checkpoints', '8,16', '--reference', ann, '--json', snn, '--calib', photos[0], photos[1]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /per checkpoint tick: AP@0\.5 \(VOC all-point, SNN candidates at score > 0\.05\); at the operating point score > 0\.5: precision, recall, F1/);
  assert.match(r.out, /tick\s+AP@0\.5\s+P\s+R\s+F1\s+matched\s+bias mean\s+bias worst/);
  assert.match(r.out, /; λ from 2 calibration photos: 2 face-api sample photos\n/);
  const d = JSON.parse(readFileSync(snn, 'utf8'));
  assert.is(d.engine, 'snn');
  assert.is(d.timesteps, 48);
  assert.is(d.seed, 1);
  assert.equal(d.checkpoints.map((c: { tick: number }) => c.tick), [8, 16, 48]);
  for (const c of d.checkpoints) {
    assert.is(c.images.length, 2);
    assert.ok(c.ap50 === null || (c.ap50 >= 0 && c.ap50 <= 1));
  }
  // the final checkpoint is the top-level result
  assert.equal(d.checkpoints[2].images, d.images);
  // the written detections are the operating point's (score > 0.5), and the fidelity in the JSON
  // is what the two files give when matched again
  const { fidelityAtThreshold } = await import('../src/detect/fidelity.ts');
  const { readDetectionsFile } = await import('../src/detect/truth.ts');
  const a = readDetectionsFile(ann).images, b = readDetectionsFile(snn).images;
  assert.ok(b.every((im) => im.detections.every((x) => x.score > 0.5)));
  const f = fidelityAtThreshold(a, b, { threshold: 0.5 });
  const last = d.checkpoints[2].fidelity;
  assert.equal([last.f1, last.precision, last.recall, last.matched, last.ann_detections, last.snn_detections], [f.f1, f.precision, f.recall, f.matched, f.reference, f.detections]);
  // same command, same bytes
  const snn2 = join(dir, 'snn2.json');
  run('detect', photos[0], photos[1], '--size', '128', '--engine', 'snn', '--timesteps', '48', '--checkpoints', '8,16', '--reference', ann, '--json', snn2, '--calib', photos[0], photos[1]);
  assert.is(readFileSync(snn2, 'utf8'), readFileSync(snn, 'utf8'));
});

test('detect --engine snn without --calib: the report names the default calibration (the samples and @evalset:tune when it is fetched)', () => {
  const r = run('detect', photos[0], '--size', '128', '--engine', 'snn', '--timesteps', '8');
  assert.is(r.code, 0, r.err);
  const tune = evalSetPaths('tune');
  const want = evalSetTuneFetched()
    ? `λ from ${6 + tune.length} calibration photos: the 6 face-api sample photos + the ${tune.length} of @evalset:tune\n`
    : 'λ from 6 calibration photos: the 6 face-api sample photos (the default adds @evalset:tune when it is fetched: node scripts/fetch-evalset.mjs)\n';
  assert.ok(r.out.includes(want), r.out.split('\n').filter((l) => l.includes('λ from')).join('\n'));
});

test('detect --engine snn: flag errors are one line, exit 2', () => {
  for (const args of [['--engine', 'snn'], ['--engine', 'snn', '--timesteps', '0'], ['--engine', 'snn', '--timesteps', '8', '--checkpoints', '9'], ['--timesteps', '8']]) {
    const r = run('detect', photos[0], '--size', '128', ...args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.is(r.err.split('\n').filter((l) => l.startsWith('neuroemu: ')).length, 1, r.err);
  }
});

test('convergence: four curves, CSV and SVG written', () => {
  const csv = join(dir, 'c.csv'), svg = join(dir, 'c.svg');
  const r = run('convergence', '--size', '128', '--timesteps', '24', '--images', photos[0], '--calib', photos[0], '--csv', csv, '--svg', svg);
  assert.is(r.code, 0, r.err);
  for (const combo of [/layer\s+if/, /layer\s+ibt/, /channel\s+if/, /channel\s+ibt/]) assert.match(r.out, combo);
  const lines = readFileSync(csv, 'utf8').trim().split('\n');
  assert.ok(lines[0].startsWith('tick,ap50_layer_if,ap50_layer_ibt,ap50_channel_if,ap50_channel_ibt,f1_layer_if,precision_layer_if,recall_layer_if,logit_bias_layer_if,'), lines[0]);
  assert.match(r.out, /ticks to F1 0\.95/);
  assert.is(lines[lines.length - 1].split(',')[0], '24');
  assert.match(readFileSync(svg, 'utf8'), /^<svg[\s\S]*channel-wise, IBT[\s\S]*<\/svg>\n$/);
});

test('detect --engine snn and convergence --workers: the images split over workers give the serial bytes', () => {
  const three = photos.slice(0, 3);
  const det = [0, 3].map((w) => {
    const json = join(dir, `det-w${w}.json`);
    const r = run('detect', ...three, '--size', '128', '--engine', 'snn', '--timesteps', '24', '--checkpoints', '8,16', '--calib', photos[0], '--workers', String(w), '--json', json);
    assert.is(r.code, 0, r.err);
    return { out: r.out, json: readFileSync(json, 'utf8') };
  });
  assert.is(det[1].json, det[0].json);
  assert.is(det[1].out, det[0].out);
  assert.is(JSON.parse(det[0].json).images.length, 3);
  const conv = [0, 2].map((w) => {
    const csv = join(dir, `cw${w}.csv`), svg = join(dir, `cw${w}.svg`);
    const r = run('convergence', '--size', '128', '--timesteps', '16', '--combos', 'channel/ibt', '--images', ...three, '--calib', photos[0], '--workers', String(w), '--csv', csv, '--svg', svg);
    assert.is(r.code, 0, r.err);
    return readFileSync(csv, 'utf8');
  });
  assert.is(conv[1], conv[0]);
  const bad = run('detect', photos[0], '--engine', 'snn', '--timesteps', '8', '--workers', '-1');
  assert.is(bad.code, 2);
  assert.match(bad.err, /--workers: -1 must be an integer in 0\.\.64/);
});

test.run();
