/**
 * Synthetic darknet weights: a seeded stand-in for a trained weights file, for models whose real
 * weights cannot be fetched here. He-initialized kernels and unit batch-norm statistics keep the
 * activations in a realistic range through the depth of the network. Reports must say so.
 */
import type { Network } from './ir.ts';
import { darknetWeightFloats } from './darknet.ts';
import { gaussian, mulberry32 } from '../util/rng.ts';

/** darknet weights file bytes (version 0.2.0, 64-bit `seen`) for an un-loaded network IR. */
export function syntheticDarknetWeights(net: Network, seed: number): Uint8Array {
  const rand = mulberry32(seed);
  const normal = gaussian(rand);
  const floats = darknetWeightFloats(net);
  const buf = new Uint8Array(20 + floats * 4);
  const dv = new DataView(buf.buffer);
  dv.setInt32(0, 0, true);
  dv.setInt32(4, 2, true);
  dv.setInt32(8, 0, true);
  dv.setBigUint64(12, 0n, true);
  let off = 20;
  const put = (v: number) => {
    dv.setFloat32(off, v, true);
    off += 4;
  };
  for (const l of net.layers) {
    if (l.kind !== 'conv') continue;
    const fanIn = (l.inShape.c / l.groups) * l.size * l.size;
    for (let i = 0; i < l.filters; i++) put(0.1 * normal()); // biases (beta when BN)
    if (l.bn) {
      for (let i = 0; i < l.filters; i++) put(1 + 0.2 * normal()); // scales
      for (let i = 0; i < l.filters; i++) put(0.05 * normal()); // rolling mean
      for (let i = 0; i < l.filters; i++) put(Math.abs(1 + 0.3 * normal()) + 0.05); // rolling variance
    }
    const std = Math.sqrt(2 / fanIn);
    for (let i = 0; i < l.weights.length; i++) put(std * normal());
  }
  return buf;
}
