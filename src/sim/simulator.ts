/**
 * The SNN simulator facade: one API over the WASM core and the plain-TS reference.
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
import type { SnnNetwork } from '../convert/snn-ir.ts';
import type { SimCounts } from './counters.ts';
import type { SnnEngine, SnnEngineKind } from './engine.ts';
import { membraneFrom, planSimulation, readoutFrom, type PlanOptions, type SimPlan } from './plan.ts';
import { ReferenceSnn } from './reference.ts';
import { WasmSnn, instantiateSnn, loadSnnModule } from './wasm.ts';

export type { SimCounts, LayerCounts, CountTotals } from './counters.ts';
export type { SnnEngineKind } from './engine.ts';

export interface SimulatorOptions extends PlanOptions {
  engine?: SnnEngineKind;
  /** Poisson input seed (default 1); printed with every report */
  seed?: number;
  /** wasm: a compiled build/snn.wasm to instantiate (default: loaded once per process) */
  module?: WebAssembly.Module;
}

export interface Simulator {
  readonly engine: SnnEngineKind;
  readonly net: SnnNetwork;
  readonly plan: SimPlan;
  readonly seed: number;
  /** ticks done since the last reset */
  readonly tick: number;
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
   * Runs to tick T (from the current tick), calling onCheckpoint(tick, readouts) when each
   * checkpoint tick is reached; checkpoints outside (tick, T] are ignored, duplicates once.
   */
  runWithCheckpoints(T: number, checkpoints: number[], onCheckpoint: (tick: number, readouts: Float32Array[]) => void): void;
}

class SimulatorImpl implements Simulator {
  readonly engine: SnnEngineKind;
  readonly net: SnnNetwork;
  readonly plan: SimPlan;
  readonly seed: number;
  readonly core: SnnEngine;

  constructor(net: SnnNetwork, core: SnnEngine, seed: number) {
    this.net = net;
    this.core = core;
    this.plan = core.plan;
    this.engine = core.kind;
    this.seed = seed;
  }

  get tick(): number {
    return this.core.tick;
  }

  get peakMemoryBytes(): number {
    return this.core.memoryBytes;
  }

  reset(input: Float32Array): void {
    this.core.reset(input, this.seed);
  }

  run(ticks: number): void {
    this.core.run(ticks);
  }

  readout(): Float32Array[] {
    return this.net.readouts.map((r) => {
      const { V, offset, pix } = this.core.membraneView(r.layer);
      return readoutFrom(V, offset, pix, this.net.layers[r.layer], this.core.tick);
    });
  }

  membrane(layer: number): Float32Array {
    const { V, offset, pix } = this.core.membraneView(layer);
    return membraneFrom(V, offset, pix, this.net.layers[layer].outShape);
  }

  counts(): SimCounts {
    return this.core.counts();
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
export async function createSimulator(net: SnnNetwork, opts: SimulatorOptions = {}): Promise<Simulator> {
  return createSimulatorSync(net, opts);
}

export function createSimulatorSync(net: SnnNetwork, opts: SimulatorOptions = {}): Simulator {
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`seed must be an integer in [0, 2^32), got ${seed}`);
  const plan = planSimulation(net, opts);
  const engine = opts.engine ?? 'wasm';
  const core: SnnEngine = engine === 'reference' ? new ReferenceSnn(plan) : new WasmSnn(plan, instantiateSnn(opts.module ?? loadSnnModule()));
  return new SimulatorImpl(net, core, seed);
}
