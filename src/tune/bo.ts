/**
 * Bayesian optimization over a box: a seeded space-filling initial design, then a Gaussian
 * process (Matérn 5/2 ARD, refitted after every batch) and Expected Improvement maximized by
 * multi-start local search. Minimizes or maximizes (internally everything is a minimization of
 * sign·f).
 *
 * Batches. `suggest(k)` returns k points to evaluate in parallel. The first point maximizes EI;
 * each further one maximizes EI after the GP has been conditioned (same hyperparameters) on the
 * points already chosen, each given a fantasy value:
 *  - 'kriging-believer' (default): the posterior mean at the point (Ginsbourger, Le Riche &
 *    Carraro, "Kriging is well-suited to parallelize optimization", 2010);
 *  - 'constant-liar-min' / '-mean' / '-max': the smallest / mean / largest observed value
 *    (same paper; "min" is the most exploitative, "max" spreads the batch the most).
 * The fantasy shrinks the posterior variance around the chosen points so that the next EI maximum
 * lies elsewhere, and, as in the paper, a fantasy value below the incumbent becomes the incumbent
 * `best` of EI (otherwise EI would stay positive at the fantasized point itself). Points that were
 * suggested but not yet observed (asynchronous use) are treated the same way.
 *
 * Determinism: all randomness derives from `seed` and the number of points suggested so far, so
 * the same seed and the same observed values give the same sequence of points, whatever the
 * timing of the evaluations. A non-finite objective value is recorded as it is, and the GP sees it
 * as the worst finite value observed so far.
 */
import { maxOf, minOf } from '../util/array.ts';
import { mulberry32 } from '../util/rng.ts';
import { maximizeEi } from './acquisition.ts';
import { latinHypercube, scaleToBox, sobol, SOBOL_MAX_DIM } from './design.ts';
import { GaussianProcess, type GpBounds, type GpHyperparameters } from './gp.ts';

export type Objective = (x: number[]) => number | Promise<number>;
export type BatchStrategy = 'kriging-believer' | 'constant-liar-min' | 'constant-liar-mean' | 'constant-liar-max';

export interface BoOptions {
  lower: readonly number[];
  upper: readonly number[];
  /** Total number of evaluations, the initial design included. */
  budget: number;
  /** Points of the initial design (default min(budget, max(5, 2·dim))). */
  initialDesignSize?: number;
  /** Initial design: scrambled Sobol (default) or maximin Latin hypercube. */
  design?: 'sobol' | 'lhs';
  /** Seed of everything random (default 0). */
  seed?: number;
  direction?: 'minimize' | 'maximize';
  /** Points evaluated in parallel per round by `bayesianOptimize` (default 1). */
  batchSize?: number;
  batchStrategy?: BatchStrategy;
  /** EI exploration margin ξ, in standard deviations of the observed values (default 0). */
  xi?: number;
  gp?: {
    /** LML local optimizations per refit, the warm start from the previous fit included (default 3). */
    restarts?: number;
    maxIter?: number;
    bounds?: Partial<GpBounds>;
  };
  acquisition?: {
    rawSamples?: number;
    restarts?: number;
    /** Best observed points perturbed into extra EI starts (default 3). */
    incumbents?: number;
    maxIter?: number;
  };
  /** Called after every observed evaluation (in suggestion order). */
  onEvaluation?: (e: BoEvaluation) => void;
}

export interface BoEvaluation {
  /** 0-based order of observation. */
  index: number;
  x: number[];
  /** The objective value as returned (not sign-flipped). */
  y: number;
  phase: 'initial' | 'model' | 'random';
  /** Best value so far (in the objective's own sense) and the index where it was found. */
  bestY: number;
  bestIndex: number;
}

export interface BoResult {
  bestX: number[];
  bestY: number;
  evaluations: BoEvaluation[];
  seed: number;
  direction: 'minimize' | 'maximize';
}

/** A 32-bit mix of a seed and counters (splitmix-style), for independent sub-seeds. */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const p of [...parts, parts.length]) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

function validateBox(lower: readonly number[], upper: readonly number[]): void {
  if (lower.length === 0 || lower.length !== upper.length) throw new RangeError('BO: lower and upper must be non-empty and of equal length');
  lower.forEach((l, j) => {
    if (!(Number.isFinite(l) && Number.isFinite(upper[j]) && upper[j] > l)) throw new RangeError(`BO: bad bounds in dimension ${j}: [${l}, ${upper[j]}]`);
  });
}

/** Ask/tell Bayesian optimizer (see the module comment); `bayesianOptimize` drives it. */
export class BayesianOptimizer {
  readonly dim: number;
  readonly seed: number;
  readonly direction: 'minimize' | 'maximize';
  private readonly opts: BoOptions;
  private readonly sign: number;
  private readonly design: number[][];
  private designNext = 0;
  private suggested = 0;
  private readonly pending: { x: number[]; phase: BoEvaluation['phase'] }[] = [];
  private readonly evals: BoEvaluation[] = [];
  private hyper: GpHyperparameters | undefined;
  private model: GaussianProcess | undefined;

  constructor(opts: BoOptions) {
    validateBox(opts.lower, opts.upper);
    this.opts = opts;
    this.dim = opts.lower.length;
    this.seed = (opts.seed ?? 0) >>> 0;
    this.direction = opts.direction ?? 'minimize';
    this.sign = this.direction === 'maximize' ? -1 : 1;
    const n0 = Math.max(1, Math.min(opts.budget, opts.initialDesignSize ?? Math.max(5, 2 * this.dim)));
    const unit =
      (opts.design ?? 'sobol') === 'lhs' || this.dim > SOBOL_MAX_DIM
        ? latinHypercube(n0, this.dim, { seed: deriveSeed(this.seed, 1), maximinCandidates: 20 })
        : sobol(n0, this.dim, { scramble: true, seed: deriveSeed(this.seed, 2) });
    this.design = scaleToBox(unit, opts.lower, opts.upper);
  }

  /** Every observation so far, in order. */
  get evaluations(): readonly BoEvaluation[] {
    return this.evals;
  }

  /** The GP of the last model-based suggestion. */
  get lastModel(): GaussianProcess | undefined {
    return this.model;
  }

  /** Best observation so far. */
  best(): BoEvaluation | undefined {
    const n = this.evals.length;
    return n ? this.evals[this.evals[n - 1].bestIndex] : undefined;
  }

  /** The next k points to evaluate (the rest of the initial design first, then EI maxima). */
  suggest(k = 1): number[][] {
    const out: number[][] = [];
    while (out.length < k && this.designNext < this.design.length) {
      const x = this.design[this.designNext++].slice();
      this.pending.push({ x, phase: 'initial' });
      out.push(x);
      this.suggested++;
    }
    if (out.length === k) return out;
    const finite = this.evals.filter((e) => Number.isFinite(e.y));
    if (finite.length < 2) {
      // Not enough data for a model (the design was tiny, or evaluations failed): sample uniformly.
      const rand = mulberry32(deriveSeed(this.seed, 3, this.suggested));
      while (out.length < k) {
        const x = this.opts.lower.map((l, j) => l + rand() * (this.opts.upper[j] - l));
        this.pending.push({ x, phase: 'random' });
        out.push(x);
        this.suggested++;
      }
      return out;
    }
    const worst = maxOf(finite.map((e) => this.sign * e.y));
    const X = this.evals.map((e) => e.x);
    const y = this.evals.map((e) => (Number.isFinite(e.y) ? this.sign * e.y : worst));
    const gp = GaussianProcess.fit(X, y, {
      lower: this.opts.lower,
      upper: this.opts.upper,
      warmStart: this.hyper,
      restarts: this.opts.gp?.restarts ?? 3,
      maxIter: this.opts.gp?.maxIter ?? 60,
      bounds: this.opts.gp?.bounds,
      seed: deriveSeed(this.seed, 4, this.suggested),
    });
    this.hyper = gp.hyper;
    this.model = gp;
    const best = minOf(y);
    const order = y.map((v, i) => i).sort((a, b) => y[a] - y[b]);
    const incumbents = order.slice(0, this.opts.acquisition?.incumbents ?? 3).map((i) => X[i]);
    const strategy = this.opts.batchStrategy ?? 'kriging-believer';
    const lie =
      strategy === 'constant-liar-min' ? best : strategy === 'constant-liar-max' ? worst : y.reduce((s, v) => s + v, 0) / y.length;
    // Fantasies: pending points (suggested earlier, or earlier in this batch).
    const fantX: number[][] = [];
    const fantY: number[] = [];
    let current = gp;
    let incumbent = best;
    const addFantasy = (x: number[]) => {
      const v = strategy === 'kriging-believer' ? current.predict(x).mean : lie;
      fantX.push(x);
      fantY.push(v);
      incumbent = Math.min(incumbent, v);
      current = gp.conditionOn(fantX, fantY);
    };
    for (const p of this.pending) addFantasy(p.x);
    while (out.length < k) {
      const r = maximizeEi(current, {
        lower: this.opts.lower,
        upper: this.opts.upper,
        best: incumbent,
        xi: (this.opts.xi ?? 0) * gp.outputStd,
        seed: deriveSeed(this.seed, 5, this.suggested),
        rawSamples: this.opts.acquisition?.rawSamples,
        restarts: this.opts.acquisition?.restarts,
        maxIter: this.opts.acquisition?.maxIter,
        incumbents,
      });
      const x = r.x;
      this.pending.push({ x, phase: 'model' });
      out.push(x);
      this.suggested++;
      if (out.length < k) addFantasy(x);
    }
    return out;
  }

  /** Records f(x) = y for a point (normally one returned by `suggest`). */
  observe(x: readonly number[], y: number): BoEvaluation {
    if (x.length !== this.dim) throw new RangeError(`BO: point has ${x.length} coordinates, expected ${this.dim}`);
    const at = this.pending.findIndex((p) => p.x.every((v, j) => v === x[j]));
    const phase = at >= 0 ? this.pending[at].phase : 'random';
    if (at >= 0) this.pending.splice(at, 1);
    const index = this.evals.length;
    const prev = this.evals[index - 1];
    let bestIndex = prev ? prev.bestIndex : index;
    if (prev && Number.isFinite(y)) {
      const b = this.evals[bestIndex].y;
      if (!Number.isFinite(b) || this.sign * y < this.sign * b) bestIndex = index;
    }
    const e: BoEvaluation = { index, x: Array.from(x), y, phase, bestY: index === bestIndex ? y : this.evals[bestIndex].y, bestIndex };
    this.evals.push(e);
    return e;
  }
}

function resultOf(evals: readonly BoEvaluation[], seed: number, direction: 'minimize' | 'maximize'): BoResult {
  const last = evals[evals.length - 1];
  const best = evals[last.bestIndex];
  return { bestX: best.x.slice(), bestY: best.y, evaluations: evals.slice(), seed, direction };
}

/**
 * Runs Bayesian optimization of f over the box for `budget` evaluations. Evaluations of a batch
 * (`batchSize` > 1) run concurrently (Promise.all) and are recorded in suggestion order.
 */
export async function bayesianOptimize(f: Objective, opts: BoOptions): Promise<BoResult> {
  const bo = new BayesianOptimizer(opts);
  const batch = Math.max(1, Math.floor(opts.batchSize ?? 1));
  while (bo.evaluations.length < opts.budget) {
    const xs = bo.suggest(Math.min(batch, opts.budget - bo.evaluations.length));
    const ys = await Promise.all(xs.map((x) => f(x.slice())));
    xs.forEach((x, i) => {
      const e = bo.observe(x, ys[i]);
      opts.onEvaluation?.(e);
    });
  }
  return resultOf(bo.evaluations, bo.seed, bo.direction);
}

export interface RandomSearchOptions {
  lower: readonly number[];
  upper: readonly number[];
  budget: number;
  seed?: number;
  direction?: 'minimize' | 'maximize';
  batchSize?: number;
  onEvaluation?: (e: BoEvaluation) => void;
}

/** Uniform random search with the same bookkeeping as `bayesianOptimize` (the usual baseline). */
export async function randomSearch(f: Objective, opts: RandomSearchOptions): Promise<BoResult> {
  validateBox(opts.lower, opts.upper);
  const seed = (opts.seed ?? 0) >>> 0;
  const direction = opts.direction ?? 'minimize';
  const sign = direction === 'maximize' ? -1 : 1;
  const rand = mulberry32(deriveSeed(seed, 6));
  const batch = Math.max(1, Math.floor(opts.batchSize ?? 1));
  const evals: BoEvaluation[] = [];
  while (evals.length < opts.budget) {
    const k = Math.min(batch, opts.budget - evals.length);
    const xs = Array.from({ length: k }, () => opts.lower.map((l, j) => l + rand() * (opts.upper[j] - l)));
    const ys = await Promise.all(xs.map((x) => f(x.slice())));
    xs.forEach((x, i) => {
      const y = ys[i];
      const index = evals.length;
      const prev = evals[index - 1];
      let bestIndex = prev ? prev.bestIndex : index;
      if (prev && Number.isFinite(y)) {
        const b = evals[bestIndex].y;
        if (!Number.isFinite(b) || sign * y < sign * b) bestIndex = index;
      }
      const e: BoEvaluation = { index, x, y, phase: 'random', bestY: index === bestIndex ? y : evals[bestIndex].y, bestIndex };
      evals.push(e);
      opts.onEvaluation?.(e);
    });
  }
  return resultOf(evals, seed, direction);
}
