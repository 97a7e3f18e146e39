/** The interface both SNN engines implement (src/sim/wasm.ts and src/sim/reference.ts). */
import type { SimCounts } from './counters.ts';
import type { SimPlan } from './plan.ts';

export type SnnEngineKind = 'wasm' | 'reference';

/** A conv layer's membranes, channels-last: V[offset + (y·W + x)·pix + c]. A live view: copy it. */
export interface MembraneView {
  V: Float32Array;
  offset: number;
  pix: number;
}

export interface SnnEngine {
  readonly kind: SnnEngineKind;
  readonly plan: SimPlan;
  /** ticks done since the last reset */
  readonly tick: number;
  /** bytes of memory holding the network and its state (WASM: the instance's memory size) */
  readonly memoryBytes: number;
  /** clears all state and counters, loads a preprocessed C×H×W input, seeds the Poisson source */
  reset(input: Float32Array, seed: number): void;
  run(ticks: number): void;
  membraneView(layer: number): MembraneView;
  /**
   * Replaces a conv layer's thresholds (already validated by the facade); takes effect from the
   * next tick, kept across reset().
   */
  setThresholds(layer: number, vthPos: number, vthNeg: number): void;
  /**
   * Switches a conv layer's bias current on (its network value) or off (0) from the next tick;
   * kept across reset() (a parameter, as thresholds are). Analog-input layers ignore it: their drive
   * includes the bias.
   */
  setBiasOn(layer: number, on: boolean): void;
  counts(): SimCounts;
  /** releases what the engine holds beyond its memory (WASM with two threads: the worker) */
  close?(): void;
}
