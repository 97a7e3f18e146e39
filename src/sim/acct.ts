/**
 * Per-core accounting inside the SNN core: the flat tables the WASM tick reads (built once per
 * mapping from the mapper's route tables, src/hw/routing.ts) and the per-tick counters it fills.
 *
 * ## What the core counts, per core and per tick (assembly/snn-memory.ts CK_*)
 * For every spike of a source that has a route table (a spiking conv, a max-pool, and the Poisson
 * input when the input row has one) the core looks up the spike's key ONCE and adds
 *   - at the key's source core K_SRC (the neuron's core; never for the host-injected input):
 *     spikes K_SPIKES (the neuron, its splitter copies, the partial-sum relays of a split layer),
 *     packets, hops tile / E-W / N-S, chip crossings, and the relay synops K_RELAY_SYNOPS as
 *     synaptic events (the mapper charges them at the accumulator core = K_SRC);
 *   - at each destination core of the key's entries: its synaptic events;
 *   - one count on each of the key's routes (packet legs, see NocRoutes) for link load and drain.
 * Route and upsample layers are never looked up: their producer's table already includes them.
 *
 * Neuron updates: the cores are time-stepped, so every neuron of a used core (its splitter copies
 * and partial-sum neurons included: Mapping.cores.neurons) updates every tick. Of these, ACTIVE
 * updates are the neurons that received at least one input event in the tick, the rest IDLE
 * (idle = core neurons − active, derived by the consumer). "Received input" is the simulator's
 * own test (the active stamp of a conv's (pixel, group), a max-pool neuron's first input spike),
 * mapped to cores through a per-layer unit table; a neuron's copies are active with it; the m
 * partial-sum neurons of a split layer's neuron are counted active when the neuron is (an upper
 * bound: the simulator runs the accumulator, not the partials). Analog-input layers (the host
 * computes their input current once per image, FACTS/mapper notes) have all their neurons active
 * every tick. The readout ('integrate') layer's neurons are mapped and count like any conv's; they
 * send no spikes.
 *
 * ## Relation to the simulator's counts (tested in tests/account.test.ts)
 *   Σ_cores synaptic events = SOPs of the simulator (every conv, incl. the readout)
 *                           + synapses of splitter copies (a consumer neuron's duplicates receive
 *                             the spike too: entries count copies)
 *                           + max-pool input events (one per pool neuron a spike reaches; the
 *                             simulator counts no SOP for a pool)
 *                           + relay synops (split layers: m per output spike)
 * so on a chip without fan-out copies and without fan-in splits the difference is exactly the
 * pool input events. In all cases every per-core total equals Σ over the spikes of spikeCost().
 *
 * ## The tables in WASM memory
 * Keys with identical costs (header, entries, relay routes) share one cost record (TrueNorth
 * face@416: 8.0 M keys, 1.2 M records), so the core reads keySig[key] → record:
 *   [SRC, SPIKES, PACKETS, HOPS_TILE, HOPS_EW, HOPS_NS, CROSSINGS, RELAY_SYNOPS, nEnt, nRoutes,
 *    (dest core, synaptic events) × nEnt, route id × nRoutes]
 */
import * as M from '../../assembly/snn-memory.ts';
import type { Mapping } from '../hw/mapper.ts';
import { Growable, HashSlots, hashInts } from '../util/array.ts';
import {
  K_CROSSINGS, K_HOPS_EW, K_HOPS_NS, K_HOPS_TILE, K_PACKETS, K_RELAY_SYNOPS, K_SPIKES, K_SRC, KEY_FIELDS, LAYER_FIELDS,
  T_BLOCK_BASE, T_C, T_H, T_HAS, T_KEY_BASE, T_KEYS, T_NB, T_W, partialCore, xyHops,
} from '../hw/routing.ts';

export const CORE_KINDS = M.CORE_KINDS;
export const CK = {
  synops: M.CK_SYNOPS,
  active: M.CK_ACTIVE,
  spikes: M.CK_SPIKES,
  packets: M.CK_PACKETS,
  hopsTile: M.CK_HOPS_TILE,
  hopsEW: M.CK_HOPS_EW,
  hopsNS: M.CK_HOPS_NS,
  crossings: M.CK_CROSSINGS,
} as const;
/** counter kinds in CK order (trace files name them) */
export const CORE_KIND_NAMES = ['synops', 'active', 'spikes', 'packets', 'hopsTile', 'hopsEW', 'hopsNS', 'crossings'] as const;

/**
 * The packet legs of a mapping on the global router mesh, chip independent (same geometry → same
 * legs). Leg r: an X segment along mesh row seg[6r] from x = seg[6r+1] to x = seg[6r+2], then a Y
 * segment along column seg[6r+2] from y = seg[6r+3] to y = seg[6r+4]; seg[6r+5] is its shape id.
 * - unicast: one leg per (source router, destination router): the whole XY path;
 * - multicast: a packet is a tree; leg = the part of the path to one destination that the earlier
 *   destinations of the same packet did not already cover (so the legs of one packet are its tree
 *   edges, each once), while its shape is the whole path to that destination;
 * - relay packets of a split layer: partial-sum core → accumulator core, whole path.
 * A shape is (E-W hops, N-S hops, chip crossings) of the whole path from the source router to the
 * leg's destination: (0, 0, 0) for a delivery inside the source router. The NoC drain of a tick
 * is the latency of the longest shape used (power.ts packetLatencyS).
 */
export interface NocRoutes {
  count: number;
  seg: Int32Array;
  /** shape triples (ew, ns, crossings) */
  shapes: Int32Array;
  meshWidth: number;
  meshHeight: number;
  /** routers per chip along x and y (chip boundaries for the off-chip links) */
  tilesX: number;
  tilesY: number;
}

export interface RowTable {
  keyBase: number;
  nb: number;
  blockOf: Int32Array;
}

/** Everything the WASM core needs to account a mapped network (see the module comment). */
export interface AcctTables {
  cores: number;
  /** per source row: SNN layers 0 … n−1, then the input (row n); null = no table */
  rows: (RowTable | null)[];
  keySig: Int32Array;
  sigData: Int32Array;
  records: number;
  /** per SNN layer: its unit table (conv: pixel × group, max-pool: pixel × channel), or null */
  activity: ({ off: Int32Array; pairs: Int32Array } | null)[];
  /** pairs (core, neurons) active every tick (analog-input layers) */
  constActive: Int32Array;
  /** neurons per core (copies and partial sums included): active + idle updates per tick */
  coreNeurons: Int32Array;
  routes: NocRoutes;
}

/** One tick's counters as the core left them (live views: copy what you keep). */
export interface TickCounters {
  /** ticks since reset (1 for the first) */
  tick: number;
  /** cores × CORE_KINDS, core-major */
  core: Int32Array;
  /** ids of the routes used this tick, and the packets each carried */
  routeIds: Int32Array;
  routePackets: Int32Array;
  /** when set, the packets of every route by id instead (routeIds and routePackets are then empty) */
  routeDense?: Int32Array;
  /**
   * when set, the core has tallied the links itself (assembly/snn.ts tallyNoc; route lists empty):
   * the shapes used, the most loaded links as (id, packets) pairs and the Σ of link packets
   */
  noc?: { usedShapes: Int32Array; linksOn: Int32Array; linksOff: Int32Array; linkPackets: number };
}

// ---------------------------------------------------------------------------------------------

/** Open-addressing map from a pair of non-negative int32 to a non-negative int32 (no deletions). */
class PairMap {
  private ka: Int32Array;
  private kb: Int32Array;
  private v: Int32Array;
  private n = 0;
  constructor(cap = 1 << 12) {
    this.ka = new Int32Array(cap).fill(-1);
    this.kb = new Int32Array(cap);
    this.v = new Int32Array(cap);
  }
  private slot(a: number, b: number): number {
    const mask = this.ka.length - 1;
    let i = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) & mask;
    while (this.ka[i] !== -1 && (this.ka[i] !== a || this.kb[i] !== b)) i = (i + 1) & mask;
    return i;
  }
  get(a: number, b: number): number {
    const i = this.slot(a, b);
    return this.ka[i] === -1 ? -1 : this.v[i];
  }
  set(a: number, b: number, value: number): void {
    if (2 * (this.n + 1) > this.ka.length) this.grow();
    const i = this.slot(a, b);
    if (this.ka[i] === -1) this.n++;
    this.ka[i] = a;
    this.kb[i] = b;
    this.v[i] = value;
  }
  private grow(): void {
    const { ka, kb, v } = this;
    this.ka = new Int32Array(ka.length * 2).fill(-1);
    this.kb = new Int32Array(ka.length * 2);
    this.v = new Int32Array(ka.length * 2);
    this.n = 0;
    for (let i = 0; i < ka.length; i++) if (ka[i] !== -1) this.set(ka[i], kb[i], v[i]);
  }
}

/** Builds the packet legs and their shapes (see NocRoutes). */
class RouteBuilder {
  readonly seg = new Growable(1024);
  readonly shapes = new Growable(64);
  private shapeIds = new Map<number, number>();
  /** unicast legs by (source router, destination router) */
  private pathIds = new PairMap(1 << 16);
  /** multicast partial legs */
  private legIds = new Map<string, number>();
  count = 0;
  constructor(private m: Mapping) {}

  private shape(ew: number, ns: number, cr: number): number {
    const k = (ew * 65536 + ns) * 65536 + cr;
    let id = this.shapeIds.get(k);
    if (id === undefined) {
      id = this.shapes.n / 3;
      this.shapes.push(ew);
      this.shapes.push(ns);
      this.shapes.push(cr);
      this.shapeIds.set(k, id);
    }
    return id;
  }

  private add(row: number, x0: number, x1: number, y0: number, y1: number, shape: number): number {
    const id = this.count++;
    this.seg.reserve(6);
    const s = this.seg;
    s.push(row);
    s.push(x0);
    s.push(x1);
    s.push(y0);
    s.push(y1);
    s.push(shape);
    return id;
  }

  /** the whole XY path between two cores' routers */
  path(srcCore: number, dstCore: number): number {
    const p = this.m.placement;
    const sr = p.router[srcCore], dr = p.router[dstCore];
    let id = this.pathIds.get(sr, dr);
    if (id >= 0) return id;
    const sx = p.meshX[srcCore], sy = p.meshY[srcCore], dx = p.meshX[dstCore], dy = p.meshY[dstCore];
    const h = sr === dr ? { hopsEW: 0, hopsNS: 0, chipCrossings: 0 } : xyHops(this.m.chip, sx, sy, dx, dy);
    id = this.add(sy, sx, dx, sy, dy, this.shape(h.hopsEW, h.hopsNS, h.chipCrossings));
    this.pathIds.set(sr, dr, id);
    return id;
  }

  /** a multicast leg: from the covered reach (xa on the source row, ya on the destination column) */
  leg(srcCore: number, dstCore: number, xa: number, ya: number): number {
    const p = this.m.placement;
    const sx = p.meshX[srcCore], sy = p.meshY[srcCore], dx = p.meshX[dstCore], dy = p.meshY[dstCore];
    if (xa === sx && ya === sy) return this.path(srcCore, dstCore);
    const key = `${p.router[srcCore]},${p.router[dstCore]},${xa},${ya}`;
    let id = this.legIds.get(key);
    if (id === undefined) {
      const h = xyHops(this.m.chip, sx, sy, dx, dy);
      id = this.add(sy, xa, dx, ya, dy, this.shape(h.hopsEW, h.hopsNS, h.chipCrossings));
      this.legIds.set(key, id);
    }
    return id;
  }
}

/**
 * The accounting tables of a mapping: cost records per key, unit tables per layer, packet legs.
 * Deterministic (same mapping → same arrays).
 */
export function buildAcctTables(m: Mapping): AcctTables {
  const t = m.routes;
  const n = m.snn.layers.length;
  const cores = m.coresUsed;
  const place = m.placement;
  const multicast = m.chip.noc.multicast;
  const fan = m.chip.core.maxFanoutPerNeuron;
  const nKeys = t.keyRec.length;
  const keySig = new Int32Array(Math.max(1, nKeys));
  // sized for its upper bound, so it never grows (see buildRouteTables): a key of a layer that is
  // not split shares the cost record of its route record (header, entries, a leg per entry); a
  // split layer's key may make its own (its relay legs too)
  let splitKeys = 0, maxRelayLegs = 0;
  for (let r = 0; r < n; r++) {
    const sp = m.tiled[r]?.split;
    if (!sp || !t.layerInfo[r * LAYER_FIELDS + T_HAS]) continue;
    splitKeys += t.layerInfo[r * LAYER_FIELDS + T_KEYS];
    maxRelayLegs = Math.max(maxRelayLegs, sp.m);
  }
  const nRouteRecs = t.recOffsets.length - 1, routeEntries = t.entries.length / 2;
  const sig = new Growable((nRouteRecs + splitKeys) * M.SIG_HEAD + 3 * routeEntries + splitKeys * (3 * maxEntries(t.recOffsets) + maxRelayLegs));
  const rb = new RouteBuilder(m);
  const rows: (RowTable | null)[] = [];
  // dedup of cost records: the content hash → record offsets
  const byHash = new HashSlots(1 << 16);
  let maxRelay = 0;
  for (const T of m.tiled) maxRelay = Math.max(maxRelay, T?.split?.m ?? 0);
  const cand = new Int32Array(KEY_FIELDS + 2 * maxEntries(t.recOffsets) + maxRelay);
  // a key of a layer that is not split costs what its route record says, legs included: its
  // cost record is that of the first key with the same route record
  const ofRouteRec = new Int32Array(t.recOffsets.length - 1).fill(-1);
  let records = 0;
  let last = -1;
  // a small direct-mapped cache of recent records in front of the big table (locality)
  const RECENT = 1 << 12;
  const recent = new Int32Array(RECENT).fill(-1), recentHash = new Int32Array(RECENT);
  for (let r = 0; r <= n; r++) {
    const o = r * LAYER_FIELDS;
    if (!t.layerInfo[o + T_HAS]) {
      rows.push(null);
      continue;
    }
    const H = t.layerInfo[o + T_H], W = t.layerInfo[o + T_W], C = t.layerInfo[o + T_C], nb = t.layerInfo[o + T_NB];
    const keyBase = t.layerInfo[o + T_KEY_BASE], bb = t.layerInfo[o + T_BLOCK_BASE];
    const blockOf = t.blockOf.slice(bb, bb + C);
    rows.push({ keyBase, nb, blockOf });
    const first = new Int32Array(nb).fill(-1);
    for (let c = 0; c < C; c++) if (first[blockOf[c]] < 0) first[blockOf[c]] = c;
    const T = r < n ? m.tiled[r] : null;
    const split = T?.split ?? null;
    const mRel = split ? split.m : 0;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let b = 0; b < nb; b++) {
          const key = keyBase + (y * W + x) * nb + b;
          const rr = t.keyRec[key];
          if (!split && ofRouteRec[rr] >= 0) {
            keySig[key] = last = ofRouteRec[rr];
            continue;
          }
          const h = rr * KEY_FIELDS;
          const e0 = t.recOffsets[rr], e1 = t.recOffsets[rr + 1];
          const ne = e1 - e0;
          // dedup content: header, entries, relay legs
          let k = 0;
          for (let i = 0; i < KEY_FIELDS; i++) cand[k++] = t.recHeader[h + i];
          for (let e = 2 * e0; e < 2 * e1; e++) cand[k++] = t.entries[e];
          const src = t.recHeader[h + K_SRC];
          if (split && src >= 0) for (let j = 0; j < mRel; j++) cand[k++] = rb.path(partialCore(T!, j, y, x, first[b]), src);
          // A key of a layer that is not split, reaching here, has a route record no key had
          // before: its content (header, entries, their legs) differs from every record's, so it
          // is new without a search. A split layer's key is looked up (its relay legs depend on
          // the position): neighbouring keys often cost the same, so the previous record first.
          let found = -1, hash = 0, ri = 0;
          if (split) {
            if (last >= 0 && sameRecord(sig.a, last, cand, ne, k)) found = last;
            hash = found >= 0 ? 0 : hashInts(cand, k);
            ri = hash & (RECENT - 1);
            if (found < 0 && recentHash[ri] === hash && recent[ri] >= 0 && sameRecord(sig.a, recent[ri], cand, ne, k)) found = recent[ri];
            if (found < 0) found = byHash.find(hash, (at) => sameRecord(sig.a, at, cand, ne, k));
          }
          if (found < 0) {
            found = sig.n;
            if (split) byHash.add(hash, found);
            const nRel = k - KEY_FIELDS - 2 * ne;
            const nr = src >= 0 ? ne + nRel : 0;
            sig.reserve(M.SIG_HEAD + 2 * ne + nr);
            const a = sig.a;
            let w = sig.n;
            for (let i = 0; i < KEY_FIELDS; i++) a[w++] = cand[i];
            a[w++] = ne;
            a[w++] = nr;
            a[w++] = 0; // SIG_HITS, the core's
            for (let i = 0; i < 2 * ne; i++) a[w++] = cand[KEY_FIELDS + i];
            if (src >= 0) {
              if (!multicast) {
                for (let e = e0; e < e1; e++) a[w++] = rb.path(src, t.entries[2 * e]);
              } else {
                // one packet per copy group of f destinations (all when unlimited): a tree
                const group = Number.isFinite(fan) ? fan : Math.max(1, ne);
                const sx = place.meshX[src], sy = place.meshY[src];
                for (let g0 = e0; g0 < e1; g0 += group) {
                  let reachE = sx, reachW = sx;
                  const colS = new Map<number, number>(), colN = new Map<number, number>();
                  for (let e = g0; e < Math.min(e1, g0 + group); e++) {
                    const d = t.entries[2 * e];
                    const dx = place.meshX[d], dy = place.meshY[d];
                    let xa = sx;
                    if (dx > sx) {
                      xa = Math.min(dx, reachE);
                      reachE = Math.max(reachE, dx);
                    } else if (dx < sx) {
                      xa = Math.max(dx, reachW);
                      reachW = Math.min(reachW, dx);
                    }
                    let ya = sy;
                    if (dy > sy) {
                      const r0 = colS.get(dx) ?? sy;
                      ya = Math.min(dy, r0);
                      colS.set(dx, Math.max(r0, dy));
                    } else if (dy < sy) {
                      const r0 = colN.get(dx) ?? sy;
                      ya = Math.max(dy, r0);
                      colN.set(dx, Math.min(r0, dy));
                    }
                    a[w++] = rb.leg(src, d, xa, ya);
                  }
                }
              }
              for (let i = 0; i < nRel; i++) a[w++] = cand[KEY_FIELDS + 2 * ne + i];
            }
            sig.n = w;
            records++;
          }
          keySig[key] = found;
          if (!split) ofRouteRec[rr] = found;
          last = found;
          if (hash !== 0) {
            recent[ri] = found;
            recentHash[ri] = hash;
          }
        }
  }

  // unit tables (active neurons per core)
  const activity: AcctTables['activity'] = new Array(n).fill(null);
  const constActive = new Growable(64);
  for (let i = 0; i < n; i++) {
    const L = m.layers[i], T = m.tiled[i];
    if (!L || !T) continue;
    if (L.analogInput) {
      for (let c = L.firstCore; c < L.firstCore + L.cores; c++) {
        constActive.push(c);
        constActive.push(m.cores.neurons[c]);
      }
      continue;
    }
    activity[i] = unitTable(T);
  }
  return {
    cores,
    rows,
    keySig,
    sigData: sig.done(), // a view: the rest of the buffer was never written (not resident)
    records,
    activity,
    constActive: constActive.done(),
    coreNeurons: Int32Array.from(m.cores.neurons),
    routes: {
      count: rb.count,
      seg: rb.seg.done(),
      shapes: rb.shapes.done(),
      meshWidth: place.meshWidth,
      meshHeight: place.meshHeight,
      tilesX: m.chip.chip.tilesX,
      tilesY: m.chip.chip.tilesY,
    },
  };
}

function maxEntries(off: Int32Array): number {
  let mx = 0;
  for (let k = 0; k + 1 < off.length; k++) mx = Math.max(mx, off[k + 1] - off[k]);
  return mx;
}

/** record at `at` (sigData layout) vs candidate content (header, entries, relay legs) */
function sameRecord(a: Int32Array, at: number, cand: Int32Array, ne: number, k: number): boolean {
  for (let i = 0; i < KEY_FIELDS; i++) if (a[at + i] !== cand[i]) return false;
  if (a[at + M.SIG_NENT] !== ne) return false;
  const nRel = k - KEY_FIELDS - 2 * ne;
  const src = cand[K_SRC];
  if ((src >= 0 ? ne + nRel : 0) !== a[at + M.SIG_NROUTES]) return false;
  const e = at + M.SIG_HEAD;
  for (let i = 0; i < 2 * ne; i++) if (a[e + i] !== cand[KEY_FIELDS + i]) return false;
  const rel = e + 3 * ne;
  if (src >= 0) for (let i = 0; i < nRel; i++) if (a[rel + i] !== cand[KEY_FIELDS + 2 * ne + i]) return false;
  return true;
}

/**
 * A layer's unit table: unit u = (y·W + x)·G + g (conv: G = groups, the group's channels; max-pool:
 * G = C, one channel) → pairs (core, neurons that turn active with it: copies, partial sums).
 */
function unitTable(T: NonNullable<Mapping['tiled'][number]>): { off: Int32Array; pairs: Int32Array } {
  const pool = T.kind === 'maxpool';
  const G = pool ? T.C : T.groups;
  const per = pool ? 1 : T.coutG;
  const units = T.H * T.W * G;
  const off = new Int32Array(units + 1);
  const pairs = new Growable(units * 2);
  const g0 = T.grid, sp = T.split, cp = T.copies;
  let u = 0;
  for (let y = 0; y < T.H; y++) {
    const ty = Math.floor(y / g0.h);
    const tys = sp ? Math.floor(y / sp.grid.h) : 0;
    for (let x = 0; x < T.W; x++) {
      const cellXY = (ty * g0.nx + Math.floor(x / g0.w)) * g0.nc;
      const cellXYs = sp ? (tys * sp.grid.nx + Math.floor(x / sp.grid.w)) * sp.grid.nc : 0;
      const row = cp ? (y * T.W + x) * cp.nb : 0;
      for (let g = 0; g < G; g++) {
        const o0 = g * per, o1 = o0 + per;
        // neuron cores (copies included)
        for (let tc = Math.floor(o0 / g0.c); tc <= Math.floor((o1 - 1) / g0.c); tc++) {
          const a = Math.max(o0, tc * g0.c), b = Math.min(o1, (tc + 1) * g0.c);
          let cnt = b - a;
          if (cp) {
            cnt = 0;
            for (let o = a; o < b; o++) cnt += cp.vals[row + cp.cbOf[o]];
          }
          pairs.push(T.neuronBase + cellXY + tc);
          pairs.push(cnt);
        }
        // partial-sum cores: all m partials of an active neuron (upper bound, see the module comment)
        if (sp) {
          for (let tc = Math.floor(o0 / sp.grid.c); tc <= Math.floor((o1 - 1) / sp.grid.c); tc++) {
            const a = Math.max(o0, tc * sp.grid.c), b = Math.min(o1, (tc + 1) * sp.grid.c);
            for (let j = 0; j < sp.m; j++) {
              pairs.push(sp.base + (cellXYs + tc) * sp.m + j);
              pairs.push(b - a);
            }
          }
        }
        off[++u] = pairs.n / 2;
      }
    }
  }
  return { off, pairs: pairs.done() };
}
