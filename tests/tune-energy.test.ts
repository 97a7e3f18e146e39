// Energy per frame in tune's closing report (`tune --chip`): the three networks (untuned, BO,
// random search) priced on chip models at the ticks each needs to reach 95 % / 98 % of the ANN's
// AP and at T, checked against independent `emulateFrames` calls at exactly those ticks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tuneCommand } from '../src/cli/tune.ts';
import { calibrateModel, convertCalibrated } from '../src/convert/from-model.ts';
import type { SnnNetwork } from '../src/convert/snn-ir.ts';
import { loadChip } from '../src/hw/chip-schema.ts';
import { mapNetwork, type Mapping } from '../src/hw/mapper.ts';
import { si } from '../src/hw/report.ts';
import { loadImage } from '../src/image/decode.ts';
import { preprocess } from '../src/image/preprocess.ts';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { emulateFrames } from '../src/sim/emulate.ts';
import { priceHoldout, type HoldoutResult, type TuneResult } from '../src/tune/threshold.ts';
import {
  applyThresholdsFile, readThresholdsFile, scaleNetwork, spikingLayers, thresholdSchedule, withThresholdSchedule, type ThresholdAssignment,
} from '../src/tune/thresholds-file.ts';
import { UserError } from '../src/util/errors.ts';
import { captureCli } from './helpers/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'neuroemu-tune-energy-'));
const photos = faceSamplePhotos();
const root = new URL('..', import.meta.url).pathname;

const tuneCli = (argv: string[]) => captureCli(tuneCommand as never, ['tune', ...argv]);

/** The independent truth: a fresh emulation of exactly `ticks` ticks (mapped here unless a mapping is given), energy and latency per frame. */
async function emulateAt(snn: SnnNetwork, a: ThresholdAssignment | null, chip: string, inputs: Float32Array[], ticks: number, seed: number, mapping?: Mapping) {
  const net = a ? scaleNetwork(snn, a) : snn;
  const schedule = a ? thresholdSchedule(snn, a) : undefined;
  const em = await emulateFrames(net, loadChip(chip).params, inputs, {
    timesteps: ticks, seed, autoBoard: true, mapping, wrap: schedule ? (s) => withThresholdSchedule(s, schedule) : undefined,
  });
  return { energy: em.totals.energy.per_frame_J, latency: em.totals.latency.frame_s };
}

const close = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) <= 1e-9 * Math.abs(want), `${what}: ${got} vs ${want}`);

// face at 160 finds a face on sample1 and sample4 at score > 0.1: two tuning, two held-out images
const size = 160;
const tuning = [photos[0], photos[1]];
const holdout = [photos[3], photos[2]];

test('tune --chip (default truenorth loihi): energy per frame of the three networks at the ticks to 95 %/98 % and at T equals independent emulations', async () => {
  const out = join(tmp, 'th.json');
  const t0 = Date.now();
  const r = await tuneCli([
    '--model', 'face', '--size', String(size), '--ann-threshold', '0.1', '--images', ...tuning, '--holdout', ...holdout,
    '--timesteps', '32', '--report-timesteps', '128', '--budget', '2', '--seed', '3', '--out', out,
  ]);
  console.log(`tune with energy pricing: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // the report: a row per chip and network, the chip files named
  assert.match(r.out, /energy per frame on chip models: the held-out images \(mean of 2 frames\)/);
  assert.match(r.out, /at the ticks t each network needs to reach 95% and 98% of the ANN's F1 \(the ticks above: energy to accuracy\) and at T = 32:/);
  assert.match(r.out, /chips: truenorth = chips\/truenorth\.json, [\d,]+ cores on \d+ chips?; loihi = chips\/loihi\.json, /);
  assert.match(r.out, /BO thresholds vs untuned, energy per frame — truenorth to 95% /);
  assert.match(r.out, /random-search thresholds vs untuned, energy per frame — truenorth /);
  assert.not.match(r.out, /not priced/);
  const table = r.out.slice(r.out.indexOf('energy per frame on chip models'));
  const rows = table.split('\n').filter((l) => /^(truenorth|loihi| ) +(untuned|BO|random)/.test(l));
  assert.is(rows.length, 6, table);

  // the file records the same figures (report.energy) and every network's scales
  const th = readThresholdsFile(out);
  const rep = th.report as {
    networks: { network: HoldoutResult['label']; reach: { target: number; tick: number | null }[]; scales: number[] }[];
    energy: { frames: number; seed: number; timesteps: number; chips: { chip: string; file: string; networks: { network: string; atT: { ticks: number; energyPerFrameJ: number; latencyPerFrameS: number }; reach: { target: number; ticks: number | null; energyPerFrameJ: number | null; latencyPerFrameS: number | null }[] }[] }[] };
  };
  assert.equal(rep.energy.chips.map((c) => [c.chip, c.file]), [['truenorth', 'chips/truenorth.json'], ['loihi', 'chips/loihi.json']]);
  assert.equal([rep.energy.frames, rep.energy.seed, rep.energy.timesteps], [2, 3, 32]);
  assert.equal(rep.networks.map((n) => n.network), ['untuned', 'bo', 'random']);
  assert.equal(rep.networks[0].scales, Array(11).fill(1));
  assert.equal(rep.networks[1].scales, th.layers.map((e) => e.scale), 'the BO network is the file\'s thresholds');

  // independent truth: the same network converted again, the thresholds applied as `run --thresholds` does (BO)
  // or from the recorded scales (untuned, random search), emulated afresh at exactly each priced tick, on a
  // mapping of its own per chip (made from the BO network; the next test maps every emulation afresh)
  const model = calibrateModel({ model: 'face', size }, { calib: tuning });
  const { snn } = convertCalibrated(model, {});
  const inputs = holdout.map((f) => preprocess(model.net, loadImage(f)));
  const spk = spikingLayers(snn);
  const applied = applyThresholdsFile(snn, out);
  let reached = 0;
  for (const c of rep.energy.chips) {
    const mapping = mapNetwork(applied.snn, loadChip(c.chip).params, { autoBoard: true });
    for (const [k, n] of c.networks.entries()) {
      const h = rep.networks[k];
      assert.is(n.network, h.network);
      const a: ThresholdAssignment | null = k === 0 ? null : { layers: spk.map((l, i) => ({ snnLayer: l.index, name: l.name, scale: h.scales[i] })), compensate: true };
      const cache = new Map<number, { energy: number; latency: number }>();
      const truth = async (ticks: number) => {
        if (!cache.has(ticks)) {
          cache.set(ticks, k === 1
            ? await emulateFrames(applied.snn, loadChip(c.chip).params, inputs, { timesteps: ticks, seed: 3, autoBoard: true, mapping, wrap: applied.wrap }).then((em) => ({ energy: em.totals.energy.per_frame_J, latency: em.totals.latency.frame_s }))
            : await emulateAt(snn, a, c.chip, inputs, ticks, 3, mapping));
        }
        return cache.get(ticks)!;
      };
      const atT = await truth(32);
      assert.is(n.atT.ticks, 32);
      close(n.atT.energyPerFrameJ, atT.energy, `${c.chip} ${n.network} energy @32`);
      close(n.atT.latencyPerFrameS, atT.latency, `${c.chip} ${n.network} latency @32`);
      const row = rows[rep.energy.chips.indexOf(c) * 3 + k];
      assert.ok(row.includes(si(n.atT.energyPerFrameJ, 'J')), `${row} shows ${si(n.atT.energyPerFrameJ, 'J')}`);
      for (const [i, x] of n.reach.entries()) {
        // priced at the tick the held-out table reports for this network and target
        assert.is(x.ticks, h.reach[i].tick);
        if (x.ticks === null) {
          assert.is(x.energyPerFrameJ, null);
          assert.ok(row.includes('never within 128'), row);
          continue;
        }
        reached++;
        const want = await truth(x.ticks);
        close(x.energyPerFrameJ!, want.energy, `${c.chip} ${n.network} energy to ${x.target}`);
        close(x.latencyPerFrameS!, want.latency, `${c.chip} ${n.network} latency to ${x.target}`);
        assert.ok(row.includes(`${si(x.energyPerFrameJ!, 'J')} @${x.ticks}`), row);
      }
    }
  }
  console.log(`independent emulations: ${((Date.now() - t0) / 1000).toFixed(1)} s since the start; reach points priced: ${reached} (the next test's hand-made reach ticks cover them in any case)`);
});

test('priceHoldout: reach ticks below and above T, a two-phase network, one frame; each figure equals a fresh emulation of that many ticks', async () => {
  const t0 = Date.now();
  const model = calibrateModel({ model: 'face', size: 128 }, { calib: photos.slice(0, 1) });
  const { snn } = convertCalibrated(model, {});
  const inputs = [preprocess(model.net, loadImage(photos[4]))];
  const spk = spikingLayers(snn);
  const two: ThresholdAssignment = { layers: spk.map((l, k) => ({ snnLayer: l.index, name: l.name, scale: 0.5 + 0.02 * k, scale2: 1.3 - 0.03 * k })), compensate: true, tSwitch: 4 };
  const one: ThresholdAssignment = { layers: spk.map((l, k) => ({ snnLayer: l.index, name: l.name, scale: 1.5 - 0.05 * k })), compensate: true };
  const T = 12;
  const result = (label: HoldoutResult['label'], assignment: ThresholdAssignment | null, ticks: (number | null)[]) =>
    ({ label, assignment, reach: ticks.map((tick, i) => ({ target: [0.95, 0.98][i], tick, sopsPerImage: null })) }) as unknown as HoldoutResult;
  const r = {
    timesteps: T, reportTimesteps: 24,
    holdout: { targets: [0.95, 0.98], results: [result('untuned', null, [7, 20]), result('bo', two, [3, 3]), result('random', one, [null, null])] },
  } as unknown as TuneResult;
  const en = await priceHoldout(r, { snn, inputs, chips: [{ name: 'loihi', chip: loadChip('loihi') }], seed: 1 });
  assert.equal([en.frames, en.timesteps, en.reportTimesteps, en.chips.length, en.chips[0].file], [1, T, 24, 1, 'chips/loihi.json']);
  const nets = en.chips[0].networks;
  assert.equal(nets.map((n) => [n.label, n.atT.ticks, ...n.reach.map((x) => x.point?.ticks ?? null)]), [['untuned', 12, 7, 20], ['bo', 12, 3, 3], ['random', 12, null, null]]);
  const assignments = [null, two, one];
  for (const [k, n] of nets.entries()) {
    for (const p of [n.atT, ...n.reach.map((x) => x.point)]) {
      if (!p) continue;
      const want = await emulateAt(snn, assignments[k], 'loihi', inputs, p.ticks, 1);
      close(p.energyPerFrameJ, want.energy, `${n.label} energy @${p.ticks}`);
      close(p.latencyPerFrameS, want.latency, `${n.label} latency @${p.ticks}`);
    }
  }
  // the two-phase switch matters (so the schedule was followed): phase 2 from the start costs otherwise
  const flat = await emulateAt(snn, { layers: two.layers.map((e) => ({ ...e, scale: e.scale2!, scale2: undefined })), compensate: true }, 'loihi', inputs, T, 1);
  assert.ok(Math.abs(flat.energy - nets[1].atT.energyPerFrameJ) > 1e-6 * flat.energy, 'two-phase figures differ from phase 2 alone');
  // more ticks cost more energy
  assert.ok(nets[0].reach[1].point!.energyPerFrameJ > nets[0].atT.energyPerFrameJ && nets[0].atT.energyPerFrameJ > nets[0].reach[0].point!.energyPerFrameJ);
  // in worker threads (each emulation its own mapping, two frames split over two workers): the same figures, bit for bit
  const two2 = [inputs[0], preprocess(model.net, loadImage(photos[2]))];
  const here = await priceHoldout(r, { snn, inputs: two2, chips: [{ name: 'loihi', chip: loadChip('loihi') }], seed: 1 });
  const there = await priceHoldout(r, { snn, inputs: two2, chips: [{ name: 'loihi', chip: loadChip('loihi') }], seed: 1, workers: 2 });
  assert.equal(there, here);
  console.log(`priceHoldout test: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test('tune --chip none: no pricing, said so; --chip nosuchchip: exit 2, one line, before any work', async () => {
  const out = join(tmp, 'none.json');
  const t0 = Date.now();
  const r = await tuneCli([
    '--model', 'face', '--size', String(size), '--ann-threshold', '0.1', '--images', ...tuning, '--holdout', ...holdout,
    '--timesteps', '8', '--report-timesteps', '8', '--budget', '1', '--no-baseline', '--workers', '0', '--chip', 'none', '--out', out,
  ]);
  assert.match(r.out, /energy per frame: not priced \(--chip none\)/);
  assert.not.match(r.out, /energy per frame on chip models/);
  assert.is((readThresholdsFile(out).report as Record<string, unknown>).energy, undefined);

  console.log(`tune --chip none: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const t1 = Date.now();
  const p = spawnSync(process.execPath, [join(root, 'bin/neuroemu'), 'tune', '--images', photos[0], '--holdout', photos[1], '--out', join(tmp, 'x.json'), '--chip', 'truenorth', 'nosuchchip'], { cwd: root, encoding: 'utf8' });
  assert.is(p.status, 2, p.stderr);
  const lines = p.stderr.split('\n').filter((l) => l !== '');
  assert.is(lines.length, 1, p.stderr);
  assert.match(lines[0], /^neuroemu: --chip: unknown chip "nosuchchip": built-in chips are .*truenorth/);
  assert.is(p.stdout, '');
  assert.ok(Date.now() - t1 < 20000, 'fails before calibrating');
  for (const [chip, msg] of [[['none', 'loihi'], /^--chip: none .*cannot be combined/], [['loihi', 'loihi'], /^--chip: loihi is given twice/]] as const) {
    try {
      await tuneCli(['--images', photos[0], '--holdout', photos[1], '--out', join(tmp, 'x.json'), '--chip', ...chip]);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, UserError);
      assert.match((e as Error).message, msg);
    }
  }
});

test.run();
