/**
 * The SNN simulator facade: one API over the WASM core and the plain-TS reference.
 *
 * NEW: `sim.setThresholds(layer, vthPos, vthNeg)` changes a conv layer's thresholds between run()
 * calls (both engines; the WASM core rewrites the layer descriptor). The new values apply from the
 * next tick on, membranes and counters are kept, and they stay in force across reset() until set
 * again (they are parameters, not state). Two-phase thresholds:
 *   sim.reset(x); sim.setThresholds(l, v1, v1 / α); sim.run(tSwitch); sim.setThresholds(l, v2, v2 / α); sim.run(T − tSwitch);
 * vthNeg is the magnitude of the negative threshold (used by 'ibt' and 'signed' layers, ignored by
 * 'if'); an 'integrate' (readout) layer has no threshold and is refused.
 *
 * NEW: per-core accounting. `createSimulator(snn, { mapping })` (a Mapping of this network from
 * src/hw/mapper.ts; WASM engine only) loads the mapping's route tables into the core, which then
 * counts, per core and per tick, synaptic events, active neuron updates, spikes, packets, hops and
 * chip crossings, one route-table lookup per spike (src/sim/acct.ts says exactly what). run() then
 * runs one tick per WASM call and hands each tick's counters to `sim.onTick(fn)` before zeroing
 * them. Accounting never changes the dynamics: readouts and counts are those of a run without it.
 *
 *   const sim = await createSimulator(snn, { engine: 'wasm', seed: 1 });
 *   sim.reset(input);                 // preprocessed image, C×H×W
 *   sim.run(64);                      // one WASM call for all 64 ticks
 *   const raw = sim.readout();        // per snn.readouts entry: V/t·λ, C×H×W
 *   const counts = sim.counts();      // spikes, SOPs, neuron updates per layer and channel
 *   sim.runWithCheckpoints(1024, [8, 16, 32, 1024], (tick, raws) => decode(raws));
 *
 * Semantics: see assembly/snn.ts (the tick), src/sim/plan.ts (input coding, channel sort) and
 * src/sim/counters.ts (what each count means). Deterministic: the same network, input and seed
 * give the same spikes, counts and readout bytes, in either engine.
 */
import type { SnnConvLayer, SnnNetwork } from '../convert/snn-ir.ts';
import type { SimCounts } from './counters.ts';
import type { SnnEngine, SnnEngineKind } from './engine.ts';
import { membraneFrom, planSimulation, readoutFrom, type PlanOptions, type SimPlan } from './plan.ts';
import { ReferenceSnn } from './reference.ts';
import type { Mapping } from '../hw/mapper.ts';
import type { ActiveUpdateRule } from '../hw/chip-schema.ts';
import type { CoreTally } from '../hw/account.ts';
import { buildAcctTables, type AcctTables, type TickCounters } from './acct.ts';
import { WasmSnn, instantiateSnn, loadSnnModule, type AcctCounts, type RecordsAt, type SnnKernels } from './wasm.ts';
import { PartThread, SNN_MT_WASM_PATH, sharedSnnMemory } from './threads.ts';
import { instantiateWasm } from '../util/wasm-module.ts';

export type { SimCounts, LayerCounts, CountTotals } from './counters.ts';
export type { SnnEngineKind } from './engine.ts';
export type { AcctTables, TickCounters } from './acct.ts';

export interface SimulatorOptions extends PlanOptions {
  engine?: SnnEngineKind;
  /** Poisson input seed (default 1); printed with every report */
  seed?: number;
  /** wasm: a compiled build/snn.wasm to instantiate (default: loaded once per process) */
  module?: WebAssembly.Module;
  /** per-core accounting on this mapping of the network (WASM engine only) */
  mapping?: Mapping;
  /** the same, with tables already built from the mapping (buildAcctTables), e.g. shared by several simulators */
  accounting?: AcctTables;
  /**
   * With a layer delay: when each layer's bias current starts. 'input' (default): at the tick its
   * first input can arrive (a layer d neuron layers deep at tick d), so no neuron integrates bias
   * alone while the pipeline fills and a chain runs exactly as the ideal tick, shifted by the fill;
   * 'start': every bias from tick 1, as a chip does when nothing switches them on layer by layer.
   */
  biasOnset?: BiasOnset;
  /** with accounting: the core turns route counts into link loads (default true); false: the host does (tests compare the two) */
  nocInCore?: boolean;
  /** with accounting: when the core adds a spike's cost record (default 'auto'; the counters do not depend on it, tests compare) */
  recordsAt?: RecordsAt;
  /**
   * wasm: threads per tick, 1 (default) or 2. 2 shares each tick's conv and max-pool layers between this
   * thread and a worker (the same result bit for bit; tests compare); only with a layer delay of 1,
   * else one thread. Call close() when done.
   */
  threads?: number;
  /** per-core accounting: which neuron updates count as active (the chip's energy.active_update; default 'input') */
  activeRule?: ActiveUpdateRule;
}

export type BiasOnset = 'input' | 'start';
export const BIAS_ONSETS: readonly BiasOnset[] = ['input', 'start'];

export interface Simulator {
  readonly engine: SnnEngineKind;
  readonly net: SnnNetwork;
  readonly plan: SimPlan;
  readonly seed: number;
  /** ends a two-thread simulator's worker (no-op otherwise); the simulator cannot run afterwards */
  close(): void;
  /**
   * readout ticks done since the last reset. With a layer delay (SimulatorOptions.layerDelay) the
   * first run() after reset() first runs the plan's fillTicks (the ticks before the readout's first
   * input can arrive, which still count in counts() and on a chip) and clears the readout; `tick`,
   * run(), checkpoints and thresholds schedules count the ticks after the fill.
   */
  readonly tick: number;
  /** ticks run before the readout ticks after each reset (plan.fillTicks: 0 without layer delay) */
  readonly fillTicks: number;
  /** bytes of memory the network and its state occupy (WASM: the instance's memory size) */
  readonly peakMemoryBytes: number;
  /** the underlying engine (benchmarks and tests reach the per-phase calls through it) */
  readonly core: SnnEngine;
  /** clears all state and counters and loads a preprocessed C×H×W input */
  reset(input: Float32Array): void;
  run(ticks: number): void;
  /** per `net.readouts` entry: raw(t) = V(t)/t · λ, C×H×W (fresh arrays) */
  readout(): Float32Array[];
  /** a conv layer's membrane potentials, C×H×W (a copy) */
  membrane(layer: number): Float32Array;
  counts(): SimCounts;
  /**
   * Replaces conv layer `layer`'s thresholds from the next tick on (see the header). Throws on a
   * layer that is not a spiking conv or on a threshold that is not a positive finite number.
   */
  setThresholds(layer: number, vthPos: number, vthNeg: number): void;
  /** the thresholds in force for a conv layer (float32 values) */
  thresholds(layer: number): { vthPos: number; vthNeg: number };
  /**
   * Runs to tick T (from the current tick), calling onCheckpoint(tick, readouts) when each
   * checkpoint tick is reached; checkpoints outside (tick, T] are ignored, duplicates once.
   */
  runWithCheckpoints(T: number, checkpoints: number[], onCheckpoint: (tick: number, readouts: Float32Array[]) => void): void;
}

/** What createSimulator returns: a Simulator plus the per-core accounting hooks. */
export interface AccountingSimulator extends Simulator {
  /** the accounting tables' counts in use, or null (no mapping given) */
  readonly accounting: AcctCounts | null;
  /**
   * With accounting: fn is called after every tick with that tick's per-core counters (views into
   * WASM memory, valid during the call only); null removes it. Without accounting: an error.
   */
  onTick(fn: ((c: TickCounters) => void) | null): void;
  /** With accounting: the per-core half of pricing a tick, done by the core (for an Accountant's coreTally). */
  coreTally(): CoreTally;
}

class SimulatorImpl implements AccountingSimulator {
  readonly engine: SnnEngineKind;
  readonly net: SnnNetwork;
  readonly plan: SimPlan;
  readonly seed: number;
  readonly core: SnnEngine;
  readonly accounting: AcctCounts | null;

  /** SnnSettings.vInit and readoutStart (0 when absent: files written before they existed) */
  private readonly vInit: number;
  private readonly readoutStart: number;
  readonly fillTicks: number;
  /** the fill ticks of this frame are done */
  private filled = false;
  /** per layer: the tick its bias switches on during the fill (0: always on) */
  private readonly biasFrom: number[];

  constructor(net: SnnNetwork, core: SnnEngine, seed: number, biasOnset: BiasOnset) {
    this.net = net;
    this.vInit = net.settings?.vInit ?? 0;
    this.readoutStart = net.settings?.readoutStart ?? 0;
    this.core = core;
    this.plan = core.plan;
    this.fillTicks = core.plan.fillTicks;
    const staggered = this.fillTicks > 0 && biasOnset === 'input';
    this.biasFrom = core.plan.layers.map((lp, i) => (staggered && lp.conv && !lp.conv.analog && core.plan.depth[i] > 1 ? core.plan.depth[i] : 0));
    this.engine = core.kind;
    this.seed = seed;
    this.accounting = core instanceof WasmSnn ? core.accounting : null;
  }

  close(): void {
    this.core.close?.();
  }

  onTick(fn: ((c: TickCounters) => void) | null): void {
    if (!(this.core instanceof WasmSnn) || !this.accounting) throw new Error('onTick: this simulator was created without a mapping (no accounting)');
    this.core.setTickListener(fn);
  }

  coreTally(): CoreTally {
    if (!(this.core instanceof WasmSnn) || !this.accounting) throw new Error('coreTally: this simulator was created without a mapping (no accounting)');
    return this.core.coreTally();
  }

  get tick(): number {
    return Math.max(0, this.core.tick - this.fillTicks);
  }

  get peakMemoryBytes(): number {
    return this.core.memoryBytes;
  }

  reset(input: Float32Array): void {
    this.core.reset(input, this.seed);
    this.filled = this.fillTicks === 0;
    this.biasFrom.forEach((from, i) => from && this.core.setBiasOn(i, false));
    if (this.vInit > 0) for (const l of this.net.layers) if (l.kind === 'conv' && l.rule !== 'integrate') this.initMembrane(l);
  }

  /** V₀ = vInit·vth+ for every neuron of a spiking conv (on its fixed-point grid, if any) */
  private initMembrane(l: SnnConvLayer): void {
    const { V, offset, pix } = this.core.membraneView(l.index);
    const vth = this.thresholds(l.index).vthPos;
    const C = l.outShape.c, plane = l.outShape.h * l.outShape.w;
    for (let c = 0; c < C; c++) {
      const step = l.gridStep?.[c];
      const v0 = Math.fround(step !== undefined ? Math.round((this.vInit * vth) / step) * step : this.vInit * vth);
      for (let p = 0; p < plane; p++) V[offset + p * pix + c] = v0;
    }
  }

  run(ticks: number): void {
    if (ticks > 0 && !this.filled) {
      // the pipeline fill: the readout has had no input yet, only its bias, which is dropped
      if (this.biasFrom.some((f) => f > 0)) {
        // a layer's bias switches on in the tick its first input can arrive
        for (let t = 1; t <= this.fillTicks; t++) {
          this.biasFrom.forEach((from, i) => from === t && this.core.setBiasOn(i, true));
          this.core.run(1);
        }
        this.biasFrom.forEach((from, i) => from > this.fillTicks && this.core.setBiasOn(i, true));
      } else this.core.run(this.fillTicks);
      this.clearReadouts();
      this.filled = true;
    }
    const R = this.readoutStart, t = this.tick;
    if (R > 0 && t < R && t + ticks >= R) {
      // the readout starts integrating afresh after tick R (see SnnSettings.readoutStart)
      const first = R - t;
      this.core.run(first);
      this.clearReadouts();
      this.core.run(ticks - first);
      return;
    }
    this.core.run(ticks);
  }

  private clearReadouts(): void {
    for (const r of this.net.readouts) {
      const { V, offset, pix } = this.core.membraneView(r.layer);
      const l = this.net.layers[r.layer];
      const C = l.outShape.c, plane = l.outShape.h * l.outShape.w;
      for (let p = 0; p < plane; p++) V.fill(0, offset + p * pix, offset + p * pix + C);
    }
  }

  /** ticks the readout has integrated: t, or t − readoutStart once past it */
  get readoutTicks(): number {
    const t = this.tick, R = this.readoutStart;
    return R > 0 && t > R ? t - R : t;
  }

  readout(): Float32Array[] {
    return this.net.readouts.map((r) => {
      const { V, offset, pix } = this.core.membraneView(r.layer);
      return readoutFrom(V, offset, pix, this.net.layers[r.layer], this.readoutTicks);
    });
  }

  membrane(layer: number): Float32Array {
    const { V, offset, pix } = this.core.membraneView(layer);
    return membraneFrom(V, offset, pix, this.net.layers[layer].outShape);
  }

  counts(): SimCounts {
    return this.core.counts();
  }

  private readonly vth = new Map<number, { vthPos: number; vthNeg: number }>();

  setThresholds(layer: number, vthPos: number, vthNeg: number): void {
    const l = this.net.layers[layer];
    if (!l || l.kind !== 'conv') throw new Error(`setThresholds: layer ${layer} is not a conv layer`);
    if (l.rule === 'integrate') throw new Error(`setThresholds: layer ${layer} (${l.name}) integrates (readout): it has no threshold`);
    const signed = l.rule === 'ibt' || l.rule === 'signed';
    if (!(Number.isFinite(vthPos) && Math.fround(vthPos) > 0)) throw new Error(`setThresholds: layer ${layer}: vthPos ${vthPos} must be a positive finite number`);
    if (signed && !(Number.isFinite(vthNeg) && Math.fround(vthNeg) > 0)) throw new Error(`setThresholds: layer ${layer}: vthNeg ${vthNeg} must be a positive finite number`);
    const v = { vthPos: Math.fround(vthPos), vthNeg: signed ? Math.fround(vthNeg) : l.vthNeg };
    this.core.setThresholds(layer, v.vthPos, v.vthNeg);
    this.vth.set(layer, v);
    // thresholds set before the first tick (a schedule's phase 1) also set where the membrane starts
    if (this.core.tick === 0 && this.vInit > 0) this.initMembrane(l);
  }

  thresholds(layer: number): { vthPos: number; vthNeg: number } {
    const l = this.net.layers[layer];
    if (!l || l.kind !== 'conv') throw new Error(`thresholds: layer ${layer} is not a conv layer`);
    return this.vth.get(layer) ?? { vthPos: Math.fround(l.vthPos), vthNeg: Number.isFinite(l.vthNeg) ? Math.fround(l.vthNeg) : l.vthNeg };
  }

  runWithCheckpoints(T: number, checkpoints: number[], onCheckpoint: (tick: number, readouts: Float32Array[]) => void): void {
    const stops = [...new Set(checkpoints.filter((c) => Number.isInteger(c) && c > this.tick && c <= T))].sort((a, b) => a - b);
    for (const c of stops) {
      this.run(c - this.tick);
      onCheckpoint(c, this.readout());
    }
    if (this.tick < T) this.run(T - this.tick);
  }
}

/** Validates and lays out the network once; the state is then sized for any number of frames. */
export async function createSimulator(net: SnnNetwork, opts: SimulatorOptions = {}): Promise<AccountingSimulator> {
  if (opts.threads !== undefined && opts.threads !== 1 && opts.threads !== 2) throw new Error(`threads per tick must be 1 or 2, got ${opts.threads}`);
  if ((opts.threads ?? 1) > 1 && opts.layerDelay === 1 && (opts.engine ?? 'wasm') === 'wasm') {
    // two threads per tick: the core with shared memory, its second instance in a worker
    const module = loadSnnModule(SNN_MT_WASM_PATH), memory = sharedSnnMemory();
    const kernels = instantiateWasm<SnnKernels>(module, 'snn-mt.wasm', { memory });
    return simulatorOn(net, opts, kernels, await PartThread.start(module, memory));
  }
  return createSimulatorSync(net, opts);
}

/** createSimulator without waiting: always one thread per tick (SimulatorOptions.threads is not used). */
export function createSimulatorSync(net: SnnNetwork, opts: SimulatorOptions = {}): AccountingSimulator {
  return simulatorOn(net, opts, null, undefined);
}

function simulatorOn(net: SnnNetwork, opts: SimulatorOptions, kernels: SnnKernels | null, thread: PartThread | undefined): AccountingSimulator {
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`seed must be an integer in [0, 2^32), got ${seed}`);
  const plan = planSimulation(net, opts);
  const engine = opts.engine ?? 'wasm';
  let acct = opts.accounting;
  if (!acct && opts.mapping) {
    checkMapping(net, opts.mapping);
    acct = buildAcctTables(opts.mapping);
  }
  if (acct && engine !== 'wasm') throw new Error('per-core accounting (a mapping) needs the wasm engine');
  const core: SnnEngine = engine === 'reference' ? new ReferenceSnn(plan)
    : new WasmSnn(plan, kernels ?? instantiateSnn(opts.module ?? loadSnnModule()), acct, { activeRule: opts.activeRule, nocInCore: opts.nocInCore, recordsAt: opts.recordsAt, thread });
  const biasOnset = opts.biasOnset ?? 'input';
  if (!BIAS_ONSETS.includes(biasOnset)) throw new Error(`bias onset must be one of ${BIAS_ONSETS.join(', ')}, got ${biasOnset}`);
  return new SimulatorImpl(net, core, seed, biasOnset);
}

/** The mapping must be of this network (same layers and shapes). */
function checkMapping(net: SnnNetwork, m: Mapping): void {
  const a = net.layers, b = m.snn.layers;
  const same = a.length === b.length && a.every((l, i) => l.kind === b[i].kind && l.outShape.c === b[i].outShape.c && l.outShape.h === b[i].outShape.h && l.outShape.w === b[i].outShape.w);
  if (!same) throw new Error(`the mapping is of another network (${m.network}, ${b.length} layers) than the simulated one (${a.length} layers)`);
}
