/**
 * The ANN facade the rest of neuroemu uses: one `forward` for either implementation.
 *
 *   const engine = createAnnEngine(net, 'wasm');
 *   const outs = engine.forward(input);   // input C×H×W; outs[i] = layer i's output, C×H×W
 *
 * Contract (the same as forwardReference): every layer's output is returned, indexed by layer
 * index, as a fresh Float32Array in C×H×W order; a head layer (region / yolo / facehead) returns
 * the very array of its input. With `{ reuseOutputs: true }` the WASM engine overwrites and returns
 * the same arrays on every call (copy what you keep). Batch norm still attached to a conv is folded into the WASM
 * engine's private copy of the weights (the Network is never modified).
 */
import type { Network } from '../model/ir.ts';
import { forwardReference } from './reference.ts';
import { WasmAnn, type WasmAnnOptions } from './wasm.ts';

export type AnnEngineKind = 'wasm' | 'reference';

export interface AnnEngine {
  readonly kind: AnnEngineKind;
  readonly net: Network;
  /** every layer's output, C×H×W, indexed by layer index */
  forward(input: Float32Array): Float32Array[];
}

export interface AnnEngineOptions extends WasmAnnOptions {
  /**
   * wasm only: `forward` overwrites and returns the same output arrays on every call instead of
   * allocating fresh ones (default false, as forwardReference)
   */
  reuseOutputs?: boolean;
}

export function createAnnEngine(net: Network, kind: AnnEngineKind = 'wasm', options: AnnEngineOptions = {}): AnnEngine {
  if (kind === 'reference') return { kind, net, forward: (input) => forwardReference(net, input) };
  const ann = new WasmAnn(net, options);
  const reuse = options.reuseOutputs ?? false;
  return { kind, net, forward: (input) => ann.forward(input, reuse) };
}
