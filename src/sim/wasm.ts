/**
 * Host side of the WASM SNN core (assembly/snn.ts): loads build/snn.wasm once, lays out one
 * network's memory map (assembly/snn-memory.ts) in a fresh instance, packs the weights once, and
 * runs batches of ticks with one call. Counters, membranes and spike lists are read through views
 * on the instance's memory (re-created only if the memory ever grows): nothing is copied per tick.
 *
 * Memory map (all sized once from the network, 64-byte aligned):
 *   descriptors   net, input, one per layer; layer pointer array; phase and route tables
 *   constants     packed weights (per conv: C_in × k × k taps of TAPW floats), biases and (fixed-point
 *                 layers) membrane bounds
 *   state         membranes, active stamps, per-tick and run counters, max-pool counts
 *                 (zeroed by `reset`)
 *   per image     analog drives, Poisson rates (written by `reset`)
 *   lists         one spike list per source, sized for every neuron firing (+4 slack codes:
 *                 the compaction writes 4 codes per vector before advancing), the sort scratch
 *   accounting    (only with a mapping, src/sim/acct.ts) key → cost record, cost records, channel
 *                 → block per source, unit tables, max-pool stamps, per-core counters, per-route
 *                 counts and the touched-route list; drained (read and zeroed) after every tick
 */
import { loadWasmModule, instantiateWasm } from '../util/wasm-module.ts';
import { fileURLToPath } from 'node:url';
import * as M from '../../assembly/snn-memory.ts';
import type { SnnConvLayer, SnnMaxPoolLayer, SnnUpsampleLayer } from '../convert/snn-ir.ts';
import { fail } from '../util/errors.ts';
import { expandGroups, layerTotals, networkTotals, type LayerCounts, type SimCounts } from './counters.ts';
import type { MembraneView, SnnEngine } from './engine.ts';
import { analogDrive, eventCodes, poissonRates, rngState, type ConvPlan, type LayerPlan, type SimPlan } from './plan.ts';
import type { AcctTables, TickCounters } from './acct.ts';
import type { PartThread } from './threads.ts';
import type { CoreTally } from '../hw/account.ts';

/** Of the accounting tables, what the tick reads after loading: the core count and the packet routes. */
export type AcctCounts = Pick<AcctTables, 'cores' | 'routes'>;

/** when the core adds a spike's cost record to the per-core counters (WasmSnn's `recordsAt`) */
export type RecordsAt = 'auto' | 'tick' | 'spike';

/** build/snn.wasm, relative to the project root */
export const SNN_WASM_PATH = fileURLToPath(new URL('../../build/snn.wasm', import.meta.url));

/** The raw exports of one instance of build/snn.wasm. */
export interface SnnKernels {
  memory: WebAssembly.Memory;
  heapBase(): number;
  run(net: number, n: number): void;
  beginTick(net: number): void;
  layerStep(net: number, desc: number): void;
  scatter(net: number, desc: number): void;
  fire(net: number, desc: number): void;
  inputTick(net: number): void;
  accountSpikes(net: number, desc: number): void;
  runPart(net: number, part: number, n: number): void;
  tallyCores(block: number): number;
  streamProbe(p: number, bytes: number): void;
}

export interface WasmSnnOptions {
  /** per-core accounting: which neuron updates count as active (default 'input') */
  activeRule?: 'input' | 'nonzero';
  /** the core turns route counts into link loads (default true); false leaves that to the host, as tests compare */
  nocInCore?: boolean;
  /** when the core adds a spike's cost record (default 'auto'; see the constructor) */
  recordsAt?: RecordsAt;
  /**
   * a second thread (kernels of build/snn-mt.wasm on a shared memory, the worker on the same
   * memory): each tick's conv and max-pool layers are shared between the two (runPart). Needs a
   * layer delay of 1.
   */
  thread?: PartThread;
}

/** Compiles build/snn.wasm (or `path`) once per process. */
export function loadSnnModule(path: string = SNN_WASM_PATH): WebAssembly.Module {
  return loadWasmModule(path, 'the compiled SNN core');
}

export function instantiateSnn(module: WebAssembly.Module = loadSnnModule()): SnnKernels {
  return instantiateWasm<SnnKernels>(module, 'snn.wasm');
}

const PAGE = 65536;
const MAX_PAGES = 65536;
const align = (n: number, a = 64) => Math.ceil(n / a) * a;
const ceil4 = (n: number) => Math.ceil(n / 4) * 4;
const DESC_BYTES = M.DESC_INTS * 4;
const EMPTY_I32 = new Int32Array(0);
const LIST_SLACK = 4;

interface ConvMem {
  V: number;
  cp: number;
  W: number;
  wFloats: number;
  tapW: number;
  bias: number;
  /** f32[cp] membrane bounds (0: unbounded) */
  clamp: number;
  /** LIF leak factors, f32[cp] (0: none) */
  leak: number;
  /** CubaLIF: the synaptic current f32[pixels × cp] (state) and its constants f32[cp] each (0: none) */
  syn: number;
  synLeak: number;
  synGain: number;
  synBias: number;
  /** sigma-delta neurons: what each has emitted, f32[pixels × cp] (state; 0: reset neurons) */
  sdE: number;
  drive: number;
  stamp: number;
  taps: number;
  active: number;
  posTick: number;
  negTick: number;
  /** scale the packed weights currently carry (Poisson input layers: max|p| of the image) */
  scale: number;
}

interface SrcMem {
  desc: number;
  list: number;
  posTot: number;
  negTot: number;
  conv?: ConvMem;
  poolCount?: number;
  poolCountBytes?: number;
  /** max-count pool: net count emitted per output neuron */
  poolEmit?: number;
}

/**
 * Writes a conv's packed weights (see snn-memory C_W) × scale into dst (zeros beforehand: pad lanes
 * of a dense conv's taps stay 0).
 */
export function packConvWeights(l: SnnConvLayer, cp: ConvPlan, tapW: number, scale: number, dst: Float32Array): void {
  const k = l.size, s = l.stride, cin = l.inShape.c;
  const { cinG, coutG } = cp;
  const W = l.weights;
  for (let ci = 0; ci < cin; ci++) {
    const g = Math.floor(ci / cinG), i = ci - g * cinG;
    for (let ky = 0; ky < k; ky++) {
      for (let kx = 0; kx < k; kx++) {
        const p = kx % s, nP = Math.ceil((k - p) / s);
        const tap = cp.phaseOffsets[p] + nP - 1 - (kx - p) / s;
        const base = ((ci * k + ky) * k + tap) * tapW;
        for (let j = 0; j < coutG; j++) {
          const o = g * coutG + j;
          const w = W[((o * cinG + i) * k + ky) * k + kx];
          dst[base + j] = scale === 1 ? w : w * scale;
        }
      }
    }
  }
}

export class WasmSnn implements SnnEngine {
  readonly kind = 'wasm' as const;
  readonly plan: SimPlan;
  readonly kernels: SnnKernels;
  private readonly net: number;
  private readonly input: SrcMem;
  private readonly mems: SrcMem[];
  private readonly stateStart: number;
  private readonly stateEnd: number;
  private readonly inputRates: number;
  private readonly evCodes: number;
  private readonly evOff: number;
  private i32!: Int32Array;
  private f32!: Float32Array;
  private f64!: Float64Array;
  /** two threads per tick: the worker, part 1's net descriptor, the shadow descriptors (zeroed by reset) */
  private readonly threaded: null | { thread: PartThread; net1: number; shadows: number[] } = null;
  /** accounting memory (null without a mapping) */
  private readonly acct: null | {
    /** what the tick needs of the tables after loading them (not the records: the core holds them, and the host's copy can go) */
    tables: AcctCounts;
    coreCnt: number;
    routeCnt: number;
    touched: number;
    /** max-pool stamps: [address, bytes] (zeroed by reset) */
    stamps: [number, number][];
    routePackets: Int32Array;
    /** the core's NoC tally block (0: the host tallies) */
    noc: number;
    /** two threads: part 1's accounting arrays (zeroed by reset) */
    peer: null | { coreCnt: number; routeCnt: number; touched: number; recTouched: number };
    /** the per-core tally block (TL_*; coreTally) */
    tally: number;
  } = null;
  private listener: ((c: TickCounters) => void) | null = null;

  /**
   * `recordsAt`: when the core adds a spike's cost record to the counters (the same counters
   * either way, tests compare them): 'tick' counts hits and adds each hit record once at the end
   * of the tick, 'spike' adds it at the spike, 'auto' (default) chooses per source from its hits
   * per record (assembly/snn-memory.ts A_ATSPIKE).
   * `nocInCore` (default true): the core also turns the route counts into link loads (tallyNoc);
   * false leaves that to the host (NocTally.record on the touched routes), as tests compare.
   */
  constructor(plan: SimPlan, kernels: SnnKernels = instantiateSnn(), acct?: AcctTables, opts: WasmSnnOptions = {}) {
    const { activeRule = 'input', nocInCore = true, recordsAt = 'auto', thread } = opts;
    if (thread && plan.layerDelay !== 1) throw new Error('two threads per tick need a layer delay of 1 (the layers of a tick are then independent)');
    this.plan = plan;
    this.kernels = kernels;
    const layers = plan.layers;
    const where = `SNN ${plan.net.ann.name}`;
    let p = align(kernels.heapBase());
    const take = (bytes: number) => {
      const at = p;
      p = align(p + bytes);
      return at;
    };
    // descriptors and tables
    this.net = take(DESC_BYTES);
    const inputDesc = take(DESC_BYTES);
    const descs = layers.map(() => take(DESC_BYTES));
    const layerPtrs = take(4 * layers.length);
    const phaseTab = layers.map((lp) => (lp.conv ? take(4 * lp.conv.phaseOffsets.length) : 0));
    const routeTab = layers.map((lp) => (lp.layer.kind === 'route' ? take(8 * lp.sources.length) : 0));
    // constants
    const convs: (ConvMem | undefined)[] = layers.map((lp) => {
      if (!lp.conv) return undefined;
      const l = lp.layer as SnnConvLayer;
      const cp = ceil4(l.outShape.c);
      const tapW = l.groups === 1 ? cp : lp.conv.coutG;
      const wFloats = l.inShape.c * l.size * l.size * tapW;
      return { V: 0, cp, W: take(wFloats * 4), wFloats, tapW, bias: take(cp * 4), clamp: l.membraneClamp ? take(cp * 4) : 0, leak: l.leak ? take(cp * 4) : 0,
        syn: 0, synLeak: l.synapse ? take(cp * 4) : 0, synGain: l.synapse ? take(cp * 4) : 0, synBias: l.synapse ? take(cp * 4) : 0, sdE: 0, drive: 0, stamp: 0, taps: 0, active: 0, posTick: 0, negTick: 0, scale: 1 };
    });
    // state (zeroed by reset)
    this.stateStart = p;
    const tot = (c: number) => ({ posTot: take(8 * c), negTot: take(8 * c) });
    const inTot = tot(plan.input.c);
    const mems: SrcMem[] = layers.map((lp, i) => {
      const t = tot(lp.out.c);
      const m: SrcMem = { desc: descs[i], list: 0, ...t };
      const cm = convs[i];
      if (cm) {
        const l = lp.layer as SnnConvLayer;
        const pix = l.outShape.h * l.outShape.w;
        cm.V = take(pix * cm.cp * 4);
        if (l.synapse) cm.syn = take(pix * cm.cp * 4);
        if (l.sigmaDelta) cm.sdE = take(pix * cm.cp * 4);
        cm.stamp = take(pix * l.groups * 4);
        cm.taps = take(8 * l.groups);
        cm.active = take(8 * l.groups);
        cm.posTick = take(4 * cm.cp);
        cm.negTick = take(4 * cm.cp);
        m.conv = cm;
      } else if (lp.layer.kind === 'maxpool') {
        const s = lp.layer.inShape;
        m.poolCountBytes = s.c * s.h * s.w * 4;
        m.poolCount = take(m.poolCountBytes);
        const o = lp.layer.outShape;
        if ((lp.layer as SnnMaxPoolLayer).rule === 'max') m.poolEmit = take(o.c * o.h * o.w * 4);
      }
      return m;
    });
    this.stateEnd = p;
    // per image
    for (const [i, lp] of layers.entries()) {
      const cm = convs[i];
      if (cm && lp.conv!.analog) cm.drive = take(lp.out.h * lp.out.w * cm.cp * 4);
    }
    const inputUnits = plan.input.c * plan.input.h * plan.input.w;
    this.inputRates = plan.poisson && !plan.events ? take(inputUnits * 4) : 0;
    // event input: room for every unit firing every tick (the tensor itself has that many values)
    this.evCodes = plan.events ? take(4 * plan.events * inputUnits) : 0;
    this.evOff = plan.events ? take(4 * (plan.events + 1)) : 0;
    // spike lists
    const inputList = take(4 * ((plan.poisson ? plan.input.c * plan.input.h * plan.input.w : 0) + LIST_SLACK));
    for (const [i, lp] of layers.entries()) mems[i].list = take(4 * (lp.listCap + LIST_SLACK));
    let scratchCap = 0, histCap = 0;
    for (const lp of layers) {
      if (!lp.conv?.sortInput) continue;
      const s = lp.sources[0];
      scratchCap = Math.max(scratchCap, s < 0 ? plan.input.c * plan.input.h * plan.input.w : layers[s].listCap);
      histCap = Math.max(histCap, (s < 0 ? plan.input.c : layers[s].out.c) + 1);
    }
    const scratch = take(4 * (scratchCap + LIST_SLACK));
    const hist = take(4 * histCap);
    // two threads: part 1's descriptor and scratch, the shared words, the claim order, and for every
    // list a conv or max-pool reads, a shadow descriptor (last tick's list) and a second list
    const isNeuronLayer = (i: number) => i >= 0 && (layers[i].layer.kind === 'conv' || layers[i].layer.kind === 'maxpool');
    const shadowed = layers.map((_, s) => !!thread && isNeuronLayer(s) && layers.some((lp, j) => isNeuronLayer(j) && !(lp.conv?.analog) && lp.sources[0] === s));
    const T = thread ? {
      thread, net1: take(DESC_BYTES), sync: take(64), scratch: take(4 * (scratchCap + LIST_SLACK)), hist: take(4 * histCap),
      claim: take(4 * layers.length), swaps: take(12 * layers.length),
      shadow: shadowed.map((on) => (on ? take(DESC_BYTES) : 0)), other: shadowed.map((on, i) => (on ? take(4 * (layers[i].listCap + LIST_SLACK)) : 0)),
    } : null;
    // accounting tables and counters
    let A: null | {
      keySig: number; sigData: number; rows: number[]; act: [number, number][]; stamps: [number, number][];
      coreCnt: number; routeCnt: number; touched: number; constAct: number; recTouched: number;
      noc: number; nocArrays: number[];
      /** the per-core tally block and its arrays (neurons, coefficients, totals, busiest ticks, this tick's sums) */
      tally: number; tallyArrays: number[];
      /**
       * two threads: part 1's per-core counters, route counts, touched routes and hit records, and
       * its NoC block and arrays (0 / none when the host tallies; the route legs are shared)
       */
      peer: null | { coreCnt: number; routeCnt: number; touched: number; recTouched: number; noc: number; nocArrays: number[] };
    } = null;
    if (acct) {
      if (acct.rows.length !== layers.length + 1) throw new Error(`accounting tables have ${acct.rows.length - 1} layers, the network ${layers.length}`);
      A = {
        keySig: take(acct.keySig.byteLength),
        sigData: take(acct.sigData.byteLength),
        rows: acct.rows.map((r) => (r ? take(r.blockOf.byteLength) : 0)),
        act: acct.activity.map((a) => (a ? [take(a.off.byteLength), take(a.pairs.byteLength)] : [0, 0])),
        stamps: layers.map((lp, i) => (acct.activity[i] && lp.layer.kind === 'maxpool' ? [0, lp.out.c * lp.out.h * lp.out.w * 4] : [0, 0])),
        coreCnt: take(acct.cores * M.CORE_KINDS * 4),
        routeCnt: take(4 * Math.max(1, acct.routes.count)),
        touched: take(4 * Math.max(1, acct.routes.count)),
        constAct: take(acct.constActive.byteLength),
        recTouched: take(4 * Math.max(1, acct.records)),
        noc: 0, nocArrays: [],
        tally: take(M.TL_WORDS * 4),
        tallyArrays: [take(4 * acct.cores), take(8 * M.TALLY_KINDS), take(8 * acct.cores * M.TALLY_KINDS), take(8 * acct.cores), take(8 * M.TALLY_KINDS)],
        peer: thread ? {
          coreCnt: take(acct.cores * M.CORE_KINDS * 4), routeCnt: take(4 * Math.max(1, acct.routes.count)),
          touched: take(4 * Math.max(1, acct.routes.count)), recTouched: take(4 * Math.max(1, acct.records)), noc: 0, nocArrays: [],
        } : null,
      };
      const r = acct.routes;
      if (nocInCore && r.count > 0) {
        // the NoC tally block and its arrays, in NOC_* field order from NOC_SEG on
        const W = r.meshWidth, H = r.meshHeight, nShapes = Math.max(1, r.shapes.length / 3);
        const block = (seg: number): [number, number[]] => [take(M.NOC_WORDS * 4), [
          seg, 0, take(4 * H * (W + 1)), take(4 * H * (W + 2)), take(4 * W * (H + 1)), take(4 * W * (H + 2)),
          take(4 * H), take(4 * W), take(4 * H), take(4 * W), take(4 * nShapes), take(4 * nShapes), take(4 * 2 * M.NOC_TOP), take(4 * 2 * M.NOC_TOP),
        ]];
        [A.noc, A.nocArrays] = block(take(r.seg.byteLength));
        // two threads: each puts its own route counts on its own block (nocRoutes), part 0 adds them up
        if (A.peer) [A.peer.noc, A.peer.nocArrays] = block(A.nocArrays[0]);
      }
      for (const st of A.stamps) if (st[1]) st[0] = take(st[1]);
    }
    const total = p;

    const pages = Math.ceil(total / PAGE);
    if (pages > MAX_PAGES) fail(where, `needs ${(total / 2 ** 30).toFixed(2)} GiB of WASM memory, more than the 4 GiB a wasm32 instance can have; use a smaller --size`);
    const mem = kernels.memory;
    const have = mem.buffer.byteLength / PAGE;
    if (pages > have) {
      try {
        mem.grow(pages - have);
      } catch (e) {
        fail(where, `cannot grow WASM memory to ${(total / 2 ** 20).toFixed(0)} MiB (${(e as Error).message}); use a smaller --size`);
      }
    }
    this.views();
    const i32 = this.i32, f32 = this.f32;
    const put = (desc: number, fields: [number, number][]) => {
      for (const [f, v] of fields) i32[desc / 4 + f] = v;
    };
    const putF = (desc: number, field: number, v: number) => {
      f32[desc / 4 + field] = v;
    };

    // net and input descriptors
    put(this.net, [[M.N_NLAYERS, layers.length], [M.N_LAYERS, layerPtrs], [M.N_INPUT, inputDesc], [M.N_SCRATCH, scratch], [M.N_HIST, hist], [M.N_DELAY, plan.layerDelay]]);
    const I = plan.input;
    put(inputDesc, [[M.L_KIND, M.KIND_INPUT], [M.L_LIST, inputList], [M.L_H, I.h], [M.L_W, I.w], [M.L_C, I.c], [M.L_CB, I.cb], [M.L_XB, I.xb],
      [M.L_POS_TOT, inTot.posTot], [M.L_NEG_TOT, inTot.negTot], [M.I_POISSON, plan.events ? M.INPUT_EVENTS : plan.poisson ? 1 : 0], [M.I_RATES, this.inputRates],
      [M.I_EVCODES, this.evCodes], [M.I_EVOFF, this.evOff], [M.I_EVTICKS, plan.events]]);
    this.input = { desc: inputDesc, list: inputList, ...inTot };
    const srcDesc = (s: number) => (s < 0 ? inputDesc : descs[s]);
    // a conv or max-pool reads last tick's list: with two threads, from the source's shadow
    const inDesc = (s: number) => (T && s >= 0 && T.shadow[s] ? T.shadow[s] : srcDesc(s));

    for (const [i, lp] of layers.entries()) {
      const d = descs[i], m = mems[i], o = lp.out;
      i32[layerPtrs / 4 + i] = d;
      put(d, [[M.L_LIST, m.list], [M.L_H, o.h], [M.L_W, o.w], [M.L_C, o.c], [M.L_CB, o.cb], [M.L_XB, o.xb], [M.L_POS_TOT, m.posTot], [M.L_NEG_TOT, m.negTot]]);
      const l = lp.layer;
      switch (l.kind) {
        case 'conv': {
          const cm = m.conv!, cp = lp.conv!;
          packConvWeights(l, cp, cm.tapW, 1, f32.subarray(cm.W / 4, cm.W / 4 + cm.wFloats));
          f32.set(l.biases, cm.bias / 4);
          const pt = phaseTab[i];
          cp.phaseOffsets.forEach((v, j) => (i32[pt / 4 + j] = v));
          const rule = l.rule === 'if' ? M.RULE_IF : l.rule === 'integrate' ? M.RULE_INTEGRATE : M.RULE_SIGNED;
          put(d, [[M.L_KIND, M.KIND_CONV], [M.C_SRC, cp.analog ? 0 : inDesc(lp.sources[0])], [M.C_V, cm.V], [M.C_CP, cm.cp],
            [M.C_K, l.size], [M.C_STRIDE, l.stride], [M.C_PAD, l.pad], [M.C_GROUPS, l.groups], [M.C_CING, cp.cinG], [M.C_COUTG, cp.coutG],
            [M.C_TAPW, cm.tapW], [M.C_W, cm.W], [M.C_PHASE, pt], [M.C_DRIVE, cm.drive], [M.C_BIAS, cm.bias], [M.C_RULE, rule],
            [M.C_RESET, l.reset === 'zero' ? M.RESET_ZERO : M.RESET_SUBTRACT], [M.C_STAMP, cm.stamp], [M.C_TAPS, cm.taps], [M.C_ACTIVE, cm.active],
            [M.C_SORT, cp.sortInput ? 1 : 0], [M.C_POS_TICK, cm.posTick], [M.C_NEG_TICK, cm.negTick], [M.C_CLAMP, cm.clamp], [M.C_LEAK, cm.leak],
            [M.C_SYN, cm.syn], [M.C_SYNLEAK, cm.synLeak], [M.C_SYNGAIN, cm.synGain], [M.C_SYNBIAS, cm.synBias], [M.C_BURST, cp.burst], [M.C_SDE, cm.sdE]]);
          putF(d, M.C_VTH_POS, rule === M.RULE_INTEGRATE ? 0 : l.vthPos);
          putF(d, M.C_VTH_NEG, rule === M.RULE_SIGNED ? l.vthNeg : 0);
          if (cm.leak) {
            f32.fill(1, cm.leak / 4, cm.leak / 4 + cm.cp);
            f32.set(l.leak!, cm.leak / 4);
          }
          if (l.synapse) {
            // padded lanes 0: their current and membrane stay 0
            for (const [at, a] of [[cm.synLeak, l.synapse.leak], [cm.synGain, l.synapse.gain], [cm.synBias, l.synapse.bias]] as const) {
              f32.fill(0, at / 4, at / 4 + cm.cp);
              f32.set(a, at / 4);
            }
          }
          if (cm.clamp) {
            f32.fill(Infinity, cm.clamp / 4, cm.clamp / 4 + cm.cp);
            f32.set(l.membraneClamp!, cm.clamp / 4);
          }
          break;
        }
        case 'maxpool': {
          const pl = l as SnnMaxPoolLayer;
          put(d, [[M.L_KIND, M.KIND_POOL], [M.P_SRC, inDesc(lp.sources[0])], [M.P_SIZE, pl.size], [M.P_STRIDE, pl.stride], [M.P_PAD, pl.padBegin], [M.P_COUNT, m.poolCount!],
            [M.P_RULE, pl.rule === 'max' ? M.POOL_MAX : M.POOL_GATE], [M.P_EMIT, m.poolEmit ?? 0]]);
          break;
        }
        case 'route': {
          const rt = routeTab[i];
          lp.sources.forEach((s, j) => {
            i32[rt / 4 + 2 * j] = srcDesc(s);
            i32[rt / 4 + 2 * j + 1] = lp.channelOffsets[j];
          });
          put(d, [[M.L_KIND, M.KIND_ROUTE], [M.R_NSRC, lp.sources.length], [M.R_SRCS, rt]]);
          break;
        }
        case 'upsample': {
          const ul = l as SnnUpsampleLayer;
          put(d, [[M.L_KIND, M.KIND_UPSAMPLE], [M.U_SRC, srcDesc(lp.sources[0])], [M.U_STRIDE, ul.stride]]);
          break;
        }
      }
    }
    this.mems = mems;
    if (acct && A) {
      const a = A;
      i32.set(acct.keySig, a.keySig / 4);
      i32.set(acct.sigData, a.sigData / 4);
      put(this.net, [[M.N_ACCT, 1], [M.N_ACTRULE, activeRule === 'nonzero' ? 1 : 0], [M.N_CORECNT, a.coreCnt], [M.N_KEYSIG, a.keySig], [M.N_SIGDATA, a.sigData], [M.N_ROUTECNT, a.routeCnt],
        [M.N_TOUCHED, a.touched], [M.N_NTOUCHED, 0], [M.N_CONSTACT, a.constAct], [M.N_NCONSTACT, acct.constActive.length / 2],
        [M.N_RECTOUCHED, a.recTouched], [M.N_NRECTOUCHED, 0], [M.N_NOC, a.noc],
        [M.N_RECRULE, recordsAt === 'spike' ? M.RECORDS_AT_SPIKE : recordsAt === 'tick' ? M.RECORDS_AT_TICK : M.RECORDS_AUTO],
        [M.N_NCOREWORDS, acct.cores * M.CORE_KINDS]]);
      if (a.noc) {
        const r = acct.routes;
        i32.set(r.seg, a.nocArrays[0] / 4);
        const fill = (b: number, q: number[]) => put(b, [[M.NOC_W, r.meshWidth], [M.NOC_H, r.meshHeight], [M.NOC_TILESX, r.tilesX], [M.NOC_TILESY, r.tilesY],
          [M.NOC_SEG, q[0]], [M.NOC_NROUTES, r.count], [M.NOC_DE, q[2]], [M.NOC_DW, q[3]], [M.NOC_DS, q[4]], [M.NOC_DN, q[5]],
          [M.NOC_ROWMARK, q[6]], [M.NOC_COLMARK, q[7]], [M.NOC_ROWS, q[8]], [M.NOC_COLS, q[9]], [M.NOC_SHAPEMARK, q[10]], [M.NOC_USED, q[11]],
          [M.NOC_NUSED, 0], [M.NOC_GEN, 0], [M.NOC_TOPON, q[12]], [M.NOC_NON, 0], [M.NOC_TOPOFF, q[13]], [M.NOC_NOFF, 0], [M.NOC_TOTAL, 0]]);
        fill(a.noc, a.nocArrays);
        if (a.peer?.noc) fill(a.peer.noc, a.peer.nocArrays);
      }
      i32.set(acct.constActive, a.constAct / 4);
      acct.rows.forEach((r, row) => {
        if (!r) return;
        i32.set(r.blockOf, a.rows[row] / 4);
        const d = row < layers.length ? descs[row] : inputDesc;
        put(d, [[M.A_KEYBASE, r.keyBase], [M.A_BLOCKOF, a.rows[row]], [M.A_NB, r.nb]]);
      });
      acct.activity.forEach((t, i) => {
        if (!t) return;
        i32.set(t.off, a.act[i][0] / 4);
        i32.set(t.pairs, a.act[i][1] / 4);
        put(descs[i], [[M.A_ACTOFF, a.act[i][0]], [M.A_ACTPAIRS, a.act[i][1]]]);
        if (a.stamps[i][1]) put(descs[i], [[M.A_PSTAMP, a.stamps[i][0]]]);
      });
      this.acct = {
        tables: { cores: acct.cores, routes: acct.routes }, coreCnt: a.coreCnt, routeCnt: a.routeCnt, touched: a.touched, noc: a.noc,
        stamps: a.stamps.filter((st) => st[1] > 0), routePackets: new Int32Array(Math.max(1, acct.routes.count)), peer: a.peer, tally: a.tally,
      };
      const [nb, coef, tot, maxBusy, tick] = a.tallyArrays;
      put(a.tally, [[M.TL_CORES, acct.cores], [M.TL_COUNTS, a.coreCnt], [M.TL_NEURONS, nb], [M.TL_COEF, coef], [M.TL_TOT, tot], [M.TL_MAXBUSY, maxBusy], [M.TL_TICK, tick], [M.TL_BAD, -1]]);
    }
    if (T) {
      let ns = 0;
      shadowed.forEach((on, i) => {
        if (!on) return;
        // the header a consumer reads (kind, list, count, shape, code bits, totals); list and count follow every tick
        i32.copyWithin(T.shadow[i] / 4, descs[i] / 4, descs[i] / 4 + M.L_NEG_TOT + 1);
        i32.set([descs[i], T.shadow[i], T.other[i]], T.swaps / 4 + 3 * ns++);
      });
      // claimed largest first (neurons passed over, plus synaptic work at a nominal rate), so the
      // two threads finish a tick close together
      const cost = (i: number) => {
        const lp = layers[i], o = lp.out, l = lp.layer;
        const inN = l.kind === 'conv' && !lp.conv!.analog ? l.inShape.c * l.inShape.h * l.inShape.w : 0;
        return l.kind === 'conv' ? o.c * o.h * o.w + (inN * l.size * l.size * lp.conv!.coutG) / 16 : 2 * l.inShape.c * l.inShape.h * l.inShape.w;
      };
      const order = layers.map((_, i) => i).filter(isNeuronLayer).sort((a, b) => cost(b) - cost(a) || a - b);
      i32.set(order.map((i) => descs[i]), T.claim / 4);
      put(this.net, [[M.N_SYNC, T.sync], [M.N_CLAIM, T.claim], [M.N_NCLAIM, order.length], [M.N_SWAPS, T.swaps], [M.N_NSWAPS, ns], [M.N_PEER, T.net1]]);
      i32.copyWithin(T.net1 / 4, this.net / 4, this.net / 4 + M.DESC_INTS);
      put(T.net1, [[M.N_SCRATCH, T.scratch], [M.N_HIST, T.hist]]);
      const q = A?.peer;
      if (q) put(T.net1, [[M.N_NOC, q.noc], [M.N_CORECNT, q.coreCnt], [M.N_ROUTECNT, q.routeCnt], [M.N_TOUCHED, q.touched], [M.N_NTOUCHED, 0], [M.N_RECTOUCHED, q.recTouched], [M.N_NRECTOUCHED, 0]]);
      this.threaded = { thread: T.thread, net1: T.net1, shadows: T.shadow.filter((d) => d > 0) };
    }
  }

  /** the counts of the accounting tables loaded (null without a mapping) */
  get accounting(): AcctCounts | null {
    return this.acct?.tables ?? null;
  }

  /**
   * The per-core loop of pricing a tick done here, on the counters a tick listener gets
   * (src/hw/account.ts CoreTally; accounting only). Its totals live in this core's memory.
   */
  coreTally(): CoreTally {
    const a = this.acct;
    if (!a) throw new Error('coreTally: this core was created without accounting tables');
    const i32 = () => (this.views(), this.i32);
    const f64 = () => (this.views(), this.f64);
    const field = (f: number) => i32()[a.tally / 4 + f];
    const cores = a.tables.cores;
    return {
      begin: (busyCoef, coreNeurons, overlap) => {
        if (busyCoef.length !== M.TALLY_KINDS || coreNeurons.length !== cores) throw new Error(`coreTally: ${busyCoef.length} coefficients for ${coreNeurons.length} cores, the core tallies ${M.TALLY_KINDS} kinds of ${cores} cores`);
        i32().set(coreNeurons, field(M.TL_NEURONS) / 4);
        f64().set(busyCoef, field(M.TL_COEF) / 8);
        i32()[a.tally / 4 + M.TL_OVERLAP] = overlap ? 1 : 0;
        const coreTot = f64().subarray(field(M.TL_TOT) / 8, field(M.TL_TOT) / 8 + cores * M.TALLY_KINDS);
        const coreMaxBusy = f64().subarray(field(M.TL_MAXBUSY) / 8, field(M.TL_MAXBUSY) / 8 + cores);
        coreTot.fill(0);
        coreMaxBusy.fill(0);
        return { coreTot, coreMaxBusy };
      },
      reads: (counts) => counts.buffer === i32().buffer && counts.byteOffset === a.coreCnt && counts.length === cores * M.CORE_KINDS,
      tally: (tickCounts) => {
        const busy = this.kernels.tallyCores(a.tally);
        const bad = field(M.TL_BAD);
        if (bad >= 0) return -1 - bad;
        const t = field(M.TL_TICK) / 8;
        tickCounts.set(f64().subarray(t, t + M.TALLY_KINDS));
        return busy;
      },
    };
  }

  /** called after every tick with that tick's per-core counters (accounting only) */
  setTickListener(fn: ((c: TickCounters) => void) | null): void {
    this.listener = fn;
  }

  /** Hands this tick's counters to the listener, then zeroes them. */
  private drainTick(): void {
    const a = this.acct!;
    this.views();
    const i32 = this.i32;
    const nt = i32[this.net / 4 + M.N_NTOUCHED];
    const rc = a.routeCnt / 4, nRoutes = a.tables.routes.count;
    const core = i32.subarray(a.coreCnt / 4, a.coreCnt / 4 + a.tables.cores * M.CORE_KINDS);
    const tick = i32[this.net / 4 + M.N_TICK];
    if (a.noc) {
      // the core tallied the links (tallyNoc) and zeroed the route counts
      const b = a.noc / 4;
      const top = (field: number, nField: number) => {
        const at = i32[b + field] / 4, n = i32[b + nField];
        const pairs = new Int32Array(2 * n);
        for (let i = 0; i < n; i++) {
          pairs[2 * i] = i32[at + i];
          pairs[2 * i + 1] = i32[at + M.NOC_TOP + i];
        }
        return pairs;
      };
      const used = i32.subarray(i32[b + M.NOC_USED] / 4, i32[b + M.NOC_USED] / 4 + i32[b + M.NOC_NUSED]);
      this.listener?.({
        tick, core, routeIds: EMPTY_I32, routePackets: EMPTY_I32,
        noc: { usedShapes: used, linksOn: top(M.NOC_TOPON, M.NOC_NON), linksOff: top(M.NOC_TOPOFF, M.NOC_NOFF), linkPackets: i32[b + M.NOC_TOTAL] },
      });
    } else if (nt * 8 > nRoutes) {
      // many routes used (TrueNorth's small cores): hand over the dense counts, zero them in one pass
      const dense = i32.subarray(rc, rc + nRoutes);
      this.listener?.({ tick, core, routeIds: EMPTY_I32, routePackets: EMPTY_I32, routeDense: dense });
      dense.fill(0);
    } else {
      const ids = i32.subarray(a.touched / 4, a.touched / 4 + nt);
      const pk = a.routePackets;
      for (let i = 0; i < nt; i++) {
        pk[i] = i32[rc + ids[i]];
        i32[rc + ids[i]] = 0;
      }
      this.listener?.({ tick, core, routeIds: ids, routePackets: pk.subarray(0, nt) });
    }
    core.fill(0);
    i32[this.net / 4 + M.N_NTOUCHED] = 0;
  }

  /** (Re)creates the host views if the memory buffer changed. */
  private views(): void {
    const buf = this.kernels.memory.buffer;
    if (this.i32?.buffer === buf) return;
    this.i32 = new Int32Array(buf);
    this.f32 = new Float32Array(buf);
    this.f64 = new Float64Array(buf);
  }

  get memoryBytes(): number {
    return this.kernels.memory.buffer.byteLength;
  }

  get tick(): number {
    this.views();
    return this.i32[this.net / 4 + M.N_TICK];
  }

  /** address of the net descriptor (benchmarks drive the exports directly) */
  get netDesc(): number {
    return this.net;
  }

  /** address of layer i's descriptor */
  layerDesc(i: number): number {
    return this.mems[i].desc;
  }

  reset(input: Float32Array, seed: number): void {
    const plan = this.plan;
    const I = plan.input;
    const want = (plan.events || 1) * I.c * I.h * I.w;
    if (input.length !== want) throw new Error(`input has ${input.length} values, the network needs ${want} (${plan.events ? `${plan.events} ticks of ` : ''}${I.c}x${I.h}x${I.w})`);
    this.views();
    const i32 = this.i32, f32 = this.f32;
    new Uint8Array(this.kernels.memory.buffer, this.stateStart, this.stateEnd - this.stateStart).fill(0);
    i32[this.net / 4 + M.N_TICK] = 0;
    i32[this.net / 4 + M.N_RNG] = rngState(seed) | 0;
    i32[this.input.desc / 4 + M.L_COUNT] = 0;
    for (const m of this.mems) i32[m.desc / 4 + M.L_COUNT] = 0;
    if (this.threaded) for (const d of this.threaded.shadows) i32[d / 4 + M.L_COUNT] = 0;
    if (this.acct) {
      const a = this.acct;
      i32.fill(0, a.coreCnt / 4, a.coreCnt / 4 + a.tables.cores * M.CORE_KINDS);
      i32.fill(0, a.routeCnt / 4, a.routeCnt / 4 + a.tables.routes.count);
      i32[this.net / 4 + M.N_NTOUCHED] = 0;
      // records hit by a tick that was not finished (a benchmark driving the parts of a tick)
      const sd = i32[this.net / 4 + M.N_SIGDATA] / 4;
      for (const net of this.threaded && a.peer ? [this.net, this.threaded.net1] : [this.net]) {
        const rt = i32[net / 4 + M.N_RECTOUCHED] / 4;
        for (let i = 0; i < i32[net / 4 + M.N_NRECTOUCHED]; i++) i32[sd + i32[rt + i] + M.SIG_HITS] = 0;
        i32[net / 4 + M.N_NRECTOUCHED] = 0;
      }
      if (this.threaded && a.peer) {
        i32.fill(0, a.peer.coreCnt / 4, a.peer.coreCnt / 4 + a.tables.cores * M.CORE_KINDS);
        i32.fill(0, a.peer.routeCnt / 4, a.peer.routeCnt / 4 + a.tables.routes.count);
        i32[this.threaded.net1 / 4 + M.N_NTOUCHED] = 0;
      }
      for (const [at, bytes] of a.stamps) i32.fill(0, at / 4, (at + bytes) / 4);
    }
    let scale = 1;
    if (plan.events) {
      const ev = eventCodes(plan, input);
      i32.set(ev.codes, this.evCodes / 4);
      i32.set(ev.offsets, this.evOff / 4);
    } else if (plan.poisson) {
      const { rates, scale: s } = poissonRates(input, plan.absoluteRates);
      scale = s;
      toChannelsLast(rates, I.c, I.h, I.w, I.c, f32, this.inputRates / 4);
    }
    for (const [i, lp] of plan.layers.entries()) {
      const cp = lp.conv, cm = this.mems[i].conv;
      if (!cp || !cm) continue;
      const l = lp.layer as SnnConvLayer;
      if (cp.analog) {
        toChannelsLast(analogDrive(l, input), l.outShape.c, l.outShape.h, l.outShape.w, cm.cp, f32, cm.drive / 4);
      } else if (cp.poisson && cm.scale !== scale) {
        const w = f32.subarray(cm.W / 4, cm.W / 4 + cm.wFloats);
        w.fill(0);
        packConvWeights(l, cp, cm.tapW, scale, w);
        cm.scale = scale;
      }
    }
  }

  run(ticks: number): void {
    if (!Number.isInteger(ticks) || ticks < 0) throw new Error(`run: ticks must be a non-negative integer, got ${ticks}`);
    if (ticks <= 0) return;
    if (!this.acct) {
      this.ticks(ticks);
      return;
    }
    // accounting: one tick per call, the counters drained after each
    for (let t = 0; t < ticks; t++) {
      this.ticks(1);
      this.drainTick();
    }
  }

  /** n ticks in one call of the core (two threads: one call on each) */
  private ticks(n: number): void {
    const th = this.threaded;
    if (!th) this.kernels.run(this.net, n);
    else th.thread.run(th.net1, n, () => this.kernels.runPart(this.net, 0, n));
  }

  /** Ends the second thread of a two-thread simulator (nothing to do otherwise); it cannot run afterwards. */
  close(): void {
    this.threaded?.thread.close();
  }

  /** Writes the layer's biases (or zeros) into its bias array, which the tick adds every tick. */
  setBiasOn(layer: number, on: boolean): void {
    const m = this.mems[layer];
    if (!m?.conv) throw new Error(`layer ${layer} is not a conv layer`);
    this.views();
    const l = this.plan.layers[layer].layer as SnnConvLayer;
    const at = m.conv.bias / 4;
    if (on) this.f32.set(l.biases, at);
    else this.f32.fill(0, at, at + l.biases.length);
  }

  /** Rewrites the layer descriptor's threshold fields (f32), as the constructor wrote them. */
  setThresholds(layer: number, vthPos: number, vthNeg: number): void {
    const m = this.mems[layer];
    if (!m?.conv) throw new Error(`layer ${layer} is not a conv layer`);
    this.views();
    const rule = this.i32[m.desc / 4 + M.C_RULE];
    this.f32[m.desc / 4 + M.C_VTH_POS] = rule === M.RULE_INTEGRATE ? 0 : vthPos;
    this.f32[m.desc / 4 + M.C_VTH_NEG] = rule === M.RULE_SIGNED ? vthNeg : 0;
  }

  membraneView(layer: number): MembraneView {
    const cm = this.mems[layer]?.conv;
    if (!cm) throw new Error(`layer ${layer} is not a conv layer`);
    this.views();
    return { V: this.f32, offset: cm.V / 4, pix: cm.cp };
  }

  /** the spike list layer i (-1: input) produced in the last tick, as raw codes (a live view) */
  spikeCodes(layer: number): Int32Array {
    this.views();
    const m = layer < 0 ? this.input : this.mems[layer];
    // the descriptor's list: with two threads a layer alternates between two lists
    const n = this.i32[m.desc / 4 + M.L_COUNT], at = this.i32[m.desc / 4 + M.L_LIST] / 4;
    return this.i32.subarray(at, at + n);
  }

  counts(): SimCounts {
    this.views();
    const f64 = this.f64;
    const ticks = this.tick;
    const vec = (addr: number, n: number) => Float64Array.from(f64.subarray(addr / 8, addr / 8 + n));
    const layers: LayerCounts[] = this.plan.layers.map((lp: LayerPlan, i) => {
      const m = this.mems[i];
      const C = lp.out.c;
      const base = { index: i, kind: lp.layer.kind, posSpikes: vec(m.posTot, C), negSpikes: vec(m.negTot, C) };
      let sops: Float64Array = new Float64Array(C), activeNeurons: Float64Array = new Float64Array(C);
      const neuronUpdates = new Float64Array(C);
      if (m.conv) {
        const l = lp.layer as SnnConvLayer;
        sops = expandGroups(vec(m.conv.taps, l.groups), C);
        activeNeurons = expandGroups(vec(m.conv.active, l.groups), C);
        neuronUpdates.fill(ticks * lp.out.h * lp.out.w);
      }
      const lc = { ...base, sops, neuronUpdates, activeNeurons };
      return { ...lc, total: layerTotals(lc) };
    });
    const I = this.plan.input;
    return { ticks, layers, input: { posSpikes: vec(this.input.posTot, I.c), negSpikes: vec(this.input.negTot, I.c) }, totals: networkTotals(layers) };
  }
}

/** C×H×W → channels-last with pixel stride `pix` into dst from element `at`. */
export function toChannelsLast(src: Float32Array, c: number, h: number, w: number, pix: number, dst: Float32Array, at: number): void {
  const plane = h * w;
  for (let p = 0; p < plane; p++) {
    const o = at + p * pix;
    for (let ch = 0; ch < c; ch++) dst[o + ch] = src[ch * plane + p];
  }
}
