/**
 * The mapper: refusals (each names the constraint, the layer and the numbers, derived by hand in
 * the comments), fan-in splits (TrueNorth 3×3×32 → m = 2; yolov2-tiny-voc 3×3×1024 → m = 36), and
 * the face detector and Tiny YOLO v2 mapped onto TrueNorth and Loihi with every core checked
 * against the chip's limits.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import yargs from 'yargs';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapCommand, parseBoard } from '../src/cli/map.ts';
import { calibrate } from '../src/convert/calibrate.ts';
import { convertNetwork, defaultSettings } from '../src/convert/convert.ts';
import { saveSnn } from '../src/convert/snn-file.ts';
import type { SnnNetwork } from '../src/convert/snn-ir.ts';
import { loadChip, type ChipParams } from '../src/hw/chip-schema.ts';
import { mapNetwork, type Mapping, type MapOptions } from '../src/hw/mapper.ts';
import { spikeCost, spikeCostDirect } from '../src/hw/routing.ts';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { loadModel } from '../src/model/load.ts';
import { convLayer, makeSnn, poolLayer } from '../src/sim/handmade.ts';
import { UserError } from '../src/util/errors.ts';
import { meshToyChip as toyChip, meshToyNet as toyNet } from './helpers/toy-chip.ts';


function refuses(f: () => unknown, message: string): void {
  try {
    f();
  } catch (e) {
    assert.instance(e, UserError);
    assert.is((e as Error).message, message);
    return;
  }
  assert.unreachable(`expected the refusal: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// refusals

test('refusal: too many cores for the board; --auto-board takes the smallest square board', () => {
  // the toy needs 4 + 4 cores (routing.test.ts), a 1×1 board of 4-core chips holds 4
  const chip = toyChip({ board: { chipsX: 1, chipsY: 1 } });
  refuses(
    () => mapNetwork(toyNet(), chip),
    'toy: cores per board: the network needs 8 cores (largest: layer 0 conv (4x4x2) with 4), the board has 4 (1x1 chips × 4 cores); use a larger board (--board 2x2) or --auto-board',
  );
  const m = mapNetwork(toyNet(), chip, { autoBoard: true });
  assert.equal(m.board, { chipsX: 2, chipsY: 2 });
  assert.is(m.chipsUsed, 2);
  assert.match(m.boardNote, 'smallest square board that fits (auto');
  // an explicit board is never resized
  refuses(
    () => mapNetwork(toyNet(), chip, { board: { chipsX: 1, chipsY: 1 }, autoBoard: true }),
    'toy: cores per board: the network needs 8 cores (largest: layer 0 conv (4x4x2) with 4), the board has 4 (1x1 chips × 4 cores); use a larger board (--board 2x2) or --auto-board',
  );
  assert.is(mapNetwork(toyNet(), chip, { board: { chipsX: 3, chipsY: 1 } }).boardNote, 'board 3x1 (given)');
});

test('refusal: synapse memory of one output channel\'s kernel (shared) / one neuron (unrolled)', () => {
  // layer 1 kernel: 3×3×2 = 18 weights × 1 bit = 18 bits > 17
  refuses(
    () => mapNetwork(toyNet(), toyChip({ core: { synapseMemoryBits: 17, maxSynapses: 17 } })),
    "toy: layer 1 conv (4x4x2): synapse memory per core: one output channel's kernel needs 18 bits (3x3x2 weights × 1 bit), a core has 17 bits",
  );
  // unrolled, 4 bits per synapse: 18 × 4 = 72 bits > 64
  refuses(
    () => mapNetwork(toyNet(), toyChip({ core: { synapseMemoryBits: 64, bitsPerSynapse: 4, maxSynapses: 16, sharesKernels: false } })),
    "toy: layer 1 conv (4x4x2): synapse memory per core: one neuron's synapses need 72 bits (3x3x2 weights × 4 bits), a core has 64 bits",
  );
});

test('refusal: neurons per core cannot hold one neuron and its splitter copies', () => {
  // 3 neurons per core and one destination per neuron: layer 1 tiles are 1×1×2 (h·w·c ≤ 3, 16
  // cores), so an interior layer-0 neuron reaches 3×3 = 9 cores and needs 9 copies
  refuses(
    () => mapNetwork(toyNet(), toyChip({ core: { neurons: 3, maxFanoutPerNeuron: 1 } })),
    'toy: layer 0 conv (4x4x2): neurons per core: one neuron needs 9 copies (its spikes reach 9 cores, 1 destination core per neuron), a core has 3 neurons',
  );
});

test('refusal: a max-pool neuron wider than the axons of a core; an accumulator with m > axons', () => {
  const a = convLayer(0, -1, { c: 1, h: 6, w: 6 }, { filters: 2, size: 3, pad: 1 });
  const p = poolLayer(1, 0, a.outShape, 3, 3);
  const r = convLayer(2, 1, p.outShape, { filters: 1, size: 1, rule: 'integrate' });
  const snn = makeSnn({ c: 1, h: 6, w: 6 }, [a, p, r], [2]);
  // pool 3×3 stride 3 on 6×6 → 2×2; one pool neuron reads 3×3 = 9 inputs > 8 axons
  refuses(
    () => mapNetwork(snn, toyChip({ core: { axons: 8 } })),
    'toy: layer 1 maxpool (2x2x2): axons per core: one max-pool neuron needs 9 input axons (3x3 window), a core has 8; a max cannot be split into partial sums',
  );
  // fan-in 18 over 4 axons → m = ⌈18/4⌉ = 5 partial sums, and the accumulator needs 5 axons > 4
  refuses(
    () => mapNetwork(toyNet(), toyChip({ core: { axons: 4 } })),
    "toy: layer 1 conv (4x4x2): axons per core: one neuron's fan-in of 18 inputs needs 5 partial sums, so its accumulator needs 5 input axons, a core has 4",
  );
});

// ---------------------------------------------------------------------------------------------
// fan-in splits

test('TrueNorth fan-in split: a 3×3×32 layer → m = 2 partial sums (288 > 256)', () => {
  // 0 conv 3→32 (analog, 8×8) · 1 conv 32→16 3×3 pad 1 · 2 conv 16→4 1×1 readout
  const a = convLayer(0, -1, { c: 3, h: 8, w: 8 }, { filters: 32, size: 3, pad: 1 });
  const b = convLayer(1, 0, a.outShape, { filters: 16, size: 3, pad: 1 });
  const c = convLayer(2, 1, b.outShape, { filters: 4, size: 1, rule: 'integrate' });
  const snn = makeSnn({ c: 3, h: 8, w: 8 }, [a, b, c], [2]);
  const chip = loadChip('truenorth').params;
  const m = mapNetwork(snn, chip);
  const l1 = m.layers[1]!;
  const s = l1.split!;
  // F = 9 × 32 = 288 > 256 → m = 2, slices [0,144) [144,288): input channels 0-15 and 16-31
  assert.is(s.m, 2);
  assert.is(s.fanIn, 288);
  assert.is(s.sliceInputs, 144);
  assert.equal(Array.from(m.tiled[1]!.split!.sliceStart), [0, 144, 288]);
  // partial tiles: a slice's 16 channels × rows × cols ≤ 256 → rows·cols ≤ 16 → 2×2 tiles
  // (4×4 input window), all 16 output channels: 16 tiles × 2 slices = 32 partial cores
  assert.equal(s.tile, { h: 2, w: 2, c: 16 });
  assert.is(s.partialCores, 32);
  assert.is(s.partialNeurons, 8 * 8 * 16 * 2);
  // accumulators: 2 relay axons each → h·w·c ≤ 128; with c = 16, h·w ≤ 8: 4×2×16, 8 cores
  assert.equal(l1.tile, { h: 4, w: 2, c: 16 });
  assert.is(l1.neuronCores, 8);
  // a spike of layer 0 in channel 20 reaches only slice-1 partial cores, channel 3 only slice 0
  const T = m.tiled[1]!;
  const slice = (core: number) => (core - T.split!.base) % 2;
  const hi = spikeCost(m, 0, 4, 4, 20), lo = spikeCost(m, 0, 4, 4, 3);
  assert.ok(hi.synops.every(([core]) => slice(core) === 1));
  assert.ok(lo.synops.every(([core]) => slice(core) === 0));
  // 9 taps × 16 output channels in either case (interior)
  assert.is(hi.synops.reduce((x, [, n]) => x + n, 0), 144);
  // a spike of the split layer: its 2 relay spikes (packets, 1 synaptic event each) ride on it
  const out = spikeCost(m, 1, 3, 5, 7);
  assert.is(out.relaySynops, 2);
  assert.is(out.spikesOut, 1 + 2);
  assert.is(out.packets, out.synops.length + 2);
  assert.equal(spikeCostDirect(m, 1, 3, 5, 7), { ...out, key: -1 });
  assert.match(m.notes.join('\n'), 'relay cost is an ESTIMATE');
});

test('a chip without an axon limit splits nothing; generic chip maps the toy', () => {
  const m = mapNetwork(toyNet(), toyChip({ core: { axons: Infinity } }));
  assert.is(m.layers[1]!.split, null);
  assert.is(m.layers[1]!.utilization.axons.available, Infinity);
});

test('--board parsing', () => {
  assert.equal(parseBoard('4x3'), { chipsX: 4, chipsY: 3 });
  assert.throws(() => parseBoard('4'), (e: Error) => e instanceof UserError && e.message === '--board: "4" must be WxH chips, e.g. 4x4');
});

// ---------------------------------------------------------------------------------------------
// real networks

const photo = faceSamplePhotos().slice(0, 1);
function convert(spec: { model: string; size: number; weights?: string }): SnnNetwork {
  const net = loadModel(spec);
  // the fused face network (dense 3×3 convs): the layer numbers in the tests refer to it
  return convertNetwork(net, calibrate(net, photo), defaultSettings({ fuseLinear: true }));
}

/** Independent checks of a mapping: every core within the chip's limits, counts add up. */
function checkMapping(m: Mapping, chip: ChipParams, what: string): void {
  const c = chip.core;
  let total = 0;
  for (const l of m.layers) {
    if (!l) continue;
    total += l.cores;
    for (let id = l.firstCore; id < l.firstCore + l.cores; id++) {
      assert.is(m.cores.layer[id], l.layer, `${what}: core ${id} belongs to layer ${l.layer}`);
      assert.ok(m.cores.neurons[id] >= 1 && m.cores.neurons[id] <= c.neurons, `${what}: core ${id} neurons ${m.cores.neurons[id]}`);
      assert.ok(m.cores.axons[id] <= c.axons, `${what}: core ${id} axons ${m.cores.axons[id]}`);
      assert.ok(m.cores.synapseBits[id] <= c.synapseMemoryBits, `${what}: core ${id} synapse bits ${m.cores.synapseBits[id]}`);
    }
    const nCores = l.neuronCores + (l.split?.partialCores ?? 0);
    assert.is(l.cores, nCores, `${what}: layer ${l.layer} cores`);
    if (l.split) assert.ok(l.split.fanIn > c.axons && l.split.m === Math.ceil(l.split.fanIn / c.axons));
    else if (!l.analogInput) assert.ok(l.fanIn <= c.axons, `${what}: layer ${l.layer} fan-in ${l.fanIn} unsplit`);
  }
  assert.is(total, m.coresUsed);
  assert.is(m.chipsUsed, Math.ceil(m.coresUsed / chip.chip.cores), `${what}: chips filled one after the other`);
  // all slots distinct
  const seen = new Set<string>();
  for (let id = 0; id < m.coresUsed; id++) seen.add(`${m.placement.chip[id]}/${m.placement.tileX[id]}/${m.placement.tileY[id]}/${m.placement.slot[id]}`);
  assert.is(seen.size, m.coresUsed);
}

const results: string[] = [];
function run(name: string, snn: SnnNetwork, chipName: string, opts: MapOptions = { autoBoard: true }): Mapping {
  const chip = loadChip(chipName).params;
  const t0 = performance.now();
  const m = mapNetwork(snn, chip, opts);
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  checkMapping(m, chip, `${name} on ${chipName}`);
  results.push(`${name} on ${chipName}: ${m.coresUsed.toLocaleString('en-US')} cores, ${m.chipsUsed} chips, board ${m.board.chipsX}x${m.board.chipsY} (${s} s)`);
  return m;
}

test('face detector at 224 and 416 on TrueNorth and Loihi', () => {
  for (const size of [224, 416]) {
    const snn = convert({ model: 'face', size });
    const tn = run(`face@${size}`, snn, 'truenorth');
    const lo = run(`face@${size}`, snn, 'loihi');
    // TrueNorth: every fused 3×3 conv after the first has fan-in 9·cin > 256 from cin = 32 on
    // (layers 4, 6, 8, 10: cin 32, 64, 128, 256 → m = 2, 3, 5, 9), and the 1×1 readout over 512
    // channels: m = 2
    assert.equal([4, 6, 8, 10, 12].map((i) => tn.layers[i]!.split?.m), [2, 3, 5, 9, 2]);
    assert.is(tn.layers[2]!.split, null);
    // Loihi: 4,096 axons: no neuron exceeds them (largest 9·256 = 2,304), no copies
    assert.ok(lo.layers.every((l) => !l || (!l.split && l.fanout.splitterNeurons === 0)));
    assert.ok(tn.coresUsed > lo.coresUsed);
  }
});

test('placement by image regions: a valid placement, fewer chip crossings per spike than layer after layer; one chip: the same', () => {
  const snn = convert({ model: 'face', size: 224 });
  for (const chipName of ['truenorth', 'loihi']) {
    const byLayers = run('face@224 layers', snn, chipName, { autoBoard: true, placement: 'layers' });
    const byRegions = run('face@224 regions', snn, chipName, { autoBoard: true, placement: 'regions' });
    assert.ok(byRegions.chipsUsed > 1, `${chipName}: several chips`);
    assert.is(byRegions.coresUsed, byLayers.coresUsed);
    assert.ok(byRegions.notes.some((n) => /placement: cores ordered by \d+x\d+ regions/.test(n)));
    // spikes of the large early layers mostly stay on their chip
    const crossings = (m: Mapping, i: number) => m.layers[i]!.perSpike!.chipCrossings;
    const early = [0, 1, 2, 3].filter((i) => byLayers.layers[i]?.perSpike);
    assert.ok(early.length >= 2);
    const sum = (m: Mapping) => early.reduce((a, i) => a + crossings(m, i), 0);
    assert.ok(sum(byRegions) < 0.7 * sum(byLayers), `${chipName}: ${sum(byRegions)} vs ${sum(byLayers)} crossings per spike`);
  }
  // a network on one chip: one region, the layer order
  const small = convert({ model: 'face', size: 64 });
  const a = mapNetwork(small, loadChip('truenorth').params, { autoBoard: true, placement: 'layers' });
  const b = mapNetwork(small, loadChip('truenorth').params, { autoBoard: true, placement: 'regions' });
  assert.is(a.chipsUsed, 1);
  assert.equal(Array.from(b.placement.router), Array.from(a.placement.router));
});

test('yolov2-tiny-voc at 416 maps onto multi-chip TrueNorth and Loihi boards', () => {
  const snn = convert({ model: 'yolov2-tiny-voc', weights: 'synthetic', size: 416 });
  const tn = run('yolov2-tiny-voc@416', snn, 'truenorth');
  // layer 13: 3×3×1024 = 9,216 inputs → m = 9216 / 256 = 36 slices of exactly 256
  assert.is(tn.layers[13]!.split!.m, 36);
  assert.is(tn.layers[13]!.split!.sliceInputs, 256);
  assert.is(tn.layers[12]!.split!.m, 18);
  assert.ok(tn.chipsUsed > 16, 'more than the 4×4 board of the chip file');
  assert.match(tn.boardNote, 'smallest square board');
  // refused without --auto-board on the file's 4×4 board
  assert.throws(() => mapNetwork(snn, loadChip('truenorth').params), /truenorth: cores per board: the network needs [\d,]+ cores .*the board has 65,536 \(4x4 chips × 4,096 cores\)/);
  const lo = run('yolov2-tiny-voc@416', snn, 'loihi');
  assert.ok(lo.chipsUsed > 1);
  // Loihi: 9,216 > 4,096 axons → m = 3
  assert.is(lo.layers[13]!.split!.m, 3);
  // spot checks of the table against the from-scratch enumeration
  for (const m of [tn, lo])
    for (const [L, y, x, c] of [[11, 6, 6, 300], [12, 0, 12, 1023], [9, 12, 0, 5], [1, 100, 207, 15]] as const)
      assert.equal(spikeCostDirect(m, L, y, x, c), { ...spikeCost(m, L, y, x, c), key: -1 }, `${m.chipName} layer ${L}`);
  console.log('\n' + results.join('\n'));
});

test('neuroemu map: report, JSON and SVG', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'neuroemu-map-'));
  const svg = join(dir, 'm.svg'), json = join(dir, 'm.json');
  let out = '';
  const w1 = process.stdout.write.bind(process.stdout), w2 = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await yargs(['map', '--model', 'face', '--size', '224', '--calib', photo[0], '--chip', 'truenorth', '--svg', svg, '--json', json])
      .command(mapCommand).strict().exitProcess(false).fail((msg, e) => { throw e ?? new UserError(msg); }).parseAsync();
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
  assert.match(out, /neuroemu map — face on truenorth/);
  assert.match(out, /cores used: [\d,]+ on \d+ chips/);
  assert.match(out, /fan-in splits/);
  assert.match(out, /fan-out splitters/);
  assert.match(out, /would need quantizing to 4 levels/);
  const j = JSON.parse(readFileSync(json, 'utf8'));
  assert.is(j.chip, 'truenorth');
  assert.ok(j.cores > 0 && j.chips >= 1);
  // the default conversion keeps the depthwise convs apart: only the 1×1 readout over 512 channels splits
  assert.is(j.layers.find((l: { layer: number }) => l.layer === 17).split.m, 2);
  const s = readFileSync(svg, 'utf8');
  assert.ok(s.startsWith('<svg') && s.trimEnd().endsWith('</svg>'));
  assert.match(s, /<line /);

  // a converted network from a .snn file
  const file = join(dir, 'face128.snn');
  const snn = convert({ model: 'face', size: 128 });
  saveSnn(file, snn);
  const direct = mapNetwork(snn, loadChip('loihi').params);
  out = '';
  process.stdout.write = ((t: string) => ((out += t), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await yargs(['map', '--model', file, '--chip', 'loihi'])
      .command(mapCommand).strict().exitProcess(false).fail((msg, e) => { throw e ?? new UserError(msg); }).parseAsync();
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
  assert.ok(out.includes(`cores used: ${direct.coresUsed.toLocaleString('en-US')} on ${direct.chipsUsed} chips`), out.slice(0, 300));
});

test.run();
