/**
 * `neuroemu sweep` (src/sweep):
 * - `--vary` parsing and the cross product (order, ranges, errors), every point validated against
 *   the chip schema with its index and label in the error;
 * - simulation groups: points that differ only in energy/timing share one simulation;
 * - the Pareto front and the merge checks on hand-made rows;
 * - on the face detector (224 px, 2 photos): the rows of replayed points equal a fresh emulation on
 *   the point's chip (the independent truth); shards merged give exactly the unsharded file; a
 *   killed run resumed gives exactly the uninterrupted file (no duplicate, no lost row);
 * - a killed run's temporary trace is removed when the sweep is resumed;
 * - the CLI refuses a bad point with one line, exit 2, and writes nothing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chipWithOverrides } from '../src/hw/chip-schema.ts';
import { PROJECT_ROOT } from '../src/model/load.ts';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { calibrateModel, convertCalibrated } from '../src/convert/from-model.ts';
import { loadImage } from '../src/image/decode.ts';
import { preprocess } from '../src/image/preprocess.ts';
import { emulateFrames } from '../src/sim/emulate.ts';
import { parseAxes, parseAxis, parseShard, pointAt, pointCount, validatePoints, type RunSettings } from '../src/sweep/space.ts';
import { mergeResults, paretoFront, readResults, type Row } from '../src/sweep/results.ts';
import { UserError } from '../src/util/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'neuroemu-sweep-'));
const bin = join(PROJECT_ROOT, 'bin', 'neuroemu');
const fixed: RunSettings = { timesteps: 16, thresholds: null, norm: 'channel', statistic: null, neuron: 'ibt', placement: 'layers' };

const throwsUser = (f: () => unknown, re: RegExp) => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof UserError, `not a UserError: ${e}`);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`no error (expected ${re})`);
};

test('--vary lists and inclusive ranges', () => {
  assert.equal(parseAxis('energy.synop_pJ=10:30:5').values, [10, 15, 20, 25, 30]);
  assert.equal(parseAxis('timing.synop_ns=0.1:0.3:0.1').values, [0.1, 0.2, 0.3]);
  assert.equal(parseAxis('core.neurons=256,512,1024'), { path: 'core.neurons', values: [256, 512, 1024], chip: true });
  assert.equal(parseAxis('noc.multicast=true,false').values, [true, false]);
  assert.equal(parseAxis('energy.synop_pJ.value=1,2').path, 'energy.synop_pJ');
  assert.equal(parseAxis('timesteps=32,64'), { path: 'timesteps', values: [32, 64], chip: false });
  assert.equal(parseAxis('norm=channel,layer').chip, false);
});

test('--vary errors name the argument', () => {
  throwsUser(() => parseAxis('core.neurons'), /--vary core\.neurons: expected PATH=VALUES/);
  throwsUser(() => parseAxis('energy.synop_pJ=10:30:0'), /STEP must be > 0/);
  throwsUser(() => parseAxis('energy.synop_pJ=30:10:5'), /HI must be >= LO/);
  throwsUser(() => parseAxis('energy.synop_pJ=1:2'), /a range is LO:HI:STEP/);
  throwsUser(() => parseAxis('core.neurons=1,,2'), /empty value/);
  throwsUser(() => parseAxis('core.neurons=1,1'), /listed twice/);
  throwsUser(() => parseAxis('timesteps=0,64'), /timesteps 0: expected an integer number of ticks/);
  throwsUser(() => parseAxis('neuron=lif'), /neuron "lif": expected ibt or if/);
  throwsUser(() => parseAxes(['core.neurons=1,2', 'core.neurons=3']), /varied twice/);
});

test('the cross product: first axis outermost, mixed radix', () => {
  const axes = parseAxes(['core.neurons=256,512', 'energy.synop_pJ=10:30:10', 'timesteps=16,32']);
  assert.is(pointCount(axes), 12);
  const labels = Array.from({ length: 12 }, (_, i) => pointAt(axes, i, fixed).label);
  assert.is(labels[0], 'core.neurons=256 energy.synop_pJ=10 timesteps=16');
  assert.is(labels[1], 'core.neurons=256 energy.synop_pJ=10 timesteps=32');
  assert.is(labels[2], 'core.neurons=256 energy.synop_pJ=20 timesteps=16');
  assert.is(labels[11], 'core.neurons=512 energy.synop_pJ=30 timesteps=32');
  assert.is(new Set(labels).size, 12);
  const p7 = pointAt(axes, 7, fixed);
  assert.equal(p7.chipSet, { 'core.neurons': 512, 'energy.synop_pJ': 10 });
  assert.is(p7.run.timesteps, 32);
});

test('every point is validated against the chip schema before anything runs', () => {
  throwsUser(() => validatePoints('loihi', parseAxes(['energy.synop_pJ=1,2', 'core.neurons=1024,0']), fixed, null), /sweep point 1 \(energy\.synop_pJ=1 core\.neurons=0\): core\.neurons\.value: expected an integer >= 1, got 0/);
  throwsUser(() => validatePoints('loihi', parseAxes(['core.neuronz=1']), fixed, null), /no field "core\.neuronz"/);
  throwsUser(() => validatePoints('loihi', parseAxes(['timing.tick.rule=foo']), fixed, null), /timing\.tick\.rule/);
  // a shard validates the points of the other shards too
  throwsUser(() => validatePoints('loihi', parseAxes(['core.neurons=1024,0']), fixed, { index: 0, count: 2 }), /sweep point 1/);
  const pts = validatePoints('loihi', parseAxes(['energy.synop_pJ=12,24']), fixed, null);
  const c = pts[1].chip;
  assert.is(c.params.energy.synopJ, 24e-12);
  // honest provenance: a swept figure is neuroemu's, tagged U, naming the file's own figure
  assert.is(c.spec.energy.synop_pJ.source, 'neuroemu');
  assert.is(c.spec.energy.synop_pJ.tag, 'U');
  assert.match(String(c.spec.energy.synop_pJ.note), /23\.6 \(D18 Table 2\)/);
});

test('planned lazily: values checked one by one up front; a combination refused only together is refused when priced; a long axis plans without a chip per point', () => {
  // idle 0.36 W and full 1.0 W are each valid; idle 2 W with full 1 W is refused by the schema's cross-check
  const axes = parseAxes(['energy.power_model.idle_chip_W=0.36,2', 'energy.power_model.full_chip_W=3,1']);
  const pts = validatePoints('spinnaker', axes, fixed, null);
  assert.is(pts.length, 4);
  assert.is(pts[0].chip.params.name, 'spinnaker');
  assert.ok(pts[2].chip);
  throwsUser(() => pts[3].chip, /sweep point 3 \(energy\.power_model\.idle_chip_W=2 energy\.power_model\.full_chip_W=1\):.*full_chip_W/);
  // 20,000 values of a geometry field: one group per value, planned without building 20,000 chips
  const long = validatePoints('loihi', parseAxes(['core.neurons=1:20000:1'], 20000), fixed, null);
  assert.is(long.length, 20000);
  assert.is(new Set(long.map((p) => p.point.simKey)).size, 20000);
  assert.is(long[19999].chip.params.core.neurons, 20000);
});

test('simulation groups: energy and timing constants share a simulation, geometry and ticks do not', () => {
  const pts = validatePoints('loihi', parseAxes(['core.neurons=512,1024', 'energy.synop_pJ=10,20', 'timing.synop_ns=1,2', 'timesteps=16,32']), fixed, null);
  const groups = new Set(pts.map((p) => p.point.simKey));
  assert.is(pts.length, 16);
  assert.is(groups.size, 4);
  assert.is(pts[0].point.simKey, pts[2].point.simKey); // timing.synop_ns 1 vs 2
  assert.is(pts[0].point.simKey, pts[4].point.simKey); // energy.synop_pJ 10 vs 20
  assert.is.not(pts[0].point.simKey, pts[1].point.simKey); // 16 vs 32 ticks
  assert.is.not(pts[0].point.simKey, pts[8].point.simKey); // 512 vs 1024 neurons per core
});

test('run fields: norm, neuron, thresholds, statistic, placement set the point\'s run and split the groups', () => {
  const pts = validatePoints('loihi', parseAxes(['norm=channel,layer', 'neuron=ibt,if', 'thresholds=none,t.json', 'statistic=max,99.9', 'placement=layers,regions']), fixed, null);
  assert.is(pts.length, 32);
  assert.is(new Set(pts.map((p) => p.point.simKey)).size, 32);
  assert.equal(pts[31].point.run, { timesteps: 16, thresholds: 't.json', norm: 'layer', statistic: 99.9, neuron: 'if', placement: 'regions' });
  assert.is(pts[0].point.run.thresholds, null); // none: untuned
  assert.equal(pts[0].point.chipSet, {});
});

test('shards: I/N parsing, disjoint slices that cover every point, whole groups when there are enough', () => {
  assert.equal(parseShard('2/8'), { index: 2, count: 8 });
  throwsUser(() => parseShard('8/8'), /I must be in 0\.\.7/);
  throwsUser(() => parseShard('1-8'), /expected I\/N/);
  const cover = (axes: string[], n: number) => {
    const all = validatePoints('loihi', parseAxes(axes), fixed, null);
    const shards = Array.from({ length: n }, (_, s) => validatePoints('loihi', parseAxes(axes), fixed, { index: s, count: n }));
    const owner = new Map<number, number>();
    shards.forEach((pts, s) => pts.forEach((p) => {
      assert.not.ok(owner.has(p.point.index), `point ${p.point.index} in two shards`);
      owner.set(p.point.index, s);
    }));
    assert.is(owner.size, all.length);
    return { all, owner, shards };
  };
  // 3 groups (neurons per core), 2 shards: whole groups go to one shard (no simulation twice)
  const g = cover(['core.neurons=256,512,1024', 'energy.synop_pJ=10:30:10'], 2);
  for (const p of g.all) for (const q of g.all) if (p.point.simKey === q.point.simKey) assert.is(g.owner.get(p.point.index), g.owner.get(q.point.index));
  assert.equal(g.shards.map((s) => s.length), [6, 3]);
  // 1 group, 3 shards: the points are dealt, k mod 3
  const d = cover(['energy.synop_pJ=10:70:10'], 3);
  assert.equal(d.shards.map((s) => s.map((p) => p.point.index)), [[0, 3, 6], [1, 4], [2, 5]]);
});

const row = (point: number, e: number, l: number, extra: Partial<Row> = {}): Row => ({ point: String(point), sweep: 's1', points: '4', status: 'ok', energy_per_frame_J: String(e), latency_frame_s: String(l), varied: `x=${point}`, ...extra });

test('Pareto front of (energy, latency), both minimized: by hand', () => {
  // (latency, energy): 0:(1,5) 1:(2,3) 2:(3,4) dominated by 1, 3:(4,1), 4:(1,6) dominated by 0, 5 refused
  const rows = [row(0, 5, 1), row(1, 3, 2), row(2, 4, 3), row(3, 1, 4), row(4, 6, 1), row(5, 0.1, 0.1, { status: 'refused: too big', energy_per_frame_J: '', latency_frame_s: '' })];
  assert.equal(paretoFront(rows).map((r) => r.point), ['0', '1', '3']);
});

test('merge refuses missing and duplicated points and foreign sweeps', () => {
  const f = (file: string, rows: Row[]) => ({ file, results: { columns: ['point', 'sweep', 'points', 'status', 'energy_per_frame_J', 'latency_frame_s', 'varied'], rows } });
  const ok = mergeResults([f('a.csv', [row(0, 1, 1), row(2, 1, 1)]), f('b.csv', [row(1, 1, 1), row(3, 1, 1)])]);
  assert.is(ok.rows.length, 4);
  throwsUser(() => mergeResults([f('a.csv', [row(0, 1, 1), row(2, 1, 1)]), f('b.csv', [row(1, 1, 1)])]), /1 of 4 points are in no file \(points 3\)/);
  throwsUser(() => mergeResults([f('a.csv', [row(0, 1, 1), row(1, 1, 1)]), f('b.csv', [row(1, 1, 1), row(2, 1, 1), row(3, 1, 1)])]), /point 1 is in a\.csv and in b\.csv/);
  throwsUser(() => mergeResults([f('a.csv', [row(0, 1, 1)]), f('b.csv', [row(1, 1, 1, { sweep: 's2' })])]), /belongs to sweep s2/);
});

test('a row cut short by a kill is dropped (and truncated on resume)', () => {
  const file = join(dir, 'cut.csv');
  writeFileSync(file, 'point,sweep,x\n0,s,1\n1,s,2\n2,s,');
  assert.is(readResults(file).rows.length, 2);
  assert.is(readFileSync(file, 'utf8').length, 'point,sweep,x\n0,s,1\n1,s,2\n2,s,'.length);
  readResults(file, { repair: true });
  assert.is(readFileSync(file, 'utf8'), 'point,sweep,x\n0,s,1\n1,s,2\n');
});

// ---------------------------------------------------------------------------------------------
// on the face detector

const photos = faceSamplePhotos().slice(0, 2);
const common = ['--chip', 'loihi', '--size', '224', '--timesteps', '16', '--images', ...photos, '--calib', ...photos];
const vary = ['--vary', 'core.neurons=512,1024', '--vary', 'energy.synop_pJ=10:30:10'];
const sweep = (args: string[]) => spawnSync(process.execPath, [bin, 'sweep', ...common, ...args], { encoding: 'utf8' });

let reference: string;

test('a sweep writes its rows, summary and plots; replayed points equal a fresh emulation on their chip', async () => {
  const out = join(dir, 'full.csv');
  const r = sweep([...vary, '--workers', '2', '--out', out]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /6 of 6 points; this run: 2 simulated, 4 more priced by replaying their traces/);
  assert.match(r.stderr, /ETA/);
  reference = readFileSync(out, 'utf8');
  const rows = readResults(out).rows;
  assert.equal(rows.map((x) => x.point), ['0', '1', '2', '3', '4', '5']);
  for (const x of rows) assert.is(x.status, 'ok');
  const summary = JSON.parse(readFileSync(out.replace('.csv', '.summary.json'), 'utf8'));
  assert.is(summary.points, 6);
  assert.ok(summary.complete);
  assert.equal(summary.this_run, { skipped: 0, simulated: 2, replayed: 4, refused: 0 });
  assert.ok(summary.pareto_front.length >= 1);
  assert.match(readFileSync(out.replace('.csv', '.pareto.svg'), 'utf8'), /Pareto front/);
  assert.match(readFileSync(out.replace('.csv', '.ap.svg'), 'utf8'), /<svg/);
  // energy scales with synop_pJ alone within a group: synaptic energy doubles from 10 to 20 pJ
  assert.ok(Math.abs(Number(rows[1].energy_synaptic_J) / Number(rows[0].energy_synaptic_J) - 2) < 1e-12);
  assert.is(rows[1].energy_neuron_J, rows[0].energy_neuron_J);

  // the independent truth: emulate point 5 (replayed from point 3's trace) on its own chip
  const model = calibrateModel({ model: 'face', size: 224 }, { calib: photos });
  const snn = convertCalibrated(model, { norm: 'channel', neuron: 'ibt' }).snn;
  const inputs = photos.map((f) => preprocess(snn.ann, loadImage(f)));
  const chip = chipWithOverrides('loihi', { 'core.neurons': 1024, 'energy.synop_pJ': 30 }, 'test').params;
  const em = await emulateFrames(snn, chip, inputs, { timesteps: 16, seed: 1, autoBoard: true });
  const p5 = rows[5];
  assert.is(p5.varied, 'core.neurons=1024 energy.synop_pJ=30');
  assert.is(Number(p5.energy_per_frame_J), em.totals.energy.per_frame_J);
  assert.is(Number(p5.energy_synaptic_J), em.totals.energy.breakdown_J.synaptic);
  assert.is(Number(p5.latency_frame_s), em.totals.latency.frame_s);
  assert.is(Number(p5.packets), em.totals.counts.packets);
  assert.is(Number(p5.cores), em.totals.mapping.cores);
});

test('shards merged give exactly the unsharded results', () => {
  const parts = [0, 1, 2].map((i) => join(dir, `part-${i}.csv`));
  parts.forEach((p, i) => {
    const r = sweep([...vary, '--workers', '0', '--shard', `${i}/3`, '--out', p]);
    assert.is(r.status, 0, r.stderr);
    assert.is(readResults(p).rows.length, 2);
  });
  const merged = join(dir, 'merged.csv');
  const m = spawnSync(process.execPath, [bin, 'sweep', 'merge', ...parts, '--out', merged], { encoding: 'utf8' });
  assert.is(m.status, 0, m.stderr);
  assert.match(m.stdout, /6 points of sweep [0-9a-f]{16}, none missing or duplicated/);
  assert.is(readFileSync(merged, 'utf8'), reference);
  const missing = spawnSync(process.execPath, [bin, 'sweep', 'merge', parts[0], parts[2], '--out', join(dir, 'bad.csv')], { encoding: 'utf8' });
  assert.is(missing.status, 2);
  assert.match(missing.stderr, /^neuroemu: sweep merge: 2 of 6 points are in no file \(points 1, 4\)/);
  assert.not.ok(existsSync(join(dir, 'bad.csv')));
});

test('one group, two workers: its frames simulated in two parts, traces joined; the rows equal the unsplit sweep\'s', () => {
  const out = join(dir, 'split.csv');
  const r = sweep([...vary, '--workers', '2', '--shard', '0/2', '--out', out]);
  assert.is(r.status, 0, r.stderr);
  const refFile = join(dir, 'reference.csv');
  writeFileSync(refFile, reference);
  const mine = readResults(out).rows, all = readResults(refFile).rows;
  assert.is(mine.length, 3);
  for (const row of mine) assert.equal(row, all.find((x) => x.point === row.point));
});

test('one group, one photo, two workers: two threads per tick; the rows equal those of one thread', () => {
  const one = ['--chip', 'loihi', '--size', '128', '--timesteps', '16', '--images', photos[0], '--calib', photos[0], '--vary', 'energy.synop_pJ=10,20'];
  const rows = [0, 2].map((w) => {
    const out = join(dir, `threads-w${w}.csv`);
    const r = spawnSync(process.execPath, [bin, 'sweep', ...one, '--workers', String(w), '--out', out], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.is(/two threads per tick/.test(r.stderr), w === 2, r.stderr);
    return readResults(out).rows;
  });
  assert.is(rows[0].length, 2);
  assert.equal(rows[1], rows[0]);
});

test('one sweep per results file: a live lock refuses a second sweep, a stale lock is taken over, duplicate rows are dropped on resume', async () => {
  const { lockResults } = await import('../src/sweep/sweep.ts');
  const out = join(dir, 'locked.csv');
  // a lock held by a live process (this test's parent) refuses, naming the pid; nothing is written
  writeFileSync(`${out}.lock`, `${process.ppid}\n`);
  const r = sweep([...vary, '--workers', '0', '--out', out]);
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`another sweep \\(pid ${process.ppid}\\) is writing it`));
  assert.not.ok(existsSync(out));
  // a stale lock (no such process) is taken over, and released at the end
  writeFileSync(`${out}.lock`, '999999999\n');
  const release = lockResults(out);
  assert.is(readFileSync(`${out}.lock`, 'utf8').trim(), String(process.pid));
  assert.throws(() => lockResults(out), /another sweep \(pid \d+\) is writing it/);
  release();
  assert.not.ok(existsSync(`${out}.lock`));
  // a complete file with a row written twice: the rerun drops the copy and ends byte-identical
  const lines = reference.trimEnd().split('\n');
  writeFileSync(out, [...lines, lines[3]].join('\n') + '\n');
  const again = sweep([...vary, '--workers', '0', '--out', out]);
  assert.is(again.status, 0, again.stderr);
  assert.match(again.stderr, /dropped 1 duplicate row \(points 2\), kept the first of each/);
  assert.is(readFileSync(out, 'utf8'), reference);
  assert.not.ok(existsSync(`${out}.lock`));
});

test('a killed sweep resumed gives exactly the uninterrupted results: no duplicate, no lost row', async () => {
  const out = join(dir, 'killed.csv');
  const child = spawn(process.execPath, [bin, 'sweep', ...common, ...vary, '--workers', '0', '--out', out], { stdio: 'ignore' });
  // kill it once the first rows are on disk
  const rowsNow = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').length - 2 : 0);
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (rowsNow() >= 1) {
        clearInterval(t);
        child.kill('SIGKILL');
        resolve();
      }
    }, 20);
    child.on('exit', () => {
      clearInterval(t);
      resolve();
    });
    setTimeout(() => reject(new Error('no row within 120 s')), 120_000).unref();
  });
  await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.on('exit', r)));
  assert.is(child.signalCode, 'SIGKILL', 'the sweep finished before it could be killed');
  const before = readResults(out).rows.length;
  // a trace being written by a process that is gone (pid 999999), as a kill leaves one behind
  const id = readResults(out).rows[0].sweep;
  const stale = join(tmpdir(), `neuroemu-sweep-${id}-999999-1.trace.999999.tmp`);
  writeFileSync(stale, 'partial');
  assert.ok(before >= 1 && before < 6, `${before} rows after the kill`);
  const r = sweep([...vary, '--workers', '0', '--out', out]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`\\(${before} were already in`));
  assert.is(readFileSync(out, 'utf8'), reference);
  // the traces of runs that are gone are removed from the temporary directory
  assert.not.ok(existsSync(stale));
  assert.equal(readdirSync(tmpdir()).filter((f) => f.startsWith('neuroemu-sweep-') && f.includes(`-${child.pid}-`)), []);
  // once more: nothing to do, same bytes
  const again = sweep([...vary, '--workers', '0', '--out', out]);
  assert.match(again.stdout, /this run: 0 simulated, 0 more priced/);
  assert.is(readFileSync(out, 'utf8'), reference);
});

test('a point the mapper refuses gets a row saying why, and the sweep goes on', () => {
  const out = join(dir, 'refused.csv');
  const r = spawnSync(process.execPath, [bin, 'sweep', '--chip', 'loihi', '--size', '224', '--timesteps', '4', '--images', photos[0], '--calib', photos[0],
    '--no-auto-board', '--vary', 'board.chips_x=1,24', '--vary', 'board.chips_y=1', '--workers', '0', '--out', out], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /1 refused by the mapper/);
  const rows = readResults(out).rows;
  assert.match(rows[0].status, /^refused: loihi: cores per board: the network needs [\d,]+ cores.*the board has 128/);
  assert.is(rows[0].energy_per_frame_J, '');
  assert.is(rows[1].status, 'ok');
  assert.ok(Number(rows[1].energy_per_frame_J) > 0);
  const summary = JSON.parse(readFileSync(out.replace('.csv', '.summary.json'), 'utf8'));
  assert.equal(summary.refused.map((x: { point: number }) => x.point), [0]);
  assert.equal(summary.pareto_front.map((x: { point: number }) => x.point), [1]);
});

test('a combination of fields the chip schema refuses together gets a row saying why (checked when priced), and the sweep goes on', () => {
  const out = join(dir, 'joint.csv');
  const r = spawnSync(process.execPath, [bin, 'sweep', '--chip', 'spinnaker', '--size', '64', '--timesteps', '2', '--images', photos[0], '--calib', photos[0], '--workers', '0',
    '--vary', 'energy.power_model.idle_chip_W=0.36,2', '--vary', 'energy.power_model.full_chip_W=3,1', '--out', out], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /rough estimate \S+ \(2 simulated ticks × 1 frames/);
  const rows = readResults(out).rows;
  assert.equal(rows.map((x) => x.status.slice(0, 8)), ['ok', 'ok', 'ok', 'refused:']);
  assert.match(rows[3].status, /full_chip_W/);
});

test('the shared conversion flags reach the sweep: --pool gate changes the spikes and is recorded in the config and the sweep id', () => {
  const one = ['--vary', 'energy.synop_pJ=10', '--workers', '0'];
  const a = join(dir, 'pool-max.csv'), b = join(dir, 'pool-gate.csv');
  assert.is(sweep([...one, '--out', a]).status, 0);
  const r = sweep([...one, '--pool', 'gate', '--out', b]);
  assert.is(r.status, 0, r.stderr);
  const [ra] = readResults(a).rows, [rb] = readResults(b).rows;
  assert.not.equal(rb.spikes, ra.spikes, 'the count-gated pool forwards other spikes than the max-count pool');
  assert.not.equal(rb.sweep, ra.sweep);
  assert.equal(JSON.parse(rb.config).conversion, { pool: 'gate' });
  assert.is(JSON.parse(ra.config).conversion, undefined);
});

test('CLI: a bad point, a bad --vary, another sweep in --out: one line, exit 2, nothing written', () => {
  const out = join(dir, 'never.csv');
  const bad = sweep(['--vary', 'core.neurons=1024,0', '--out', out]);
  assert.is(bad.status, 2);
  // one progress line (the point count) may come first; the error is one line, the last
  assert.match(bad.stderr, /^(sweep: 2 points \(core\.neurons × 2\); validating every value of every chip field before anything runs\n)?neuroemu: chips\/loihi\.json sweep point 1 \(core\.neurons=0\): core\.neurons\.value: expected an integer >= 1, got 0\n$/);
  assert.not.ok(existsSync(out));
  const badVary = sweep(['--vary', 'energy.synop_pJ=10:5:1', '--out', out]);
  assert.is(badVary.status, 2);
  assert.match(badVary.stderr, /^neuroemu: --vary energy\.synop_pJ=10:5:1: range "10:5:1": HI must be >= LO\n$/);
  const other = sweep(['--vary', 'energy.synop_pJ=10,11', '--out', join(dir, 'full.csv')]);
  assert.is(other.status, 2);
  assert.match(other.stderr, /full\.csv: holds another sweep's results/);
});

test.run();
