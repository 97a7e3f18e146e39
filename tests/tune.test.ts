import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tuneCommand } from '../src/cli/tune.ts';
import { calibrateModel, convertCalibrated } from '../src/convert/from-model.ts';
import type { SnnConvLayer, SnnNetwork } from '../src/convert/snn-ir.ts';
import type { TruthImage } from '../src/detect/map.ts';
import { loadImage } from '../src/image/decode.ts';
import { preprocess } from '../src/image/preprocess.ts';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { convLayer, makeSnn, routeLayer, upsampleLayer } from '../src/sim/handmade.ts';
import { createSimulatorSync } from '../src/sim/simulator.ts';
import { measureRuns, objectiveOf, SearchSpace, splitGroups, type Measured } from '../src/tune/threshold.ts';
import {
  applyThresholdsFile, parseThresholdsFile, readThresholdsFile, scaleNetwork, spikingLayers, thresholdSchedule, withThresholdSchedule,
  writeThresholdsFile, type ThresholdAssignment, type ThresholdsFile,
} from '../src/tune/thresholds-file.ts';
import type { ImageRun } from '../src/tune/workers.ts';
import { UserError } from '../src/util/errors.ts';
import { captureCli } from './helpers/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'neuroemu-tune-'));
const W = { score: 'ap' as const, wSop: 0.2, wLat: 0.2, target: 0.95, latencyReference: 'untuned' as const, apWindow: 0, latencyRule: 'first' as const };

// ---------------------------------------------------------------------------------------------
// objective, by hand

test('objective: J = AP_T − w_sop·(SOP ratio − 1) − w_lat·t_reach/T on a hand-made curve', () => {
  const m: Measured = { ticks: [8, 16, 32], ap: [0.2, 0.6, 0.8], f1: [0.1, 0.5, 0.9], sops: [100, 300, 700] };
  // goal 0.95·0.6 = 0.57 → first reached at 16; SOP ratio 700/1000
  const v = objectiveOf(m, { T: 32, baseSops: 1000, refScore: 0.6 }, W);
  assert.ok(Math.abs(v.value - (0.8 - 0.2 * (0.7 - 1) - 0.2 * (16 / 32))) < 1e-12, String(v.value));
  assert.is(v.value.toFixed(6), '0.760000');
  assert.equal([v.score, v.scoreT, v.apT, v.f1T, v.sopRatio, v.latency, v.reached], [0.8, 0.8, 0.8, 0.9, 0.7, 16, true]);
  // scored on F1 instead: goal 0.95·0.5 = 0.475 → 16; J = 0.9 + 0.06 − 0.1
  const f = objectiveOf(m, { T: 32, baseSops: 1000, refScore: 0.5 }, { ...W, score: 'f1' });
  assert.equal([f.score, f.scoreT, f.apT, f.latency], [0.9, 0.9, 0.8, 16]);
  assert.ok(Math.abs(f.value - (0.9 + 0.06 - 0.1)) < 1e-12, String(f.value));
  // settled: with a dip below the goal at 24 the goal counts as reached from 32 only
  const dip: Measured = { ticks: [8, 16, 24, 32], ap: [0.2, 0.6, 0.5, 0.8], f1: [0, 0, 0, 0], sops: [100, 300, 500, 700] };
  assert.is(objectiveOf(dip, { T: 32, baseSops: 1000, refScore: 0.6 }, W).latency, 16);
  assert.is(objectiveOf(dip, { T: 32, baseSops: 1000, refScore: 0.6 }, { ...W, latencyRule: 'settled' }).latency, 32);
  assert.is(objectiveOf(dip, { T: 32, baseSops: 1000, refScore: 1 }, { ...W, latencyRule: 'settled' }).reached, false);
  // an AP window of half the budget averages the checkpoints 16 and 32: (0.6 + 0.8) / 2
  const h = objectiveOf(m, { T: 32, baseSops: 1000, refScore: 0.6 }, { ...W, apWindow: 0.5 });
  assert.ok(Math.abs(h.score - 0.7) < 1e-12 && h.scoreT === 0.8, String(h.score));
  assert.ok(Math.abs(h.value - (0.7 + 0.06 - 0.1)) < 1e-12, String(h.value));
  // never reaching 0.95·1.0 → latency T, full penalty; other weights
  const u = objectiveOf(m, { T: 32, baseSops: 350, refScore: 1 }, { ...W, wSop: 0.5, wLat: 1 });
  assert.equal([u.latency, u.reached], [32, false]);
  assert.ok(Math.abs(u.value - (0.8 - 0.5 * 1 - 1)) < 1e-12, String(u.value));
});

test('measureRuns: AP@0.5 and F1 at the threshold per checkpoint against the reference boxes, SOPs summed over images', () => {
  const box = { x: 10, y: 10, w: 20, h: 20, className: 'face' };
  const truth: TruthImage[] = [{ file: 'a.jpg', boxes: [box] }, { file: 'b.jpg', boxes: [{ ...box, x: 50 }] }];
  const det = (x: number, score = 0.9) => ({ x, y: 10, w: 20, h: 20, score, classId: 0, className: 'face' });
  const runs: ImageRun[] = [
    { file: 'a.jpg', width: 100, height: 100, ticks: [4, 8], detections: [[], [det(10, 0.4)]], sops: [5, 11], simSeconds: 0 },
    { file: 'b.jpg', width: 100, height: 100, ticks: [4, 8], detections: [[det(50)], [det(50), det(80, 0.6)]], sops: [7, 13], simSeconds: 0 },
  ];
  const m = measureRuns(runs, truth, 0.5);
  assert.equal(m.ticks, [4, 8]);
  assert.equal(m.sops, [12, 24]);
  // AP (candidates at any score): tick 4: one of two boxes found, precision 1 → 0.5; tick 8, by
  // score: b's 0.9 (TP), b's 0.6 (FP), a's 0.4 (TP) → 0.5·1 + 0.5·2/3 = 5/6
  assert.equal(m.ap.map((v) => Number(v.toFixed(12))), [0.5, 0.833333333333]);
  // F1 above 0.5: tick 4: 1 matched of 1 SNN and 2 ANN boxes → 2·1/(1 + 2); tick 8: a's box (0.4)
  // is below the threshold, b has 1 match and 1 false positive → 2·1/(2 + 2)
  assert.equal(m.f1.map((v) => Number(v.toFixed(12))), [0.666666666667, 0.5]);
});

test('groups: consecutive, near-equal, larger first; the search box is log2 of the bounds', () => {
  assert.equal(splitGroups(11, 3), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]);
  assert.equal(splitGroups(6, 3), [0, 0, 1, 1, 2, 2]);
  assert.equal(splitGroups(4, 4), [0, 1, 2, 3]);
  const snn = tinyNet();
  const s = new SearchSpace(snn, { groups: 2, bounds: [0.25, 4], twoPhase: true, ratioBounds: [0.5, 1], timesteps: 64, compensate: true });
  assert.equal(s.lower, [-2, -2, -1, -1, 0]);
  assert.equal(s.upper, [2, 2, 0, 0, 5]);
  const a = s.decode([1, -1, -1, 0, 3]);
  assert.is(a.tSwitch, 8);
  assert.equal(a.layers.map((e) => [e.scale, e.scale2]), [[1, 2], [1, 2], [0.5, 0.5]]);
  try {
    new SearchSpace(snn, { groups: 4, bounds: [0.25, 4], twoPhase: false, ratioBounds: [0.5, 1], timesteps: 64, compensate: true });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as Error).message, /^--groups: 4 must be an integer in 1\.\.3/);
  }
});

// ---------------------------------------------------------------------------------------------
// applying scales

/** input 2×4×4 → conv0 (ibt, 2) → conv1 (if, 3) → route[0,1] → upsample ×2 → conv4 (signed, depthwise 5) → conv5 (integrate) */
function tinyNet(): SnnNetwork {
  const inS = { c: 2, h: 4, w: 4 };
  const rnd = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 97 + i * 13.7) * 0.5);
  const c0 = convLayer(0, -1, inS, { filters: 2, size: 3, pad: 1, rule: 'ibt', weights: rnd(2 * 2 * 9, 1) });
  const c1 = convLayer(1, 0, c0.outShape, { filters: 3, size: 1, rule: 'if', weights: rnd(3 * 2, 2) });
  const r2 = routeLayer(2, [0, 1], [c0.outShape, c1.outShape]);
  const u3 = upsampleLayer(3, 2, r2.outShape, 2);
  const c4 = convLayer(4, 3, u3.outShape, { filters: 5, size: 3, pad: 1, groups: 5, rule: 'signed', weights: rnd(5 * 9, 3) });
  const c5 = convLayer(5, 4, c4.outShape, { filters: 2, size: 1, rule: 'integrate', weights: rnd(2 * 5, 4) });
  return makeSnn(inS, [c0, c1, r2, u3, c4, c5], [5]);
}

const assignment = (snn: SnnNetwork, scales: number[], extra: Partial<ThresholdAssignment> = {}): ThresholdAssignment => ({
  layers: spikingLayers(snn).map((l, k) => ({ snnLayer: l.index, name: l.name, scale: scales[k] })),
  compensate: true,
  ...extra,
});

test('scales multiply vthPos and vthNeg (IBT ratio kept); compensation scales the weights reading each layer, through routes and upsamples', () => {
  const snn = tinyNet();
  const before = JSON.stringify(snn.layers.map((l) => (l.kind === 'conv' ? [l.vthPos, l.vthNeg, Array.from(l.weights)] : l.kind)));
  const s = scaleNetwork(snn, assignment(snn, [0.5, 2, 3]));
  const conv = (n: SnnNetwork, i: number) => n.layers[i] as SnnConvLayer;
  assert.equal([conv(s, 0).vthPos, conv(s, 0).vthNeg], [0.5, 5]);
  assert.equal([conv(s, 1).vthPos, conv(s, 1).vthNeg], [2, Infinity]);
  assert.equal([conv(s, 4).vthPos, conv(s, 4).vthNeg], [3, 3]);
  assert.equal([conv(s, 5).vthPos, conv(s, 5).vthNeg], [1, Infinity], 'the readout has no threshold');
  // conv0 reads the image: unchanged; conv1 reads conv0: ×0.5
  assert.equal(Array.from(conv(s, 0).weights), Array.from(conv(snn, 0).weights));
  assert.equal(Array.from(conv(s, 1).weights), Array.from(conv(snn, 1).weights).map((w) => Math.fround(w * 0.5)));
  // depthwise conv4: output channel o reads route channel o: 0,1 from conv0 (×0.5), 2..4 from conv1 (×2)
  const f = [0.5, 0.5, 2, 2, 2];
  assert.equal(Array.from(conv(s, 4).weights), Array.from(conv(snn, 4).weights).map((w, i) => Math.fround(w * f[Math.floor(i / 9)])));
  // the readout reads conv4: ×3
  assert.equal(Array.from(conv(s, 5).weights), Array.from(conv(snn, 5).weights).map((w) => Math.fround(w * 3)));
  // uncompensated: thresholds only; the input network is never modified
  const raw = scaleNetwork(snn, { ...assignment(snn, [0.5, 2, 3]), compensate: false });
  assert.is(conv(raw, 1).weights, conv(snn, 1).weights);
  assert.is(conv(raw, 1).vthPos, 2);
  assert.is(JSON.stringify(snn.layers.map((l) => (l.kind === 'conv' ? [l.vthPos, l.vthNeg, Array.from(l.weights)] : l.kind))), before);
  // a wrong layer list is a user error naming the field
  try {
    scaleNetwork(snn, { layers: [{ snnLayer: 0, name: 'conv0', scale: 1 }], compensate: true }, 'th.json');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as Error).message, /^th\.json: layers: 1 entries, but the network hand-built has 3 spiking layers/);
  }
});

test('compensation keeps what a layer transmits: IF neuron at constant 0.3, threshold ×0.5, hand-counted spikes', () => {
  // analog input 0.3 → conv0 (IF, 1×1, weight 1) → conv1 (integrate, weight 1): readout = spikes·weight/t
  const inS = { c: 1, h: 1, w: 1 };
  const c0 = convLayer(0, -1, inS, { filters: 1, rule: 'if', weights: Float32Array.of(1) });
  const c1 = convLayer(1, 0, c0.outShape, { filters: 1, rule: 'integrate', weights: Float32Array.of(1) });
  const snn = makeSnn(inS, [c0, c1], [1]);
  const T = 100;
  const readout = (net: SnnNetwork) => {
    const sim = createSimulatorSync(net, { engine: 'reference' });
    sim.reset(Float32Array.of(0.3));
    sim.run(T);
    return { r: sim.readout()[0][0], spikes: sim.counts().totals.posSpikes };
  };
  const base = readout(snn);
  const comp = readout(scaleNetwork(snn, assignment(snn, [0.5])));
  const raw = readout(scaleNetwork(snn, { ...assignment(snn, [0.5]), compensate: false }));
  // 0.3 per tick against threshold 1: 29 or 30 spikes in 100 ticks (float rounding); against 0.5: 59 or 60
  assert.ok(base.spikes >= 29 && base.spikes <= 30, String(base.spikes));
  assert.ok(comp.spikes >= 59 && comp.spikes <= 60, String(comp.spikes));
  assert.ok(Math.abs(comp.r - comp.spikes * 0.5 / T) < 1e-6, 'a spike of the scaled layer carries 0.5');
  assert.ok(Math.abs(comp.r - 0.3) <= 0.5 / T + 1e-6, `compensated readout ${comp.r} ≈ 0.3`);
  assert.ok(Math.abs(raw.r - 0.6) <= 1 / T + 1e-6, `uncompensated readout ${raw.r} ≈ 0.6 (gain 1/s)`);
});

// ---------------------------------------------------------------------------------------------
// thresholds file

function sampleFile(snn: SnnNetwork, twoPhase = false): ThresholdsFile {
  const a = assignment(snn, [0.5, 2, 1.25]);
  return {
    format: 'neuroemu-thresholds', version: 1,
    model: { model: 'hand-built' }, network: { name: snn.ann.name, input: [snn.ann.input.w, snn.ann.input.h] },
    settings: snn.settings, compensate: true, twoPhase,
    ...(twoPhase ? { tSwitch: 6 } : {}),
    timesteps: 32,
    layers: a.layers.map((e, k) => ({ ...e, group: k, ...(twoPhase ? { scale2: 1 } : {}) })),
    objective: { wSop: 0.2 }, search: { method: 'bayesian-optimization', seed: 3, budget: 8 }, result: { objective: 0.5 },
  };
}

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    assert.instance(e, UserError, String(e));
    assert.not.match((e as Error).message, /\n/);
    return (e as Error).message;
  }
  assert.unreachable('no error');
  return '';
};

test('thresholds file: round trip, and one-line errors naming the file and the field', () => {
  const snn = tinyNet();
  for (const two of [false, true]) {
    const file = join(tmp, `rt-${two}.json`);
    const t = sampleFile(snn, two);
    writeThresholdsFile(file, t);
    assert.equal(readThresholdsFile(file), t);
    const applied = applyThresholdsFile(snn, file);
    assert.is((applied.snn.layers[1] as SnnConvLayer).vthPos, 2);
    assert.is(applied.schedule?.tSwitch, two ? 6 : undefined);
    assert.match(applied.description, two ? /two-phase, switch after tick 6/ : /scales 0\.5 2 1\.25/);
    assert.equal(applied.warnings, []);
  }
  const good = JSON.parse(JSON.stringify(sampleFile(snn, true)));
  const bad = (mutate: (v: Record<string, any>) => void) => {
    const v = JSON.parse(JSON.stringify(good));
    mutate(v);
    return errorOf(() => parseThresholdsFile(v, 'th.json'));
  };
  assert.match(bad((v) => (v.format = 'other')), /^th\.json: format: "other", expected "neuroemu-thresholds"/);
  assert.match(bad((v) => (v.version = 2)), /^th\.json: version: 2/);
  assert.match(bad((v) => (v.layers[1].scale = -1)), /^th\.json: layers\[1\]\.scale: -1 must be a number in \[2\^-20, 2\^20\]/);
  // scales that would silence the network or round its threshold to 0: refused, naming the file and field
  for (const x of [1e38, 1e300, 1e-300]) assert.match(bad((v) => (v.layers[2].scale = x)), /^th\.json: layers\[2\]\.scale: .* must be a number in \[2\^-20, 2\^20\]/);
  assert.match(bad((v) => delete v.layers[0].scale2), /^th\.json: layers\[0\]\.scale2: .*twoPhase is true/);
  assert.match(bad((v) => delete v.tSwitch), /^th\.json: tSwitch: /);
  assert.match(bad((v) => (v.settings.norm = 'nope')), /^th\.json: settings\.norm: "nope" is not one of/);
  assert.match(bad((v) => (v.layers = [])), /^th\.json: layers: expected a non-empty array/);
  assert.match(bad((v) => (v.compensate = 'yes')), /^th\.json: compensate: /);
  const broken = join(tmp, 'broken.json');
  writeFileSync(broken, '{\n  "format": "neuroemu-thresholds",\n  oops\n}\n');
  assert.match(errorOf(() => readThresholdsFile(broken)), new RegExp(`^${broken}:3:\\d+: not valid JSON`));
  // tuned on another network / conversion
  const other = join(tmp, 'other.json');
  writeThresholdsFile(other, { ...sampleFile(snn), settings: { ...snn.settings, neuron: 'if' } });
  assert.match(errorOf(() => applyThresholdsFile(snn, other)), /other\.json: settings\.neuron: tuned with "if", the network was converted with "ibt"/);
  writeThresholdsFile(other, { ...sampleFile(snn), layers: sampleFile(snn).layers.map((e, k) => (k === 2 ? { ...e, name: 'convX' } : e)) });
  assert.match(errorOf(() => applyThresholdsFile(snn, other)), /other\.json: layers\[2\]\.name: "convX", but SNN layer 4 is "conv4"/);
});

// ---------------------------------------------------------------------------------------------
// two-phase on the face detector

const photos = faceSamplePhotos();

test('two-phase: the scheduled simulator equals running the two threshold sets by hand with setThresholds', () => {
  const model = calibrateModel({ model: 'face', size: 128 }, { calib: photos.slice(0, 1) });
  const { snn } = convertCalibrated(model, {});
  const spk = spikingLayers(snn);
  const a: ThresholdAssignment = {
    layers: spk.map((l, k) => ({ snnLayer: l.index, name: l.name, scale: 0.6 + 0.05 * k, scale2: 1.5 - 0.05 * k })),
    compensate: true,
    tSwitch: 5,
  };
  const inputs = photos.slice(1, 3).map((f) => preprocess(model.net, loadImage(f)));
  const scaled = scaleNetwork(snn, a);
  const T = 12;
  // by hand: thresholds of phase 1 are in the scaled copy; switch after tick 5 to orig·scale2
  const manual = inputs.map((x) => {
    const sim = createSimulatorSync(scaled, {});
    sim.reset(x);
    sim.run(5);
    spk.forEach((l, k) => sim.setThresholds(l.index, l.vthPos * a.layers[k].scale2!, l.vthNeg * a.layers[k].scale2!));
    sim.run(T - 5);
    return { out: Buffer.from(sim.readout()[0].buffer).toString('hex'), sops: sim.counts().totals.sops };
  });
  // scheduled: one simulator for both images (reset must restore phase 1), odd run() splits
  const sched = thresholdSchedule(snn, a)!;
  assert.equal(sched.phase1.map((t) => t.vthPos), spk.map((l) => (scaled.layers[l.index] as SnnConvLayer).vthPos));
  const sim = withThresholdSchedule(createSimulatorSync(scaled, {}), sched);
  const auto = inputs.map((x) => {
    sim.reset(x);
    sim.run(3);
    sim.run(4); // crosses the switch
    sim.runWithCheckpoints(T, [9], () => {});
    return { out: Buffer.from(sim.readout()[0].buffer).toString('hex'), sops: sim.counts().totals.sops };
  });
  assert.equal(auto, manual);
  // and the switch matters: phase 2 from the start gives other spikes
  const single = createSimulatorSync(scaleNetwork(snn, { ...a, tSwitch: undefined, layers: a.layers.map((e) => ({ ...e, scale: e.scale2!, scale2: undefined })) }), {});
  single.reset(inputs[0]);
  single.run(T);
  assert.not.equal(single.counts().totals.sops, manual[0].sops);
});

// ---------------------------------------------------------------------------------------------
// end to end

const tuneCli = (argv: string[]) => captureCli(tuneCommand as never, ['tune', ...argv]);

test('tune end to end (face 224, 2+2 images, T=32, budget 8): workers and in-process give the same bytes; the file applies', async () => {
  const common = [
    '--model', 'face', '--size', '224', '--calib', photos[0], photos[2], '--images', photos[0], photos[2], '--holdout', photos[4], photos[5],
    '--timesteps', '32', '--budget', '8', '--report-timesteps', '48', '--ann-threshold', '0.3', '--seed', '7',
    '--chip', 'none', // energy pricing is tests/tune-energy.test.ts's
  ];
  const files = (tag: string) => ['--out', join(tmp, `${tag}.json`), '--csv', join(tmp, `${tag}.csv`), '--svg', join(tmp, `${tag}.svg`)];
  const t0 = Date.now();
  const a = await tuneCli([...common, ...files('a'), '--workers', '2']);
  const t1 = Date.now();
  const b = await tuneCli([...common, ...files('b'), '--workers', '0']);
  console.log(`tune: 2 workers ${((t1 - t0) / 1000).toFixed(1)} s, in-process ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  const read = (f: string) => readFileSync(join(tmp, f), 'utf8');
  assert.is(read('a.csv'), read('b.csv'), 'same seed, same CSV bytes');
  assert.is(read('a.json'), read('b.json'), 'same seed, same thresholds file bytes');
  assert.is(read('a.svg'), read('b.svg'));
  assert.is(a.out.replace(/a\.(json|csv|svg)/g, 'X'), b.out.replace(/b\.(json|csv|svg)/g, 'X'), 'same report');
  // CSV: a header and 8 + 8 evaluations with the documented columns
  const lines = read('a.csv').trim().split('\n');
  assert.is(lines[0], 'search,eval,phase,scale_g1,scale_g2,scale_g3,score_window,score_T,ap_T,f1_T,sop_ratio,latency_ticks,reached,objective,best_so_far');
  assert.is(lines.length, 18);
  assert.match(lines[1], /^untuned,0,baseline,1\.000000,1\.000000,1\.000000,/);
  assert.is(lines.filter((l) => l.startsWith('bo,')).length, 8);
  assert.is(lines.filter((l) => l.startsWith('random,')).length, 8);
  assert.is(lines.filter((l) => l.startsWith('bo,') && l.includes(',model,')).length, 2, 'the initial design has 6 points, then the GP suggests');
  // progress on stderr, one line per evaluation
  assert.is(a.err.split('\n').filter((l) => /^\[(bo|rs) \d\/8 /.test(l)).length, 16);
  // the report
  assert.match(a.out, /seed 7/);
  // scored at the operating point by default: F1 above the ANN's threshold, AP beside it
  assert.match(a.out, /objective \(score F1: F1 of the SNN's detections above score 0\.3 against the ANN's/);
  assert.match(a.out, /F1@32 +F1@48 +AP@32/);
  assert.match(a.out, /untuned \(channel-wise \+ IBT\)/);
  assert.match(a.out, /BO thresholds/);
  assert.match(a.out, /random-search thresholds/);
  assert.match(read('a.svg'), /Bayesian optimization/);
  // the thresholds file is valid, documents the run and applies to the same network
  const th = readThresholdsFile(join(tmp, 'a.json'));
  assert.equal([th.twoPhase, th.compensate, th.timesteps, (th.search as { seed: number }).seed, th.layers.length], [false, true, 32, 7, 11]);
  const model = calibrateModel({ model: 'face', size: 224 }, { calib: [photos[0], photos[2]] });
  const { snn } = convertCalibrated(model, {});
  const applied = applyThresholdsFile(snn, join(tmp, 'a.json'));
  assert.equal(applied.warnings, [], 'same calibration images');
  const other6 = convertCalibrated(calibrateModel({ model: 'face', size: 224 }, { calib: photos.slice(0, 3) }), {}).snn;
  assert.match(applyThresholdsFile(other6, join(tmp, 'a.json')).warnings.join(), /calibrated \(λ\) with 2 other images \(sample1\.jpg sample3\.jpg\); this one used 3/);
  const l0 = spikingLayers(snn)[0];
  assert.is((applied.snn.layers[l0.index] as SnnConvLayer).vthPos, l0.vthPos * th.layers[0].scale);
  // the best row of the CSV is the file's result
  // the file's result is the best of the untuned network and the BO rows; best_so_far never drops below the untuned
  const header = lines[0].split(',');
  const col = (l: string, name: string) => Number(l.split(',')[header.indexOf(name)]);
  const untunedJ = col(lines[1], 'objective');
  const bo = lines.slice(1).filter((l) => l.startsWith('bo,'));
  assert.is(Math.max(untunedJ, ...bo.map((l) => col(l, 'objective'))).toFixed(6), (th.result as { objective: number }).objective.toFixed(6));
  for (const l of lines.slice(2)) assert.ok(col(l, 'best_so_far') >= untunedJ, l);
});

test('tune: held-out images must be unseen (one-line error naming the flag)', async () => {
  try {
    await tuneCli(['--images', photos[0], photos[1], '--holdout', photos[1], '--out', join(tmp, 'x.json')]);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as Error).message, /^--holdout: .*sample2\.jpg: is also a tuning image/);
  }
});

test.run();
