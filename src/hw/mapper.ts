/**
 * The mapper: partitions a converted spiking network (SnnNetwork) into the cores of a chip model,
 * places the cores on the board's mesh (placement.ts) and builds the route tables (routing.ts).
 *
 * ## What becomes neurons
 * - conv layers: one neuron per output unit (C×H×W);
 * - max-pool layers: one neuron per output unit too, fan-in size² from the same channel (on chip
 *   a spike max-pool is made of neurons; its input synapses are charged as synaptic events);
 * - route and upsample layers are wiring only (no neurons, no cores): a spike crossing them is
 *   routed straight to the real consumers, a route adding its channel offset, an upsample making
 *   stride² positions;
 * - the first conv reads the analog image: its input current is computed once per image by the
 *   host and is the same every tick, so its neurons are mapped but it has NO input axons and no
 *   synapses on chip (its axon and synapse-memory use is 0);
 * - the readout conv (rule 'integrate') is mapped like any conv; it sends no spikes (the host
 *   reads its membranes), so it has no route table.
 *
 * ## Tiles (per layer)
 * A layer's neurons are cut into rectangular tiles h × w (spatial) × c (channels), one tile per
 * core, all tiles of a layer of the same shape (the last ones in each dimension clipped). A tile
 * fits when, on the worst tile of the layer:
 * - neurons: Σ over its neurons of copies ≤ core.neurons (copies: see fan-out below);
 * - axons (distinct input axons the tile needs): R(h)·C(w)·(cin of the groups its channels use),
 *   R(h) = the largest number of input rows any tile's receptive field covers inside the input,
 *   = ((h−1)·s + k) away from the borders; max-pool: R(h)·C(w)·c; analog input: 0;
 * - synapse memory: shared kernels (core.sharesKernels): k²·cin_g weights per output channel
 *   stored once per core → c·k²·cin_g·bitsPerSynapse bits (a max-pool: one size² kernel);
 *   unrolled: every neuron's own synapses → Σ copies · fan-in · bitsPerSynapse (a TrueNorth
 *   crossbar is axons × neurons bits, which this never exceeds when axons and neurons fit).
 * The search tries every c in {⌈C/n⌉} and every h in {⌈H/n⌉} and takes for each the largest w in
 * {⌈W/n⌉} that fits (binary search); it keeps the tiling with the fewest cores, then the most
 * channels per tile (fewer channel blocks, less fan-out), then the squarest, then the tallest.
 *
 * ## Fan-in splits (TrueNorth-style partial sums, FACTS §4)
 * When ONE neuron's fan-in F = k²·cin/groups exceeds core.axons, each neuron is split into
 * m = ⌈F / axons⌉ partial-sum neurons, placed in partial cores, and one accumulator neuron (the
 * layer's real neuron). Partial j integrates slice j of the receptive field in the flat order
 * (ci·k + ky)·k + kx: slice j = [⌊jF/m⌋, ⌊(j+1)F/m⌋), so each slice has ≤ axons inputs. Partial
 * cores are tiled like a layer (h·w·c neurons, the slice's distinct inputs ≤ axons, the slice
 * kernels in memory); accumulator cores need m relay axons per accumulator neuron. m is the least
 * number of partial sums, so the relay traffic is the least the axon limit allows.
 * Relay-spike estimate (the simulator runs the accumulator, not the partials): every output
 * spike of a split layer costs m relay spikes, one from each partial neuron of that output unit,
 * each a packet from the partial core to the accumulator core (its XY hops) and one synaptic
 * event at the accumulator. It is a function of the layer's output spikes only, written into the
 * route table header of each source key (K_SPIKES, K_PACKETS, hops, K_RELAY_SYNOPS) and reported
 * per layer as `split.relayPerSpike`: an ESTIMATE (partial sums fire about as often as the sum they
 * feed when their thresholds are scaled by 1/m), stated as such in the report.
 *
 * ## Fan-out
 * Where core.maxFanoutPerNeuron = f is finite (TrueNorth: one target core per neuron), a neuron
 * whose spikes must reach d destination cores needs ceil(d / f) − 1 duplicates ("splitters"): copies
 * of the neuron in the same core, with the same inputs and weights (so no extra axons), each
 * targeting its own destination core (Esser et al. 2016 practice). They take neuron slots (the
 * tiling above counts them), their synapses are charged when an input spike reaches the neuron,
 * and they fire with it (K_SPIKES). Layers are therefore tiled from the last to the first: a
 * layer's copies depend on how its consumers are tiled. Reported per layer: average destinations,
 * splitter neurons (Σ duplicates), splitter cores (cores with copies − cores without).
 *
 * ## Weight values
 * Where core.maxWeightsPerNeuron is finite (TrueNorth: 4 axon types) the mapper does not refuse: it
 * records a precision note (the weights would need quantizing to that many levels per neuron).
 *
 * ## Refusals (UserError naming the constraint, the layer and the numbers)
 * cores per board; synapse memory of one output channel's kernel (or one neuron's synapses);
 * axons of one max-pool neuron (a max cannot be split); axons of an accumulator (m > axons);
 * neurons per core for one neuron's copies.
 *
 * ## Board
 * opts.board overrides the chip file's board; otherwise the file's board is used, and when it is
 * too small and opts.autoBoard is set, the smallest square board that fits (the report says so).
 */
import type { SnnConvLayer, SnnMaxPoolLayer, SnnNetwork, SpikeRule } from '../convert/snn-ir.ts';
import type { Shape } from '../model/ir.ts';
import { UserError } from '../util/errors.ts';
import type { ChipParams } from './chip-schema.ts';
import { boardLimitProblem } from './chip-schema.ts';
import { boardCores, placeCores, smallestSquareBoard, type Board, type Placement } from './placement.ts';
import {
  buildRouteTables,
  computeDestLists,
  copiesFrom,
  keyCount,
  recordCount,
  makeGrid,
  type CopiesMap,
  type DestLists,
  type LayerGeometry,
  type LayerRouteStats,
  type RouteTables,
  type TileGrid,
  type TiledLayer,
} from './routing.ts';

export type { Board } from './placement.ts';

export interface MapOptions {
  /** the board (chips × chips); default: the chip file's */
  board?: Board;
  /** when the board is too small: take the smallest square board that fits instead of refusing */
  autoBoard?: boolean;
  /** progress lines (the CLI prints them on stderr) */
  onProgress?: (line: string) => void;
  /**
   * The order of cores along the placement path (placement.ts): 'layers' puts each layer's cores
   * after the previous layer's; 'regions' (the default) cuts the image into an R×R grid of
   * regions (R = ⌈√chips⌉) and places the cores of every layer whose tiles centre in one region
   * together, regions in snake order, so a layer's spikes to the next layer mostly stay on their
   * chip (on one chip both orders are the same).
   */
  placement?: PlacementOrder;
}

export type PlacementOrder = 'layers' | 'regions';
export const PLACEMENT_ORDERS: readonly PlacementOrder[] = ['layers', 'regions'];
/** measured: on the face detector at 416 it cuts chip-crossing energy by half (README, `run`) */
export const DEFAULT_PLACEMENT: PlacementOrder = 'regions';

export interface TileShape {
  h: number;
  w: number;
  c: number;
}

export interface Usage {
  used: number;
  /** cores × per-core capacity (Infinity when the chip has no such limit) */
  available: number;
}

export interface LayerMapping {
  layer: number;
  name: string;
  kind: 'conv' | 'maxpool';
  rule: SpikeRule | 'maxpool';
  shape: Shape;
  /** H·W·C (accumulators of a split layer; copies and partials not included) */
  neurons: number;
  /** synapses per neuron (conv k²·cin/groups; max-pool size²); 0 where the input is analog */
  fanIn: number;
  analogInput: boolean;
  /** sends spikes (has a route table) */
  emits: boolean;
  tile: TileShape;
  grid: TileGrid;
  /** the layer's cores are [firstCore, firstCore + cores): partial cores first, then neuron cores */
  firstCore: number;
  cores: number;
  firstNeuronCore: number;
  neuronCores: number;
  /** the constraint its neuron tiles are closest to */
  limit: 'neurons' | 'axons' | 'synapse memory';
  split: null | {
    m: number;
    fanIn: number;
    /** inputs of the largest slice (≤ axons) */
    sliceInputs: number;
    tile: TileShape;
    grid: TileGrid;
    firstCore: number;
    partialNeurons: number;
    partialCores: number;
    limit: 'neurons' | 'axons' | 'synapse memory';
    /** relay cost per output spike (estimate; see the module comment), means over the layer */
    relayPerSpike: NonNullable<LayerRouteStats['relay']> | null;
  };
  fanout: {
    avgDestinations: number;
    maxDestinations: number;
    maxCopies: number;
    splitterNeurons: number;
    splitterCores: number;
  };
  utilization: { neurons: Usage; axons: Usage; synapseBits: Usage };
  /** weight-precision note (max weights per neuron), or null */
  precision: string | null;
  /** mean cost of one output spike (route table header + entries), or null if it sends none */
  perSpike: LayerRouteStats['perSpike'] | null;
}

/** Per-core arrays indexed by core id. */
export interface CoreArrays {
  count: number;
  layer: Int32Array;
  /** 0 neuron core (the layer's neurons / accumulators), 1 partial-sum core */
  role: Uint8Array;
  /** neurons used, copies and partial neurons included */
  neurons: Int32Array;
  axons: Int32Array;
  synapseBits: Float64Array;
  /** neuron→core edges leaving the core (Σ over its neurons of destination cores) */
  fanout: Float64Array;
}

export interface Mapping {
  network: string;
  chipName: string;
  chip: ChipParams;
  board: Board;
  /** where the board came from (file, option, auto) */
  boardNote: string;
  snn: SnnNetwork;
  layers: (LayerMapping | null)[];
  /** per SNN layer, core numbering in global core ids (null: route / upsample) */
  tiled: (TiledLayer | null)[];
  cores: CoreArrays;
  coresUsed: number;
  chipsUsed: number;
  routersUsed: number;
  placement: Placement;
  routes: RouteTables;
  /** route statistics of the Poisson input (host-injected spikes), or null with analog input */
  inputStats: LayerRouteStats | null;
  notes: string[];
}

// ---------------------------------------------------------------------------------------------
// helpers

export function thousandsOf(n: number): string {
  if (!Number.isFinite(n)) return '∞';
  return Math.round(n).toLocaleString('en-US');
}

type MappedLayer = SnnConvLayer | SnnMaxPoolLayer;

interface Geo extends LayerGeometry {
  L: MappedLayer;
  analog: boolean;
  emits: boolean;
  F: number;
}

function geometry(snn: SnnNetwork, L: MappedLayer): Geo {
  const { c: C, h: H, w: W } = L.outShape;
  const { c: inC, h: inH, w: inW } = L.inShape;
  const analog = L.kind === 'conv' && L.inputs[0] < 0 && (snn.settings?.input ?? 'analog') === 'analog';
  if (L.kind === 'maxpool') {
    return { L, index: L.index, kind: 'maxpool', H, W, C, inH, inW, inC, k: L.size, s: L.stride, pad: L.padBegin, groups: C, cinG: 1, coutG: 1, analog: false, emits: true, F: L.size * L.size };
  }
  const cinG = inC / L.groups, coutG = C / L.groups;
  return {
    L, index: L.index, kind: 'conv', H, W, C, inH, inW, inC, k: L.size, s: L.stride, pad: L.pad, groups: L.groups, cinG, coutG,
    analog, emits: L.rule !== 'integrate', F: L.size * L.size * cinG,
  };
}

export function layerLabel(L: { index: number; kind: string; outShape: Shape }): string {
  const s = L.outShape;
  return `layer ${L.index} ${L.kind} (${s.h}x${s.w}x${s.c})`;
}

/** Input span of output range [a, b) along one axis, clipped to the input. */
function span(a: number, b: number, inN: number, k: number, s: number, pad: number): number {
  const lo = Math.max(0, a * s - pad), hi = Math.min(inN, (b - 1) * s - pad + k);
  return Math.max(0, hi - lo);
}

/** The largest input span over the tiles of size t of an axis of outN outputs. */
function spanMax(outN: number, inN: number, t: number, k: number, s: number, pad: number): number {
  let best = 0;
  for (let a = 0; a < outN; a += t) best = Math.max(best, span(a, Math.min(outN, a + t), inN, k, s, pad));
  return best;
}

function memo<T>(f: (n: number) => T): (n: number) => T {
  const m = new Map<number, T>();
  return (n) => {
    let v = m.get(n);
    if (v === undefined) {
      v = f(n);
      m.set(n, v);
    }
    return v;
  };
}

/** Distinct ⌈N/n⌉ for n = 1 … N, ascending. */
function tileSizes(N: number): number[] {
  const s = new Set<number>();
  for (let n = 1; n <= N; n++) s.add(Math.ceil(N / n));
  return [...s].sort((a, b) => a - b);
}

/** Groups a channel tile of size c can span at most (conv with groups > 1). */
function groupsSpannedMax(C: number, coutG: number, c: number): number {
  let best = 1;
  for (let a = 0; a < C; a += c) {
    const b = Math.min(C, a + c);
    best = Math.max(best, Math.floor((b - 1) / coutG) - Math.floor(a / coutG) + 1);
  }
  return best;
}

/** Finds the tiling with the fewest tiles (see the module comment for the tie-breaks). */
function searchTiles(H: number, W: number, C: number, fits: (h: number, w: number, c: number) => boolean): { tile: TileShape; count: number } | null {
  const hV = tileSizes(H), wV = tileSizes(W), cV = tileSizes(C);
  let best: { tile: TileShape; count: number } | null = null;
  const better = (t: TileShape, count: number): boolean => {
    if (!best) return true;
    const b = best.tile;
    if (count !== best.count) return count < best.count;
    if (t.c !== b.c) return t.c > b.c;
    const sq = Math.abs(t.h - t.w), sqB = Math.abs(b.h - b.w);
    if (sq !== sqB) return sq < sqB;
    return t.h > b.h;
  };
  for (let ci = cV.length - 1; ci >= 0; ci--) {
    const c = cV[ci];
    const nc = Math.ceil(C / c);
    if (best && nc > best.count) continue;
    for (let hi = hV.length - 1; hi >= 0; hi--) {
      const h = hV[hi];
      const ny = Math.ceil(H / h);
      if (best && ny * nc > best.count) break;
      let lo = 0, up = wV.length - 1, ans = -1;
      while (lo <= up) {
        const mid = (lo + up) >> 1;
        if (fits(h, wV[mid], c)) {
          ans = mid;
          lo = mid + 1;
        } else up = mid - 1;
      }
      if (ans < 0) continue;
      const w = wV[ans];
      const count = ny * Math.ceil(W / w) * nc;
      const t = { h, w, c };
      if (better(t, count)) best = { tile: t, count };
    }
  }
  return best;
}

/** Max over a layer's tiles of Σ copies, via prefix sums per copy block. */
class CopiesTiles {
  private pre: Float64Array[];
  constructor(private cp: CopiesMap, private H: number, private W: number) {
    this.pre = [];
    const W1 = W + 1;
    for (let b = 0; b < cp.nb; b++) {
      const p = new Float64Array((H + 1) * W1);
      for (let y = 0; y < H; y++) {
        let row = 0;
        for (let x = 0; x < W; x++) {
          row += cp.vals[(y * W + x) * cp.nb + b];
          p[(y + 1) * W1 + x + 1] = p[y * W1 + x + 1] + row;
        }
      }
      this.pre.push(p);
    }
  }
  /** Σ copies over the tile [y0,y1)×[x0,x1)×[c0,c1) */
  sum(y0: number, y1: number, x0: number, x1: number, c0: number, c1: number): number {
    const cp = this.cp, W1 = this.W + 1;
    let s = 0;
    for (let b = cp.cbOf[c0]; b < cp.nb && cp.cbStart[b] < c1; b++) {
      const n = Math.min(c1, cp.cbStart[b + 1]) - Math.max(c0, cp.cbStart[b]);
      if (n <= 0) continue;
      const p = this.pre[b];
      s += n * (p[y1 * W1 + x1] - p[y0 * W1 + x1] - p[y1 * W1 + x0] + p[y0 * W1 + x0]);
    }
    return s;
  }
  /** max over tiles (stops early once above `limit`) */
  max(h: number, w: number, c: number, C: number, limit: number): number {
    let best = 0;
    for (let c0 = 0; c0 < C; c0 += c)
      for (let y0 = 0; y0 < this.H; y0 += h)
        for (let x0 = 0; x0 < this.W; x0 += w) {
          const v = this.sum(y0, Math.min(this.H, y0 + h), x0, Math.min(this.W, x0 + w), c0, Math.min(C, c0 + c));
          if (v > best) {
            best = v;
            if (best > limit) return best;
          }
        }
    return best;
  }
}

// ---------------------------------------------------------------------------------------------
// fan-in slices

interface Slices {
  m: number;
  F: number;
  sliceOf: Int32Array;
  sliceStart: Int32Array;
  maxInputs: number;
}

function makeSlices(F: number, m: number): Slices {
  const sliceStart = new Int32Array(m + 1);
  for (let j = 0; j <= m; j++) sliceStart[j] = Math.floor((j * F) / m);
  const sliceOf = new Int32Array(F);
  let maxInputs = 0;
  for (let j = 0; j < m; j++) {
    sliceOf.fill(j, sliceStart[j], sliceStart[j + 1]);
    maxInputs = Math.max(maxInputs, sliceStart[j + 1] - sliceStart[j]);
  }
  return { m, F, sliceOf, sliceStart, maxInputs };
}

/** Distinct input cells that taps [t0, t1) of a k×k kernel reach from the output block [y0,y1)×[x0,x1), clipped to the input. */
function tapUnion(g: Geo, t0: number, t1: number, y0: number, y1: number, x0: number, x1: number, clip: boolean): number {
  const { k, s, pad } = g;
  const gy0 = y0 * s - pad, gx0 = x0 * s - pad;
  const Gh = (y1 - y0 - 1) * s + k, Gw = (x1 - x0 - 1) * s + k;
  const seen = new Uint8Array(Gh * Gw);
  let n = 0;
  for (let t = t0; t < t1; t++) {
    const ky = Math.floor(t / k), kx = t - ky * k;
    for (let oy = y0; oy < y1; oy++) {
      const iy = oy * s - pad + ky;
      if (clip && (iy < 0 || iy >= g.inH)) continue;
      for (let ox = x0; ox < x1; ox++) {
        const ix = ox * s - pad + kx;
        if (clip && (ix < 0 || ix >= g.inW)) continue;
        const cell = (iy - gy0) * Gw + (ix - gx0);
        if (!seen[cell]) {
          seen[cell] = 1;
          n++;
        }
      }
    }
  }
  return n;
}

/**
 * Distinct inputs of slice j (per group) over the output block: full channels of the slice
 * contribute the block's footprint (rows × cols), channels cut by the slice the union of their
 * taps in it. `full` = rows × cols of the block.
 */
function sliceInputs(g: Geo, sl: Slices, j: number, full: number, block: (t0: number, t1: number) => number): number {
  const kk = g.k * g.k;
  const a = sl.sliceStart[j], b = sl.sliceStart[j + 1];
  if (b <= a) return 0;
  const c0 = Math.floor(a / kk), c1 = Math.floor((b - 1) / kk);
  let n = 0;
  for (let ci = c0; ci <= c1; ci++) {
    const lo = Math.max(a, ci * kk), hi = Math.min(b, (ci + 1) * kk);
    if (lo === ci * kk && hi === (ci + 1) * kk) n += full;
    else n += Math.min(full, block(lo - ci * kk, hi - ci * kk));
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// the partition of one layer

interface LayerPlan {
  geo: Geo;
  grid: TileGrid;
  limit: LayerMapping['limit'];
  split: null | { sl: Slices; grid: TileGrid; limit: LayerMapping['limit'] };
  copies: CopiesMap | null;
  dests: DestLists | null;
  /** neuron cores a tiling without copies would need */
  coresWithoutCopies: number;
  provBase: number;
}

function limitOf(r: { neurons: number; axons: number; mem: number }): LayerMapping['limit'] {
  if (r.axons >= r.neurons && r.axons >= r.mem) return 'axons';
  if (r.mem > r.neurons) return 'synapse memory';
  return 'neurons';
}

function partitionLayer(g: Geo, chip: ChipParams, copies: CopiesMap | null, maxDest: number, chipName: string): Omit<LayerPlan, 'dests' | 'provBase'> {
  const core = chip.core;
  const N = core.neurons, A = core.axons, M = core.synapseMemoryBits, bits = core.bitsPerSynapse;
  const shared = core.sharesKernels;
  const label = layerLabel(g.L);
  const rows = memo((h: number) => spanMax(g.H, g.inH, h, g.k, g.s, g.pad));
  const cols = memo((w: number) => spanMax(g.W, g.inW, w, g.k, g.s, g.pad));
  const gsp = memo((c: number) => (g.kind === 'maxpool' ? c : g.groups > 1 ? groupsSpannedMax(g.C, g.coutG, c) : 1));
  const ct = copies ? new CopiesTiles(copies, g.H, g.W) : null;
  const maxCopies = copies ? copies.max : 1, minCopies = copies ? copies.min : 1;

  if (maxCopies > N)
    throw new UserError(
      `${chipName}: ${label}: neurons per core: one neuron needs ${thousandsOf(maxCopies)} copies (its spikes reach ${thousandsOf(maxDest)} cores, ${core.maxFanoutPerNeuron} destination core${core.maxFanoutPerNeuron === 1 ? '' : 's'} per neuron), a core has ${thousandsOf(N)} neurons`,
    );
  /** Σ copies over the worst h×w×c tile (≤ limit + something when over) */
  const copySum = (h: number, w: number, c: number): number => {
    const base = h * w * c;
    if (!ct || base * maxCopies <= N) return base * maxCopies;
    if (base * minCopies > N) return base * minCopies;
    return ct.max(h, w, c, g.C, N);
  };

  // ---- fan-in split
  let sl: Slices | null = null;
  if (g.kind === 'conv' && !g.analog && g.F > A) {
    const m = Math.ceil(g.F / A);
    if (m > A)
      throw new UserError(
        `${chipName}: ${label}: axons per core: one neuron's fan-in of ${thousandsOf(g.F)} inputs needs ${thousandsOf(m)} partial sums, so its accumulator needs ${thousandsOf(m)} input axons, a core has ${thousandsOf(A)}`,
      );
    sl = makeSlices(g.F, m);
  }
  if (g.kind === 'maxpool') {
    const one = Math.min(g.k, g.inH) * Math.min(g.k, g.inW);
    if (one > A)
      throw new UserError(
        `${chipName}: ${label}: axons per core: one max-pool neuron needs ${thousandsOf(one)} input axons (${g.k}x${g.k} window), a core has ${thousandsOf(A)}; a max cannot be split into partial sums`,
      );
  }
  // ---- one output channel's kernel (or one neuron's synapses) against the synapse memory
  if (!g.analog) {
    const perChannel = sl ? sl.maxInputs : g.F;
    const need = perChannel * bits;
    if (need > M) {
      const what = g.kind === 'maxpool' ? `${g.k}x${g.k} weights` : sl ? `a ${thousandsOf(perChannel)}-input slice of ${g.k}x${g.k}x${g.cinG}` : `${g.k}x${g.k}x${g.cinG} weights`;
      throw new UserError(
        `${chipName}: ${label}: synapse memory per core: ${shared ? "one output channel's kernel needs" : "one neuron's synapses need"} ${thousandsOf(need)} bits (${what} × ${bits} bit${bits === 1 ? '' : 's'}), a core has ${thousandsOf(M)} bits`,
      );
    }
  }

  // ---- the partial-sum cores of a split layer
  let split: LayerPlan['split'] = null;
  if (sl) {
    const s = sl;
    const inputsMax = memo((hw: number) => {
      const h = Math.floor(hw / 65536), w = hw % 65536;
      const full = rows(h) * cols(w);
      let best = 0;
      for (let j = 0; j < s.m; j++)
        best = Math.max(
          best,
          sliceInputs(g, s, j, full, (t0, t1) => tapUnion(g, t0, t1, 0, h, 0, w, false)),
        );
      return best;
    });
    const pAxons = (h: number, w: number, c: number) => inputsMax(h * 65536 + w) * gsp(c);
    const pMem = (h: number, w: number, c: number) => (shared ? c * s.maxInputs * bits : h * w * c * s.maxInputs * bits);
    const found = searchTiles(g.H, g.W, g.C, (h, w, c) => h * w * c <= N && pMem(h, w, c) <= M && pAxons(h, w, c) <= A);
    if (!found) throw new UserError(`${chipName}: ${label}: no partial-sum tile fits a core (neurons ${N}, axons ${thousandsOf(A)}, synapse memory ${thousandsOf(M)} bits)`);
    const t = found.tile;
    split = {
      sl: s,
      grid: makeGrid(g.H, g.W, g.C, t.h, t.w, t.c),
      limit: limitOf({ neurons: (t.h * t.w * t.c) / N, axons: pAxons(t.h, t.w, t.c) / A, mem: pMem(t.h, t.w, t.c) / M }),
    };
  }

  // ---- the neuron (accumulator) cores
  const F = g.analog ? 0 : sl ? sl.m : g.F;
  const axons = (h: number, w: number, c: number): number => {
    if (g.analog) return 0;
    if (sl) return sl.m * h * w * c;
    return rows(h) * cols(w) * (g.kind === 'maxpool' ? c : gsp(c) * g.cinG);
  };
  const mem = (h: number, w: number, c: number, neurons: number): number => {
    if (g.analog) return 0;
    if (!shared) return neurons * F * bits;
    if (sl || g.kind === 'maxpool') return F * bits;
    return c * F * bits;
  };
  const fitsWith = (useCopies: boolean) => (h: number, w: number, c: number) => {
    const n = useCopies ? copySum(h, w, c) : h * w * c;
    return n <= N && axons(h, w, c) <= A && mem(h, w, c, n) <= M;
  };
  const found = searchTiles(g.H, g.W, g.C, fitsWith(true));
  if (!found) throw new UserError(`${chipName}: ${label}: no tile fits a core (neurons ${N}, axons ${thousandsOf(A)}, synapse memory ${thousandsOf(M)} bits)`);
  const t = found.tile;
  const without = copies ? (searchTiles(g.H, g.W, g.C, fitsWith(false))?.count ?? found.count) : found.count;
  const n = copySum(t.h, t.w, t.c);
  return {
    geo: g,
    grid: makeGrid(g.H, g.W, g.C, t.h, t.w, t.c),
    limit: limitOf({ neurons: n / N, axons: axons(t.h, t.w, t.c) / A, mem: mem(t.h, t.w, t.c, n) / M }),
    split,
    copies,
    coresWithoutCopies: without,
  };
}

/** Per-layer precision note where the chip limits the distinct weights per neuron. */
function precisionNote(g: Geo, chip: ChipParams): string | null {
  const q = chip.core.maxWeightsPerNeuron;
  if (!Number.isFinite(q) || g.kind !== 'conv' || g.analog) return null;
  const L = g.L as SnnConvLayer;
  const per = g.F;
  let over = 0;
  const seen = new Set<number>();
  for (let o = 0; o < g.C; o++) {
    seen.clear();
    for (let i = o * per; i < (o + 1) * per; i++) {
      seen.add(L.weights[i]);
      if (seen.size > q) {
        over++;
        break;
      }
    }
  }
  if (over === 0) return null;
  return `${over} of ${g.C} output channels have more than ${q} distinct weights: the weights would need quantizing to ${q} levels per neuron (axon types)`;
}

// ---------------------------------------------------------------------------------------------
// per-core usage

function coreUsage(plan: LayerPlan, T: TiledLayer, chip: ChipParams, out: CoreArrays): void {
  const g = plan.geo;
  const bits = chip.core.bitsPerSynapse, shared = chip.core.sharesKernels;
  const idx = g.index;
  // partial cores
  if (plan.split && T.split) {
    const sl = plan.split.sl, G = T.split.grid;
    for (let ty = 0; ty < G.ny; ty++)
      for (let tx = 0; tx < G.nx; tx++)
        for (let tc = 0; tc < G.nc; tc++) {
          const y0 = ty * G.h, y1 = Math.min(g.H, y0 + G.h), x0 = tx * G.w, x1 = Math.min(g.W, x0 + G.w);
          const c0 = tc * G.c, c1 = Math.min(g.C, c0 + G.c);
          const groups = g.groups > 1 ? Math.floor((c1 - 1) / g.coutG) - Math.floor(c0 / g.coutG) + 1 : 1;
          const full = span(y0, y1, g.inH, g.k, g.s, g.pad) * span(x0, x1, g.inW, g.k, g.s, g.pad);
          const cell = (ty * G.nx + tx) * G.nc + tc;
          for (let j = 0; j < sl.m; j++) {
            const id = T.split.base + cell * sl.m + j;
            const inputs = sl.sliceStart[j + 1] - sl.sliceStart[j];
            const neurons = (y1 - y0) * (x1 - x0) * (c1 - c0);
            out.layer[id] = idx;
            out.role[id] = 1;
            out.neurons[id] = neurons;
            out.axons[id] = sliceInputs(g, sl, j, full, (t0, t1) => tapUnion(g, t0, t1, y0, y1, x0, x1, true)) * groups;
            out.synapseBits[id] = (shared ? c1 - c0 : neurons) * inputs * bits;
          }
        }
  }
  // neuron cores
  const G = T.grid;
  const ct = plan.copies ? new CopiesTiles(plan.copies, g.H, g.W) : null;
  const F = g.analog ? 0 : plan.split ? plan.split.sl.m : g.F;
  for (let ty = 0; ty < G.ny; ty++)
    for (let tx = 0; tx < G.nx; tx++)
      for (let tc = 0; tc < G.nc; tc++) {
        const y0 = ty * G.h, y1 = Math.min(g.H, y0 + G.h), x0 = tx * G.w, x1 = Math.min(g.W, x0 + G.w);
        const c0 = tc * G.c, c1 = Math.min(g.C, c0 + G.c);
        const id = T.neuronBase + (ty * G.nx + tx) * G.nc + tc;
        const distinct = (y1 - y0) * (x1 - x0) * (c1 - c0);
        const neurons = ct ? ct.sum(y0, y1, x0, x1, c0, c1) : distinct;
        let axons = 0;
        if (!g.analog) {
          if (plan.split) axons = plan.split.sl.m * distinct;
          else {
            const fp = span(y0, y1, g.inH, g.k, g.s, g.pad) * span(x0, x1, g.inW, g.k, g.s, g.pad);
            const cin = g.kind === 'maxpool' ? c1 - c0 : (g.groups > 1 ? Math.floor((c1 - 1) / g.coutG) - Math.floor(c0 / g.coutG) + 1 : 1) * g.cinG;
            axons = fp * cin;
          }
        }
        out.layer[id] = idx;
        out.role[id] = 0;
        out.neurons[id] = neurons;
        out.axons[id] = axons;
        out.synapseBits[id] = g.analog ? 0 : !shared ? neurons * F * bits : plan.split || g.kind === 'maxpool' ? F * bits : (c1 - c0) * F * bits;
      }
}

// ---------------------------------------------------------------------------------------------
// the whole network

const dims = (b: Board) => `${b.chipsX}x${b.chipsY}`;

/** Maps a spiking network onto a chip: partition, placement, routing (see the module comment). */
export function mapNetwork(snn: SnnNetwork, chip: ChipParams, opts: MapOptions = {}): Mapping {
  const progress = opts.onProgress ?? (() => {});
  const chipName = chip.variant ? `${chip.name}@${chip.variant}` : chip.name;
  const n = snn.layers.length;
  const f = chip.core.maxFanoutPerNeuron;
  const plans: (LayerPlan | null)[] = new Array(n).fill(null);
  const tiledProv: (TiledLayer | null)[] = new Array(n).fill(null);
  let provTotal = 0;
  const tiledOf = (p: Omit<LayerPlan, 'dests' | 'provBase'>, partialBase: number, neuronBase: number): TiledLayer => {
    const g = p.geo;
    return {
      index: g.index, kind: g.kind, H: g.H, W: g.W, C: g.C, inH: g.inH, inW: g.inW, inC: g.inC, k: g.k, s: g.s, pad: g.pad,
      groups: g.groups, cinG: g.cinG, coutG: g.coutG, grid: p.grid, neuronBase,
      split: p.split ? { m: p.split.sl.m, F: p.split.sl.F, sliceOf: p.split.sl.sliceOf, sliceStart: p.split.sl.sliceStart, grid: p.split.grid, base: partialBase } : null,
      copies: p.copies,
    };
  };

  // phase 1: from the last layer to the first (a layer's copies depend on its consumers' tiles)
  for (let i = n - 1; i >= 0; i--) {
    const L = snn.layers[i];
    if (L.kind !== 'conv' && L.kind !== 'maxpool') continue;
    const g = geometry(snn, L);
    const dests = g.emits ? computeDestLists(snn, tiledProv, i, provTotal) : null;
    const copies = dests ? copiesFrom(dests, f) : null;
    let maxDest = 0;
    if (dests) for (let k = 0; k + 1 < dests.offsets.length; k++) maxDest = Math.max(maxDest, dests.offsets[k + 1] - dests.offsets[k]);
    const p = partitionLayer(g, chip, copies, maxDest, chipName);
    const partialCount = p.split ? p.split.grid.count * p.split.sl.m : 0;
    const plan: LayerPlan = { ...p, dests, provBase: provTotal };
    plans[i] = plan;
    tiledProv[i] = tiledOf(p, provTotal, provTotal + partialCount);
    provTotal += partialCount + p.grid.count;
    const t = p.grid;
    progress(
      `map: ${layerLabel(L)}: ${t.h}x${t.w}x${t.c} per core, ${thousandsOf(t.count)} cores` +
        (p.split ? ` + ${thousandsOf(partialCount)} partial-sum cores (m = ${p.split.sl.m})` : '') +
        (copies ? `, up to ${copies.max} copies per neuron` : ''),
    );
  }
  const poisson = (snn.settings?.input ?? 'analog') !== 'analog';
  const inputDests = poisson ? computeDestLists(snn, tiledProv, -1, provTotal) : null;

  // board
  const total = provTotal;
  let board: Board;
  let boardNote: string;
  const fileBoard = chip.board;
  if (opts.board) {
    board = opts.board;
    boardNote = `board ${dims(board)} (given)`;
  } else {
    board = fileBoard;
    boardNote = `board ${dims(board)} (the chip file's)`;
  }
  const tooBig = boardLimitProblem(board.chipsX, board.chipsY, chip.chip.tilesX, chip.chip.tilesY);
  if (tooBig) throw new UserError(`${chipName}: ${boardNote}: ${tooBig}`);
  const cap = boardCores(chip, board);
  if (total > cap) {
    const sq = smallestSquareBoard(chip, total);
    if (opts.autoBoard && !opts.board) {
      boardNote = `board ${dims(sq)}: the smallest square board that fits (auto; the chip file's ${dims(fileBoard)} board holds ${thousandsOf(cap)} cores, the network needs ${thousandsOf(total)})`;
      board = sq;
      const sqTooBig = boardLimitProblem(sq.chipsX, sq.chipsY, chip.chip.tilesX, chip.chip.tilesY);
      if (sqTooBig) throw new UserError(`${chipName}: ${boardNote}: ${sqTooBig}`);
    } else {
      let big = -1, bigCores = 0;
      for (const p of plans) {
        if (!p) continue;
        const c = p.grid.count + (p.split ? p.split.grid.count * p.split.sl.m : 0);
        if (c > bigCores) [big, bigCores] = [p.geo.index, c];
      }
      throw new UserError(
        `${chipName}: cores per board: the network needs ${thousandsOf(total)} cores (largest: ${layerLabel(snn.layers[big])} with ${thousandsOf(bigCores)}), ` +
          `the board has ${thousandsOf(cap)} (${dims(board)} chips × ${thousandsOf(chip.chip.cores)} cores); use a larger board (--board ${dims(sq)}) or --auto-board`,
      );
    }
  }

  // phase 2: global numbering in layer order, placement
  const provToGlobal = new Int32Array(Math.max(1, total));
  const tiled: (TiledLayer | null)[] = new Array(n).fill(null);
  const firstCore = new Array<number>(n).fill(0);
  let next = 0;
  for (let i = 0; i < n; i++) {
    const p = plans[i];
    const tp = tiledProv[i];
    if (!p || !tp) continue;
    const count = p.grid.count + (p.split ? p.split.grid.count * p.split.sl.m : 0);
    for (let k = 0; k < count; k++) provToGlobal[p.provBase + k] = next + k;
    firstCore[i] = next;
    const partialCount = count - p.grid.count;
    tiled[i] = { ...tp, neuronBase: next + partialCount, split: tp.split ? { ...tp.split, base: next } : null };
    next += count;
  }
  // slots: layer order; inside a layer by tile start (y, x, c), partial-sum cores before accumulators
  // ('regions': first by the region of the image the tile centres in, see MapOptions.placement)
  const placementOrder = opts.placement ?? DEFAULT_PLACEMENT;
  const R = placementOrder === 'regions' ? Math.max(1, Math.ceil(Math.sqrt(Math.ceil(total / chip.chip.cores)))) : 1;
  const slotOf = new Int32Array(total);
  const regional: [number, number, number, number][] = []; // region rank, layer, rank in layer, core id
  for (let i = 0; i < n; i++) {
    const p = plans[i], T = tiled[i];
    if (!p || !T) continue;
    const order: [number, number, number, number, number, number, number][] = [];
    const push = (G: TileGrid, cell: number, id: number, role: number, j: number) => {
      const tc = cell % G.nc, txy = Math.floor(cell / G.nc), tx = txy % G.nx, ty = Math.floor(txy / G.nx);
      const ry = Math.min(R - 1, Math.floor(((ty * G.h + Math.min(G.h, T.H - ty * G.h) / 2) / T.H) * R));
      const rx = Math.min(R - 1, Math.floor(((tx * G.w + Math.min(G.w, T.W - tx * G.w) / 2) / T.W) * R));
      order.push([ty * G.h, tx * G.w, tc * G.c, role, j, id, ry * R + (ry % 2 ? R - 1 - rx : rx)]);
    };
    if (T.split) for (let cell = 0; cell < T.split.grid.count; cell++) for (let j = 0; j < T.split.m; j++) push(T.split.grid, cell, T.split.base + cell * T.split.m + j, 0, j);
    for (let cell = 0; cell < T.grid.count; cell++) push(T.grid, cell, T.neuronBase + cell, 1, 0);
    order.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || a[3] - b[3] || a[4] - b[4]);
    if (placementOrder === 'regions') order.forEach((o, k) => regional.push([o[6], i, k, o[5]]));
    else order.forEach((o, k) => (slotOf[o[5]] = firstCore[i] + k));
  }
  if (placementOrder === 'regions') {
    regional.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
    regional.forEach((o, k) => (slotOf[o[3]] = k));
  }
  const placement = placeCores(chip, board, total, slotOf);
  progress(`map: ${thousandsOf(total)} cores placed on ${placement.chipsUsed} chip${placement.chipsUsed === 1 ? '' : 's'} (${boardNote}; ${placementOrder === 'regions' ? `placement by ${R}x${R} image regions` : 'placement layer after layer'})`);

  // phase 3: route tables
  const cores: CoreArrays = {
    count: total,
    layer: new Int32Array(total),
    role: new Uint8Array(total),
    neurons: new Int32Array(total),
    axons: new Int32Array(total),
    synapseBits: new Float64Array(total),
    fanout: new Float64Array(total),
  };
  const { tables, stats } = buildRouteTables({
    snn,
    chip,
    mesh: placement,
    tiled,
    dests: [...plans.map((p) => p?.dests ?? null), inputDests],
    provToGlobal,
    coreFanout: cores.fanout,
  });
  progress(`map: route tables: ${thousandsOf(keyCount(tables))} keys sharing ${thousandsOf(recordCount(tables))} records, ${thousandsOf(tables.entries.length / 2)} entries`);

  // per-core usage and per-layer summaries
  const layers: (LayerMapping | null)[] = new Array(n).fill(null);
  const core = chip.core;
  for (let i = 0; i < n; i++) {
    const p = plans[i], T = tiled[i];
    if (!p || !T) continue;
    coreUsage(p, T, chip, cores);
    const g = p.geo;
    const count = p.grid.count + (p.split ? p.split.grid.count * p.split.sl.m : 0);
    const used = { neurons: 0, axons: 0, bits: 0 };
    for (let id = firstCore[i]; id < firstCore[i] + count; id++) {
      used.neurons += cores.neurons[id];
      used.axons += cores.axons[id];
      used.bits += cores.synapseBits[id];
    }
    const st = stats[i];
    layers[i] = {
      layer: i,
      name: g.L.name,
      kind: g.kind,
      rule: g.L.kind === 'conv' ? g.L.rule : 'maxpool',
      shape: g.L.outShape,
      neurons: g.H * g.W * g.C,
      fanIn: g.analog ? 0 : g.F,
      analogInput: g.analog,
      emits: g.emits,
      tile: { h: p.grid.h, w: p.grid.w, c: p.grid.c },
      grid: p.grid,
      firstCore: firstCore[i],
      cores: count,
      firstNeuronCore: T.neuronBase,
      neuronCores: p.grid.count,
      limit: p.limit,
      split: p.split
        ? {
            m: p.split.sl.m,
            fanIn: g.F,
            sliceInputs: p.split.sl.maxInputs,
            tile: { h: p.split.grid.h, w: p.split.grid.w, c: p.split.grid.c },
            grid: p.split.grid,
            firstCore: firstCore[i],
            partialNeurons: g.H * g.W * g.C * p.split.sl.m,
            partialCores: p.split.grid.count * p.split.sl.m,
            limit: p.split.limit,
            relayPerSpike: st?.relay ?? null,
          }
        : null,
      fanout: {
        avgDestinations: st?.avgDestinations ?? 0,
        maxDestinations: st?.maxDestinations ?? 0,
        maxCopies: st?.maxCopies ?? 1,
        splitterNeurons: st?.splitterNeurons ?? 0,
        splitterCores: p.grid.count - p.coresWithoutCopies,
      },
      utilization: {
        neurons: { used: used.neurons, available: count * core.neurons },
        axons: { used: used.axons, available: count * core.axons },
        synapseBits: { used: used.bits, available: count * core.synapseMemoryBits },
      },
      precision: precisionNote(g, chip),
      perSpike: st?.perSpike ?? null,
    };
  }

  // notes
  const notes: string[] = [boardNote];
  if (placementOrder === 'regions') notes.push(`placement: cores ordered by ${R}x${R} regions of the image (every layer's cores of a region together, regions in snake order), then by layer`);
  const first = layers.find((l) => l?.analogInput);
  if (first)
    notes.push(`${layerLabel(snn.layers[first.layer])} reads the analog image: its input current is computed once per image by the host (constant every tick); its neurons are mapped, it uses no input axons or synapses on chip`);
  if (poisson) notes.push('spike input (Poisson or events): input spikes are injected by the host; their synaptic events are charged to the destination cores, their packets are not priced');
  const splits = layers.filter((l) => l?.split);
  if (splits.length)
    notes.push(
      `fan-in splits (${splits.map((l) => `layer ${l!.layer}: m = ${l!.split!.m}`).join(', ')}): each neuron is m partial-sum neurons plus an accumulator; ` +
        'relay cost is an ESTIMATE: m relay spikes per output spike, each one packet partial → accumulator core and one synaptic event there',
    );
  if (Number.isFinite(f)) {
    const sp = layers.reduce((a, l) => a + (l?.fanout.splitterNeurons ?? 0), 0);
    if (sp > 0) notes.push(`max fan-out ${f} destination core${f === 1 ? '' : 's'} per neuron: ${thousandsOf(sp)} splitter neurons (duplicates in the source cores, firing with the neuron)`);
  }
  const prec = layers.filter((l) => l?.precision);
  if (prec.length) notes.push(`weight precision: ${prec.length} layer${prec.length === 1 ? '' : 's'} would need their weights quantized to ${core.maxWeightsPerNeuron} levels per neuron`);
  const span = Math.max(0, ...stats.map((s) => s?.maxSpan ?? 0));
  if (Number.isFinite(chip.noc.maxHopSpan) && span > chip.noc.maxHopSpan)
    notes.push(`hop span: some packets travel ${span} routers along one axis, more than the ${chip.noc.maxHopSpan} a packet can address: they would need relay cores (not modelled)`);
  if (Number.isFinite(core.maxFanoutPerCore)) {
    let over = 0, worst = 0;
    for (let id = 0; id < total; id++) {
      worst = Math.max(worst, cores.fanout[id]);
      if (cores.fanout[id] > core.maxFanoutPerCore) over++;
    }
    if (over) notes.push(`fan-out per core: ${thousandsOf(over)} cores have more neuron→core edges than ${thousandsOf(core.maxFanoutPerCore)} (worst ${thousandsOf(worst)}); not refused, the count is a model of the limit`);
  }
  return {
    network: snn.ann?.name ?? 'snn',
    chipName,
    chip,
    board,
    boardNote,
    snn,
    layers,
    tiled,
    cores,
    coresUsed: total,
    chipsUsed: placement.chipsUsed,
    routersUsed: placement.routersUsed,
    placement,
    routes: tables,
    inputStats: stats[n] ?? null,
    notes,
  };
}
