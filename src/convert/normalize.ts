/**
 * Normalization arithmetic (pure functions, float64 inside, float32 out):
 *
 *   W̃[j][i] = W[j][i] · λ_in(i) / λ_out(j),   b̃[j] = b[j] / λ_out(j)
 *
 * λ_in is always a VECTOR over the conv's input channels (the input image: 1 per channel, analog
 * input). It is carried through the graph per channel:
 * - max-pool: λ passes through per channel (max commutes with a positive per-channel scale);
 * - upsample: passes through;
 * - route (concatenation): the λ vectors of the inputs are concatenated in route order. Because
 *   every consumer conv divides weight column i by its own λ_in(i), concatenated inputs need NO
 *   shared scale: each channel keeps the λ of the layer it came from.
 * - grouped / depthwise convs: output channel j reads the input channels of its group,
 *   i = g·(Cin/groups) + i', g = floor(j / (Cout/groups)); weight [j][i'] uses λ_in(i).
 */
import type { ConvLayer } from '../model/ir.ts';

/** conv weights and biases with batch norm (if still attached) applied, float64 */
export function effectiveConv(l: ConvLayer): { weights: Float64Array; biases: Float64Array } {
  const weights = Float64Array.from(l.weights);
  const biases = Float64Array.from(l.biases);
  if (l.bn) {
    const per = l.weights.length / l.filters;
    for (let f = 0; f < l.filters; f++) {
      const s = l.bn.scales[f] / (Math.sqrt(l.bn.variance[f]) + l.bn.eps);
      for (let k = f * per; k < (f + 1) * per; k++) weights[k] *= s;
      biases[f] = biases[f] - l.bn.mean[f] * s;
    }
  }
  return { weights, biases };
}

/** Geometry of a conv as the normalization needs it. */
export interface ConvGeometry {
  cout: number;
  cin: number;
  size: number;
  groups: number;
}

/** the input channel that weight [j][i'] of a grouped conv reads */
export function groupInputChannel(g: ConvGeometry, j: number, iInGroup: number): number {
  const coutG = g.cout / g.groups, cinG = g.cin / g.groups;
  return Math.floor(j / coutG) * cinG + iInGroup;
}

/** W̃ = W·λ_in(i)/λ_out(j), b̃ = b/λ_out(j), OIHW with groups; float32 out */
export function normalizeConv(
  g: ConvGeometry,
  weights: ArrayLike<number>,
  biases: ArrayLike<number>,
  lambdaIn: ArrayLike<number>,
  lambdaOut: ArrayLike<number>,
): { weights: Float32Array; biases: Float32Array } {
  const { cout, cin, size, groups } = g;
  if (cin % groups || cout % groups) throw new Error(`groups ${groups} do not divide ${cin} → ${cout}`);
  const cinG = cin / groups, kk = size * size;
  if (weights.length !== cout * cinG * kk) throw new Error(`weights: ${weights.length} values, expected ${cout * cinG * kk}`);
  if (biases.length !== cout) throw new Error(`biases: ${biases.length} values, expected ${cout}`);
  if (lambdaIn.length !== cin) throw new Error(`λ_in: ${lambdaIn.length} channels, conv reads ${cin}`);
  if (lambdaOut.length !== cout) throw new Error(`λ_out: ${lambdaOut.length} channels, conv writes ${cout}`);
  const w = new Float32Array(weights.length);
  const b = new Float32Array(cout);
  for (let j = 0; j < cout; j++) {
    const lo = lambdaOut[j];
    if (!(lo > 0) || !Number.isFinite(lo)) throw new Error(`λ_out[${j}] = ${lo} must be positive and finite`);
    b[j] = biases[j] / lo;
    for (let i = 0; i < cinG; i++) {
      const s = lambdaIn[groupInputChannel(g, j, i)] / lo;
      const off = (j * cinG + i) * kk;
      for (let k = 0; k < kk; k++) w[off + k] = weights[off + k] * s;
    }
  }
  return { weights: w, biases: b };
}

/** route: concatenation of the inputs' λ vectors, in route order */
export function concatLambda(parts: ArrayLike<number>[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(Array.from(p), off);
    off += p.length;
  }
  return out;
}

/**
 * Folds a linear conv A into the conv B that reads it, when B is 1×1, stride 1, no padding, no
 * groups (face-api's depthwise 3×3 then pointwise 1×1). Exact composition:
 *   W[o][i][ky][kx] = Σ_{m ∈ group(i)} Wb[o][m] · Wa[m][i − g·cinAG][ky][kx]
 *   b[o]            = b_B[o] + Σ_m Wb[o][m] · b_A[m]
 * (for a depthwise A: W[o][i] = Wb[o][i]·Wa[i], bias unchanged when b_A = 0). The fused conv has
 * A's kernel size, stride and padding (B's 1×1 adds no padding, so A's zero border is B's too)
 * and groups = 1. Float64 in and out.
 */
export function fuseLinearInto(
  a: ConvGeometry & { weights: ArrayLike<number>; biases: ArrayLike<number> },
  b: ConvGeometry & { weights: ArrayLike<number>; biases: ArrayLike<number> },
): { weights: Float64Array; biases: Float64Array; size: number; cin: number; cout: number; groups: 1 } {
  if (b.size !== 1 || b.groups !== 1) throw new Error('fuseLinearInto: the second conv must be 1x1 without groups');
  if (b.cin !== a.cout) throw new Error(`fuseLinearInto: ${a.cout} channels out of the first conv, ${b.cin} into the second`);
  const kk = a.size * a.size;
  const cinAG = a.cin / a.groups, coutAG = a.cout / a.groups;
  const weights = new Float64Array(b.cout * a.cin * kk);
  const biases = new Float64Array(b.cout);
  for (let o = 0; o < b.cout; o++) {
    let bias = b.biases[o];
    for (let m = 0; m < a.cout; m++) bias += b.weights[o * b.cin + m] * a.biases[m];
    biases[o] = bias;
    for (let m = 0; m < a.cout; m++) {
      const wb = b.weights[o * b.cin + m];
      if (wb === 0) continue;
      const g = Math.floor(m / coutAG);
      for (let ii = 0; ii < cinAG; ii++) {
        const i = g * cinAG + ii;
        const src = (m * cinAG + ii) * kk, dst = (o * a.cin + i) * kk;
        for (let k = 0; k < kk; k++) weights[dst + k] += wb * a.weights[src + k];
      }
    }
  }
  return { weights, biases, size: a.size, cin: a.cin, cout: b.cout, groups: 1 };
}

/** min / median / max of a λ vector (for summaries) */
export function lambdaRange(l: ArrayLike<number>): { min: number; median: number; max: number } {
  const s = Array.from(l).sort((x, y) => x - y);
  if (s.length === 0) return { min: NaN, median: NaN, max: NaN };
  const m = s.length >> 1;
  return { min: s[0], median: s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2, max: s[s.length - 1] };
}
