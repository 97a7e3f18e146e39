/**
 * Small dense numerical kernels for the Bayesian-optimization code: Cholesky factorization with
 * increasing diagonal jitter, triangular solves, the log-determinant, and a bound-constrained
 * L-BFGS minimizer (used for the GP hyperparameters and for the acquisition function).
 *
 * Matrices are row-major `Float64Array`s of n×n entries. Everything is O(n³) at most and meant
 * for n up to a few hundred.
 */

/** Thrown when a matrix stays non-positive-definite even with the largest jitter tried. */
export class NotPositiveDefiniteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotPositiveDefiniteError';
  }
}

/**
 * Cholesky factorization A = L Lᵀ without jitter. Returns the lower-triangular factor (row-major,
 * upper triangle zero), or null when a pivot is not strictly positive (A not positive definite).
 * Only the lower triangle of A is read.
 */
export function choleskyNoJitter(a: Float64Array, n: number, jitter = 0): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    let d = a[rowJ + j] + jitter;
    for (let k = 0; k < j; k++) d -= l[rowJ + k] * l[rowJ + k];
    if (!(d > 0) || !Number.isFinite(d)) return null;
    const ljj = Math.sqrt(d);
    l[rowJ + j] = ljj;
    const inv = 1 / ljj;
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      let s = a[rowI + j];
      for (let k = 0; k < j; k++) s -= l[rowI + k] * l[rowJ + k];
      l[rowI + j] = s * inv;
    }
  }
  return l;
}

export interface CholeskyResult {
  /** Lower-triangular factor, row-major n×n: A + jitter·I = L Lᵀ. */
  L: Float64Array;
  n: number;
  /** Diagonal jitter that was added (0 when A itself factorized). */
  jitter: number;
}

export interface CholeskyOptions {
  /** First jitter tried, relative to the mean of |diag(A)| (default 1e-10). */
  initialRelativeJitter?: number;
  /** Jitter is multiplied by 10 on each failure, up to this many attempts (default 8). */
  maxJitterTries?: number;
}

/**
 * Cholesky with increasing jitter: tries A, then A + j·I with j = initialRelativeJitter·mean|diag|,
 * ×10 on each failure. Throws NotPositiveDefiniteError when every attempt fails.
 */
export function cholesky(a: Float64Array, n: number, opts: CholeskyOptions = {}): CholeskyResult {
  const first = choleskyNoJitter(a, n, 0);
  if (first) return { L: first, n, jitter: 0 };
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += Math.abs(a[i * n + i]);
  meanDiag = n > 0 ? meanDiag / n : 1;
  if (!(meanDiag > 0) || !Number.isFinite(meanDiag)) meanDiag = 1;
  let jitter = (opts.initialRelativeJitter ?? 1e-10) * meanDiag;
  const tries = opts.maxJitterTries ?? 8;
  for (let t = 0; t < tries; t++, jitter *= 10) {
    const l = choleskyNoJitter(a, n, jitter);
    if (l) return { L: l, n, jitter };
  }
  throw new NotPositiveDefiniteError(`matrix ${n}×${n} is not positive definite even with jitter ${jitter / 10}`);
}

/** Solves L x = b (L lower-triangular, row-major). */
export function solveLower(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[row + k] * x[k];
    x[i] = s / l[row + i];
  }
  return x;
}

/** Solves Lᵀ x = b (L lower-triangular, row-major), i.e. the upper-triangular back substitution. */
export function solveLowerTranspose(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const x = Float64Array.from({ length: n }, (_, i) => b[i]);
  for (let i = n - 1; i >= 0; i--) {
    x[i] /= l[i * n + i];
    const xi = x[i];
    for (let k = 0; k < i; k++) x[k] -= l[i * n + k] * xi;
  }
  return x;
}

/** Solves (L Lᵀ) x = b. */
export function choleskySolve(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  return solveLowerTranspose(l, n, solveLower(l, n, b));
}

/** log det(L Lᵀ) = 2 Σ log L_ii. */
export function logDetFromCholesky(l: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(l[i * n + i]);
  return 2 * s;
}

/** (L Lᵀ)⁻¹ as a full symmetric row-major matrix. */
export function inverseFromCholesky(l: Float64Array, n: number): Float64Array {
  // Linv = L⁻¹ (lower triangular), then A⁻¹ = Linvᵀ Linv.
  const linv = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    linv[j * n + j] = 1 / l[j * n + j];
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= l[i * n + k] * linv[k * n + j];
      linv[i * n + j] = s / l[i * n + i];
    }
  }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += linv[k * n + i] * linv[k * n + j];
      inv[i * n + j] = s;
      inv[j * n + i] = s;
    }
  }
  return inv;
}

/** Row-major Float64Array from an array of rows. */
export function fromRows(rows: readonly (readonly number[])[]): Float64Array {
  const n = rows.length;
  const out = new Float64Array(n * (rows[0]?.length ?? 0));
  let o = 0;
  for (const r of rows) for (const v of r) out[o++] = v;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Bound-constrained L-BFGS (projected): small, dependency-free, deterministic.

/** f(x) with its gradient written into g; returns f. May return Infinity/NaN to reject x. */
export type ValueAndGradient = (x: Float64Array, g: Float64Array) => number;

export interface MinimizeOptions {
  /** Iterations of L-BFGS (default 100). */
  maxIter?: number;
  /** Function evaluations, including line-search trials (default 20·maxIter). */
  maxEvals?: number;
  /** Number of correction pairs kept (default 8). */
  memory?: number;
  /** Stop when the largest projected-gradient component is below this (default 1e-6). */
  gtol?: number;
  /** Stop when the relative decrease of f over one iteration is below this (default 1e-10). */
  ftol?: number;
  /** Largest step (∞-norm) of the first iteration, where no curvature is known (default 1). */
  firstStep?: number;
}

export interface MinimizeResult {
  x: Float64Array;
  f: number;
  iterations: number;
  evaluations: number;
}

const clampTo = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/**
 * Minimizes f over the box [lo, hi] with projected L-BFGS: the search direction comes from the
 * L-BFGS two-loop recursion restricted to the free variables (those not held at a bound by the
 * gradient), and a backtracking Armijo line search runs along the projected path P(x + αd).
 * Falls back to projected steepest descent whenever the quasi-Newton direction is not a descent
 * direction. A practical, simple relative of L-BFGS-B for the few-dimensional problems here.
 */
export function minimizeBox(
  fg: ValueAndGradient,
  x0: ArrayLike<number>,
  lo: ArrayLike<number>,
  hi: ArrayLike<number>,
  opts: MinimizeOptions = {},
): MinimizeResult {
  const n = x0.length;
  const maxIter = opts.maxIter ?? 100;
  const maxEvals = opts.maxEvals ?? 20 * maxIter;
  const m = opts.memory ?? 8;
  const gtol = opts.gtol ?? 1e-6;
  const ftol = opts.ftol ?? 1e-10;
  const firstStep = opts.firstStep ?? 1;

  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = clampTo(x0[i], lo[i], hi[i]);
  const g = new Float64Array(n);
  let f = fg(x, g);
  let evals = 1;
  if (!Number.isFinite(f)) return { x, f: Infinity, iterations: 0, evaluations: evals };

  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const free = new Uint8Array(n);
  const d = new Float64Array(n);
  const xn = new Float64Array(n);
  const gn = new Float64Array(n);
  const alphaBuf = new Float64Array(m);
  let iter = 0;

  for (; iter < maxIter && evals < maxEvals; iter++) {
    // Free variables and projected-gradient convergence test.
    let pgMax = 0;
    for (let i = 0; i < n; i++) {
      const atLo = x[i] <= lo[i] && g[i] > 0;
      const atHi = x[i] >= hi[i] && g[i] < 0;
      free[i] = atLo || atHi ? 0 : 1;
      const pg = Math.abs(x[i] - clampTo(x[i] - g[i], lo[i], hi[i]));
      if (pg > pgMax) pgMax = pg;
    }
    if (pgMax < gtol) break;

    // Two-loop recursion on the free subspace.
    for (let i = 0; i < n; i++) d[i] = free[i] ? -g[i] : 0;
    const k = S.length;
    for (let j = k - 1; j >= 0; j--) {
      let a = 0;
      for (let i = 0; i < n; i++) if (free[i]) a += S[j][i] * d[i];
      a *= rho[j];
      alphaBuf[j] = a;
      for (let i = 0; i < n; i++) if (free[i]) d[i] -= a * Y[j][i];
    }
    if (k > 0) {
      const sy = 1 / rho[k - 1];
      let yy = 0;
      for (let i = 0; i < n; i++) yy += Y[k - 1][i] * Y[k - 1][i];
      const gamma = sy / yy;
      for (let i = 0; i < n; i++) d[i] *= gamma;
    }
    for (let j = 0; j < k; j++) {
      let b = 0;
      for (let i = 0; i < n; i++) if (free[i]) b += Y[j][i] * d[i];
      b *= rho[j];
      for (let i = 0; i < n; i++) if (free[i]) d[i] += S[j][i] * (alphaBuf[j] - b);
    }
    let gd = 0;
    for (let i = 0; i < n; i++) gd += g[i] * d[i];
    if (!(gd < 0)) {
      // Not a descent direction: reset memory and use steepest descent.
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = free[i] ? -g[i] : 0;
    }
    let dMax = 0;
    for (let i = 0; i < n; i++) dMax = Math.max(dMax, Math.abs(d[i]));
    if (dMax === 0) break;
    let alpha = S.length === 0 ? Math.min(1, firstStep / dMax) : 1;

    // Backtracking Armijo line search along the projected path.
    let fn = Infinity;
    let accepted = false;
    for (let ls = 0; ls < 40 && evals < maxEvals; ls++) {
      let decrease = 0;
      let moved = false;
      for (let i = 0; i < n; i++) {
        xn[i] = clampTo(x[i] + alpha * d[i], lo[i], hi[i]);
        decrease += g[i] * (xn[i] - x[i]);
        if (xn[i] !== x[i]) moved = true;
      }
      if (!moved) break;
      fn = fg(xn, gn);
      evals++;
      if (Number.isFinite(fn) && fn <= f + 1e-4 * decrease) {
        accepted = true;
        break;
      }
      alpha *= 0.5;
    }
    if (!accepted) {
      if (S.length === 0) break;
      // Retry once from scratch with steepest descent.
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      continue;
    }
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    let sy = 0;
    let ss = 0;
    let yy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = xn[i] - x[i];
      y[i] = gn[i] - g[i];
      sy += s[i] * y[i];
      ss += s[i] * s[i];
      yy += y[i] * y[i];
    }
    const fPrev = f;
    x.set(xn);
    g.set(gn);
    f = fn;
    if (sy > 1e-12 * Math.sqrt(ss * yy)) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    if (fPrev - f <= ftol * Math.max(1, Math.abs(f))) {
      iter++;
      break;
    }
  }
  return { x, f, iterations: iter, evaluations: evals };
}
