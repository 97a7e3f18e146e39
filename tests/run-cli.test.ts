import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { runBin } from './helpers/cli.ts';

const run = runBin;
const dir = mkdtempSync(join(tmpdir(), 'neuroemu-run-'));
const photo = faceSamplePhotos()[0];

test('run: per-chip report, the JSON keys of the contract, one CSV row per chip and frame', () => {
  const json = join(dir, 'run.json'), csv = join(dir, 'run.csv');
  const r = run('run', '--size', '128', '--timesteps', '8', '--images', photo, '--calib', photo, '--chip', 'truenorth', 'loihi', '--json', json, '--csv', csv);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /face on truenorth/);
  assert.match(r.out, /face on loihi/);
  assert.match(r.out, /energy per frame/);
  assert.match(r.out, /ANN\/SNN energy ratio/);
  const j = JSON.parse(readFileSync(json, 'utf8'));
  assert.is(j.length, 2);
  for (const c of j) {
    assert.ok(['truenorth', 'loihi'].includes(c.chip));
    assert.is(c.timesteps, 8);
    assert.is(c.frames, 1);
    for (const k of ['synaptic', 'neuron', 'spike', 'routing', 'offchip', 'static']) assert.type(c.energy.breakdown_J[k], 'number', k);
    const sum = Object.values(c.energy.breakdown_J as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - c.energy.per_frame_J) <= 1e-9 * c.energy.per_frame_J, 'breakdown adds up to the total');
    assert.is(c.energy.total_J, c.energy.per_frame_J); // one frame
    for (const k of ['name', 'macs', 'energy_J', 'ratio']) assert.ok(k in c.baseline, `baseline.${k}`);
    // the ANN baseline by hand: face at 128 MACs × 4.6 pJ (Horowitz 45 nm fp32 multiply + add)
    assert.ok(Math.abs(c.baseline.energy_J - c.baseline.macs * 4.6e-12) < 1e-15);
    assert.ok(Math.abs(c.baseline.ratio - c.baseline.energy_J / c.energy.per_frame_J) < 1e-12);
    for (const k of ['tick_s', 'frame_s', 'fps', 'overruns']) assert.type(c.latency[k], 'number', k);
    assert.ok(Math.abs(c.latency.fps * c.latency.frame_s - 1) < 1e-9);
    for (const k of ['sops', 'spikes', 'neuron_updates', 'packets', 'hops']) assert.type(c.counts[k], 'number', k);
    assert.ok(c.mapping.cores > 0 && c.mapping.chips >= 1);
    assert.ok('ap50_vs_ann' in c.accuracy);
  }
  const rows = readFileSync(csv, 'utf8').trim().split('\n');
  assert.is(rows.length, 3);
  assert.match(rows[0], /^chip,frame,image,ticks,energy_J,ops_J,/);
});

test('run --placement layers vs regions (the default): same spikes and AP, the placement named in the report; a bad value exits 2', () => {
  const args = ['run', '--size', '224', '--timesteps', '8', '--images', photo, '--calib', photo, '--chip', 'loihi', '--workers', '0'];
  const a = run(...args, '--placement', 'layers', '--json', join(dir, 'layers.json'));
  const b = run(...args, '--placement', 'regions', '--json', join(dir, 'regions.json'));
  assert.is(a.code, 0, a.err);
  assert.is(b.code, 0, b.err);
  assert.match(b.out, /note: placement: cores ordered by \d+x\d+ regions of the image/);
  const [ja] = JSON.parse(readFileSync(join(dir, 'layers.json'), 'utf8'));
  const [jb] = JSON.parse(readFileSync(join(dir, 'regions.json'), 'utf8'));
  // the placement moves cores, not spikes: the network's counts and AP are the same
  assert.is(jb.counts.sops, ja.counts.sops);
  assert.is(jb.counts.spikes, ja.counts.spikes);
  assert.is(jb.accuracy.ap50_vs_ann, ja.accuracy.ap50_vs_ann);
  assert.is(jb.mapping.cores, ja.mapping.cores);
  assert.ok(jb.counts.chip_crossings < ja.counts.chip_crossings, `${jb.counts.chip_crossings} vs ${ja.counts.chip_crossings} crossings`);
  const bad = run(...args, '--placement', 'random');
  assert.is(bad.code, 2);
  assert.match(bad.err, /placement/);
});

test('run: a network that does not fit is refused with the constraint and the numbers, exit 2', () => {
  const r = run('run', '--size', '128', '--timesteps', '2', '--images', photo, '--calib', photo, '--chip', 'odin', '--no-auto-board');
  assert.is(r.code, 2, r.out + r.err);
  const line = r.err.split('\n').find((l) => l.startsWith('neuroemu: '))!;
  assert.match(line, /odin: .*needs [\d,]+ cores.*the board has/);
});

test('run: Tiny YOLO v2 (yolov2-tiny-voc at 416, synthetic weights) maps onto multi-chip TrueNorth and Loihi boards and reports', () => {
  const json = join(dir, 'yolo.json');
  const r = run('run', '--model', 'yolov2-tiny-voc', '--weights', 'synthetic:1', '--images', photo, '--calib', photo, '--timesteps', '2', '--json', json);
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(readFileSync(json, 'utf8'));
  const tn = j.find((c: { chip: string }) => c.chip === 'truenorth'), lo = j.find((c: { chip: string }) => c.chip === 'loihi');
  assert.ok(tn.mapping.chips > 16, `TrueNorth needs more than its 4x4 board (${tn.mapping.chips} chips)`);
  assert.ok(lo.mapping.chips > 1);
  // the baseline is darknet's 6.97 BFLOPs: 3,485,520,896 MACs × 4.6 pJ
  assert.is(tn.baseline.macs, 3485520896);
  assert.ok(tn.energy.per_frame_J > 0 && lo.energy.per_frame_J > 0);
  assert.match(r.out, /smallest square board/);
});

test('run --until-f1: each frame stops at its check tick, priced exactly as a fresh emulation of that many ticks; F1 and ticks in the JSON', async () => {
  const photos = faceSamplePhotos().slice(0, 2);
  const json = join(dir, 'until.json');
  const r = run('run', '--size', '224', '--timesteps', '48', '--check-every', '8', '--until-f1', '0.5', '--images', ...photos, '--calib', ...photos, '--chip', 'loihi', '--workers', '0', '--json', json);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /stopping rule: each frame stops at the first multiple of 8 ticks where its F1/);
  assert.match(r.out, /energy per frame .* ticks per frame/);
  assert.match(r.out, /operating point {4}P \d\.\d{3} R \d\.\d{3} F1 \d\.\d{3} at score > 0\.5/);
  const [c] = JSON.parse(readFileSync(json, 'utf8'));
  const ticks: number[] = c.stopping.ticks_per_frame;
  assert.is(ticks.length, 2);
  for (const t of ticks) assert.ok(t % 8 === 0 && t >= 8 && t <= 48, `stop tick ${t}`);
  // per frame: the ticks run, the fill of Loihi's layer delay (17 ticks for 18 neuron layers) included
  assert.is(c.fill_ticks, 17);
  assert.equal(c.per_frame.map((f: { ticks: number }) => f.ticks - c.fill_ticks), ticks);
  for (const k of ['precision', 'recall', 'f1', 'threshold', 'ann_detections', 'snn_detections']) assert.ok(k in c.accuracy.at_threshold, k);
  // the same frames emulated afresh, each for exactly its stop tick: the same energy, bit for bit
  const { calibrateModel, convertCalibrated } = await import('../src/convert/from-model.ts');
  const { emulateFrames } = await import('../src/sim/emulate.ts');
  const { loadChip } = await import('../src/hw/chip-schema.ts');
  const { loadImage } = await import('../src/image/decode.ts');
  const { preprocess } = await import('../src/image/preprocess.ts');
  const snn = convertCalibrated(calibrateModel({ model: 'face', size: 224 }, { calib: photos })).snn;
  for (let i = 0; i < photos.length; i++) {
    const em = await emulateFrames(snn, loadChip('loihi').params, [preprocess(snn.ann, loadImage(photos[i]))], { timesteps: ticks[i], seed: 1, autoBoard: true });
    assert.is(em.perFrame[0].energy_J, c.per_frame[i].energy_J, `frame ${i}: energy to tick ${ticks[i]}`);
  }
  // one rule at a time; no trace with a stopping rule
  const bad = run('run', '--size', '224', '--timesteps', '16', '--images', photos[0], '--calib', photos[0], '--chip', 'loihi', '--until-f1', '0.9', '--until-stable', '0.1');
  assert.is(bad.code, 2);
  assert.is(bad.err.trim().split('\n').filter((l) => l.startsWith('neuroemu:')).length, 1, bad.err);
  assert.match(bad.err, /--until-f1: give one stopping rule/);
});

test('run --workers: the frames of a chip split over workers give the same bytes as one thread (two chips, a stopping rule)', () => {
  const photos = faceSamplePhotos().slice(0, 3);
  const outs = [0, 1, 4].map((w) => {
    const json = join(dir, `w${w}.json`), csv = join(dir, `w${w}.csv`);
    // --workers 4 with two chips: each chip's 3 frames in 2 parts (2 + 1), four workers at once
    const r = run('run', '--size', '128', '--timesteps', '24', '--check-every', '8', '--until-stable', '0.01', '--images', ...photos, '--calib', photos[0],
      '--chip', 'loihi', 'spinnaker', '--workers', String(w), '--json', json, '--csv', csv);
    assert.is(r.code, 0, r.err);
    return { out: r.out, json: readFileSync(json, 'utf8'), csv: readFileSync(csv, 'utf8') };
  });
  const j = JSON.parse(outs[0].json);
  assert.is(j.length, 2);
  assert.equal(j[0].per_frame.map((f: { frame: number }) => f.frame), [0, 1, 2]);
  for (const o of outs.slice(1)) {
    assert.is(o.json, outs[0].json);
    assert.is(o.csv, outs[0].csv);
    assert.is(o.out, outs[0].out);
  }
  // with a trace: each part records its frames, the parts are joined into the one writer's bytes
  const traces = [0, 3].map((w) => {
    const trace = join(dir, `w${w}.trace`);
    const r = run('run', '--size', '128', '--timesteps', '8', '--images', ...photos, '--calib', photos[0], '--chip', 'loihi', '--workers', String(w), '--trace', trace);
    assert.is(r.code, 0, r.err);
    return readFileSync(trace);
  });
  assert.ok(Buffer.compare(traces[0], traces[1]) === 0, 'the joined trace is the serial one, byte for byte');
  assert.equal(readdirSync(dir).filter((f) => f.includes('.part')), [], 'no part traces left behind');
});

test('run with one photo on one chip and two workers: two threads per tick, the same bytes as one thread (report, JSON, CSV, trace; a stopping rule)', () => {
  const photo = faceSamplePhotos()[3];
  const outs = [0, 2].map((w) => {
    const json = join(dir, `t${w}.json`), csv = join(dir, `t${w}.csv`), trace = join(dir, `t${w}.trace`);
    const r = run('run', '--size', '128', '--timesteps', '32', '--check-every', '8', '--until-stable', '0.01', '--images', photo, '--calib', photo,
      '--chip', 'truenorth', '--workers', String(w), '--json', json, '--csv', csv);
    assert.is(r.code, 0, r.err);
    assert.is(/two threads per tick/.test(r.err), w === 2, r.err);
    // a trace needs every frame to run the same ticks: its own run, without the stopping rule
    const rt = run('run', '--size', '128', '--timesteps', '16', '--images', photo, '--calib', photo, '--chip', 'truenorth', '--workers', String(w), '--trace', trace);
    assert.is(rt.code, 0, rt.err);
    return { out: r.out, json: readFileSync(json, 'utf8'), csv: readFileSync(csv, 'utf8'), trace: readFileSync(trace) };
  });
  assert.is(outs[1].out, outs[0].out);
  assert.is(outs[1].json, outs[0].json);
  assert.is(outs[1].csv, outs[0].csv);
  assert.ok(Buffer.compare(outs[1].trace, outs[0].trace) === 0, 'the same trace bytes');
});

test.run();
