/**
 * Gaussian-process regression with a Matérn 5/2 ARD kernel.
 *
 * Model, in normalized units:
 *   u = (x − lower) / (upper − lower)            inputs mapped to the unit cube
 *   z = (y − mean(y)) / std(y)                   outputs standardized (std 1 when all y agree)
 *   k(u, u') = σf² (1 + √5 r + 5r²/3) exp(−√5 r),  r² = Σ_j (u_j − u'_j)² / ℓ_j²
 *   z ~ GP(0, k) + N(0, σn²)
 * Hyperparameters θ = (log ℓ_1..log ℓ_d, log σf², log σn²) are fitted by maximizing the log
 * marginal likelihood
 *   log p(z | θ) = −½ zᵀK⁻¹z − ½ log|K| − (n/2) log 2π,   K = K_f + σn² I,
 * with its analytic gradient ∂/∂θ_j = ½ tr((ααᵀ − K⁻¹) ∂K/∂θ_j), α = K⁻¹z, by multi-start
 * (seeded) projected L-BFGS within bounds on the log parameters. The Cholesky factorization adds
 * increasing jitter when K is numerically singular.
 *
 * Hyperparameters are always expressed in these normalized units (length scales relative to the
 * box edge, variances relative to the variance of the observed outputs).
 */
import { mulberry32 } from '../util/rng.ts';
import { cholesky, inverseFromCholesky, minimizeBox, solveLower, solveLowerTranspose } from './linalg.ts';

const SQRT5 = Math.sqrt(5);
const LOG_2PI = Math.log(2 * Math.PI);

/** Hyperparameters in normalized units (see the module comment). */
export interface GpHyperparameters {
  lengthscales: number[];
  signalVariance: number;
  noiseVariance: number;
}

/** Bounds on the hyperparameters (natural, not log, values), applied in log space. */
export interface GpBounds {
  lengthscale: [number, number];
  signalVariance: [number, number];
  noiseVariance: [number, number];
}

export const DEFAULT_GP_BOUNDS: GpBounds = {
  lengthscale: [0.01, 20],
  signalVariance: [0.05, 20],
  noiseVariance: [1e-7, 1],
};

export interface GpOptions {
  /** Input box used to normalize inputs to the unit cube (default: the range of the data). */
  lower?: readonly number[];
  upper?: readonly number[];
  /** Map inputs to the unit cube (default true). When false, inputs are used as they are. */
  normalizeInputs?: boolean;
  /** Standardize outputs to mean 0, std 1 (default true). When false, the prior mean is 0. */
  normalizeOutputs?: boolean;
  /** Fixed hyperparameters: no fitting. */
  hyper?: GpHyperparameters;
  /** A starting point for the fit (e.g. the previous fit), used in addition to random starts. */
  warmStart?: GpHyperparameters;
  /** Local optimizations of the LML (default 4): warm start, a default start, then random. */
  restarts?: number;
  /** Seed of the random starts (default 0). */
  seed?: number;
  /** L-BFGS iterations per start (default 60). */
  maxIter?: number;
  bounds?: Partial<GpBounds>;
}

export interface Prediction {
  mean: number;
  /** Variance of the latent function (noise excluded). */
  variance: number;
}

export interface PredictionWithGradient extends Prediction {
  /** ∂mean/∂x in the original input units. */
  dMean: number[];
  /** ∂variance/∂x in the original input units. */
  dVariance: number[];
}

/** Matérn 5/2 correlation at scaled distance r: (1 + √5 r + 5r²/3) exp(−√5 r). */
export function matern52(r: number): number {
  const s = SQRT5 * r;
  return (1 + s + (s * s) / 3) * Math.exp(-s);
}

/** k(a, b) = σf² matern52(r), r² = Σ ((a_j − b_j)/ℓ_j)². */
export function maternKernel(a: ArrayLike<number>, b: ArrayLike<number>, lengthscales: ArrayLike<number>, signalVariance: number): number {
  let r2 = 0;
  for (let j = 0; j < lengthscales.length; j++) {
    const t = (a[j] - b[j]) / lengthscales[j];
    r2 += t * t;
  }
  return signalVariance * matern52(Math.sqrt(r2));
}

/** θ = (log ℓ…, log σf², log σn²) from hyperparameters. */
export function toTheta(h: GpHyperparameters): Float64Array {
  const d = h.lengthscales.length;
  const t = new Float64Array(d + 2);
  for (let j = 0; j < d; j++) t[j] = Math.log(h.lengthscales[j]);
  t[d] = Math.log(h.signalVariance);
  t[d + 1] = Math.log(h.noiseVariance);
  return t;
}

export function fromTheta(theta: ArrayLike<number>): GpHyperparameters {
  const d = theta.length - 2;
  return {
    lengthscales: Array.from({ length: d }, (_, j) => Math.exp(theta[j])),
    signalVariance: Math.exp(theta[d]),
    noiseVariance: Math.exp(theta[d + 1]),
  };
}

/**
 * Log marginal likelihood of z at inputs U (row-major n×d, already normalized) for
 * θ = (log ℓ_1..d, log σf², log σn²); writes ∂LML/∂θ into `grad` when given.
 * Returns −Infinity when K cannot be factorized even with jitter.
 */
export function logMarginalLikelihood(
  U: Float64Array,
  n: number,
  d: number,
  z: ArrayLike<number>,
  theta: ArrayLike<number>,
  grad?: Float64Array,
): number {
  const inv2 = new Float64Array(d);
  for (let j = 0; j < d; j++) inv2[j] = Math.exp(-2 * theta[j]);
  const sf2 = Math.exp(theta[d]);
  const sn2 = Math.exp(theta[d + 1]);
  const K = new Float64Array(n * n);
  const R = new Float64Array(n * n); // scaled distances, reused by the gradient
  for (let a = 0; a < n; a++) {
    K[a * n + a] = sf2 + sn2;
    for (let b = 0; b < a; b++) {
      let r2 = 0;
      for (let j = 0; j < d; j++) {
        const t = U[a * d + j] - U[b * d + j];
        r2 += t * t * inv2[j];
      }
      const r = Math.sqrt(r2);
      R[a * n + b] = r;
      const k = sf2 * matern52(r);
      K[a * n + b] = k;
      K[b * n + a] = k;
    }
  }
  let chol;
  try {
    chol = cholesky(K, n);
  } catch {
    return -Infinity;
  }
  const L = chol.L;
  const alpha = solveLowerTranspose(L, n, solveLower(L, n, z));
  let quad = 0;
  for (let i = 0; i < n; i++) quad += z[i] * alpha[i];
  let logDet = 0;
  for (let i = 0; i < n; i++) logDet += Math.log(L[i * n + i]);
  logDet *= 2;
  const lml = -0.5 * quad - 0.5 * logDet - 0.5 * n * LOG_2PI;
  if (grad) {
    grad.fill(0);
    const Kinv = inverseFromCholesky(L, n);
    // W = ααᵀ − K⁻¹; ∂LML/∂θ = ½ Σ_ab W_ab ∂K_ab/∂θ.
    let gSf = 0;
    let gSn = 0;
    for (let a = 0; a < n; a++) {
      const waa = alpha[a] * alpha[a] - Kinv[a * n + a];
      gSf += 0.5 * waa * sf2; // K_f diagonal = σf²
      gSn += 0.5 * waa * sn2;
      for (let b = 0; b < a; b++) {
        const w = alpha[a] * alpha[b] - Kinv[a * n + b];
        const r = R[a * n + b];
        const s5r = SQRT5 * r;
        const e = Math.exp(-s5r);
        gSf += w * K[a * n + b]; // ½·2 for the symmetric pair
        // ∂k/∂log ℓ_j = σf² (5/3)(1 + √5 r) e^{−√5 r} (Δ_j/ℓ_j)²
        const c = w * sf2 * (5 / 3) * (1 + s5r) * e;
        for (let j = 0; j < d; j++) {
          const t = U[a * d + j] - U[b * d + j];
          grad[j] += c * t * t * inv2[j];
        }
      }
    }
    grad[d] = gSf;
    grad[d + 1] = gSn;
  }
  return lml;
}

/** A fitted (or fixed-hyperparameter) GP posterior. */
export class GaussianProcess {
  readonly dim: number;
  readonly n: number;
  readonly hyper: GpHyperparameters;
  /** Log marginal likelihood (normalized units) at `hyper`. */
  readonly logMarginalLikelihood: number;
  /** Jitter that the Cholesky factorization of K needed (0 normally). */
  readonly jitter: number;
  /** Input normalization u = (x − inputOffset) / inputScale. */
  readonly inputOffset: number[];
  readonly inputScale: number[];
  /** Output normalization z = (y − outputMean) / outputStd. */
  readonly outputMean: number;
  readonly outputStd: number;

  private readonly U: Float64Array;
  private readonly L: Float64Array;
  private readonly alpha: Float64Array;
  private readonly inv2: Float64Array;
  private readonly sf2: number;
  private readonly sn2: number;
  private readonly X: number[][];
  private readonly y: number[];

  private constructor(
    X: number[][],
    y: number[],
    hyper: GpHyperparameters,
    inputOffset: number[],
    inputScale: number[],
    outputMean: number,
    outputStd: number,
  ) {
    this.X = X;
    this.y = y;
    this.n = X.length;
    this.dim = hyper.lengthscales.length;
    this.hyper = hyper;
    this.inputOffset = inputOffset;
    this.inputScale = inputScale;
    this.outputMean = outputMean;
    this.outputStd = outputStd;
    const n = this.n;
    const d = this.dim;
    this.U = normalizeInputs(X, inputOffset, inputScale);
    const z = y.map((v) => (v - outputMean) / outputStd);
    this.inv2 = Float64Array.from(hyper.lengthscales, (l) => 1 / (l * l));
    this.sf2 = hyper.signalVariance;
    this.sn2 = hyper.noiseVariance;
    const K = new Float64Array(n * n);
    for (let a = 0; a < n; a++) {
      K[a * n + a] = this.sf2 + this.sn2;
      for (let b = 0; b < a; b++) {
        const k = this.kUnit(this.U, a * d, this.U, b * d);
        K[a * n + b] = k;
        K[b * n + a] = k;
      }
    }
    const chol = cholesky(K, n);
    this.L = chol.L;
    this.jitter = chol.jitter;
    this.alpha = solveLowerTranspose(this.L, n, solveLower(this.L, n, z));
    let quad = 0;
    let logDet = 0;
    for (let i = 0; i < n; i++) {
      quad += z[i] * this.alpha[i];
      logDet += 2 * Math.log(this.L[i * n + i]);
    }
    this.logMarginalLikelihood = -0.5 * quad - 0.5 * logDet - 0.5 * n * LOG_2PI;
  }

  /**
   * Fits a GP to (X, y): normalizes, then maximizes the LML over the hyperparameters (unless
   * `opts.hyper` fixes them).
   */
  static fit(X: readonly (readonly number[])[], y: readonly number[], opts: GpOptions = {}): GaussianProcess {
    if (X.length === 0) throw new Error('GaussianProcess.fit: no data');
    if (X.length !== y.length) throw new Error(`GaussianProcess.fit: ${X.length} inputs but ${y.length} outputs`);
    const d = X[0].length;
    const Xc = X.map((r) => Array.from(r));
    const yc = Array.from(y);
    const { offset, scale } = inputTransform(Xc, d, opts);
    let outputMean = 0;
    let outputStd = 1;
    if (opts.normalizeOutputs ?? true) {
      outputMean = yc.reduce((s, v) => s + v, 0) / yc.length;
      const v = yc.reduce((s, t) => s + (t - outputMean) ** 2, 0) / yc.length;
      outputStd = v > 0 && Number.isFinite(v) ? Math.sqrt(v) : 1;
    }
    let hyper = opts.hyper;
    if (!hyper) {
      const U = normalizeInputs(Xc, offset, scale);
      const z = Float64Array.from(yc, (v) => (v - outputMean) / outputStd);
      hyper = fitHyperparameters(U, Xc.length, d, z, opts);
    }
    return new GaussianProcess(Xc, yc, hyper, offset, scale, outputMean, outputStd);
  }

  /**
   * The posterior with the same hyperparameters and the same input and output normalization,
   * conditioned on the current data plus (Xextra, yExtra): used for batch "fantasies".
   */
  conditionOn(Xextra: readonly (readonly number[])[], yExtra: readonly number[]): GaussianProcess {
    return new GaussianProcess(
      [...this.X, ...Xextra.map((r) => Array.from(r))],
      [...this.y, ...yExtra],
      this.hyper,
      this.inputOffset,
      this.inputScale,
      this.outputMean,
      this.outputStd,
    );
  }

  /** Training inputs and outputs (copies). */
  data(): { X: number[][]; y: number[] } {
    return { X: this.X.map((r) => r.slice()), y: this.y.slice() };
  }

  private kUnit(A: ArrayLike<number>, ao: number, B: ArrayLike<number>, bo: number): number {
    let r2 = 0;
    for (let j = 0; j < this.dim; j++) {
      const t = A[ao + j] - B[bo + j];
      r2 += t * t * this.inv2[j];
    }
    return this.sf2 * matern52(Math.sqrt(r2));
  }

  private toUnit(x: ArrayLike<number>): Float64Array {
    const u = new Float64Array(this.dim);
    for (let j = 0; j < this.dim; j++) u[j] = (x[j] - this.inputOffset[j]) / this.inputScale[j];
    return u;
  }

  /** Posterior mean and latent variance at x (original units). */
  predict(x: ArrayLike<number>): Prediction {
    const n = this.n;
    const u = this.toUnit(x);
    const ks = new Float64Array(n);
    let mz = 0;
    for (let i = 0; i < n; i++) {
      ks[i] = this.kUnit(u, 0, this.U, i * this.dim);
      mz += ks[i] * this.alpha[i];
    }
    const v = solveLower(this.L, n, ks);
    let vz = this.sf2;
    for (let i = 0; i < n; i++) vz -= v[i] * v[i];
    if (!(vz > 0)) vz = 0;
    return { mean: this.outputMean + this.outputStd * mz, variance: this.outputStd * this.outputStd * vz };
  }

  /** Posterior mean, latent variance and their gradients with respect to x (original units). */
  predictWithGradient(x: ArrayLike<number>): PredictionWithGradient {
    const n = this.n;
    const d = this.dim;
    const u = this.toUnit(x);
    const ks = new Float64Array(n);
    const dk = new Float64Array(n * d); // ∂k(u, U_i)/∂u_j
    let mz = 0;
    for (let i = 0; i < n; i++) {
      let r2 = 0;
      for (let j = 0; j < d; j++) {
        const t = u[j] - this.U[i * d + j];
        r2 += t * t * this.inv2[j];
      }
      const r = Math.sqrt(r2);
      const s5r = SQRT5 * r;
      const e = Math.exp(-s5r);
      ks[i] = this.sf2 * (1 + s5r + (s5r * s5r) / 3) * e;
      mz += ks[i] * this.alpha[i];
      // ∂k/∂u_j = −σf² (5/3)(1 + √5 r) e^{−√5 r} (u_j − U_ij)/ℓ_j²
      const c = -this.sf2 * (5 / 3) * (1 + s5r) * e;
      for (let j = 0; j < d; j++) dk[i * d + j] = c * (u[j] - this.U[i * d + j]) * this.inv2[j];
    }
    const v = solveLower(this.L, n, ks);
    let vz = this.sf2;
    for (let i = 0; i < n; i++) vz -= v[i] * v[i];
    const w = solveLowerTranspose(this.L, n, v); // K⁻¹ k*
    const dMean = new Array<number>(d).fill(0);
    const dVariance = new Array<number>(d).fill(0);
    const ys = this.outputStd;
    for (let j = 0; j < d; j++) {
      let dm = 0;
      let dv = 0;
      for (let i = 0; i < n; i++) {
        dm += this.alpha[i] * dk[i * d + j];
        dv += w[i] * dk[i * d + j];
      }
      dMean[j] = (ys * dm) / this.inputScale[j];
      dVariance[j] = vz > 0 ? (-2 * ys * ys * dv) / this.inputScale[j] : 0;
    }
    if (!(vz > 0)) vz = 0;
    return { mean: this.outputMean + ys * mz, variance: ys * ys * vz, dMean, dVariance };
  }
}

function inputTransform(X: number[][], d: number, opts: GpOptions): { offset: number[]; scale: number[] } {
  if (!(opts.normalizeInputs ?? true)) return { offset: new Array(d).fill(0), scale: new Array(d).fill(1) };
  const offset: number[] = [];
  const scale: number[] = [];
  for (let j = 0; j < d; j++) {
    let lo = opts.lower?.[j];
    let hi = opts.upper?.[j];
    if (lo === undefined || hi === undefined) {
      lo = Infinity;
      hi = -Infinity;
      for (const r of X) {
        lo = Math.min(lo, r[j]);
        hi = Math.max(hi, r[j]);
      }
    }
    const s = hi - lo;
    offset.push(lo);
    scale.push(s > 0 && Number.isFinite(s) ? s : 1);
  }
  return { offset, scale };
}

function normalizeInputs(X: number[][], offset: number[], scale: number[]): Float64Array {
  const d = offset.length;
  const U = new Float64Array(X.length * d);
  X.forEach((r, i) => {
    for (let j = 0; j < d; j++) U[i * d + j] = (r[j] - offset[j]) / scale[j];
  });
  return U;
}

function fitHyperparameters(U: Float64Array, n: number, d: number, z: Float64Array, opts: GpOptions): GpHyperparameters {
  const b = { ...DEFAULT_GP_BOUNDS, ...opts.bounds };
  const lo = new Float64Array(d + 2);
  const hi = new Float64Array(d + 2);
  for (let j = 0; j < d; j++) {
    lo[j] = Math.log(b.lengthscale[0]);
    hi[j] = Math.log(b.lengthscale[1]);
  }
  lo[d] = Math.log(b.signalVariance[0]);
  hi[d] = Math.log(b.signalVariance[1]);
  lo[d + 1] = Math.log(b.noiseVariance[0]);
  hi[d + 1] = Math.log(b.noiseVariance[1]);

  const rand = mulberry32(opts.seed ?? 0);
  const restarts = Math.max(1, opts.restarts ?? 4);
  const starts: Float64Array[] = [];
  if (opts.warmStart) starts.push(toTheta(opts.warmStart));
  starts.push(toTheta({ lengthscales: new Array(d).fill(0.3), signalVariance: 1, noiseVariance: 1e-4 }));
  // Random starts, uniform in log space over a sensible sub-box of the bounds.
  const sub = (j: number, a: number, c: number) => [Math.max(lo[j], Math.log(a)), Math.min(hi[j], Math.log(c))];
  while (starts.length < restarts) {
    const t = new Float64Array(d + 2);
    for (let j = 0; j < d; j++) {
      const [a, c] = sub(j, 0.05, 2);
      t[j] = a + (c - a) * rand();
    }
    const [sa, sc] = sub(d, 0.3, 3);
    t[d] = sa + (sc - sa) * rand();
    const [na, nc] = sub(d + 1, 1e-6, 1e-2);
    t[d + 1] = na + (nc - na) * rand();
    starts.push(t);
  }

  const negLml = (theta: Float64Array, g: Float64Array): number => {
    const v = logMarginalLikelihood(U, n, d, z, theta, g);
    for (let j = 0; j < g.length; j++) g[j] = -g[j];
    return Number.isFinite(v) ? -v : Infinity;
  };
  let best: Float64Array | null = null;
  let bestF = Infinity;
  for (const s of starts.slice(0, restarts)) {
    const r = minimizeBox(negLml, s, lo, hi, { maxIter: opts.maxIter ?? 60, firstStep: 1, gtol: 1e-5, ftol: 1e-9 });
    if (r.f < bestF) {
      bestF = r.f;
      best = r.x;
    }
  }
  if (!best) {
    // Every start failed (pathological data): fall back to a heavily regularized default.
    best = toTheta({ lengthscales: new Array(d).fill(0.3), signalVariance: 1, noiseVariance: b.noiseVariance[1] });
  }
  return fromTheta(best);
}
