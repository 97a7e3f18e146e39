/**
 * Placement, XY routing and the route tables against hand computations (every expected number is
 * derived in the comments), plus the table read back against a from-scratch enumeration
 * (spikeCostDirect) and byte-for-byte determinism.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { loadChip } from '../src/hw/chip-schema.ts';
import { mapNetwork, type Mapping } from '../src/hw/mapper.ts';
import { placeCores, slotAt, smallestSquareBoard } from '../src/hw/placement.ts';
import {
  expectedTraffic, K_CROSSINGS, K_HOPS_EW, K_HOPS_NS, K_HOPS_TILE, K_PACKETS, K_RELAY_SYNOPS, K_SPIKES, K_SRC, KEY_FIELDS,
  LAYER_FIELDS, routeKey, spikeCost, spikeCostDirect, T_HAS, T_KEYS, T_NB, walkXY, xyHops,
} from '../src/hw/routing.ts';
import { convLayer, makeSnn, routeLayer, upsampleLayer } from '../src/sim/handmade.ts';
import type { SnnNetwork } from '../src/convert/snn-ir.ts';
import { calibrate } from '../src/convert/calibrate.ts';
import { convertNetwork, defaultSettings } from '../src/convert/convert.ts';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { loadModel } from '../src/model/load.ts';
import { meshToyChip as toyChip, meshToyNet as toyNet } from './helpers/toy-chip.ts';


const syn = (m: Mapping, L: number, y: number, x: number, c: number) => spikeCost(m, L, y, x, c).synops;

// ---------------------------------------------------------------------------------------------

test('toy: tiles, cores and placement by hand', () => {
  const m = mapNetwork(toyNet(), toyChip(), { placement: 'layers' });
  // layer 1 (mapped first, it has no consumer): neurons h·w·c ≤ 8 and axons R(h)·C(w)·2 ≤ 18 with
  // R(1) = R(2) = 3 (a 1- or 2-row tile reads 3 input rows somewhere), R(4) = 4: so h, w ≤ 2; c = 2,
  // 2×2 → 8 neurons, 3·3·2 = 18 axons, 4 cores (c = 1 would need 8).
  const l1 = m.layers[1]!;
  assert.equal(l1.tile, { h: 2, w: 2, c: 2 });
  assert.is(l1.cores, 4);
  assert.is(l1.limit, 'axons');
  // layer 0 reads the analog image: no axons, neurons only → h·w·c ≤ 8: 4 cores; of 2×2×2, 4×1×2,
  // 1×4×2 the squarest wins
  const l0 = m.layers[0]!;
  assert.ok(l0.analogInput);
  assert.equal(l0.tile, { h: 2, w: 2, c: 2 });
  assert.is(l0.cores, 4);
  assert.is(m.coresUsed, 8);
  assert.is(m.chipsUsed, 2);
  // core ids: layer 0 then layer 1, tiles in (row, column) order
  assert.equal([l0.firstCore, l1.firstCore], [0, 4]);
  // per core: layer 1, tile rows 0-1 cols 0-1 reads input rows 0..2 × cols 0..2 × 2 channels
  assert.equal([m.cores.neurons[4], m.cores.axons[4], m.cores.synapseBits[4]], [8, 18, 2 * 18]);
  assert.equal([m.cores.neurons[0], m.cores.axons[0], m.cores.synapseBits[0]], [8, 0, 0]);
  // placement: chip 0 then chip 1 (board 2×1); routers in snake order (0,0) (1,0) (1,1) (0,1)
  const at = (id: number) => [m.placement.meshX[id], m.placement.meshY[id]];
  assert.equal([0, 1, 2, 3].map(at), [[0, 0], [1, 0], [1, 1], [0, 1]]);
  assert.equal([4, 5, 6, 7].map(at), [[2, 0], [3, 0], [3, 1], [2, 1]]);
  assert.equal([m.placement.chip[3], m.placement.chip[4]], [0, 1]);
});

test('toy: route table entries and hop counts by hand (unicast)', () => {
  const m = mapNetwork(toyNet(), toyChip(), { placement: 'layers' });
  const t = m.routes;
  // layer 0 fires; layer 1 ('integrate') and the analog input have no table
  assert.is(t.layerInfo[0 * LAYER_FIELDS + T_HAS], 1);
  assert.is(t.layerInfo[1 * LAYER_FIELDS + T_HAS], 0);
  assert.is(t.layerInfo[2 * LAYER_FIELDS + T_HAS], 0);
  // one channel block (the consumer is dense, layer 0's tile holds both channels): 16 keys
  assert.is(t.layerInfo[T_NB], 1);
  assert.is(t.layerInfo[T_KEYS], 16);
  assert.is(t.keyRec.length, 16);

  // spike of layer 0 at (y 1, x 2, c 0): source tile rows 0-1, cols 2-3 = core 1 at router (1,0).
  // It reaches layer-1 outputs oy 0..2, ox 1..3, both channels:
  //   core 4 (oy 0-1, ox 0-1): oy {0,1} × ox {1}   × 2 ch = 4
  //   core 5 (oy 0-1, ox 2-3): oy {0,1} × ox {2,3} × 2 ch = 8
  //   core 6 (oy 2-3, ox 0-1): oy {2}   × ox {1}   × 2 ch = 2
  //   core 7 (oy 2-3, ox 2-3): oy {2}   × ox {2,3} × 2 ch = 4      (18 = 9 taps × 2)
  const a = spikeCost(m, 0, 1, 2, 0);
  assert.equal(a.synops, [[4, 4], [5, 8], [6, 2], [7, 4]]);
  // unicast from (1,0): to (2,0) 1 E-W; (3,0) 2; (3,1) 2 + 1 N-S; (2,1) 1 + 1: all four cross
  // the chip boundary between x = 1 and x = 2 once
  assert.equal(
    [a.srcCore, a.spikesOut, a.packets, a.hopsTile, a.hopsEW, a.hopsNS, a.chipCrossings, a.relaySynops],
    [1, 1, 4, 0, 6, 2, 4, 0],
  );
  // the same spike read the way the WASM core reads it
  const key = t.layerInfo[0 + 5] + (1 * 4 + 2) * 1 + t.blockOf[t.layerInfo[0 + 6] + 0];
  assert.is(key, routeKey(t, 0, 1, 2, 0));
  assert.equal(
    Array.from(t.recHeader.subarray(t.keyRec[key] * KEY_FIELDS, (t.keyRec[key] + 1) * KEY_FIELDS)),
    [1, 1, 4, 0, 6, 2, 4, 0],
  );
  assert.equal([K_SRC, K_SPIKES, K_PACKETS, K_HOPS_TILE, K_HOPS_EW, K_HOPS_NS, K_CROSSINGS, K_RELAY_SYNOPS], [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(Array.from(t.entries.subarray(2 * t.recOffsets[t.keyRec[key]], 2 * t.recOffsets[t.keyRec[key] + 1])), [4, 4, 5, 8, 6, 2, 7, 4]);
  // channel 1 at the same place: same key, same cost (one block)
  assert.equal(spikeCost(m, 0, 1, 2, 1), a);

  // corner spike (0, 0, 1): core 0 at (0,0) → outputs oy, ox ∈ {0,1} × 2 ch = 8 synapses, all in core 4
  // at (2,0): 2 E-W hops, 1 crossing
  const b = spikeCost(m, 0, 0, 0, 1);
  assert.equal(b.synops, [[4, 8]]);
  assert.equal([b.srcCore, b.packets, b.hopsEW, b.hopsNS, b.chipCrossings], [0, 1, 2, 0, 1]);
  // every key: the entries hold exactly the valid taps × 2 output channels (no copies, no relays)
  for (let y = 0; y < 4; y++)
    for (let x = 0; x < 4; x++) {
      const taps = (Math.min(3, y + 1) - Math.max(0, y - 1) + 1) * (Math.min(3, x + 1) - Math.max(0, x - 1) + 1);
      assert.is(syn(m, 0, y, x, 0).reduce((s, [, n]) => s + n, 0), taps * 2, `(${y},${x})`);
    }
});

test('toy: multicast counts tree edges once', () => {
  const m = mapNetwork(toyNet(), toyChip({ noc: { multicast: true } }), { placement: 'layers' });
  // (1,2,0) from router (1,0): paths to (2,0), (3,0), (3,1), (2,1) share the links (1,0)-(2,0) and
  // (2,0)-(3,0); the tree is E-W {(1,0)-(2,0), (2,0)-(3,0)}, N-S {(3,0)-(3,1), (2,0)-(2,1)}: 2 + 2
  // edges, one of them across the chip boundary; one packet
  const a = spikeCost(m, 0, 1, 2, 0);
  assert.equal([a.packets, a.hopsEW, a.hopsNS, a.chipCrossings, a.hopsTile], [1, 2, 2, 1, 0]);
  assert.equal(a.synops, [[4, 4], [5, 8], [6, 2], [7, 4]]);
  assert.equal(spikeCostDirect(m, 0, 1, 2, 0), { ...a, key: -1 });
});

test('Poisson input: the host-injected input spikes have a table (row n), priced at the destinations only', () => {
  const snn = toyNet();
  snn.settings.input = 'poisson';
  const m = mapNetwork(snn, toyChip({ board: { chipsX: 2, chipsY: 2 } }), { placement: 'layers' });
  assert.is(m.layers[0]!.analogInput, false);
  assert.ok(m.cores.axons[0] > 0);
  assert.is(m.routes.layerInfo[2 * LAYER_FIELDS + T_HAS], 1);
  // input (1,1): 3×3 outputs of layer 0 × 2 channels = 18 synapses; no source core, no packets
  const c = spikeCost(m, -1, 1, 1, 0);
  assert.is(c.synops.reduce((s, [, n]) => s + n, 0), 18);
  assert.equal([c.srcCore, c.spikesOut, c.packets, c.hopsEW + c.hopsNS], [-1, 0, 0, 0]);
  assert.equal(spikeCostDirect(m, -1, 1, 1, 0), { ...c, key: -1 });
  assert.match(m.notes.join('\n'), 'spike input (Poisson or events)');
});

test('XY routing and chip crossings on a 2×2 board by hand', () => {
  const chip = toyChip({ board: { chipsX: 2, chipsY: 2 } });
  // global mesh 4×4 routers, chips of 2×2: chip boundaries between x 1|2 and y 1|2
  assert.equal(xyHops(chip, 0, 0, 3, 3), { hopsEW: 3, hopsNS: 3, chipCrossings: 2 });
  assert.equal(xyHops(chip, 1, 2, 2, 1), { hopsEW: 1, hopsNS: 1, chipCrossings: 2 });
  assert.equal(xyHops(chip, 0, 1, 1, 0), { hopsEW: 1, hopsNS: 1, chipCrossings: 0 });
  assert.equal(xyHops(chip, 3, 0, 2, 0), { hopsEW: 1, hopsNS: 0, chipCrossings: 0 });
  assert.equal(xyHops(chip, 3, 3, 0, 0), { hopsEW: 3, hopsNS: 3, chipCrossings: 2 });
  // the path (0,3) → (3,0): X first along row 3, then Y up column 3
  const steps: string[] = [];
  walkXY(chip, 4, 0, 3, 3, 0, (e, ew, cross) => steps.push(`${ew ? 'E' : 'N'}${e >> 1}${cross ? '*' : ''}`));
  // E-W edges (x,3)-(x+1,3): router ids 12, 13*, 14; N-S edges (3,y)-(3,y+1): ids 11, 7*, 3
  assert.equal(steps, ['E12', 'E13*', 'E14', 'N11', 'N7*', 'N3']);
  // placement path: chips (0,0) (1,0) (1,1) (0,1); inside a chip routers (0,0) (1,0) (1,1) (0,1)
  const s5 = slotAt(chip, chip.board, 5);
  assert.equal([s5.chipX, s5.chipY, s5.tileX, s5.tileY, s5.meshX, s5.meshY], [1, 0, 1, 0, 3, 0]);
  const s10 = slotAt(chip, chip.board, 10);
  assert.equal([s10.chipX, s10.chipY, s10.tileX, s10.tileY, s10.meshX, s10.meshY], [1, 1, 1, 1, 3, 3]);
  const s15 = slotAt(chip, chip.board, 15);
  assert.equal([s15.chipX, s15.chipY, s15.meshX, s15.meshY], [0, 1, 0, 3]);
  const p = placeCores(chip, chip.board, 9);
  assert.equal([p.chipsUsed, p.routersUsed, p.meshWidth, p.meshHeight], [3, 9, 4, 4]);
  // Loihi-style: 4 cores share a router
  const loihiLike = toyChip({ chip: { cores: 16, coresPerTile: 4 } });
  const q = slotAt(loihiLike, loihiLike.board, 6);
  assert.equal([q.tileX, q.tileY, q.slot], [1, 0, 2]);
  assert.equal(smallestSquareBoard(loihiLike, 16 * 5), { chipsX: 3, chipsY: 3 });
  assert.equal(smallestSquareBoard(loihiLike, 16 * 4), { chipsX: 2, chipsY: 2 });
});

test('cores sharing a router: tile-local deliveries make no mesh hop', () => {
  // 8 cores per chip on one router of a 1×1 mesh: every packet stays in its router
  const m = mapNetwork(toyNet(), toyChip({ chip: { cores: 8, tilesX: 1, tilesY: 1, coresPerTile: 8 }, board: { chipsX: 1, chipsY: 1 } }), { placement: 'layers' });
  const a = spikeCost(m, 0, 1, 2, 0);
  assert.equal([a.packets, a.hopsTile, a.hopsEW, a.hopsNS, a.chipCrossings], [4, 4, 0, 0, 0]);
});

test('expected traffic by hand on the toy', () => {
  const m = mapNetwork(toyNet(), toyChip(), { placement: 'layers' });
  const tr = expectedTraffic(m, [0.5, 0.5]);
  // rate 0.5 × 2 channels per key = 1 spike per tick per position. Row 0 sources: core 0 (0,0) and
  // core 1 (1,0), positions y 0-1. Destination cores per position (core 0): (0,0)→1, (0,1)→2,
  // (1,0)→2, (1,1)→4 = 9 packets; core 1: (0,2)→2, (0,3)→1, (1,2)→4, (1,3)→2 = 9. Every one goes
  // east to chip 1: link (1,0)-(2,0) carries 18, link (0,0)-(1,0) carries core 0's 9.
  assert.is(tr.ew[0 * 4 + 1], 18);
  assert.is(tr.ew[0 * 4 + 0], 9);
  // row 1 the same by symmetry (cores 3 at (0,1), 2 at (1,1))
  assert.is(tr.ew[1 * 4 + 1], 18);
  assert.is(tr.ew[1 * 4 + 0], 9);
  // all packets: 16 positions, Σ destination cores = 36 per tick (the taps-per-tile count above ×2)
  assert.is(tr.packetsPerTick, 36);
  // Σ link loads = Σ over keys of rate × width × (E-W + N-S hops)
  let hops = 0;
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) {
    const c = spikeCost(m, 0, y, x, 0);
    hops += c.hopsEW + c.hopsNS;
  }
  const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(sum(tr.ew) + sum(tr.ns) - hops) < 1e-9);
  assert.equal(tr.maxLink, { ew: true, x: 1, y: 0, packets: 18 });
});

test('route and upsample wiring: a spike reaches the real consumers', () => {
  // 0 conv 1→2 (1×1, analog, 2×2) · 1 conv 2→2 (1×1) · 2 upsample ×2 of 1 (4×4) · 3 conv 2→2 (1×1)
  // of 2 · 4 route [2, 3] (channels 0-1 from 2, 2-3 from 3) · 5 conv 4→4 3×3 pad 1, 2 groups, readout
  const a = convLayer(0, -1, { c: 1, h: 2, w: 2 }, { filters: 2, size: 1 });
  const b = convLayer(1, 0, a.outShape, { filters: 2, size: 1 });
  const u = upsampleLayer(2, 1, b.outShape, 2);
  const e = convLayer(3, 2, u.outShape, { filters: 2, size: 1 });
  const r = routeLayer(4, [2, 3], [u.outShape, e.outShape]);
  const f = convLayer(5, 4, r.outShape, { filters: 4, size: 3, pad: 1, groups: 2, rule: 'integrate' });
  const snn = makeSnn({ c: 1, h: 2, w: 2 }, [a, b, u, e, r, f], [5]);
  const m = mapNetwork(snn, toyChip({ core: { neurons: 1024, axons: 1024 }, board: { chipsX: 2, chipsY: 2 } }), { placement: 'layers' });
  // route and upsample layers get no cores and no table
  assert.is(m.layers[2], null);
  assert.is(m.layers[4], null);
  assert.is(m.routes.layerInfo[2 * LAYER_FIELDS + T_HAS], 0);
  assert.is(m.routes.layerInfo[4 * LAYER_FIELDS + T_HAS], 0);
  const total = (L: number, y: number, x: number, c: number) => syn(m, L, y, x, c).reduce((s, [, n]) => s + n, 0);
  // layer 3, channel 1 → route channel 3 → group 1 of layer 5 (inputs 2-3, outputs 2-3); at the
  // interior position (1,1): 9 taps × 2 output channels = 18
  assert.is(total(3, 1, 1, 1), 18);
  // layer 1 at (0,0,c 0): the upsample makes positions (0,0) (0,1) (1,0) (1,1) of the 4×4 map;
  // into layer 5 (route channel 0, group 0) they reach 4 + 6 + 6 + 9 = 25 taps × 2 outputs = 50;
  // into layer 3 (1×1, 2 outputs) 4 × 2 = 8: 58 in all
  assert.is(total(1, 0, 0, 0), 58);
  for (const [L, y, x, ch] of [[1, 0, 1, 0], [1, 1, 1, 1], [3, 3, 0, 0], [3, 2, 3, 1], [0, 1, 1, 1]] as const)
    assert.equal(spikeCostDirect(m, L, y, x, ch), { ...spikeCost(m, L, y, x, ch), key: -1 }, `layer ${L} (${y},${x},${ch})`);
});

// ---------------------------------------------------------------------------------------------
// real networks

let face: SnnNetwork | undefined;
function face224(): SnnNetwork {
  if (!face) {
    const net = loadModel({ model: 'face', size: 224 });
    // the fused network (dense 3×3 convs): the layer numbers below refer to it
    face = convertNetwork(net, calibrate(net, faceSamplePhotos().slice(0, 1)), defaultSettings({ fuseLinear: true }));
  }
  return face;
}

function tablesHash(m: Mapping): string {
  const h = createHash('sha256');
  const t = m.routes;
  for (const a of [t.layerInfo, t.blockOf, t.keyRec, t.recHeader, t.recOffsets, t.entries, m.placement.meshX, m.placement.meshY, m.cores.neurons, m.cores.axons])
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

test('face@224: the table agrees with the from-scratch enumeration on random spikes (TrueNorth, Loihi, generic multicast)', () => {
  const snn = face224();
  for (const chip of ['truenorth', 'loihi', 'generic']) {
    const m = mapNetwork(snn, loadChip(chip).params, { autoBoard: true });
    let seed = 11;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    for (const l of m.layers) {
      if (!l || !l.emits) continue;
      for (let i = 0; i < 3; i++) {
        const y = rnd(l.shape.h), x = rnd(l.shape.w), c = rnd(l.shape.c);
        assert.equal(spikeCostDirect(m, l.layer, y, x, c), { ...spikeCost(m, l.layer, y, x, c), key: -1 }, `${chip} layer ${l.layer} (${y},${x},${c})`);
      }
    }
    if (chip === 'loihi') {
      // no copies on Loihi: an interior spike of pool 1 reaches 3×3 taps × 32 channels of conv 2
      assert.is(syn(m, 1, 50, 50, 3).reduce((s, [, n]) => s + n, 0), 9 * 32);
      // a conv-0 neuron feeds exactly one pool neuron (2×2, stride 2)
      assert.equal(syn(m, 0, 10, 11, 5).reduce((s, [, n]) => s + n, 0), 1);
    }
  }
});

test('mapping is deterministic: same input → identical route table bytes', () => {
  const snn = face224();
  const chip = loadChip('truenorth').params;
  const a = tablesHash(mapNetwork(snn, chip));
  const b = tablesHash(mapNetwork(snn, structuredClone(chip)));
  assert.is(a, b);
  // and a different chip gives different tables
  assert.is.not(a, tablesHash(mapNetwork(snn, loadChip('loihi').params)));
});

test.run();
