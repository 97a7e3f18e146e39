import type { Network } from './ir.ts';

/**
 * Folds batch norm into conv weights and biases, in place. darknet's inference (blas.c
 * normalize_cpu) computes (x - mean) / (sqrt(var) + .000001) * scale + bias, so
 * W' = W·s, b' = bias - mean·s with s = scale / (sqrt(var) + eps); computed in float64.
 */
export function foldBatchNorm(net: Network): Network {
  for (const l of net.layers) {
    if (l.kind !== 'conv' || !l.bn) continue;
    const per = l.weights.length / l.filters;
    for (let f = 0; f < l.filters; f++) {
      const s = l.bn.scales[f] / (Math.sqrt(l.bn.variance[f]) + l.bn.eps);
      for (let i = f * per; i < (f + 1) * per; i++) l.weights[i] = l.weights[i] * s;
      l.biases[f] = l.biases[f] - l.bn.mean[f] * s;
    }
    delete l.bn;
  }
  net.bnFolded = true;
  return net;
}
