/**
 * Routing: dimension-order XY routing on the board's global mesh, and the route tables that the
 * SNN core reads once per spike.
 *
 * ## Hops (matches src/hw/power.ts EventCounts)
 * A packet from router (x1, y1) to router (x2, y2) first travels along x on row y1, then along y
 * on column x2: hopsEW = |x2 − x1|, hopsNS = |y2 − y1|. The routers of all chips form one global
 * mesh (placement.ts); a hop between routers of two different chips is an ordinary hop (counted in
 * hopsEW or hopsNS) AND a chip crossing, so chipCrossings = |chipX2 − chipX1| + |chipY2 − chipY1|
 * (XY paths are monotone). A packet to a core on the source core's own router makes no mesh hop:
 * it counts one hopsTile instead (power.ts: "delivered to a core of the source tile").
 * - unicast chips (noc.multicast false): one packet per destination core, each routed on its own;
 * - multicast chips: one packet per spike, branching in the routers: the hops are the edges of the
 *   union of the XY paths (a tree), each edge counted once; hopsTile counts the destination cores
 *   on the source router.
 * - a neuron that may reach at most f destination cores (core.maxFanoutPerNeuron, TrueNorth f = 1)
 *   is copied: copies = ceil(d / f) for d destination cores; each copy sends its own packet
 *   (multicast: to its group of f destinations, in core order).
 *
 * ## Route tables (the struct the WASM core reads; all Int32Array, little-endian in memory)
 * Only layers whose neurons fire have a table: convs with a rule other than 'integrate', and
 * max-pools. Route and upsample layers have none: their wiring (a route's channel offset, an
 * upsample's stride² copies) is folded into the table of the layer that fired, so a spike is
 * looked up once, in its producer's table, and never again when a route/upsample passes it on.
 *
 *   layerInfo  LAYER_FIELDS i32 per row; rows 0 … n−1 are the SNN layers, row n is the network
 *              input (used only with Poisson input coding; analog input sends no spikes).
 *              [T_HAS]        1 if the row has a table
 *              [T_H, T_W, T_C] the producer's output shape
 *              [T_NB]         channel blocks nb
 *              [T_KEY_BASE]   first key of the row
 *              [T_BLOCK_BASE] offset of the row's channel → block map in blockOf
 *              [T_KEYS]       keys of the row = H·W·nb
 *   blockOf    i32 per channel of every row with a table: channel → block (channels of one block
 *              are interchangeable for routing: same source core, same destination cores, same
 *              synapse counts)
 *   keyRec     i32 per key: its record. Keys that cost the same share one record (the keys of
 *              one core with the same destinations), so the tables grow with the distinct costs,
 *              not with the neurons (the face detector at 416 on TrueNorth: 7.95 M keys, 1.18 M
 *              records)
 *   recHeader  KEY_FIELDS i32 per record:
 *              [K_SRC]          core whose neuron fired (−1 for the host-injected input)
 *              [K_SPIKES]       spikes generated: the neuron and its copies, plus the partial-sum
 *                               relay spikes of a split layer (charged to K_SRC)
 *              [K_PACKETS]      packets injected (charged to K_SRC)
 *              [K_HOPS_TILE], [K_HOPS_EW], [K_HOPS_NS], [K_CROSSINGS]  as above (charged to K_SRC)
 *              [K_RELAY_SYNOPS] synaptic events of the relay spikes at the accumulator (K_SRC)
 *   recOffsets i32 per record + 1: record r's entries are pairs recOffsets[r] … recOffsets[r+1] − 1
 *   entries    i32 pairs (destination core, synaptic events in that core), ascending core
 *
 *   key of a spike of layer L at (y, x, c):
 *     key = layerInfo[L·LAYER_FIELDS + T_KEY_BASE] + (y·W + x)·nb + blockOf[T_BLOCK_BASE + c]
 *     record = keyRec[key]
 * Per spike the core adds, with no other work: synops[dest] += n for each entry; at K_SRC the
 * spikes, packets, hops, crossings and relay synops of the header. "Synaptic events in that core"
 * counts every synapse the spike reaches there (the consumer neurons' copies included; border taps
 * that fall outside the consumer are not synapses), so without copies and relays the entries of a
 * conv consumer sum to the simulator's SOPs of that spike; a max-pool consumer adds one event per
 * pool neuron reached (on chip a pool is made of neurons; the simulator counts no SOP for it).
 */
import type { SnnNetwork } from '../convert/snn-ir.ts';
import type { ChipParams } from './chip-schema.ts';
import { Growable, HashSlots, hashInts } from '../util/array.ts';

export const ROUTE_FORMAT_VERSION = 2;

export const LAYER_FIELDS = 8;
export const T_HAS = 0;
export const T_H = 1;
export const T_W = 2;
export const T_C = 3;
export const T_NB = 4;
export const T_KEY_BASE = 5;
export const T_BLOCK_BASE = 6;
export const T_KEYS = 7;

export const KEY_FIELDS = 8;
export const K_SRC = 0;
export const K_SPIKES = 1;
export const K_PACKETS = 2;
export const K_HOPS_TILE = 3;
export const K_HOPS_EW = 4;
export const K_HOPS_NS = 5;
export const K_CROSSINGS = 6;
export const K_RELAY_SYNOPS = 7;

export interface RouteTables {
  version: number;
  /** rows: SNN layers 0 … n−1, then the input (row n) */
  layerInfo: Int32Array;
  blockOf: Int32Array;
  keyRec: Int32Array;
  recHeader: Int32Array;
  recOffsets: Int32Array;
  entries: Int32Array;
}

/** Keys in the tables (one per layer position and channel block). */
export const keyCount = (t: RouteTables): number => t.keyRec.length;
/** Distinct records (cost headers with their entries). */
export const recordCount = (t: RouteTables): number => t.recOffsets.length - 1;
/** Bytes the tables hold. */
export const routeTableBytes = (t: RouteTables): number =>
  t.layerInfo.byteLength + t.blockOf.byteLength + t.keyRec.byteLength + t.recHeader.byteLength + t.recOffsets.byteLength + t.entries.byteLength;

// ---------------------------------------------------------------------------------------------
// Tiles and the core numbering of a mapped layer (shared with the mapper)

/** A regular tiling of a C×H×W array into h×w×c tiles; cell = (ty·nx + tx)·nc + tc. */
export interface TileGrid {
  h: number;
  w: number;
  c: number;
  ny: number;
  nx: number;
  nc: number;
  count: number;
}

export function makeGrid(H: number, W: number, C: number, h: number, w: number, c: number): TileGrid {
  const ny = Math.ceil(H / h), nx = Math.ceil(W / w), nc = Math.ceil(C / c);
  return { h, w, c, ny, nx, nc, count: ny * nx * nc };
}

export function cellOf(g: TileGrid, y: number, x: number, c: number): number {
  return (Math.floor(y / g.h) * g.nx + Math.floor(x / g.w)) * g.nc + Math.floor(c / g.c);
}

/** Copies per neuron (ceil(destinations / max fan-out)), uniform over each (y, x, channel block). */
export interface CopiesMap {
  nb: number;
  cbOf: Int32Array;
  /** nb + 1 channel starts */
  cbStart: Int32Array;
  /** (y·W + x)·nb + block → copies (≥ 1) */
  vals: Int32Array;
  min: number;
  max: number;
}

/** A conv or max-pool layer's shapes and kernel, as the mapper and the route builder read them. */
export interface LayerGeometry {
  index: number;
  kind: 'conv' | 'maxpool';
  H: number;
  W: number;
  C: number;
  inH: number;
  inW: number;
  inC: number;
  k: number;
  s: number;
  /** conv: pad; max-pool: padBegin */
  pad: number;
  groups: number;
  cinG: number;
  coutG: number;
}

/**
 * A mapped conv or max-pool layer as routing sees it: its geometry and how its neurons are
 * numbered on cores. Neuron (y, x, c) lives on core neuronBase + cellOf(grid, y, x, c). A split
 * layer (fan-in over the axons of a core) also has m partial-sum neurons per neuron: partial j of
 * (y, x, c) lives on core split.base + cellOf(split.grid, y, x, c)·m + j.
 */
export interface TiledLayer extends LayerGeometry {
  grid: TileGrid;
  neuronBase: number;
  split: null | {
    m: number;
    /** per-neuron fan-in F = k²·cin/groups */
    F: number;
    /** flat receptive-field index (ci·k + ky)·k + kx → slice */
    sliceOf: Int32Array;
    /** m + 1 slice starts: slice j = [⌊jF/m⌋, ⌊(j+1)F/m⌋) */
    sliceStart: Int32Array;
    grid: TileGrid;
    base: number;
  };
  copies: CopiesMap | null;
}

export function neuronCore(t: TiledLayer, y: number, x: number, c: number): number {
  return t.neuronBase + cellOf(t.grid, y, x, c);
}

export function partialCore(t: TiledLayer, j: number, y: number, x: number, c: number): number {
  const s = t.split;
  if (!s) throw new Error(`layer ${t.index} is not split`);
  return s.base + cellOf(s.grid, y, x, c) * s.m + j;
}

export function copiesAt(t: TiledLayer, y: number, x: number, c: number): number {
  const cp = t.copies;
  return cp ? cp.vals[(y * t.W + x) * cp.nb + cp.cbOf[c]] : 1;
}

// ---------------------------------------------------------------------------------------------
// Wiring: where the spikes of a layer go, through routes and upsamples

/** A consumer (conv or max-pool) that receives source spike (y, x, c) at (y·f + i, x·f + j, c + off), i, j < f. */
export interface Terminal {
  layer: number;
  off: number;
  f: number;
}

/** The conv / max-pool consumers of `source` (−1: the input), following routes and upsamples. */
export function terminalsOf(snn: SnnNetwork, source: number): Terminal[] {
  const out: Terminal[] = [];
  const channels = (i: number) => (i < 0 ? snn.ann.input.c : snn.layers[i].outShape.c);
  const walk = (src: number, off: number, f: number, depth: number) => {
    if (depth > snn.layers.length + 1) throw new Error('cycle in the SNN wiring');
    for (const K of snn.layers) {
      if (K.kind === 'route') {
        let o = 0;
        for (const s of K.layers) {
          if (s === src) walk(K.index, off + o, f, depth + 1);
          o += channels(s);
        }
      } else if (K.inputs[0] === src) {
        if (K.kind === 'upsample') walk(K.index, off, f * K.stride, depth + 1);
        else out.push({ layer: K.index, off, f });
      }
    }
  };
  walk(source, 0, 1, 0);
  return out;
}

/** Scratch accumulator of (core → count), cleared by drain(). */
export class DestAccumulator {
  private counts: Int32Array;
  private touched: Int32Array;
  private n = 0;
  constructor(size: number) {
    this.counts = new Int32Array(Math.max(1, size));
    this.touched = new Int32Array(Math.max(1, size));
  }
  add(core: number, v: number): void {
    if (v <= 0) return;
    if (this.counts[core] === 0) this.touched[this.n++] = core;
    this.counts[core] += v;
  }
  get size(): number {
    return this.n;
  }
  /** The (core, count) pairs in ascending core order; clears the accumulator. */
  drain(cores: Growable, counts: Growable): void {
    const n = this.n, t = this.touched;
    // insertion sort: a spike reaches a few cores
    for (let i = 1; i < n; i++) {
      const v = t[i];
      let j = i;
      while (j > 0 && t[j - 1] > v) {
        t[j] = t[j - 1];
        j--;
      }
      t[j] = v;
    }
    cores.reserve(n);
    counts.reserve(n);
    for (let i = 0; i < n; i++) {
      cores.a[cores.n++] = t[i];
      counts.a[counts.n++] = this.counts[t[i]];
      this.counts[t[i]] = 0;
    }
    this.n = 0;
  }
}

const ceilDiv = (a: number, b: number) => Math.floor((a + b - 1) / b);

/** Σ copies of the consumer neurons (oy, ox, o), o ∈ [a, b). */
function sumCopies(K: TiledLayer, oy: number, ox: number, a: number, b: number): number {
  const cp = K.copies;
  if (!cp) return b - a;
  const row = (oy * K.W + ox) * cp.nb;
  let s = 0;
  for (let blk = cp.cbOf[a]; blk < cp.nb && cp.cbStart[blk] < b; blk++) {
    const lo = Math.max(a, cp.cbStart[blk]), hi = Math.min(b, cp.cbStart[blk + 1]);
    if (hi > lo) s += (hi - lo) * cp.vals[row + blk];
  }
  return s;
}

/** Adds the synapses reached by an input event at (y2, x2, c2) of consumer K, per core. */
export function addConsumerPoint(K: TiledLayer, y2: number, x2: number, c2: number, acc: DestAccumulator): void {
  const { k, s, pad } = K;
  const oyLo = Math.max(0, ceilDiv(y2 + pad - k + 1, s)), oyHi = Math.min(K.H - 1, Math.floor((y2 + pad) / s));
  const oxLo = Math.max(0, ceilDiv(x2 + pad - k + 1, s)), oxHi = Math.min(K.W - 1, Math.floor((x2 + pad) / s));
  if (K.kind === 'maxpool') {
    const g = K.grid;
    for (let oy = oyLo; oy <= oyHi; oy++)
      for (let ox = oxLo; ox <= oxHi; ox++) acc.add(K.neuronBase + cellOf(g, oy, ox, c2), copiesAt(K, oy, ox, c2));
    return;
  }
  const grp = Math.floor(c2 / K.cinG);
  const ci = c2 - grp * K.cinG;
  const o0 = grp * K.coutG, o1 = o0 + K.coutG;
  const sp = K.split;
  if (sp) {
    const g = sp.grid;
    const tc0 = Math.floor(o0 / g.c), tc1 = Math.floor((o1 - 1) / g.c);
    for (let oy = oyLo; oy <= oyHi; oy++) {
      const ky = y2 + pad - oy * s;
      const ty = Math.floor(oy / g.h);
      for (let ox = oxLo; ox <= oxHi; ox++) {
        const kx = x2 + pad - ox * s;
        const j = sp.sliceOf[(ci * k + ky) * k + kx];
        const cellXY = (ty * g.nx + Math.floor(ox / g.w)) * g.nc;
        for (let tc = tc0; tc <= tc1; tc++) {
          const n = Math.min(o1, (tc + 1) * g.c) - Math.max(o0, tc * g.c);
          acc.add(sp.base + (cellXY + tc) * sp.m + j, n);
        }
      }
    }
    return;
  }
  const g = K.grid;
  const tc0 = Math.floor(o0 / g.c), tc1 = Math.floor((o1 - 1) / g.c);
  for (let oy = oyLo; oy <= oyHi; oy++) {
    const ty = Math.floor(oy / g.h);
    for (let ox = oxLo; ox <= oxHi; ox++) {
      const cellXY = (ty * g.nx + Math.floor(ox / g.w)) * g.nc;
      for (let tc = tc0; tc <= tc1; tc++) {
        const a = Math.max(o0, tc * g.c), b = Math.min(o1, (tc + 1) * g.c);
        acc.add(K.neuronBase + cellXY + tc, sumCopies(K, oy, ox, a, b));
      }
    }
  }
}

/**
 * Channel boundaries (in the source's channel space, 0 and C included, ascending) where the
 * destinations of a source spike may change: a consumer's groups, its fan-in slices, a max-pool's
 * channel tiles and copy blocks.
 */
export function consumerBoundaries(terms: Terminal[], tiled: (TiledLayer | null)[], C: number): number[] {
  const set = new Set<number>([0, C]);
  for (const t of terms) {
    const K = tiled[t.layer];
    if (!K) throw new Error(`consumer layer ${t.layer} is not tiled yet`);
    const add = (cK: number) => {
      const c = cK - t.off;
      if (c > 0 && c < C) set.add(c);
    };
    if (K.kind === 'maxpool') {
      for (let b = K.grid.c; b < K.C; b += K.grid.c) add(b);
      if (K.copies) for (let i = 1; i < K.copies.nb; i++) add(K.copies.cbStart[i]);
      continue;
    }
    if (K.groups > 1) for (let g = 1; g < K.groups; g++) add(g * K.cinG);
    const sp = K.split;
    if (sp) {
      const kk = K.k * K.k;
      const sig = (ci: number) => sp.sliceOf[ci * kk] * 65536 + sp.sliceOf[ci * kk + kk - 1];
      const part = (ci: number) => sp.sliceOf[ci * kk] !== sp.sliceOf[ci * kk + kk - 1];
      for (let ci = 1; ci < K.cinG; ci++) {
        if (sig(ci) !== sig(ci - 1) || part(ci) || part(ci - 1)) for (let g = 0; g < K.groups; g++) add(g * K.cinG + ci);
      }
    }
  }
  return [...set].sort((a, b) => a - b);
}

/** Destination lists of a source layer, per (y, x, consumer block). */
export interface DestLists {
  H: number;
  W: number;
  C: number;
  nb: number;
  cbOf: Int32Array;
  cbStart: Int32Array;
  /** H·W·nb + 1 offsets into core / syn */
  offsets: Int32Array;
  core: Int32Array;
  syn: Int32Array;
}

function blocksFrom(bounds: number[], C: number): { nb: number; cbOf: Int32Array; cbStart: Int32Array } {
  const nb = bounds.length - 1;
  const cbStart = Int32Array.from(bounds);
  const cbOf = new Int32Array(C);
  for (let b = 0; b < nb; b++) cbOf.fill(b, bounds[b], bounds[b + 1]);
  return { nb, cbOf, cbStart };
}

/**
 * For every (y, x, block) of the source's output (shape H×W×C), the cores its spike reaches and
 * the synapses it reaches in each (in the id space of the consumers' bases; `ids` bounds them).
 */
export function computeDestLists(snn: SnnNetwork, tiled: (TiledLayer | null)[], source: number, ids: number): DestLists {
  const shape = source < 0 ? snn.ann.input : snn.layers[source].outShape;
  const { c: C, h: H, w: W } = shape;
  const terms = terminalsOf(snn, source);
  const { nb, cbOf, cbStart } = blocksFrom(consumerBoundaries(terms, tiled, C), C);
  const acc = new DestAccumulator(ids);
  const offsets = new Int32Array(H * W * nb + 1);
  const cores = new Growable(H * W * nb + 16), syn = new Growable(H * W * nb + 16);
  const K = terms.map((t) => tiled[t.layer] as TiledLayer);
  let key = 0;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let b = 0; b < nb; b++) {
        const c = cbStart[b];
        for (let ti = 0; ti < terms.length; ti++) {
          const t = terms[ti];
          for (let i = 0; i < t.f; i++) for (let j = 0; j < t.f; j++) addConsumerPoint(K[ti], y * t.f + i, x * t.f + j, c + t.off, acc);
        }
        acc.drain(cores, syn);
        offsets[++key] = cores.n;
      }
  return { H, W, C, nb, cbOf, cbStart, offsets, core: cores.done(), syn: syn.done() };
}

/** Copies per (y, x, block) from destination lists: ceil(d / f), at least 1. */
export function copiesFrom(d: DestLists, maxFanout: number): CopiesMap | null {
  if (!Number.isFinite(maxFanout)) return null;
  const n = d.H * d.W * d.nb;
  const vals = new Int32Array(n);
  let min = Infinity, max = 0;
  for (let i = 0; i < n; i++) {
    const v = Math.max(1, Math.ceil((d.offsets[i + 1] - d.offsets[i]) / maxFanout));
    vals[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (max <= 1) return null;
  return { nb: d.nb, cbOf: d.cbOf, cbStart: d.cbStart, vals, min, max };
}

// ---------------------------------------------------------------------------------------------
// XY routing

export interface Hops {
  hopsEW: number;
  hopsNS: number;
  chipCrossings: number;
}

/** XY route between two routers of the global mesh (see the module comment). */
export function xyHops(chip: ChipParams, x1: number, y1: number, x2: number, y2: number): Hops {
  const { tilesX, tilesY } = chip.chip;
  return {
    hopsEW: Math.abs(x2 - x1),
    hopsNS: Math.abs(y2 - y1),
    chipCrossings: Math.abs(Math.floor(x2 / tilesX) - Math.floor(x1 / tilesX)) + Math.abs(Math.floor(y2 / tilesY) - Math.floor(y1 / tilesY)),
  };
}

/** Where cores sit on the mesh (the part of a Placement routing needs). */
export interface MeshCoords {
  meshX: Int32Array;
  meshY: Int32Array;
  router: Int32Array;
  meshWidth: number;
  meshHeight: number;
}

export interface PacketCost {
  packets: number;
  hopsTile: number;
  hopsEW: number;
  hopsNS: number;
  chipCrossings: number;
  /** largest |dx| or |dy| of one packet */
  span: number;
}

/** Edge marks for multicast trees: edge id = router·2 (east link) or router·2 + 1 (south link). */
class EdgeMarks {
  private mark: Int32Array;
  private gen = 0;
  constructor(routers: number) {
    this.mark = new Int32Array(2 * Math.max(1, routers));
  }
  next(): void {
    this.gen++;
  }
  /** true if the edge was not marked in this generation */
  take(e: number): boolean {
    if (this.mark[e] === this.gen) return false;
    this.mark[e] = this.gen;
    return true;
  }
}

/**
 * Calls visit(edge, isEW, crossesChip) for each link of the XY path (x1, y1) → (x2, y2).
 * EW edge (x, y)–(x+1, y) has id (y·W + x)·2; NS edge (x, y)–(x, y+1) has id (y·W + x)·2 + 1.
 */
export function walkXY(
  chip: ChipParams,
  meshWidth: number,
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  visit: (edge: number, ew: boolean, crossing: boolean) => void,
): void {
  const { tilesX, tilesY } = chip.chip;
  const sx = x2 > x1 ? 1 : -1;
  for (let x = x1; x !== x2; x += sx) {
    const a = Math.min(x, x + sx);
    visit((y1 * meshWidth + a) * 2, true, Math.floor(x / tilesX) !== Math.floor((x + sx) / tilesX));
  }
  const sy = y2 > y1 ? 1 : -1;
  for (let y = y1; y !== y2; y += sy) {
    const a = Math.min(y, y + sy);
    visit((a * meshWidth + x2) * 2 + 1, false, Math.floor(y / tilesY) !== Math.floor((y + sy) / tilesY));
  }
}

/**
 * Packet cost of one spike from core `src` to the destination cores dests[from … to) (ascending
 * ids). Unicast: one packet per destination. Multicast: one packet (a tree) per copy of the neuron,
 * copy i serving destinations i·f … i·f + f − 1 (f = max fan-out per neuron; all of them when
 * unlimited). Host-injected spikes (src < 0) cost nothing here.
 */
export function packetCost(chip: ChipParams, mesh: MeshCoords, src: number, dests: ArrayLike<number>, from: number, to: number, marks?: EdgeMarksLike): PacketCost {
  const out: PacketCost = { packets: 0, hopsTile: 0, hopsEW: 0, hopsNS: 0, chipCrossings: 0, span: 0 };
  const d = to - from;
  if (src < 0 || d <= 0) return out;
  const sx = mesh.meshX[src], sy = mesh.meshY[src], sr = mesh.router[src];
  if (!chip.noc.multicast) {
    for (let i = from; i < to; i++) {
      const t = dests[i];
      out.packets++;
      if (mesh.router[t] === sr) {
        out.hopsTile++;
        continue;
      }
      const h = xyHops(chip, sx, sy, mesh.meshX[t], mesh.meshY[t]);
      out.hopsEW += h.hopsEW;
      out.hopsNS += h.hopsNS;
      out.chipCrossings += h.chipCrossings;
      out.span = Math.max(out.span, h.hopsEW, h.hopsNS);
    }
    return out;
  }
  const f = chip.core.maxFanoutPerNeuron;
  const group = Number.isFinite(f) ? f : d;
  const m = marks ?? new EdgeMarks(mesh.meshWidth * mesh.meshHeight);
  for (let g0 = from; g0 < to; g0 += group) {
    out.packets++;
    m.next();
    for (let i = g0; i < Math.min(to, g0 + group); i++) {
      const t = dests[i];
      if (mesh.router[t] === sr) {
        out.hopsTile++;
        continue;
      }
      const tx = mesh.meshX[t], ty = mesh.meshY[t];
      out.span = Math.max(out.span, Math.abs(tx - sx), Math.abs(ty - sy));
      walkXY(chip, mesh.meshWidth, sx, sy, tx, ty, (e, ew, cross) => {
        if (!m.take(e)) return;
        if (ew) out.hopsEW++;
        else out.hopsNS++;
        if (cross) out.chipCrossings++;
      });
    }
  }
  return out;
}

export interface EdgeMarksLike {
  next(): void;
  take(e: number): boolean;
}

export function edgeMarks(mesh: { meshWidth: number; meshHeight: number }): EdgeMarksLike {
  return new EdgeMarks(mesh.meshWidth * mesh.meshHeight);
}

// ---------------------------------------------------------------------------------------------
// The final tables

/** Per-layer routing statistics gathered while the tables are built. */
export interface LayerRouteStats {
  /** destination cores per neuron, mean and max over the layer's neurons */
  avgDestinations: number;
  maxDestinations: number;
  /** Σ over neurons of (copies − 1): the splitter duplicates (max fan-out per neuron) */
  splitterNeurons: number;
  maxCopies: number;
  /** per output spike, means over the layer's neurons */
  perSpike: { synops: number; packets: number; hopsTile: number; hopsEW: number; hopsNS: number; chipCrossings: number };
  /** relay cost per output spike of a split layer (means), already inside the header totals */
  relay: null | { spikes: number; synops: number; packets: number; hopsTile: number; hopsEW: number; hopsNS: number; chipCrossings: number };
  /** largest |dx| or |dy| of one packet */
  maxSpan: number;
}

export interface RouteBuildInput {
  snn: SnnNetwork;
  chip: ChipParams;
  mesh: MeshCoords;
  /** per SNN layer, in final (global) core ids */
  tiled: (TiledLayer | null)[];
  /** per row (SNN layers, then the input), destination lists in provisional ids, or null */
  dests: (DestLists | null)[];
  /** provisional id → global core id */
  provToGlobal: Int32Array;
  /** neuron→core edges per core are added here (core-to-core fan-out check) */
  coreFanout: Float64Array;
}

/** The tables, and statistics per row (SNN layers, then the input). */
export function buildRouteTables(inp: RouteBuildInput): { tables: RouteTables; stats: (LayerRouteStats | null)[] } {
  const { snn, chip, mesh, tiled, dests, provToGlobal } = inp;
  const rows = snn.layers.length + 1;
  const layerInfo = new Int32Array(rows * LAYER_FIELDS);
  const blockParts: Int32Array[] = [];
  let blockTotal = 0;
  let keyTotal = 0;
  const plans: ({ nb: number; blockStart: Int32Array; blockOf: Int32Array } | null)[] = [];
  for (let r = 0; r < rows; r++) {
    const D = dests[r];
    if (!D) {
      plans.push(null);
      continue;
    }
    const S = r < snn.layers.length ? tiled[r] : null;
    const bounds = new Set<number>(D.cbStart);
    if (S) {
      for (let c = S.grid.c; c < D.C; c += S.grid.c) bounds.add(c);
      if (S.split) for (let c = S.split.grid.c; c < D.C; c += S.split.grid.c) bounds.add(c);
    }
    const sorted = [...bounds].sort((a, b) => a - b);
    const { nb, cbOf, cbStart } = blocksFrom(sorted, D.C);
    plans.push({ nb, blockStart: cbStart, blockOf: cbOf });
    const o = r * LAYER_FIELDS;
    layerInfo[o + T_HAS] = 1;
    layerInfo[o + T_H] = D.H;
    layerInfo[o + T_W] = D.W;
    layerInfo[o + T_C] = D.C;
    layerInfo[o + T_NB] = nb;
    layerInfo[o + T_KEY_BASE] = keyTotal;
    layerInfo[o + T_BLOCK_BASE] = blockTotal;
    layerInfo[o + T_KEYS] = D.H * D.W * nb;
    blockParts.push(cbOf);
    blockTotal += D.C;
    keyTotal += D.H * D.W * nb;
  }
  const blockOf = new Int32Array(blockTotal);
  {
    let o = 0;
    for (const p of blockParts) {
      blockOf.set(p, o);
      o += p.length;
    }
  }
  // Records: the keys of one core with the same destinations cost the same, so a key holds the
  // index of its record (header + entries), each distinct record stored once. A record of a layer
  // that is not split is a function of (source core, entries) alone (the copies follow from the
  // entry count, the packets and hops from the source and destination cores), so such a key is
  // looked up by those before its packets are walked; a split layer's relay legs depend on the
  // position, so its keys are looked up by the whole record.
  const keyRec = new Int32Array(keyTotal);
  // the two large ones sized for their upper bounds (a record per key; a record's entries are one
  // key's list), so they never grow: the pages of a large buffer that are never written are not
  // resident and cost nothing, while a copy on growing costs fresh pages (about 10 µs each on some
  // VMs). The small per-record ones grow (an unused tail of a mid-sized buffer may be zeroed, and so
  // resident, by the allocator)
  let entryTotal = 0;
  for (const D of dests) if (D) entryTotal += D.offsets[D.offsets.length - 1];
  const recHeader = new Growable(keyTotal * KEY_FIELDS), entries = new Growable(2 * entryTotal);
  const recOffsets = new Growable(1 << 10), recSpan = new Growable(1 << 10), recSplit = new Growable(1 << 10);
  recOffsets.push(0);
  const byHash = new HashSlots();
  let nRec = 0;
  const header = new Int32Array(KEY_FIELDS);
  /** the header of a key from its packets and (a split layer's) relay legs to m partial-sum cores */
  const setHeader = (src: number, copies: number, pc: PacketCost, relay: Omit<PacketCost, 'span'>, m: number) => {
    header[K_SRC] = src;
    header[K_SPIKES] = (src < 0 ? 0 : copies) + m;
    header[K_PACKETS] = pc.packets + relay.packets;
    header[K_HOPS_TILE] = pc.hopsTile + relay.hopsTile;
    header[K_HOPS_EW] = pc.hopsEW + relay.hopsEW;
    header[K_HOPS_NS] = pc.hopsNS + relay.hopsNS;
    header[K_CROSSINGS] = pc.chipCrossings + relay.chipCrossings;
    header[K_RELAY_SYNOPS] = m;
  };
  const noRelay = { packets: 0, hopsTile: 0, hopsEW: 0, hopsNS: 0, chipCrossings: 0 };
  /** the content a key is looked up by: source, entry count, entries, and a split key's header */
  const cand = new Int32Array(2 + 2 * Math.max(1, maxListLength(dests)) + KEY_FIELDS);
  /** does record `rec` hold these entries (and, for a split layer's key, this header)? */
  const sameAs = (rec: number, src: number, n: number, split: boolean): boolean => {
    if (recSplit.a[rec] !== (split ? 1 : 0) || recHeader.a[rec * KEY_FIELDS + K_SRC] !== src) return false;
    const e0 = recOffsets.a[rec];
    if (recOffsets.a[rec + 1] - e0 !== n) return false;
    for (let i = 0; i < n; i++) if (entries.a[2 * (e0 + i)] !== destTmp[i] || entries.a[2 * (e0 + i) + 1] !== synTmp[i]) return false;
    if (split) for (let i = 0; i < KEY_FIELDS; i++) if (recHeader.a[rec * KEY_FIELDS + i] !== header[i]) return false;
    return true;
  };
  const stats: (LayerRouteStats | null)[] = [];
  const marks = edgeMarks(mesh);
  const f = chip.core.maxFanoutPerNeuron;
  let key = 0;
  const destTmp = new Int32Array(Math.max(1, maxListLength(dests)));
  const synTmp = new Int32Array(destTmp.length);
  let last = -1;
  for (let r = 0; r < rows; r++) {
    const D = dests[r], P = plans[r];
    if (!D || !P) {
      stats.push(null);
      continue;
    }
    const S = r < snn.layers.length ? tiled[r] : null;
    const split = !!S?.split;
    const st: LayerRouteStats = {
      avgDestinations: 0,
      maxDestinations: 0,
      splitterNeurons: 0,
      maxCopies: 1,
      perSpike: { synops: 0, packets: 0, hopsTile: 0, hopsEW: 0, hopsNS: 0, chipCrossings: 0 },
      relay: split ? { spikes: 0, synops: 0, packets: 0, hopsTile: 0, hopsEW: 0, hopsNS: 0, chipCrossings: 0 } : null,
      maxSpan: 0,
    };
    let neurons = 0;
    for (let y = 0; y < D.H; y++)
      for (let x = 0; x < D.W; x++)
        for (let b = 0; b < P.nb; b++) {
          const c0 = P.blockStart[b];
          const width = P.blockStart[b + 1] - c0;
          const k = (y * D.W + x) * D.nb + D.cbOf[c0];
          const a = D.offsets[k], z = D.offsets[k + 1];
          const n = z - a;
          // the entries in ascending global core order (insertion sort: the lists are short; stable)
          for (let i = 0; i < n; i++) {
            const d = provToGlobal[D.core[a + i]], sy = D.syn[a + i];
            let j = i;
            while (j > 0 && destTmp[j - 1] > d) {
              destTmp[j] = destTmp[j - 1];
              synTmp[j] = synTmp[j - 1];
              j--;
            }
            destTmp[j] = d;
            synTmp[j] = sy;
          }
          let syn = 0;
          for (let i = 0; i < n; i++) syn += synTmp[i];
          const src = S ? neuronCore(S, y, x, c0) : -1;
          const copies = Number.isFinite(f) ? Math.max(1, Math.ceil(n / f)) : 1;
          let relay: Omit<PacketCost, 'span'> | null = null;
          if (split) {
            // the relay legs and the whole header first: a split key is looked up by its record
            const m = S!.split!.m;
            relay = { packets: 0, hopsTile: 0, hopsEW: 0, hopsNS: 0, chipCrossings: 0 };
            for (let j = 0; j < m; j++) {
              const p = partialCore(S!, j, y, x, c0);
              relay.packets++;
              if (mesh.router[p] === mesh.router[src]) relay.hopsTile++;
              else {
                const h = xyHops(chip, mesh.meshX[p], mesh.meshY[p], mesh.meshX[src], mesh.meshY[src]);
                relay.hopsEW += h.hopsEW;
                relay.hopsNS += h.hopsNS;
                relay.chipCrossings += h.chipCrossings;
                st.maxSpan = Math.max(st.maxSpan, h.hopsEW, h.hopsNS);
              }
            }
            const pc = packetCost(chip, mesh, src, destTmp, 0, n, marks);
            setHeader(src, copies, pc, relay, m);
            st.maxSpan = Math.max(st.maxSpan, pc.span);
          }
          // find the record: the previous key's first (neighbours share one), then the table
          let rec = -1;
          if (last >= 0 && sameAs(last, src, n, split)) rec = last;
          else {
            let k = 0;
            cand[k++] = src;
            cand[k++] = n;
            for (let i = 0; i < n; i++) {
              cand[k++] = destTmp[i];
              cand[k++] = synTmp[i];
            }
            if (split) for (let i = 0; i < KEY_FIELDS; i++) cand[k++] = header[i];
            const hash = hashInts(cand, k);
            rec = byHash.find(hash, (r) => sameAs(r, src, n, split));
            if (rec < 0) {
              if (!split) {
                const pc = packetCost(chip, mesh, src, destTmp, 0, n, marks);
                setHeader(src, copies, pc, noRelay, 0);
                recSpan.push(pc.span);
              } else recSpan.push(0);
              rec = nRec++;
              byHash.add(hash, rec);
              recSplit.push(split ? 1 : 0);
              recHeader.reserve(KEY_FIELDS);
              recHeader.a.set(header, recHeader.n);
              recHeader.n += KEY_FIELDS;
              entries.reserve(2 * n);
              for (let i = 0; i < n; i++) {
                entries.a[entries.n++] = destTmp[i];
                entries.a[entries.n++] = synTmp[i];
              }
              recOffsets.push(entries.n / 2);
            }
          }
          keyRec[key++] = rec;
          last = rec;
          const hd = rec * KEY_FIELDS, H = recHeader.a;
          if (relay) {
            const R = st.relay!;
            const m = S!.split!.m;
            R.spikes += m * width;
            R.synops += m * width;
            R.packets += relay.packets * width;
            R.hopsTile += relay.hopsTile * width;
            R.hopsEW += relay.hopsEW * width;
            R.hopsNS += relay.hopsNS * width;
            R.chipCrossings += relay.chipCrossings * width;
          } else st.maxSpan = Math.max(st.maxSpan, recSpan.a[rec]);
          neurons += width;
          st.avgDestinations += n * width;
          st.maxDestinations = Math.max(st.maxDestinations, n);
          st.splitterNeurons += (copies - 1) * width;
          st.maxCopies = Math.max(st.maxCopies, copies);
          const ps = st.perSpike;
          ps.synops += (syn + H[hd + K_RELAY_SYNOPS]) * width;
          ps.packets += H[hd + K_PACKETS] * width;
          ps.hopsTile += H[hd + K_HOPS_TILE] * width;
          ps.hopsEW += H[hd + K_HOPS_EW] * width;
          ps.hopsNS += H[hd + K_HOPS_NS] * width;
          ps.chipCrossings += H[hd + K_CROSSINGS] * width;
          if (src >= 0) inp.coreFanout[src] += n * width;
        }
    const div = Math.max(1, neurons);
    st.avgDestinations /= div;
    for (const k of Object.keys(st.perSpike) as (keyof LayerRouteStats['perSpike'])[]) st.perSpike[k] /= div;
    if (st.relay) for (const k of Object.keys(st.relay) as (keyof NonNullable<LayerRouteStats['relay']>)[]) st.relay[k] /= div;
    stats.push(st);
  }
  // views of the filled parts: the rest of each buffer was never written, so it is not resident
  const tables: RouteTables = {
    version: ROUTE_FORMAT_VERSION, layerInfo, blockOf, keyRec,
    recHeader: recHeader.done(), recOffsets: recOffsets.done(), entries: entries.done(),
  };
  return { tables, stats };
}

function maxListLength(dests: (DestLists | null)[]): number {
  let m = 0;
  for (const D of dests) {
    if (!D) continue;
    for (let i = 0; i + 1 < D.offsets.length; i++) m = Math.max(m, D.offsets[i + 1] - D.offsets[i]);
  }
  return m;
}

/** The key of a spike of row `row` (SNN layer index, or n for the input) at (y, x, c). */
export function routeKey(t: RouteTables, row: number, y: number, x: number, c: number): number {
  const o = row * LAYER_FIELDS;
  if (!t.layerInfo[o + T_HAS]) throw new Error(`layer ${row} has no route table (it does not emit spikes)`);
  const W = t.layerInfo[o + T_W], nb = t.layerInfo[o + T_NB];
  return t.layerInfo[o + T_KEY_BASE] + (y * W + x) * nb + t.blockOf[t.layerInfo[o + T_BLOCK_BASE] + c];
}

// ---------------------------------------------------------------------------------------------
// One spike's cost: from the table (what the WASM core does), and recomputed from scratch

/** The events one spike costs, by core. */
export interface SpikeCost {
  key: number;
  srcCore: number;
  spikesOut: number;
  packets: number;
  hopsTile: number;
  hopsEW: number;
  hopsNS: number;
  chipCrossings: number;
  /** relay synaptic events at srcCore (split layers) */
  relaySynops: number;
  /** (core, synaptic events) in ascending core order */
  synops: [number, number][];
}

/** Mapping fields routing reads (structural, so that routing.ts does not import mapper.ts). */
export interface MappedNetwork {
  snn: SnnNetwork;
  chip: ChipParams;
  tiled: (TiledLayer | null)[];
  placement: MeshCoords;
  routes: RouteTables;
}

const rowOf = (m: MappedNetwork, layer: number) => (layer < 0 ? m.snn.layers.length : layer);

/** The cost of a spike of `layer` (−1: the Poisson input) at (y, x, c), read from the route table. */
export function spikeCost(m: MappedNetwork, layer: number, y: number, x: number, c: number): SpikeCost {
  const t = m.routes;
  const key = routeKey(t, rowOf(m, layer), y, x, c);
  const rec = t.keyRec[key], h = rec * KEY_FIELDS;
  const synops: [number, number][] = [];
  for (let e = t.recOffsets[rec]; e < t.recOffsets[rec + 1]; e++) synops.push([t.entries[2 * e], t.entries[2 * e + 1]]);
  return {
    key,
    srcCore: t.recHeader[h + K_SRC],
    spikesOut: t.recHeader[h + K_SPIKES],
    packets: t.recHeader[h + K_PACKETS],
    hopsTile: t.recHeader[h + K_HOPS_TILE],
    hopsEW: t.recHeader[h + K_HOPS_EW],
    hopsNS: t.recHeader[h + K_HOPS_NS],
    chipCrossings: t.recHeader[h + K_CROSSINGS],
    relaySynops: t.recHeader[h + K_RELAY_SYNOPS],
    synops,
  };
}

/**
 * The same cost recomputed without the tables, by plain enumeration: the wiring walked layer by
 * layer, every consumer row and column tested against the receptive field, copies recounted from
 * the consumer neuron's own destinations, packets walked router by router. Slow; for tests and for
 * checking the WASM integration.
 */
export function spikeCostDirect(m: MappedNetwork, layer: number, y: number, x: number, c: number): SpikeCost {
  const { snn, chip, tiled, placement: mesh } = m;
  const f = chip.core.maxFanoutPerNeuron;
  const channels = (i: number) => (i < 0 ? snn.ann.input.c : snn.layers[i].outShape.c);
  type Point = { K: number; y: number; x: number; c: number };
  const expand = (src: number, y0: number, x0: number, c0: number, out: Point[]) => {
    for (const K of snn.layers) {
      if (K.kind === 'route') {
        let off = 0;
        for (const s of K.layers) {
          if (s === src) expand(K.index, y0, x0, c0 + off, out);
          off += channels(s);
        }
      } else if (K.inputs[0] === src) {
        if (K.kind === 'upsample') {
          for (let i = 0; i < K.stride; i++) for (let j = 0; j < K.stride; j++) expand(K.index, y0 * K.stride + i, x0 * K.stride + j, c0, out);
        } else out.push({ K: K.index, y: y0, x: x0, c: c0 });
      }
    }
  };
  const sliceAt = (T: TiledLayer, flat: number) => {
    const st = T.split!.sliceStart;
    let j = 0;
    while (j + 1 < st.length - 1 && st[j + 1] <= flat) j++;
    return j;
  };
  /** every (core, neuron) an input event at point p reaches: visit(core, K, oy, ox, o, partial) */
  const reach = (p: Point, visit: (core: number, T: TiledLayer, oy: number, ox: number, o: number, partial: boolean) => void) => {
    const T = tiled[p.K];
    if (!T) throw new Error(`layer ${p.K} is not mapped`);
    const rows: number[] = [], cols: number[] = [];
    for (let oy = 0; oy < T.H; oy++) {
      const ky = p.y - (oy * T.s - T.pad);
      if (ky >= 0 && ky < T.k) rows.push(oy);
    }
    for (let ox = 0; ox < T.W; ox++) {
      const kx = p.x - (ox * T.s - T.pad);
      if (kx >= 0 && kx < T.k) cols.push(ox);
    }
    for (const oy of rows)
      for (const ox of cols) {
        if (T.kind === 'maxpool') {
          visit(neuronCore(T, oy, ox, p.c), T, oy, ox, p.c, false);
          continue;
        }
        const g = Math.floor(p.c / T.cinG);
        const ci = p.c - g * T.cinG;
        const ky = p.y - (oy * T.s - T.pad), kx = p.x - (ox * T.s - T.pad);
        for (let o = g * T.coutG; o < (g + 1) * T.coutG; o++) {
          if (T.split) visit(partialCore(T, sliceAt(T, (ci * T.k + ky) * T.k + kx), oy, ox, o), T, oy, ox, o, true);
          else visit(neuronCore(T, oy, ox, o), T, oy, ox, o, false);
        }
      }
  };
  const destCores = (src: number, y0: number, x0: number, c0: number): Set<number> => {
    const pts: Point[] = [];
    expand(src, y0, x0, c0, pts);
    const set = new Set<number>();
    for (const p of pts) reach(p, (core) => set.add(core));
    return set;
  };
  const copyMemo = new Map<string, number>();
  const copies = (T: TiledLayer, oy: number, ox: number, o: number): number => {
    if (!Number.isFinite(f)) return 1;
    const L = snn.layers[T.index];
    if (L.kind === 'conv' && L.rule === 'integrate') return 1;
    const id = `${T.index}:${oy}:${ox}:${o}`;
    let v = copyMemo.get(id);
    if (v === undefined) {
      v = Math.max(1, Math.ceil(destCores(T.index, oy, ox, o).size / f));
      copyMemo.set(id, v);
    }
    return v;
  };
  const pts: Point[] = [];
  expand(layer, y, x, c, pts);
  const syn = new Map<number, number>();
  for (const p of pts) reach(p, (core, T, oy, ox, o, partial) => syn.set(core, (syn.get(core) ?? 0) + (partial ? 1 : copies(T, oy, ox, o))));
  const dests = [...syn.keys()].sort((a, b) => a - b);
  const S = layer >= 0 ? tiled[layer] : null;
  const src = S ? neuronCore(S, y, x, c) : -1;
  const out: SpikeCost = {
    key: -1, srcCore: src, spikesOut: 0, packets: 0, hopsTile: 0, hopsEW: 0, hopsNS: 0, chipCrossings: 0, relaySynops: 0,
    synops: dests.map((d) => [d, syn.get(d)!] as [number, number]),
  };
  const chipOf = (mx: number, my: number) => `${Math.floor(mx / chip.chip.tilesX)},${Math.floor(my / chip.chip.tilesY)}`;
  /** steps of the XY path, as [from, to] router coordinates */
  const steps = (a: number, b: number): [number, number, number, number][] => {
    const res: [number, number, number, number][] = [];
    let cx = mesh.meshX[a], cy = mesh.meshY[a];
    const tx = mesh.meshX[b], ty = mesh.meshY[b];
    while (cx !== tx) {
      const nx = cx + Math.sign(tx - cx);
      res.push([cx, cy, nx, cy]);
      cx = nx;
    }
    while (cy !== ty) {
      const ny = cy + Math.sign(ty - cy);
      res.push([cx, cy, cx, ny]);
      cy = ny;
    }
    return res;
  };
  const count = (st: [number, number, number, number][], seen?: Set<string>) => {
    for (const [x1, y1, x2, y2] of st) {
      const id = `${Math.min(x1, x2)},${Math.min(y1, y2)},${y1 === y2 ? 'h' : 'v'}`;
      if (seen) {
        if (seen.has(id)) continue;
        seen.add(id);
      }
      if (y1 === y2) out.hopsEW++;
      else out.hopsNS++;
      if (chipOf(x1, y1) !== chipOf(x2, y2)) out.chipCrossings++;
    }
  };
  if (src >= 0 && dests.length) {
    const nCopies = Number.isFinite(f) ? Math.max(1, Math.ceil(dests.length / f)) : 1;
    out.spikesOut = nCopies;
    const sameRouter = (d: number) => mesh.meshX[d] === mesh.meshX[src] && mesh.meshY[d] === mesh.meshY[src];
    if (!chip.noc.multicast) {
      for (const d of dests) {
        out.packets++;
        if (sameRouter(d)) out.hopsTile++;
        else count(steps(src, d));
      }
    } else {
      const group = Number.isFinite(f) ? f : dests.length;
      for (let g0 = 0; g0 < dests.length; g0 += group) {
        out.packets++;
        const seen = new Set<string>();
        for (const d of dests.slice(g0, g0 + group)) {
          if (sameRouter(d)) out.hopsTile++;
          else count(steps(src, d), seen);
        }
      }
    }
  } else if (src >= 0) out.spikesOut = 1;
  if (S?.split) {
    for (let j = 0; j < S.split.m; j++) {
      const p = partialCore(S, j, y, x, c);
      out.spikesOut++;
      out.packets++;
      out.relaySynops++;
      if (mesh.meshX[p] === mesh.meshX[src] && mesh.meshY[p] === mesh.meshY[src]) out.hopsTile++;
      else count(steps(p, src));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Expected traffic

/** Expected packets per tick on every mesh link. */
export interface Traffic {
  meshWidth: number;
  meshHeight: number;
  /** link (x, y)–(x+1, y) at y·meshWidth + x, both directions summed */
  ew: Float64Array;
  /** link (x, y)–(x, y+1) at y·meshWidth + x, both directions summed */
  ns: Float64Array;
  /** packets delivered inside their source router, per router */
  local: Float64Array;
  packetsPerTick: number;
  /** the most loaded link */
  maxLink: { ew: boolean; x: number; y: number; packets: number };
}

/**
 * Expected packets per tick on each link, given per-layer spike rates (spikes per neuron per tick,
 * indexed by SNN layer; missing → 0): every key's packets (and a split layer's relay packets)
 * weighted by rate × the neurons of its channel block, walked along their XY paths. Host-injected
 * input spikes are not counted.
 */
export function expectedTraffic(m: MappedNetwork, rates: ArrayLike<number>): Traffic {
  const { snn, chip, tiled, placement: mesh, routes: t } = m;
  const MW = mesh.meshWidth, MH = mesh.meshHeight;
  const dEW = new Float64Array(MH * (MW + 1));
  const dNS = new Float64Array(MW * (MH + 1));
  const ew = new Float64Array(MW * MH), ns = new Float64Array(MW * MH), local = new Float64Array(MW * MH);
  let packetsPerTick = 0;
  const path = (sx: number, sy: number, tx: number, ty: number, w: number) => {
    if (sx !== tx) {
      dEW[sy * (MW + 1) + Math.min(sx, tx)] += w;
      dEW[sy * (MW + 1) + Math.max(sx, tx)] -= w;
    }
    if (sy !== ty) {
      dNS[tx * (MH + 1) + Math.min(sy, ty)] += w;
      dNS[tx * (MH + 1) + Math.max(sy, ty)] -= w;
    }
  };
  const marks = edgeMarks(mesh);
  const f = chip.core.maxFanoutPerNeuron;
  for (let L = 0; L < snn.layers.length; L++) {
    const o = L * LAYER_FIELDS;
    const rate = rates[L] ?? 0;
    if (!t.layerInfo[o + T_HAS] || !(rate > 0)) continue;
    const H = t.layerInfo[o + T_H], W = t.layerInfo[o + T_W], C = t.layerInfo[o + T_C], nb = t.layerInfo[o + T_NB];
    const base = t.layerInfo[o + T_KEY_BASE], bb = t.layerInfo[o + T_BLOCK_BASE];
    const width = new Float64Array(nb);
    const first = new Int32Array(nb).fill(-1);
    for (let c = 0; c < C; c++) {
      const b = t.blockOf[bb + c];
      width[b]++;
      if (first[b] < 0) first[b] = c;
    }
    const S = tiled[L];
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let b = 0; b < nb; b++) {
          const key = base + (y * W + x) * nb + b;
          const w = rate * width[b];
          const rec = t.keyRec[key];
          const src = t.recHeader[rec * KEY_FIELDS + K_SRC];
          packetsPerTick += w * t.recHeader[rec * KEY_FIELDS + K_PACKETS];
          if (src < 0) continue;
          const sx = mesh.meshX[src], sy = mesh.meshY[src], sr = mesh.router[src];
          const e0 = t.recOffsets[rec], e1 = t.recOffsets[rec + 1];
          if (!chip.noc.multicast) {
            for (let e = e0; e < e1; e++) {
              const d = t.entries[2 * e];
              if (mesh.router[d] === sr) local[sr] += w;
              else path(sx, sy, mesh.meshX[d], mesh.meshY[d], w);
            }
          } else {
            const group = Number.isFinite(f) ? f : Math.max(1, e1 - e0);
            for (let g0 = e0; g0 < e1; g0 += group) {
              marks.next();
              for (let e = g0; e < Math.min(e1, g0 + group); e++) {
                const d = t.entries[2 * e];
                if (mesh.router[d] === sr) {
                  local[sr] += w;
                  continue;
                }
                walkXY(chip, MW, sx, sy, mesh.meshX[d], mesh.meshY[d], (edge, isEW) => {
                  if (!marks.take(edge)) return;
                  const r = edge >> 1;
                  if (isEW) ew[r] += w;
                  else ns[r] += w;
                });
              }
            }
          }
          if (S?.split) {
            for (let j = 0; j < S.split.m; j++) {
              const p = partialCore(S, j, y, x, first[b]);
              if (mesh.router[p] === sr) local[sr] += w;
              else path(mesh.meshX[p], mesh.meshY[p], sx, sy, w);
            }
          }
        }
  }
  for (let y = 0; y < MH; y++) {
    let acc = 0;
    for (let x = 0; x < MW; x++) {
      acc += dEW[y * (MW + 1) + x];
      ew[y * MW + x] += acc;
    }
  }
  for (let x = 0; x < MW; x++) {
    let acc = 0;
    for (let y = 0; y < MH; y++) {
      acc += dNS[x * (MH + 1) + y];
      ns[y * MW + x] += acc;
    }
  }
  const maxLink = { ew: true, x: 0, y: 0, packets: 0 };
  for (let i = 0; i < MW * MH; i++) {
    if (ew[i] > maxLink.packets) Object.assign(maxLink, { ew: true, x: i % MW, y: Math.floor(i / MW), packets: ew[i] });
    if (ns[i] > maxLink.packets) Object.assign(maxLink, { ew: false, x: i % MW, y: Math.floor(i / MW), packets: ns[i] });
  }
  return { meshWidth: MW, meshHeight: MH, ew, ns, local, packetsPerTick, maxLink };
}
