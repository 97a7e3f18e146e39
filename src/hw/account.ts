/**
 * Energy and timing accounting of an emulated run: the per-core per-tick counters of the SNN core
 * (src/sim/acct.ts) priced on a chip model, tick by tick, with the formulas of src/hw/power.ts.
 *
 * Pipeline: SNN core → TickCounters (per-core counters, packet legs used) → NocTally (chip
 * independent: link loads, NoC drain shapes) → TickRecord → Accountant (chip dependent: energy,
 * time). A trace file (trace.ts) stores the TickRecords, so a replay feeds the Accountant exactly
 * what a live run fed it: replay on the same chip reproduces the run bit for bit, and on another
 * chip with the same core geometry equals a fresh run there.
 *
 * ## Energy (per tick, summed over the ticks of a frame)
 *   events: Σ over cores of the tick's counters, by kind (synaptic events, active and idle neuron
 *   updates, spikes, packets, hops tile / E-W / N-S, chip crossings), priced by power.ts energyJ
 *   with the chip's power model: per_event prices each kind (FACTS §3.1); truenorth_affine, odin
 *   and spinnaker replace the per-event prices as power.ts says (their static terms per chip).
 *   static: energyJ's static term over the tick's emulated wall time, for the cores and chips
 *   USED by the mapping: a chip's static power (static_chip_W, or the model's P0 / P_leak / idle)
 *   is paid whole for every chip that holds at least one mapped core, its unused cores included;
 *   static_core_W is paid for mapped cores only (a core with no neuron is assumed power-gated).
 * Idle neuron updates = neurons of the core (copies, partial sums included) − active updates:
 * every neuron of a used core updates every tick (time-stepped cores).
 *
 * ## Time (per tick, FACTS §3.2, power.ts)
 *   busy(core) = power.ts busyS of the core's counters (synaptic events, neuron updates, spikes,
 *                packets × their per-event times; busyS is linear, so its per-kind coefficients
 *                are read off it once and applied per core);
 *   drain      = the longest packet of the tick: max over the packet shapes used of power.ts
 *                packetLatencyS(E-W hops, N-S hops, crossings) (a delivery inside the source
 *                router: packet + hop_tile); 0 when no packet was sent;
 *   tick       = power.ts tickTime(max busy, drain, tiles used, chips used): barrier chips add the
 *                barrier of the tiles (routers) and chips the mapping uses, every tick; fixed-tick
 *                chips last their period, and a tick whose slowest core + drain exceeds it is an
 *                OVERRUN (counted; the tick then lasts that long).
 *   frame latency = Σ tick times over the frame's ticks; fps = 1 / latency.
 *
 * ## Link load
 * Per tick, the packets that crossed each directed mesh link (XY legs, src/sim/acct.ts NocRoutes),
 * against noc.link_packets_per_s × tick time (links between chips: offchip_packets_per_s when the
 * chip gives it). The tally keeps each tick's 16 most loaded on-chip and off-chip links: enough to
 * name the most loaded links of a run exactly on any chip (within one tick and one link class the
 * capacity is the same for every link, so the ranking by packets is the ranking by load).
 *
 * ## Breakdowns
 * By kind (the report's breakdown_J); by layer (a core belongs to one layer: its events priced by
 * energyJ with the layer's cores as the static extent; chip-level static power is not attributed
 * to layers and is reported apart); by core (top N by energy, same rule).
 */
import type { ChipParams } from './chip-schema.ts';
import { barrierS, busyS, energyJ, packetLatencyS, tickTime, type EnergyBreakdownJ, type EventCounts } from './power.ts';
import type { Mapping } from './mapper.ts';
import { CK, CORE_KINDS, type NocRoutes, type TickCounters } from '../sim/acct.ts';

/** links kept per tick and class (on-chip, off-chip) */
export const LINKS_PER_TICK = 16;

/** link directions: E (+x), W (−x), S (+y), N (−y); directed link id = router·4 + dir */
export const LINK_DIRS = ['E', 'W', 'S', 'N'] as const;

/** One tick as the Accountant consumes it (chip independent). */
export interface TickRecord {
  tick: number;
  /** cores × CORE_KINDS, core-major (src/sim/acct.ts CK); in a live run a view into WASM memory, valid during the tick's callback only */
  core: Int32Array;
  /** Pareto front of the packet shapes used: triples (E-W hops, N-S hops, crossings) */
  drain: Int32Array;
  /** the most loaded links: pairs (directed link id, packets), packets descending */
  linksOn: Int32Array;
  linksOff: Int32Array;
}

/** What the accounting needs of a mapping (chip independent; a trace stores it). */
export interface AccountGeometry {
  network: string;
  cores: number;
  /** SNN layer of each core */
  coreLayer: Int32Array;
  /** neurons of each core (copies and partial sums included) */
  coreNeurons: Int32Array;
  chipsUsed: number;
  /** routers (tiles) holding at least one mapped core */
  tilesUsed: number;
  meshWidth: number;
  meshHeight: number;
  tilesX: number;
  tilesY: number;
  /** name of every SNN layer, by index */
  layerNames: string[];
}

export function geometryOf(m: Mapping): AccountGeometry {
  return {
    network: m.network,
    cores: m.coresUsed,
    coreLayer: Int32Array.from(m.cores.layer),
    coreNeurons: Int32Array.from(m.cores.neurons),
    chipsUsed: m.chipsUsed,
    tilesUsed: m.routersUsed,
    meshWidth: m.placement.meshWidth,
    meshHeight: m.placement.meshHeight,
    tilesX: m.chip.chip.tilesX,
    tilesY: m.chip.chip.tilesY,
    layerNames: m.snn.layers.map((l) => l.name),
  };
}

// ---------------------------------------------------------------------------------------------
// NoC tally: packet legs → link loads and drain shapes (chip independent)

/** Turns a tick's packet legs into its TickRecord (link loads, drain front). */
export class NocTally {
  private readonly W: number;
  private readonly H: number;
  private readonly dE: Int32Array;
  private readonly dW: Int32Array;
  private readonly dS: Int32Array;
  private readonly dN: Int32Array;
  private readonly rowMark: Int32Array;
  private readonly colMark: Int32Array;
  private readonly rows: number[] = [];
  private readonly cols: number[] = [];
  private readonly shapeMark: Int32Array;
  /** every shape in the Pareto sweep's order (bySweep), made when a tick first uses many */
  private sweepOrder: Int32Array | null = null;
  /** the used shapes of a tick in that order */
  private sweepScratch: Int32Array | null = null;
  private gen = 0;
  /** Σ over links of packets in the last tick (= Σ E-W + N-S hops of its packets) */
  lastLinkPackets = 0;

  constructor(private readonly r: NocRoutes) {
    this.W = r.meshWidth;
    this.H = r.meshHeight;
    this.dE = new Int32Array(this.H * (this.W + 1));
    this.dW = new Int32Array(this.H * (this.W + 2));
    this.dS = new Int32Array(this.W * (this.H + 1));
    this.dN = new Int32Array(this.W * (this.H + 2));
    this.rowMark = new Int32Array(this.H);
    this.colMark = new Int32Array(this.W);
    this.shapeMark = new Int32Array(Math.max(1, r.shapes.length / 3));
  }

  record(c: TickCounters): TickRecord {
    if (c.noc) {
      // the core tallied the links: only the drain front is left to find
      this.lastLinkPackets = c.noc.linkPackets;
      return { tick: c.tick, core: c.core, drain: this.front(c.noc.usedShapes, null), linksOn: c.noc.linksOn, linksOff: c.noc.linksOff };
    }
    const g = ++this.gen;
    const { seg, shapes } = this.r;
    const W = this.W, H = this.H, W1 = W + 1, W2 = W + 2, H1 = H + 1, H2 = H + 2;
    const dE = this.dE, dW = this.dW, dS = this.dS, dN = this.dN, rowMark = this.rowMark, colMark = this.colMark, shapeMark = this.shapeMark;
    const rows = this.rows, cols = this.cols;
    const used: number[] = [];
    rows.length = 0;
    cols.length = 0;
    // the routes used, from the touched list, or in id order from the dense counts (when many
    // routes are used a sequential pass beats random access; the sums do not depend on the order)
    const dense = c.routeDense;
    const ids = c.routeIds, pk = c.routePackets, nr = dense ? dense.length : ids.length;
    for (let i = 0; i < nr; i++) {
      const k = dense ? dense[i] : pk[i];
      if (k === 0) continue;
      const o = (dense ? i : ids[i]) * 6;
      const row = seg[o], x0 = seg[o + 1], x1 = seg[o + 2], y0 = seg[o + 3], y1 = seg[o + 4], sh = seg[o + 5];
      if (shapeMark[sh] !== g) {
        shapeMark[sh] = g;
        used.push(sh);
      }
      if (x1 !== x0) {
        if (rowMark[row] !== g) {
          rowMark[row] = g;
          rows.push(row);
        }
        if (x1 > x0) {
          dE[row * W1 + x0] += k;
          dE[row * W1 + x1] -= k;
        } else {
          dW[row * W2 + x1 + 1] += k;
          dW[row * W2 + x0 + 1] -= k;
        }
      }
      if (y1 !== y0) {
        if (colMark[x1] !== g) {
          colMark[x1] = g;
          cols.push(x1);
        }
        if (y1 > y0) {
          dS[x1 * H1 + y0] += k;
          dS[x1 * H1 + y1] -= k;
        } else {
          dN[x1 * H2 + y1 + 1] += k;
          dN[x1 * H2 + y0 + 1] -= k;
        }
      }
    }
    const on = new TopLinks(LINKS_PER_TICK), off = new TopLinks(LINKS_PER_TICK);
    const { tilesX, tilesY } = this.r;
    let total = 0;
    for (const y of this.rows) {
      let e = 0, w = 0;
      const be = y * (W + 1), bw = y * (W + 2);
      for (let x = 0; x < W; x++) {
        e += this.dE[be + x];
        this.dE[be + x] = 0;
        w += this.dW[bw + x];
        this.dW[bw + x] = 0;
        if (e > 0) {
          total += e;
          ((x + 1) % tilesX === 0 ? off : on).add((y * W + x) * 4 + 0, e);
        }
        if (w > 0) {
          total += w;
          (x % tilesX === 0 ? off : on).add((y * W + x) * 4 + 1, w);
        }
      }
      this.dE[be + W] = 0;
      this.dW[bw + W] = 0;
      this.dW[bw + W + 1] = 0;
    }
    for (const x of this.cols) {
      let s = 0, n = 0;
      const bs = x * (H + 1), bn = x * (H + 2);
      for (let y = 0; y < H; y++) {
        s += this.dS[bs + y];
        this.dS[bs + y] = 0;
        n += this.dN[bn + y];
        this.dN[bn + y] = 0;
        if (s > 0) {
          total += s;
          ((y + 1) % tilesY === 0 ? off : on).add((y * W + x) * 4 + 2, s);
        }
        if (n > 0) {
          total += n;
          (y % tilesY === 0 ? off : on).add((y * W + x) * 4 + 3, n);
        }
      }
      this.dS[bs + H] = 0;
      this.dN[bn + H] = 0;
      this.dN[bn + H + 1] = 0;
    }
    this.lastLinkPackets = total;
    return { tick: c.tick, core: c.core, drain: this.front(used, g), linksOn: on.pairs(), linksOff: off.pairs() };
  }

  /**
   * The drain front of the used shapes, taken in the Pareto sweep's order: sorted here when few,
   * else read off the order of all shapes (made once) by their marks (`g`: this tick's mark, or
   * null: mark them here).
   */
  private front(used: ArrayLike<number>, g: number | null): Int32Array {
    const shapes = this.r.shapes, nShapes = shapes.length / 3, mark = this.shapeMark, nUsed = used.length;
    if (nUsed * 8 <= nShapes) {
      const ord = Int32Array.from(used).sort(bySweep(shapes));
      return paretoFront(shapes, ord, nUsed);
    }
    if (g === null) {
      g = ++this.gen;
      for (let i = 0; i < nUsed; i++) mark[used[i]] = g;
    }
    if (!this.sweepOrder) {
      this.sweepOrder = Int32Array.from({ length: nShapes }, (_, i) => i).sort(bySweep(shapes));
      this.sweepScratch = new Int32Array(nShapes);
    }
    const so = this.sweepOrder, ord = this.sweepScratch!;
    let n = 0;
    for (let i = 0; i < nShapes; i++) {
      const sh = so[i];
      if (mark[sh] === g) ord[n++] = sh;
    }
    return paretoFront(shapes, ord, n);
  }
}

/** The N largest (packets desc, link id asc). */
class TopLinks {
  private ids: number[] = [];
  private vals: number[] = [];
  constructor(private readonly n: number) {}
  add(id: number, v: number): void {
    const L = this.vals.length;
    if (L === this.n && (v < this.vals[L - 1] || (v === this.vals[L - 1] && id > this.ids[L - 1]))) return;
    let i = L;
    while (i > 0 && (this.vals[i - 1] < v || (this.vals[i - 1] === v && this.ids[i - 1] > id))) i--;
    this.ids.splice(i, 0, id);
    this.vals.splice(i, 0, v);
    if (this.ids.length > this.n) {
      this.ids.pop();
      this.vals.pop();
    }
  }
  pairs(): Int32Array {
    const out = new Int32Array(2 * this.ids.length);
    for (let i = 0; i < this.ids.length; i++) {
      out[2 * i] = this.ids[i];
      out[2 * i + 1] = this.vals[i];
    }
    return out;
  }
}

/**
 * The packet shapes that can be the longest for some non-negative per-hop latencies: the Pareto
 * front (no other used shape has ≥ hops of every kind), plus the tile-local shape (0, 0, 0) when
 * used (its latency has its own term, hop_tile). Sorted, so the front is canonical.
 */
/** the Pareto sweep's order: E-W hops descending, then N-S, then crossings descending */
const bySweep = (shapes: Int32Array) => (a: number, b: number) => shapes[3 * b] - shapes[3 * a] || shapes[3 * b + 1] - shapes[3 * a + 1] || shapes[3 * b + 2] - shapes[3 * a + 2];

/** `ord[0 … n)`: the used shapes in bySweep order */
function paretoFront(shapes: Int32Array, ord: Int32Array, n: number): Int32Array {
  // sweep by E-W hops descending (then N-S, crossings descending): a shape is dominated iff an
  // earlier one has ≥ N-S hops and ≥ crossings; best[c] = max N-S hops seen with crossings ≥ c
  let maxCr = 0;
  for (let i = 0; i < n; i++) maxCr = Math.max(maxCr, shapes[3 * ord[i] + 2]);
  const best = new Int32Array(maxCr + 1).fill(-1);
  const front: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = ord[i];
    const ew = shapes[3 * s], ns = shapes[3 * s + 1], cr = shapes[3 * s + 2];
    const local = ew === 0 && ns === 0 && cr === 0;
    if (!local && best[cr] >= ns) continue;
    front.push(s);
    if (local) continue;
    for (let k = 0; k <= cr; k++) if (best[k] < ns) best[k] = ns;
  }
  front.sort((a, b) => shapes[3 * a] - shapes[3 * b] || shapes[3 * a + 1] - shapes[3 * b + 1] || shapes[3 * a + 2] - shapes[3 * b + 2]);
  const out = new Int32Array(3 * front.length);
  front.forEach((s, i) => out.set(shapes.subarray(3 * s, 3 * s + 3), 3 * i));
  return out;
}

/** A directed link's name: "(x,y)→E" with chip coordinates. */
export function linkName(geo: Pick<AccountGeometry, 'meshWidth' | 'tilesX' | 'tilesY'>, link: number): { x: number; y: number; dir: string; chipX: number; chipY: number; text: string } {
  const router = Math.floor(link / 4), dir = LINK_DIRS[link % 4];
  const x = router % geo.meshWidth, y = Math.floor(router / geo.meshWidth);
  const chipX = Math.floor(x / geo.tilesX), chipY = Math.floor(y / geo.tilesY);
  return { x, y, dir, chipX, chipY, text: `router (${x},${y}) of chip (${chipX},${chipY}) → ${dir}` };
}

// ---------------------------------------------------------------------------------------------
// the Accountant

/** Counter kinds in the Accountant's per-core run totals: the core counters, then idle updates. */
const IDLE = CORE_KINDS;
const KINDS = CORE_KINDS + 1;

function countsOf(v: ArrayLike<number>, o = 0): EventCounts {
  return {
    synops: v[o + CK.synops],
    neuronUpdatesActive: v[o + CK.active],
    neuronUpdatesIdle: v[o + IDLE],
    spikesOut: v[o + CK.spikes],
    packets: v[o + CK.packets],
    hopsTile: v[o + CK.hopsTile],
    hopsEW: v[o + CK.hopsEW],
    hopsNS: v[o + CK.hopsNS],
    chipCrossings: v[o + CK.crossings],
  };
}

const BREAKDOWN_KEYS = ['synaptic', 'neuron', 'spike', 'routing', 'offchip', 'static'] as const;
export type BreakdownJ = Record<(typeof BREAKDOWN_KEYS)[number], number>;
const zeroBreakdown = (): BreakdownJ => ({ synaptic: 0, neuron: 0, spike: 0, routing: 0, offchip: 0, static: 0 });
function addBreakdown(a: BreakdownJ, b: EnergyBreakdownJ): void {
  for (const k of BREAKDOWN_KEYS) a[k] += b[k];
}
const sumBreakdown = (b: BreakdownJ) => BREAKDOWN_KEYS.reduce((s, k) => s + b[k], 0);

/** Chip-level event totals (sums over cores and ticks). */
export interface EventTotals {
  synaptic_events: number;
  neuron_updates: number;
  neuron_updates_active: number;
  spikes_out: number;
  packets: number;
  hops: number;
  hops_tile: number;
  hops_ew: number;
  hops_ns: number;
  chip_crossings: number;
}

/** The simulator's own counts of a frame (mapping independent), passed to endFrame. */
export interface NetworkCounts {
  /** synaptic operations (src/sim/counters.ts) */
  sops: number;
  /** spikes of conv layers (+1 and −1) */
  spikes: number;
}

export interface TickResult {
  tick: number;
  maxBusyS: number;
  drainS: number;
  stepS: number;
  tickS: number;
  overrun: boolean;
  energyJ: number;
}

export interface FrameResult {
  frame: number;
  ticks: number;
  energy_J: number;
  breakdown_J: BreakdownJ;
  latency_s: number;
  fps: number;
  overruns: number;
  /** longest tick, s */
  tick_max_s: number;
  events: EventTotals;
  network: NetworkCounts | null;
}

export interface LinkLoad {
  link: number;
  name: string;
  offchip: boolean;
  /** the link's busiest tick: packets, its load (packets / capacity of the tick; null: no limit) */
  packets: number;
  load: number | null;
  frame: number;
  tick: number;
}

export interface LayerEnergy {
  layer: number;
  name: string;
  cores: number;
  energy_J: number;
  breakdown_J: BreakdownJ;
  events: EventTotals;
  /** largest busy time of one of its cores in one tick, s */
  max_core_busy_s: number;
}

export interface CoreEnergy {
  core: number;
  layer: number;
  energy_J: number;
}

/** Everything the report prints for one chip (src/hw/report.ts). */
export interface ChipRunResult {
  chip: string;
  network: string;
  /** readout ticks per frame (the most a frame runs with a stopping rule) */
  timesteps: number;
  /**
   * ticks each frame ran before its readout ticks: the pipeline fill of a chip with a layer delay
   * (a readout D neuron layers deep gets its first input D − 1 ticks after the input); included in
   * every energy and latency figure
   */
  fill_ticks: number;
  frames: number;
  seed: number | null;
  energy: { per_frame_J: number; total_J: number; breakdown_J: BreakdownJ };
  latency: { tick_s: number; tick_max_s: number; frame_s: number; fps: number; overruns: number; ticks: number; tick_rule: 'fixed' | 'barrier'; barrier_s: number };
  /** per frame, means over the frames */
  counts: {
    sops: number | null;
    spikes: number | null;
    synaptic_events: number;
    spikes_out: number;
    neuron_updates: number;
    neuron_updates_active: number;
    packets: number;
    hops: number;
    hops_tile: number;
    chip_crossings: number;
  };
  mapping: { cores: number; chips: number; tiles: number };
  links: LinkLoad[];
  byLayer: LayerEnergy[];
  byCore: CoreEnergy[];
  /** every core's energy over the run, J, by core id (events and its own static power; `run --map-svg`) */
  coreEnergyJ: Float64Array;
  perFrame: FrameResult[];
  notes: string[];
}

export interface AccountantOptions {
  /** links listed in the result (default 10) */
  topLinks?: number;
  /** cores listed in byCore (default 10) */
  topCores?: number;
  /** called after every tick with its timing and energy */
  onTick?: (t: TickResult) => void;
  /** the number of the first frame this accountant prices (a later part of a run split over workers) */
  frameOffset?: number;
  /** the per-core loop done by the SNN core for the live ticks (CoreTally) */
  coreTally?: CoreTally;
}

/**
 * What an Accountant has gathered over its closed frames, to carry to another thread: the frames,
 * the per-core event totals (integer counts, so their sums do not depend on the order of addition),
 * each core's busiest tick and each link's busiest tick.
 */
export interface AccountantState {
  frames: FrameResult[];
  coreTot: Float64Array;
  coreMaxBusy: Float64Array;
  links: LinkLoad[];
}

/**
 * The per-core loop of Accountant.tick done where a live run's counters are (the WASM core:
 * assembly/snn.ts tallyCores), the same f64 operations in the same order, so the same bits; on
 * TrueNorth's 52,833 cores it saves the host about 3 ms a tick. The Accountant uses it for the
 * ticks whose counters it reads (reads()); other records (a replayed trace) take the loop here.
 */
export interface CoreTally {
  /**
   * Loads the busy seconds per event of each kind (KINDS: the core counter kinds, then idle
   * updates), the neurons of each core and the overlap rule, and zeroes the totals; returns the
   * per-core totals over the run (cores × KINDS) and each core's busiest tick, which the tally
   * fills (the Accountant's own arrays from then on).
   */
  begin(busyCoef: Float64Array, coreNeurons: Int32Array, overlap: boolean): { coreTot: Float64Array; coreMaxBusy: Float64Array };
  /** whether `counts` are the counters this tally reads (the live tick's) */
  reads(counts: Int32Array): boolean;
  /** tallies the counters: this tick's sums over the cores into tickCounts; the busiest core's busy seconds, or −1 − core for a core with more active updates than neurons */
  tally(tickCounts: Float64Array): number;
}

/** Prices TickRecords on one chip (see the module comment). */
export class Accountant {
  readonly chip: ChipParams;
  readonly geo: AccountGeometry;
  private readonly busyCoef: Float64Array;
  private readonly barrier: number;
  /** per core × KINDS, over the run */
  private readonly coreTot: Float64Array;
  private readonly coreMaxBusy: Float64Array;
  private readonly coreTally: CoreTally | null;
  private readonly frames: FrameResult[] = [];
  private frameTicks = 0;
  private frameWall = 0;
  private frameOverruns = 0;
  private frameTickMax = 0;
  private frameBreak: BreakdownJ = zeroBreakdown();
  private frameEvents: Float64Array = new Float64Array(KINDS);
  private wallS = 0;
  private readonly links = new Map<number, LinkLoad>();
  private readonly opts: AccountantOptions;
  private readonly tickCounts = new Float64Array(KINDS);

  constructor(chip: ChipParams, geo: AccountGeometry, opts: AccountantOptions = {}) {
    this.chip = chip;
    this.geo = geo;
    this.opts = opts;
    // busyS is linear in the counts: its coefficient per kind, read off power.ts once
    this.busyCoef = new Float64Array(KINDS);
    for (let k = 0; k < KINDS; k++) {
      const v = new Float64Array(KINDS);
      v[k] = 1;
      this.busyCoef[k] = busyS(chip, countsOf(v));
    }
    this.barrier = chip.timing.tick.rule === 'barrier' ? barrierS(chip, geo.tilesUsed, geo.chipsUsed) : 0;
    this.coreTally = opts.coreTally ?? null;
    if (this.coreTally) {
      const a = this.coreTally.begin(this.busyCoef, geo.coreNeurons, chip.timing.coreWork === 'overlap');
      if (a.coreTot.length !== geo.cores * KINDS || a.coreMaxBusy.length !== geo.cores) throw new Error(`Accountant: the core tally holds ${a.coreMaxBusy.length} cores, the geometry ${geo.cores}`);
      this.coreTot = a.coreTot;
      this.coreMaxBusy = a.coreMaxBusy;
    } else {
      this.coreTot = new Float64Array(geo.cores * KINDS);
      this.coreMaxBusy = new Float64Array(geo.cores);
    }
    this.frameOffset = opts.frameOffset ?? 0;
  }

  private readonly frameOffset: number;

  /** The closed frames' figures (see AccountantState). */
  state(): AccountantState {
    if (this.frameTicks) throw new Error('Accountant.state: close the frame first (endFrame)');
    return { frames: this.frames.slice(), coreTot: this.coreTot.slice(), coreMaxBusy: this.coreMaxBusy.slice(), links: [...this.links.values()] };
  }

  /**
   * Takes in the frames another accountant of the same chip and geometry priced after this one's
   * (the next part of a run split over workers, in frame order): the result is the one a single
   * accountant gives over all the frames, byte for byte (event totals are integers, maxima and the
   * busiest link ticks do not depend on the split, wall time is summed frame by frame in order).
   */
  absorb(s: AccountantState): void {
    if (this.frameTicks) throw new Error('Accountant.absorb: close the frame first (endFrame)');
    const next = this.frameOffset + this.frames.length;
    if (s.frames.length && s.frames[0].frame !== next) throw new Error(`Accountant.absorb: expected frame ${next} next, got ${s.frames[0].frame}`);
    if (s.coreTot.length !== this.coreTot.length) throw new Error('Accountant.absorb: another geometry');
    for (const f of s.frames) {
      this.frames.push(f);
      this.wallS += f.latency_s;
    }
    for (let i = 0; i < this.coreTot.length; i++) this.coreTot[i] += s.coreTot[i];
    for (let i = 0; i < this.coreMaxBusy.length; i++) if (s.coreMaxBusy[i] > this.coreMaxBusy[i]) this.coreMaxBusy[i] = s.coreMaxBusy[i];
    for (const l of s.links) {
      const prev = this.links.get(l.link);
      if (!prev || betterLoad(l, prev)) this.links.set(l.link, l);
    }
  }

  /** Prices one tick of the current frame. */
  tick(rec: TickRecord): TickResult {
    const geo = this.geo, chip = this.chip;
    const cc = rec.core, tc = this.tickCounts;
    if (cc.length !== geo.cores * CORE_KINDS) throw new Error(`tick record has ${cc.length / CORE_KINDS} cores, the geometry ${geo.cores}`);
    let maxBusy: number;
    if (this.coreTally?.reads(cc)) {
      maxBusy = this.coreTally.tally(tc);
      if (maxBusy < 0) throw this.overfull(cc, -1 - maxBusy);
    } else maxBusy = this.tallyCores(cc);
    let drain = 0;
    const d = rec.drain;
    for (let i = 0; i < d.length; i += 3) drain = Math.max(drain, packetLatencyS(chip, d[i], d[i + 1], d[i + 2]));
    const tt = tickTime(chip, maxBusy, drain, geo.tilesUsed, geo.chipsUsed);
    const e = energyJ(chip, countsOf(tc), { wallS: tt.tickS, coresUsed: geo.cores, chipsUsed: geo.chipsUsed });
    addBreakdown(this.frameBreak, e);
    for (let k = 0; k < KINDS; k++) this.frameEvents[k] += tc[k];
    this.frameTicks++;
    this.frameWall += tt.tickS;
    if (tt.overrun) this.frameOverruns++;
    this.frameTickMax = Math.max(this.frameTickMax, tt.tickS);
    this.noteLinks(rec.linksOn, false, tt.tickS);
    this.noteLinks(rec.linksOff, true, tt.tickS);
    const res: TickResult = { tick: rec.tick, maxBusyS: maxBusy, drainS: drain, stepS: tt.stepS, tickS: tt.tickS, overrun: tt.overrun, energyJ: e.total };
    this.opts.onTick?.(res);
    return res;
  }

  /** The per-core loop (the reference of CoreTally): each core's counters into its totals and this tick's sums; the busiest core's busy seconds. */
  private tallyCores(cc: Int32Array): number {
    const geo = this.geo, nb = geo.coreNeurons, bc = this.busyCoef, tot = this.coreTot, tc = this.tickCounts;
    const overlap = this.chip.timing.coreWork === 'overlap';
    tc.fill(0);
    let maxBusy = 0;
    for (let core = 0; core < geo.cores; core++) {
      const o = core * CORE_KINDS, t = core * KINDS;
      let busy = 0;
      for (let k = 0; k < CORE_KINDS; k++) {
        const v = cc[o + k];
        if (v === 0) continue;
        tc[k] += v;
        tot[t + k] += v;
        busy += v * bc[k];
      }
      const idle = nb[core] - cc[o + CK.active];
      if (idle < 0) throw this.overfull(cc, core);
      tc[IDLE] += idle;
      tot[t + IDLE] += idle;
      busy += idle * bc[IDLE];
      if (overlap) {
        // pipelined stages (SANA-FE): synaptic, neuron and output work overlap; the longest sets the pace
        const syn = cc[o + CK.synops] * bc[CK.synops];
        const neu = cc[o + CK.active] * bc[CK.active] + idle * bc[IDLE];
        busy = Math.max(syn, neu, busy - syn - neu);
      }
      if (busy > maxBusy) maxBusy = busy;
      if (busy > this.coreMaxBusy[core]) this.coreMaxBusy[core] = busy;
    }
    return maxBusy;
  }

  /** the error for a core with more active updates than neurons */
  private overfull(cc: Int32Array, core: number): Error {
    return new Error(`core ${core}: ${cc[core * CORE_KINDS + CK.active]} active neuron updates, but the core has ${this.geo.coreNeurons[core]} neurons`);
  }

  private noteLinks(pairs: Int32Array, offchip: boolean, tickS: number): void {
    const rate = offchip && Number.isFinite(this.chip.noc.offchipPacketsPerS) ? this.chip.noc.offchipPacketsPerS : this.chip.noc.linkPacketsPerS;
    for (let i = 0; i < pairs.length; i += 2) {
      const link = pairs[i], packets = pairs[i + 1];
      const load = Number.isFinite(rate) ? packets / (rate * tickS) : null;
      const prev = this.links.get(link);
      if (!prev || betterLoad({ load, packets }, prev)) this.links.set(link, { link, name: linkName(this.geo, link).text, offchip, packets, load, frame: this.frameOffset + this.frames.length, tick: this.frameTicks });
    }
  }

  /** Closes the current frame; `network` carries the simulator's own counts of it, when known. */
  endFrame(network: NetworkCounts | null = null): FrameResult {
    const b = this.frameBreak;
    const energy = sumBreakdown(b);
    const f: FrameResult = {
      frame: this.frameOffset + this.frames.length,
      ticks: this.frameTicks,
      energy_J: energy,
      breakdown_J: { ...b },
      latency_s: this.frameWall,
      fps: this.frameWall > 0 ? 1 / this.frameWall : Infinity,
      overruns: this.frameOverruns,
      tick_max_s: this.frameTickMax,
      events: eventTotals(this.frameEvents),
      network,
    };
    this.frames.push(f);
    this.wallS += this.frameWall;
    this.frameTicks = 0;
    this.frameWall = 0;
    this.frameOverruns = 0;
    this.frameTickMax = 0;
    this.frameBreak = zeroBreakdown();
    this.frameEvents = new Float64Array(KINDS);
    return f;
  }

  /** The run so far (closed frames), as the report prints it. */
  result(meta: { timesteps: number; fillTicks?: number; seed?: number | null; notes?: string[] }): ChipRunResult {
    const F = this.frames;
    const nF = Math.max(1, F.length);
    const chip = this.chip, geo = this.geo;
    const total = zeroBreakdown();
    for (const f of F) for (const k of BREAKDOWN_KEYS) total[k] += f.breakdown_J[k];
    const totalJ = sumBreakdown(total);
    const per = (x: number) => x / nF;
    const breakdownPerFrame = zeroBreakdown();
    for (const k of BREAKDOWN_KEYS) breakdownPerFrame[k] = total[k] / nF;
    const ev = new Float64Array(KINDS);
    for (let c = 0; c < geo.cores; c++) for (let k = 0; k < KINDS; k++) ev[k] += this.coreTot[c * KINDS + k];
    const E = eventTotals(ev);
    const ticks = F.reduce((s, f) => s + f.ticks, 0);
    const frameS = per(F.reduce((s, f) => s + f.latency_s, 0));
    const netKnown = F.length > 0 && F.every((f) => f.network);
    // by layer and by core: events priced by energyJ, static over the run's wall time for the cores
    const layers = new Map<number, { cores: number; v: Float64Array; busy: number }>();
    const byCore: CoreEnergy[] = [];
    const coreEnergyJ = new Float64Array(geo.cores);
    for (let c = 0; c < geo.cores; c++) {
      const L = geo.coreLayer[c];
      let e = layers.get(L);
      if (!e) layers.set(L, (e = { cores: 0, v: new Float64Array(KINDS), busy: 0 }));
      e.cores++;
      e.busy = Math.max(e.busy, this.coreMaxBusy[c]);
      for (let k = 0; k < KINDS; k++) e.v[k] += this.coreTot[c * KINDS + k];
      coreEnergyJ[c] = energyJ(chip, countsOf(this.coreTot, c * KINDS), { wallS: this.wallS, coresUsed: 1, chipsUsed: 0 }).total;
      byCore.push({ core: c, layer: L, energy_J: coreEnergyJ[c] });
    }
    byCore.sort((a, b) => b.energy_J - a.energy_J || a.core - b.core);
    const byLayer: LayerEnergy[] = [...layers.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([layer, e]) => {
        const b = energyJ(chip, countsOf(e.v), { wallS: this.wallS, coresUsed: e.cores, chipsUsed: 0 });
        const { total: _t, ...bd } = b;
        return { layer, name: geo.layerNames[layer] ?? `layer ${layer}`, cores: e.cores, energy_J: b.total, breakdown_J: bd, events: eventTotals(e.v), max_core_busy_s: e.busy };
      });
    const links = [...this.links.values()]
      .sort((a, b) => (b.load ?? -1) - (a.load ?? -1) || b.packets - a.packets || a.link - b.link)
      .slice(0, this.opts.topLinks ?? 10);
    const notes = [...(meta.notes ?? [])];
    const chipName = chip.variant ? `${chip.name}@${chip.variant}` : chip.name;
    return {
      chip: chipName,
      network: geo.network,
      timesteps: meta.timesteps,
      fill_ticks: meta.fillTicks ?? 0,
      frames: F.length,
      seed: meta.seed ?? null,
      energy: { per_frame_J: totalJ / nF, total_J: totalJ, breakdown_J: breakdownPerFrame },
      latency: {
        tick_s: ticks > 0 ? F.reduce((s, f) => s + f.latency_s, 0) / ticks : 0,
        tick_max_s: Math.max(0, ...F.map((f) => f.tick_max_s)),
        frame_s: frameS,
        fps: frameS > 0 ? 1 / frameS : Infinity,
        overruns: F.reduce((s, f) => s + f.overruns, 0),
        ticks,
        tick_rule: chip.timing.tick.rule,
        barrier_s: this.barrier,
      },
      counts: {
        sops: netKnown ? per(F.reduce((s, f) => s + f.network!.sops, 0)) : null,
        spikes: netKnown ? per(F.reduce((s, f) => s + f.network!.spikes, 0)) : null,
        synaptic_events: per(E.synaptic_events),
        spikes_out: per(E.spikes_out),
        neuron_updates: per(E.neuron_updates),
        neuron_updates_active: per(E.neuron_updates_active),
        packets: per(E.packets),
        hops: per(E.hops),
        hops_tile: per(E.hops_tile),
        chip_crossings: per(E.chip_crossings),
      },
      mapping: { cores: geo.cores, chips: geo.chipsUsed, tiles: geo.tilesUsed },
      links,
      byLayer,
      byCore: byCore.slice(0, this.opts.topCores ?? 10),
      coreEnergyJ,
      perFrame: F.slice(),
      notes,
    };
  }
}

/** a link tick busier than the link's busiest so far (ties: the earlier one stays) */
function betterLoad(a: { load: number | null; packets: number }, b: { load: number | null; packets: number }): boolean {
  return a.load !== null && b.load !== null ? a.load > b.load : a.packets > b.packets;
}

function eventTotals(v: Float64Array): EventTotals {
  return {
    synaptic_events: v[CK.synops],
    neuron_updates: v[CK.active] + v[IDLE],
    neuron_updates_active: v[CK.active],
    spikes_out: v[CK.spikes],
    packets: v[CK.packets],
    hops: v[CK.hopsEW] + v[CK.hopsNS],
    hops_tile: v[CK.hopsTile],
    hops_ew: v[CK.hopsEW],
    hops_ns: v[CK.hopsNS],
    chip_crossings: v[CK.crossings],
  };
}
