/**
 * Accounting levels (src/hw/levels.ts) by hand on the toy chip and toy network of
 * tests/account.test.ts (every event and joule of that run is worked out there), the ANN data
 * movement model by hand on the toy's two conv layers, and the contract of `run --json`'s
 * `energy.levels` on the face detector.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accountingLevels, annAccelerator } from '../src/hw/levels.ts';
import type { Network } from '../src/model/ir.ts';
import { emulateFrames } from '../src/sim/emulate.ts';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { runBin } from './helpers/cli.ts';
import { toyChip, toyNet } from './helpers/toy-chip.ts';

const pJ = 1e-12, ns = 1e-9;
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.abs(b) + 1e-18, `${what}: ${a} vs ${b}`);

/** The toy's layers as an ANN: conv 1×1 1→2 on 1×2, then conv 3×3 pad 1 2→2 (weights only matter by count). */
function toyAnn(): Network {
  const conv = (index: number, cin: number, filters: number, size: number) => ({
    kind: 'conv', index, name: `conv${index}`, filters, size, groups: 1, weights: new Float32Array(filters * cin * size * size),
    inShape: { c: cin, h: 1, w: 2 }, outShape: { c: filters, h: 1, w: 2 },
  });
  return { layers: [conv(0, 1, 2, 1), conv(1, 2, 2, 3)] } as unknown as Network;
}

test('ANN data movement by hand: MACs, 8 KB SRAM operand traffic, weights once from DRAM', () => {
  const a = annAccelerator(toyAnn(), 'fp32-45nm');
  // MACs: layer 0 1·2·2·1·1 = 4, layer 1 1·2·2·2·9 = 72 → 76 × 4.6 pJ
  close(a.compute_J, 76 * 4.6 * pJ, 'compute');
  // SRAM: (2 reads per MAC + 1 write per output) × 10 pJ: (2·76 + 4 + 4) × 10 pJ
  close(a.sram_J, 160 * 10 * pJ, 'sram');
  // DRAM: (2 + 2 biases) + (36 + 2 biases) = 42 fp32 weights, 1300 pJ per 64 bits = 650 pJ each
  close(a.dram_J, 42 * 650 * pJ, 'dram');
  assert.equal(a.layers.map((l) => [l.macs, l.weights]), [[4, 4], [72, 38]]);
  // int8: 8 weights per 64-bit DRAM access, MAC 0.23 pJ
  const i8 = annAccelerator(toyAnn(), 'int8-45nm');
  close(i8.dram_J, 42 * (1300 / 8) * pJ, 'int8 dram');
  close(i8.compute_J, 76 * 0.23 * pJ, 'int8 compute');
  assert.match(a.rule, /Horowitz ISSCC 2014/);
});

test('the four levels of the toy run by hand: each adds to the one before, static is the energy per frame', async () => {
  const r = (await emulateFrames(toyNet(), toyChip(), [Float32Array.of(1, 1)], { timesteps: 4, placement: 'layers' })).totals;
  const acc = annAccelerator(toyAnn(), 'fp32-45nm');
  const lv = accountingLevels(r.energy, r.counts.sops!, acc, 'per_event');
  assert.equal(lv.map((l) => l.level), ['ops', 'dynamic', 'offchip', 'static']);
  const wall = 1998 * ns;
  // ops: 24 SOPs × 0.9 pJ (fp32 add) against 76 MACs × 4.6 pJ
  close(lv[0].per_frame_J, 24 * 0.9 * pJ, 'ops snn');
  close(lv[0].ann_J, 76 * 4.6 * pJ, 'ops ann');
  // dynamic: synaptic 24 + neuron 256 + spike 30 + routing 186 pJ, against 349.6 + 1600 pJ
  close(lv[1].per_frame_J, 496 * pJ, 'dynamic snn');
  close(lv[1].ann_J, (349.6 + 1600) * pJ, 'dynamic ann');
  // offchip: + 12 crossings × 100 pJ; ANN + 42 × 650 pJ
  close(lv[2].per_frame_J, 1696 * pJ, 'offchip snn');
  close(lv[2].ann_J, (349.6 + 1600 + 27300) * pJ, 'offchip ann');
  // static: + (4 cores × 1 mW + 2 chips × 10 mW) × 1998 ns = the run's energy per frame
  close(lv[3].per_frame_J, 1696 * pJ + 24e-3 * wall, 'static snn');
  assert.is(lv[3].per_frame_J, r.energy.per_frame_J);
  assert.is(lv[3].ann_J, lv[2].ann_J);
  for (const l of lv) close(l.ratio, l.ann_J / l.per_frame_J, `${l.level} ratio`);
});

test('per-core energy (run --map-svg): sums to the layers\' energy; the heat map colors cells by it, log scale, legend with the range', async () => {
  const { mapNetwork } = await import('../src/hw/mapper.ts');
  const { mappingSvg, heatColor } = await import('../src/hw/map-svg.ts');
  const chip = toyChip();
  const r = (await emulateFrames(toyNet(), chip, [Float32Array.of(1, 1)], { timesteps: 4, placement: 'layers' })).totals;
  assert.is(r.coreEnergyJ.length, 4);
  close(r.coreEnergyJ.reduce((a, b) => a + b, 0), r.byLayer.reduce((a, l) => a + l.energy_J, 0), 'cores = layers');
  // by hand: a layer-1 core has 12 synaptic events (12 pJ), 4 active + 4 idle updates (48 pJ) and 1 mW × 1998 ns
  close(r.coreEnergyJ[2], (12 + 48) * pJ + 1e-3 * 1998 * ns, 'layer-1 core');
  const m = mapNetwork(toyNet(), chip, { placement: 'layers' });
  const svg = mappingSvg(m, { heat: { valuesByCore: r.coreEnergyJ, label: 'energy', unit: 'J' } });
  assert.is(svg, mappingSvg(m, { heat: { valuesByCore: r.coreEnergyJ, label: 'energy', unit: 'J' } }));
  const lo = Math.min(...r.coreEnergyJ), hi = Math.max(...r.coreEnergyJ);
  assert.ok(svg.includes(heatColor(1)), 'the hottest cell has the top color');
  assert.ok(svg.includes(heatColor(0)), 'the coolest the bottom one');
  assert.match(svg, new RegExp(`log scale from ${(lo * 1e9).toPrecision(4)} nJ to ${(hi * 1e9).toPrecision(4)} nJ`));
});

test('run --json: energy.levels and the data-movement baseline, the CSV columns per level', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neuroemu-levels-'));
  const photo = faceSamplePhotos()[0];
  const json = join(dir, 'r.json'), csv = join(dir, 'r.csv');
  const r = runBin('run', '--size', '128', '--timesteps', '8', '--images', photo, '--calib', photo, '--chip', 'truenorth', 'loihi', '--json', json, '--csv', csv);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /accounting levels {2}level {9}SNN {9}ANN {2}ANN\/SNN/);
  assert.match(r.out, /measured reference points \(other networks on other devices, not baselines; data\/anchors.json\): TinyissimoYOLO on GAP9 \(hardware accelerator\) 150.0 µJ\/frame \[P\]/);
  for (const c of JSON.parse(readFileSync(json, 'utf8'))) {
    const lv = c.energy.levels as { level: string; per_frame_J: number; ann_J: number; ratio: number; rule: string }[];
    assert.equal(lv.map((l) => l.level), ['ops', 'dynamic', 'offchip', 'static']);
    const b = c.energy.breakdown_J;
    close(lv[0].per_frame_J, c.counts.sops * 0.9e-12, `${c.chip} ops`);
    close(lv[0].ann_J, c.baseline.energy_J, `${c.chip} ops ann = the compute-only baseline`);
    close(lv[1].per_frame_J, b.synaptic + b.neuron + b.spike + b.routing, `${c.chip} dynamic`);
    close(lv[2].per_frame_J, lv[1].per_frame_J + b.offchip, `${c.chip} offchip`);
    assert.is(lv[3].per_frame_J, c.energy.per_frame_J);
    const dm = c.baseline.data_movement;
    close(lv[1].ann_J, dm.compute_J + dm.sram_J, 'ann dynamic');
    close(lv[2].ann_J, dm.compute_J + dm.sram_J + dm.dram_J, 'ann offchip');
    close(dm.compute_J, c.baseline.energy_J, 'compute = baseline');
    for (const l of lv) assert.ok(l.rule.length > 20);
    assert.ok(c.baseline.anchors.length >= 3 && c.baseline.anchors.every((a: { source: string; energy_per_frame_J: number }) => a.source.length > 10 && a.energy_per_frame_J > 0));
  }
  const [head, row] = readFileSync(csv, 'utf8').trim().split('\n');
  assert.match(head, /^chip,frame,image,ticks,energy_J,ops_J,ops_ann_J,dynamic_J,dynamic_ann_J,offchip_J,offchip_ann_J,static_J,static_ann_J,latency_s/);
  const cells = row.split(',');
  assert.is(cells[11], cells[4], 'static_J = energy_J');
});

test.run();
