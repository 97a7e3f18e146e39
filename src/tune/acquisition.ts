/**
 * Expected Improvement (for minimization) and its maximization over a box.
 *
 *   EI(x) = E[max(best − ξ − f(x), 0)] = σ (z Φ(z) + φ(z)),   z = (best − μ − ξ) / σ,
 * with μ, σ² the GP posterior mean and latent variance at x. For the search we maximize log EI,
 * computed stably deep in the tail (z ≪ 0) where EI itself underflows and its gradient vanishes
 * (the "LogEI" remedy of Ament et al., NeurIPS 2023); the maximizer is the same.
 *
 * The maximization is a multi-start local search: `rawSamples` seeded uniform points are scored,
 * the best `restarts` of them plus perturbed copies of the best observed points start projected
 * L-BFGS runs in the unit cube of the box (analytic gradient of log EI through the GP's
 * posterior gradients), and the best end point wins.
 */
import { gaussian, mulberry32 } from '../util/rng.ts';
import type { GaussianProcess } from './gp.ts';
import { minimizeBox } from './linalg.ts';

const SQRT2 = Math.SQRT2;
const SQRT_PI = Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** Continued fraction 1/(x + (1/2)/(x + (2/2)/(x + (3/2)/…))) = √π exp(x²) erfc(x), x ≥ 2. */
function erfcContinuedFraction(x: number): number {
  // Modified Lentz for f = x + a1/(x + a2/(x + …)), a_k = k/2.
  const tiny = 1e-300;
  let f = x;
  let C = f;
  let D = 0;
  for (let k = 1; k < 1000; k++) {
    const a = k / 2;
    D = x + a * D;
    if (D === 0) D = tiny;
    C = x + a / C;
    if (C === 0) C = tiny;
    D = 1 / D;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return 1 / f;
}

/** erf(x) for 0 ≤ x ≤ 3 by the all-positive series (2/√π) e^{−x²} Σ 2ⁿx^{2n+1}/(2n+1)!!. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return (2 / SQRT_PI) * Math.exp(-x2) * sum;
}

/** Complementary error function, relative accuracy about 1e-13 or better over the real line. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2.5) return 1 - erfSeries(x);
  if (x > 27.3) return 0;
  return (Math.exp(-x * x) / SQRT_PI) * erfcContinuedFraction(x);
}

/** Scaled complementary error function exp(x²) erfc(x), for x ≥ 0 (finite for large x). */
export function erfcx(x: number): number {
  if (x < 0) throw new RangeError('erfcx: x must be ≥ 0');
  if (x < 2.5) return Math.exp(x * x) * (1 - erfSeries(x));
  return erfcContinuedFraction(x) / SQRT_PI;
}

/** Standard normal density. */
export function normalPdf(z: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * z * z);
}

/** Standard normal distribution function Φ(z) = ½ erfc(−z/√2). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / SQRT2);
}

/** Closed-form EI for minimization: σ(zΦ(z) + φ(z)), z = (best − μ − ξ)/σ; max(best − μ − ξ, 0) at σ = 0. */
export function expectedImprovement(mean: number, sd: number, best: number, xi = 0): number {
  const imp = best - mean - xi;
  if (!(sd > 0)) return Math.max(imp, 0);
  const z = imp / sd;
  return sd * (z * normalCdf(z) + normalPdf(z));
}

/**
 * log h(z) and d log h/dz for h(z) = zΦ(z) + φ(z), stable for z ≪ 0 (where h ≈ φ(z)/z²).
 * h′(z) = Φ(z), so d log h/dz = Φ(z)/h(z).
 */
export function logH(z: number): { value: number; slope: number } {
  if (z > -1) {
    const cdf = normalCdf(z);
    const h = z * cdf + normalPdf(z);
    return { value: Math.log(h), slope: cdf / h };
  }
  const t = -z;
  // Mills ratio R(t) = Q(t)/φ(t) = √(π/2) erfcx(t/√2); h(z) = φ(t)(1 − tR(t)).
  const R = Math.sqrt(Math.PI / 2) * erfcx(t / SQRT2);
  let oneMinusTR: number;
  if (t <= 30) {
    oneMinusTR = 1 - t * R;
  } else {
    // Asymptotic series 1 − tR(t) = Σ_{k≥1} (−1)^{k+1} (2k−1)!! / t^{2k}.
    const u = 1 / (t * t);
    oneMinusTR = u * (1 - 3 * u * (1 - 5 * u * (1 - 7 * u * (1 - 9 * u * (1 - 11 * u)))));
  }
  return { value: -0.5 * t * t - HALF_LOG_2PI + Math.log(oneMinusTR), slope: R / oneMinusTR };
}

/** log EI for minimization; −Infinity where EI is exactly 0 (σ = 0 and no improvement). */
export function logExpectedImprovement(mean: number, sd: number, best: number, xi = 0): number {
  const imp = best - mean - xi;
  if (!(sd > 0)) return imp > 0 ? Math.log(imp) : -Infinity;
  return Math.log(sd) + logH(imp / sd).value;
}

/** log EI at x under the GP posterior, with its gradient with respect to x. */
export function logEiWithGradient(
  gp: GaussianProcess,
  x: ArrayLike<number>,
  best: number,
  xi = 0,
): { value: number; gradient: number[] } {
  const p = gp.predictWithGradient(x);
  const d = p.dMean.length;
  const sd = Math.sqrt(p.variance);
  const imp = best - p.mean - xi;
  if (!(sd > 1e-12 * gp.outputStd)) {
    return { value: imp > 0 ? Math.log(imp) : -Infinity, gradient: p.dMean.map((g) => (imp > 0 ? -g / imp : 0)) };
  }
  const z = imp / sd;
  const lh = logH(z);
  const gradient = new Array<number>(d);
  for (let j = 0; j < d; j++) {
    const dsd = p.dVariance[j] / (2 * sd);
    const dz = (-p.dMean[j] - z * dsd) / sd;
    gradient[j] = dsd / sd + lh.slope * dz;
  }
  return { value: Math.log(sd) + lh.value, gradient };
}

export interface EiMaximizeOptions {
  lower: readonly number[];
  upper: readonly number[];
  /** Incumbent: the smallest observed value. */
  best: number;
  /** Exploration margin ξ in output units (default 0). */
  xi?: number;
  /** Seed of the random starts and perturbations (default 0). */
  seed?: number;
  /** Uniform random points scored before the local searches (default 1000). */
  rawSamples?: number;
  /** Local searches started from the best raw samples (default 5). */
  restarts?: number;
  /** Best observed points: each is perturbed into an extra start. */
  incumbents?: readonly (readonly number[])[];
  /** Perturbations per incumbent (default 2). */
  perturbationsPerIncumbent?: number;
  /** Standard deviation of the perturbation, as a fraction of each box edge (default 0.02). */
  perturbScale?: number;
  /** L-BFGS iterations per local search (default 50). */
  maxIter?: number;
}

export interface EiMaximum {
  x: number[];
  logEi: number;
  ei: number;
}

/** Maximizes EI under `gp` over the box by multi-start local search (see the module comment). */
export function maximizeEi(gp: GaussianProcess, opts: EiMaximizeOptions): EiMaximum {
  const d = opts.lower.length;
  const lo = opts.lower;
  const span = opts.upper.map((u, j) => u - lo[j]);
  const rand = mulberry32(opts.seed ?? 0);
  const normal = gaussian(rand);
  const xi = opts.xi ?? 0;
  const toX = (t: ArrayLike<number>) => Array.from({ length: d }, (_, j) => lo[j] + t[j] * span[j]);
  const score = (t: ArrayLike<number>) => {
    const x = toX(t);
    const p = gp.predict(x);
    return logExpectedImprovement(p.mean, Math.sqrt(p.variance), opts.best, xi);
  };

  const raw: { t: Float64Array; v: number }[] = [];
  const nRaw = opts.rawSamples ?? 1000;
  for (let i = 0; i < nRaw; i++) {
    const t = Float64Array.from({ length: d }, () => rand());
    raw.push({ t, v: score(t) });
  }
  raw.sort((a, b) => b.v - a.v);
  const starts: { t: Float64Array; v: number }[] = raw.slice(0, Math.max(0, opts.restarts ?? 5));
  const scale = opts.perturbScale ?? 0.02;
  for (const inc of opts.incumbents ?? []) {
    for (let k = 0; k < (opts.perturbationsPerIncumbent ?? 2); k++) {
      const t = Float64Array.from({ length: d }, (_, j) => {
        const u = (inc[j] - lo[j]) / span[j] + scale * normal();
        return u < 0 ? 0 : u > 1 ? 1 : u;
      });
      starts.push({ t, v: score(t) });
    }
  }
  if (starts.length === 0) starts.push(raw[0] ?? { t: new Float64Array(d).fill(0.5), v: -Infinity });

  const negLogEi = (t: Float64Array, g: Float64Array): number => {
    const r = logEiWithGradient(gp, toX(t), opts.best, xi);
    for (let j = 0; j < d; j++) g[j] = -r.gradient[j] * span[j];
    return Number.isFinite(r.value) ? -r.value : Infinity;
  };
  const zeros = new Float64Array(d);
  const ones = new Float64Array(d).fill(1);
  let bestT = starts[0].t;
  let bestV = starts[0].v;
  for (const s of starts) {
    if (s.v > bestV) {
      bestV = s.v;
      bestT = s.t;
    }
    if (!Number.isFinite(s.v)) continue;
    const r = minimizeBox(negLogEi, s.t, zeros, ones, { maxIter: opts.maxIter ?? 50, firstStep: 0.1, gtol: 1e-7, ftol: 1e-12 });
    if (-r.f > bestV) {
      bestV = -r.f;
      bestT = r.x;
    }
  }
  const x = toX(bestT);
  return { x, logEi: bestV, ei: Math.exp(bestV) };
}
