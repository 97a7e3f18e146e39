/**
 * The numerical parts of the Bayesian optimizer against independent truths: Cholesky on a matrix
 * whose factor is known, the GP posterior and log marginal likelihood against closed-form
 * computations written out here (explicit 2×2 / 3×3 inverses and determinants, the Matérn 5/2
 * formula typed again), gradients against finite differences, EI and Φ against SciPy/mpmath
 * values, Sobol points against the published sequence (SciPy's qmc.Sobol, Joe–Kuo numbers),
 * Latin-hypercube stratification by counting.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  erfc,
  expectedImprovement,
  logEiWithGradient,
  logExpectedImprovement,
  logH,
  maximizeEi,
  normalCdf,
  normalPdf,
} from '../src/tune/acquisition.ts';
import { latinHypercube, sobol, SOBOL_MAX_DIM } from '../src/tune/design.ts';
import { GaussianProcess, logMarginalLikelihood, toTheta, type GpHyperparameters } from '../src/tune/gp.ts';
import {
  cholesky,
  choleskySolve,
  fromRows,
  inverseFromCholesky,
  logDetFromCholesky,
  minimizeBox,
  NotPositiveDefiniteError,
} from '../src/tune/linalg.ts';
import { mulberry32 } from '../src/util/rng.ts';

const close = (actual: number, expected: number, tol: number, what = 'value') =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} ≠ ${expected} (|Δ| = ${Math.abs(actual - expected)}, tol ${tol})`);
const relClose = (actual: number, expected: number, rtol: number, what = 'value') =>
  close(actual, expected, rtol * Math.max(Math.abs(expected), 1e-300), what);

// ---------------------------------------------------------------------------------- linalg

test('Cholesky of a matrix with a known factor, solve, log-determinant, inverse', () => {
  // Classic example: A = L Lᵀ with L = [[2,0,0],[6,1,0],[-8,5,3]].
  const A = fromRows([
    [4, 12, -16],
    [12, 37, -43],
    [-16, -43, 98],
  ]);
  const { L, jitter } = cholesky(A, 3);
  assert.is(jitter, 0);
  const expected = [2, 0, 0, 6, 1, 0, -8, 5, 3];
  expected.forEach((v, i) => close(L[i], v, 1e-12, `L[${i}]`));
  close(logDetFromCholesky(L, 3), 2 * Math.log(6), 1e-12, 'log det'); // det = (2·1·3)² = 36
  // A·(1, −2, 3) = (4 − 24 − 48, 12 − 74 − 129, −16 + 86 + 294) = (−68, −191, 364)
  const x = choleskySolve(L, 3, [-68, -191, 364]);
  [1, -2, 3].forEach((v, i) => close(x[i], v, 1e-10, `x[${i}]`));
  const inv = inverseFromCholesky(L, 3);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += A[i * 3 + k] * inv[k * 3 + j];
      close(s, i === j ? 1 : 0, 1e-10, `(A A⁻¹)[${i}][${j}]`);
    }
  }
});

test('Cholesky jitter: a singular matrix factorizes with a small jitter, an indefinite one throws', () => {
  const S = fromRows([
    [1, 1, 1],
    [1, 1, 1],
    [1, 1, 1],
  ]); // rank 1
  const r = cholesky(S, 3);
  assert.ok(r.jitter > 0 && r.jitter <= 1e-6, `jitter ${r.jitter}`);
  // L Lᵀ = S + jitter·I
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += r.L[i * 3 + k] * r.L[j * 3 + k];
      close(s, S[i * 3 + j] + (i === j ? r.jitter : 0), 1e-12, `(LLᵀ)[${i}][${j}]`);
    }
  }
  const N = fromRows([
    [1, 2],
    [2, 1],
  ]); // eigenvalues 3 and −1
  assert.throws(() => cholesky(N, 2), (e: unknown) => e instanceof NotPositiveDefiniteError);
});

test('bounded L-BFGS: Rosenbrock unconstrained, and a quadratic with an active bound', () => {
  const rosen = (x: Float64Array, g: Float64Array) => {
    g[0] = -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]);
    g[1] = 200 * (x[1] - x[0] ** 2);
    return 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2;
  };
  const r = minimizeBox(rosen, [-1.2, 1], [-5, -5], [5, 5], { maxIter: 500, gtol: 1e-9, ftol: 0 });
  close(r.x[0], 1, 1e-5, 'x0');
  close(r.x[1], 1, 1e-5, 'x1');
  // (x−3)² + (y+1)² on [0,2]×[0,2]: minimum at the corner (2, 0).
  const q = minimizeBox(
    (x, g) => {
      g[0] = 2 * (x[0] - 3);
      g[1] = 2 * (x[1] + 1);
      return (x[0] - 3) ** 2 + (x[1] + 1) ** 2;
    },
    [0.5, 1.5],
    [0, 0],
    [2, 2],
  );
  close(q.x[0], 2, 1e-12, 'bound x');
  close(q.x[1], 0, 1e-12, 'bound y');
});

// ---------------------------------------------------------------------------------- GP closed form

/** Matérn 5/2 typed again from the textbook formula (Rasmussen & Williams eq. 4.17). */
function m52(a: number[], b: number[], ls: number[], sf2: number): number {
  const r = Math.sqrt(a.reduce((s, v, j) => s + ((v - b[j]) / ls[j]) ** 2, 0));
  return sf2 * (1 + Math.sqrt(5) * r + (5 * r * r) / 3) * Math.exp(-Math.sqrt(5) * r);
}

function det3(m: number[][]): number {
  return (
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
  );
}

/** Inverse of a 3×3 matrix by the adjugate (Cramer's rule). */
function inv3(m: number[][]): number[][] {
  const d = det3(m);
  const c = (i: number, j: number) => {
    const r = [0, 1, 2].filter((k) => k !== i);
    const s = [0, 1, 2].filter((k) => k !== j);
    return ((i + j) % 2 ? -1 : 1) * (m[r[0]][s[0]] * m[r[1]][s[1]] - m[r[0]][s[1]] * m[r[1]][s[0]]);
  };
  return [0, 1, 2].map((i) => [0, 1, 2].map((j) => c(j, i) / d));
}

const matVec = (m: number[][], v: number[]) => m.map((row) => row.reduce((s, x, j) => s + x * v[j], 0));
const dot = (a: number[], b: number[]) => a.reduce((s, x, j) => s + x * b[j], 0);
const RAW = { normalizeInputs: false, normalizeOutputs: false };

test('GP posterior, 1 point: mean k*·y/(σf²+σn²), variance σf² − k*²/(σf²+σn²)', () => {
  const hyper: GpHyperparameters = { lengthscales: [0.3], signalVariance: 2, noiseVariance: 0.01 };
  const gp = GaussianProcess.fit([[0.2]], [1.5], { ...RAW, hyper });
  // r = |0.5 − 0.2| / 0.3 = 1 → k* = 2 (1 + √5 + 5/3) e^{−√5}
  const ks = 2 * (1 + Math.sqrt(5) + 5 / 3) * Math.exp(-Math.sqrt(5));
  const p = gp.predict([0.5]);
  close(p.mean, (ks * 1.5) / 2.01, 1e-12, 'mean');
  close(p.variance, 2 - (ks * ks) / 2.01, 1e-12, 'variance');
  // At the data point: mean 2·1.5/2.01, variance 2 − 4/2.01.
  const q = gp.predict([0.2]);
  close(q.mean, 3 / 2.01, 1e-12, 'mean at x1');
  close(q.variance, 2 - 4 / 2.01, 1e-12, 'variance at x1');
});

test('GP posterior, 2 points: explicit 2×2 inverse', () => {
  const ls = [0.4];
  const sf2 = 1.3;
  const sn2 = 1e-3;
  const X = [[0.1], [0.7]];
  const y = [-0.4, 0.9];
  const gp = GaussianProcess.fit(X, y, { ...RAW, hyper: { lengthscales: ls, signalVariance: sf2, noiseVariance: sn2 } });
  const a = sf2 + sn2;
  const b = m52(X[0], X[1], ls, sf2);
  const detK = a * a - b * b;
  const Kinv = [
    [a / detK, -b / detK],
    [-b / detK, a / detK],
  ];
  for (const xs of [[0.35], [0.1], [0.95], [-0.2]]) {
    const k = X.map((xi) => m52(xs, xi, ls, sf2));
    const p = gp.predict(xs);
    close(p.mean, dot(k, matVec(Kinv, y)), 1e-9, `mean at ${xs}`);
    close(p.variance, sf2 - dot(k, matVec(Kinv, k)), 1e-9, `variance at ${xs}`);
  }
});

test('GP posterior and LML, 3 points in 2-D with ARD: adjugate inverse and determinant', () => {
  const ls = [0.5, 1.7];
  const sf2 = 0.8;
  const sn2 = 0.02;
  const X = [
    [0.1, 0.9],
    [0.6, 0.2],
    [0.8, 0.75],
  ];
  const y = [0.3, -1.1, 0.5];
  const hyper = { lengthscales: ls, signalVariance: sf2, noiseVariance: sn2 };
  const gp = GaussianProcess.fit(X, y, { ...RAW, hyper });
  const K = X.map((a, i) => X.map((b, j) => m52(a, b, ls, sf2) + (i === j ? sn2 : 0)));
  const Kinv = inv3(K);
  for (const xs of [
    [0.4, 0.5],
    [0.6, 0.2],
    [1.2, -0.3],
  ]) {
    const k = X.map((xi) => m52(xs, xi, ls, sf2));
    const p = gp.predict(xs);
    close(p.mean, dot(k, matVec(Kinv, y)), 1e-9, `mean at ${xs}`);
    close(p.variance, sf2 - dot(k, matVec(Kinv, k)), 1e-9, `variance at ${xs}`);
  }
  // log p(y) = −½ yᵀK⁻¹y − ½ log det K − (3/2) log 2π
  const lml = -0.5 * dot(y, matVec(Kinv, y)) - 0.5 * Math.log(det3(K)) - 1.5 * Math.log(2 * Math.PI);
  close(gp.logMarginalLikelihood, lml, 1e-9, 'LML (class)');
  const U = Float64Array.from(X.flat());
  close(logMarginalLikelihood(U, 3, 2, y, toTheta(hyper)), lml, 1e-9, 'LML (function)');
});

test('GP normalization: unit-cube inputs and standardized outputs, mapped back', () => {
  const lower = [-5, 10];
  const upper = [5, 30];
  const X = [
    [-4, 12],
    [1, 25],
    [3, 14],
  ];
  const y = [10, 40, 25];
  const hyper = { lengthscales: [0.3, 0.6], signalVariance: 1.1, noiseVariance: 1e-4 };
  const gp = GaussianProcess.fit(X, y, { lower, upper, hyper });
  const U = X.map((x) => x.map((v, j) => (v - lower[j]) / (upper[j] - lower[j])));
  const ym = 25;
  const ys = Math.sqrt((15 * 15 + 15 * 15 + 0) / 3); // population std of 10, 40, 25
  const z = y.map((v) => (v - ym) / ys);
  const K = U.map((a, i) => U.map((b, j) => m52(a, b, hyper.lengthscales, 1.1) + (i === j ? 1e-4 : 0)));
  const Kinv = inv3(K);
  const xs = [0, 20];
  const us = [0.5, 0.5];
  const k = U.map((ui) => m52(us, ui, hyper.lengthscales, 1.1));
  const p = gp.predict(xs);
  close(p.mean, ym + ys * dot(k, matVec(Kinv, z)), 1e-9, 'mean');
  close(p.variance, ys * ys * (1.1 - dot(k, matVec(Kinv, k))), 1e-9, 'variance');
  assert.is(gp.outputMean, ym);
  close(gp.outputStd, ys, 1e-12, 'output std');
});

// ---------------------------------------------------------------------------------- gradients

function randomProblem(seed: number, n: number, d: number) {
  const rand = mulberry32(seed);
  const X = Array.from({ length: n }, () => Array.from({ length: d }, () => rand()));
  const y = X.map((x) => Math.sin(5 * x[0]) + x.reduce((s, v) => s + v * v, 0) + 0.1 * rand());
  return { X, y, rand };
}

test('LML gradient against central finite differences', () => {
  const { X, y } = randomProblem(7, 9, 3);
  const U = Float64Array.from(X.flat());
  for (const theta of [
    [Math.log(0.3), Math.log(0.7), Math.log(2), Math.log(1.2), Math.log(1e-3)],
    [Math.log(0.1), Math.log(0.05), Math.log(0.5), Math.log(0.4), Math.log(0.2)],
  ]) {
    const g = new Float64Array(5);
    logMarginalLikelihood(U, 9, 3, y, theta, g);
    const h = 1e-5;
    for (let j = 0; j < 5; j++) {
      const tp = theta.slice();
      const tm = theta.slice();
      tp[j] += h;
      tm[j] -= h;
      const fd = (logMarginalLikelihood(U, 9, 3, y, tp) - logMarginalLikelihood(U, 9, 3, y, tm)) / (2 * h);
      close(g[j], fd, 1e-6 * Math.max(1, Math.abs(fd)), `∂LML/∂θ${j}`);
    }
  }
});

test('posterior mean/variance gradients and log-EI gradient against finite differences', () => {
  const { X, y } = randomProblem(11, 12, 3);
  const lower = [-1, 0, 2];
  const upper = [1, 2, 3];
  const Xs = X.map((x) => x.map((u, j) => lower[j] + u * (upper[j] - lower[j])));
  const gp = GaussianProcess.fit(Xs, y, {
    lower,
    upper,
    hyper: { lengthscales: [0.4, 0.8, 0.3], signalVariance: 1.4, noiseVariance: 1e-4 },
  });
  const best = Math.min(...y);
  const h = 1e-6;
  for (const x of [
    [0.1, 1.3, 2.5],
    [-0.8, 0.2, 2.9],
    [0.55, 1.9, 2.05],
  ]) {
    const p = gp.predictWithGradient(x);
    const e = logEiWithGradient(gp, x, best);
    for (let j = 0; j < 3; j++) {
      const xp = x.slice();
      const xm = x.slice();
      xp[j] += h;
      xm[j] -= h;
      const pp = gp.predict(xp);
      const pm = gp.predict(xm);
      close(p.dMean[j], (pp.mean - pm.mean) / (2 * h), 1e-5 * Math.max(1, Math.abs(p.dMean[j])), `dMean[${j}]`);
      close(p.dVariance[j], (pp.variance - pm.variance) / (2 * h), 1e-5 * Math.max(1, Math.abs(p.dVariance[j])), `dVar[${j}]`);
      const lp = logExpectedImprovement(pp.mean, Math.sqrt(pp.variance), best);
      const lm = logExpectedImprovement(pm.mean, Math.sqrt(pm.variance), best);
      close(e.gradient[j], (lp - lm) / (2 * h), 1e-5 * Math.max(1, Math.abs(e.gradient[j])), `dlogEI[${j}]`);
    }
  }
});

// ---------------------------------------------------------------------------------- fitting

test('hyperparameter fit reaches at least the best LML of a dense grid, and is seeded', () => {
  const X = [0.05, 0.18, 0.3, 0.47, 0.55, 0.71, 0.86, 0.97].map((v) => [v]);
  const y = X.map(([v]) => Math.sin(6 * v) + 0.3 * v);
  const gp = GaussianProcess.fit(X, y, { lower: [0], upper: [1], seed: 3, restarts: 4 });
  // Grid over the same bounds, same normalization (inputs already in [0,1]).
  const ym = y.reduce((s, v) => s + v, 0) / y.length;
  const ys = Math.sqrt(y.reduce((s, v) => s + (v - ym) ** 2, 0) / y.length);
  const z = y.map((v) => (v - ym) / ys);
  const U = Float64Array.from(X.flat());
  const logspace = (a: number, b: number, k: number) => Array.from({ length: k }, (_, i) => Math.log(a) + ((Math.log(b) - Math.log(a)) * i) / (k - 1));
  let gridBest = -Infinity;
  for (const l of logspace(0.01, 20, 60))
    for (const s of logspace(0.05, 20, 40))
      for (const n of logspace(1e-7, 1, 30)) gridBest = Math.max(gridBest, logMarginalLikelihood(U, 8, 1, z, [l, s, n]));
  assert.ok(gp.logMarginalLikelihood >= gridBest - 1e-6, `fit LML ${gp.logMarginalLikelihood} < grid best ${gridBest}`);
  // The fitted GP interpolates the smooth function well between the points.
  for (const v of [0.1, 0.4, 0.63, 0.9]) close(gp.predict([v]).mean, Math.sin(6 * v) + 0.3 * v, 0.03, `prediction at ${v}`);
  const again = GaussianProcess.fit(X, y, { lower: [0], upper: [1], seed: 3, restarts: 4 });
  assert.equal(again.hyper, gp.hyper);
});

// ---------------------------------------------------------------------------------- EI and Φ

test('erfc, Φ and φ against SciPy', () => {
  const erfcRef: [number, number][] = [
    [0.1, 0.8875370839817152],
    [1, 0.15729920705028516],
    [2.5, 0.00040695201744495886],
    [3, 2.2090496998585445e-5],
    [5, 1.5374597944280347e-12],
    [10, 2.0884875837625446e-45],
  ];
  for (const [x, v] of erfcRef) relClose(erfc(x), v, 1e-12, `erfc(${x})`);
  const cdfRef: [number, number, number][] = [
    [-20, 2.7536241186061556e-89, 5.520948362159764e-88],
    [-10, 7.61985302416047e-24, 7.69459862670642e-23],
    [-5, 2.866515718791933e-7, 1.4867195147342979e-6],
    [-2, 0.022750131948179195, 0.05399096651318806],
    [-1, 0.15865525393145707, 0.24197072451914337],
    [0, 0.5, 0.3989422804014327],
    [0.5, 0.6914624612740131, 0.35206532676429947],
    [1.96, 0.9750021048517795, 0.058440944333451476],
    [3, 0.9986501019683699, 0.0044318484119380075],
  ];
  for (const [z, c, p] of cdfRef) {
    relClose(normalCdf(z), c, 1e-12, `Φ(${z})`);
    relClose(normalPdf(z), p, 1e-14, `φ(${z})`);
  }
});

test('EI against its closed form (SciPy values), and log EI deep in the tail (mpmath)', () => {
  const ref: [number, number, number, number][] = [
    // mean, sd, best, EI = sd·(zΦ(z)+φ(z)) with z = (best − mean)/sd
    [0, 1, 0, 0.3989422804014327],
    [1, 2, 0.5, 0.5726893964471604],
    [-0.3, 0.7, 0.1, 0.5236517217902807],
    [2, 0.5, 0, 3.572629216202957e-6],
  ];
  for (const [m, s, b, v] of ref) {
    relClose(expectedImprovement(m, s, b), v, 1e-11, `EI(${m}, ${s}, ${b})`);
    close(logExpectedImprovement(m, s, b), Math.log(v), 1e-10, `logEI(${m}, ${s}, ${b})`);
  }
  // ξ shifts the incumbent: EI(μ, σ, best, ξ) = EI(μ, σ, best − ξ).
  close(expectedImprovement(1, 2, 0.5, 0.2), expectedImprovement(1, 2, 0.3), 1e-15, 'ξ');
  // σ = 0: the improvement itself.
  assert.is(expectedImprovement(0.3, 0, 1), 0.7);
  assert.is(expectedImprovement(1.3, 0, 1), 0);
  // log h(z), h = zΦ(z) + φ(z), at 40 digits (mpmath), including both sides of the series switch.
  const logHRef: [number, number][] = [
    [-0.5, -1.6205162643873199193],
    [-1, -2.4851210257126413368],
    [-2, -4.7687835239171141569],
    [-5, -16.744301162660990143],
    [-10, -55.553122036122355927],
    [-29.9, -454.7229981194962739],
    [-30.1, -460.73628739874303834],
    [-40, -808.29856835661996024],
    [-100, -5010.1295788002497923],
  ];
  for (const [z, v] of logHRef) relClose(logH(z).value, v, 1e-11, `log h(${z})`);
});

test('EI maximization finds the maximum of a dense grid (1-D)', () => {
  const X = [[0.1], [0.35], [0.5], [0.8], [0.9]];
  const y = [1.0, 0.2, 0.4, -0.3, 0.5];
  const gp = GaussianProcess.fit(X, y, { lower: [0], upper: [1], hyper: { lengthscales: [0.15], signalVariance: 1, noiseVariance: 1e-6 } });
  const best = Math.min(...y);
  let gridBest = -Infinity;
  for (let i = 0; i <= 20000; i++) {
    const p = gp.predict([i / 20000]);
    gridBest = Math.max(gridBest, logExpectedImprovement(p.mean, Math.sqrt(p.variance), best));
  }
  const r = maximizeEi(gp, { lower: [0], upper: [1], best, seed: 1, rawSamples: 50, restarts: 3, incumbents: [[0.8]] });
  assert.ok(r.logEi >= gridBest - 1e-9, `maximizeEi ${r.logEi} < grid ${gridBest}`);
  assert.ok(r.x[0] >= 0 && r.x[0] <= 1);
});

// ---------------------------------------------------------------------------------- designs

test('Sobol: the first 8 points in 2-D (Joe–Kuo, Gray-code order, unscrambled)', () => {
  assert.equal(sobol(8, 2), [
    [0, 0],
    [0.5, 0.5],
    [0.75, 0.25],
    [0.25, 0.75],
    [0.375, 0.375],
    [0.875, 0.875],
    [0.625, 0.125],
    [0.125, 0.625],
  ]);
});

test('Sobol: 16 points in 6-D and whole columns in dimensions 41 and 64 match SciPy qmc.Sobol(scramble=False)', () => {
  assert.equal(sobol(16, 6).slice(8), [
    [0.1875, 0.3125, 0.9375, 0.4375, 0.5625, 0.3125],
    [0.6875, 0.8125, 0.4375, 0.9375, 0.0625, 0.8125],
    [0.9375, 0.0625, 0.6875, 0.1875, 0.3125, 0.5625],
    [0.4375, 0.5625, 0.1875, 0.6875, 0.8125, 0.0625],
    [0.3125, 0.1875, 0.3125, 0.5625, 0.9375, 0.4375],
    [0.8125, 0.6875, 0.8125, 0.0625, 0.4375, 0.9375],
    [0.5625, 0.4375, 0.0625, 0.8125, 0.1875, 0.6875],
    [0.0625, 0.9375, 0.5625, 0.3125, 0.6875, 0.1875],
  ]);
  assert.is(SOBOL_MAX_DIM, 64);
  const P = sobol(32, 64);
  const col = (j: number) => P.map((p) => p[j] * 32);
  assert.equal(col(40), [0, 16, 8, 24, 28, 12, 20, 4, 18, 2, 26, 10, 14, 30, 6, 22, 13, 29, 5, 21, 17, 1, 25, 9, 31, 15, 23, 7, 3, 19, 11, 27]);
  assert.equal(col(63), [0, 16, 24, 8, 4, 20, 28, 12, 22, 6, 14, 30, 18, 2, 10, 26, 3, 19, 27, 11, 7, 23, 31, 15, 21, 5, 13, 29, 17, 1, 9, 25]);
});

test('scrambled Sobol: seeded, different from the plain sequence, still one point per dyadic interval', () => {
  const a = sobol(64, 7, { scramble: true, seed: 5 });
  assert.equal(a, sobol(64, 7, { scramble: true, seed: 5 }));
  assert.not.equal(a, sobol(64, 7, { scramble: true, seed: 6 }));
  assert.not.equal(a[0], new Array(7).fill(0));
  for (let j = 0; j < 7; j++) {
    for (const m of [2, 8, 64]) {
      const hit = new Set(a.slice(0, m).map((p) => Math.floor(p[j] * m)));
      assert.is(hit.size, m, `dimension ${j}, first ${m} points`);
    }
  }
});

test('Latin hypercube: each of the n strata hit exactly once per dimension; seeded', () => {
  for (const [n, d, seed] of [
    [10, 3, 1],
    [37, 6, 2],
    [5, 12, 3],
  ]) {
    for (const opts of [{ seed }, { seed, centered: true }, { seed, maximinCandidates: 10 }]) {
      const pts = latinHypercube(n, d, opts);
      assert.is(pts.length, n);
      for (let j = 0; j < d; j++) {
        const strata = pts.map((p) => Math.floor(p[j] * n)).sort((a, b) => a - b);
        assert.equal(strata, Array.from({ length: n }, (_, i) => i), `n=${n} dim ${j}`);
        for (const p of pts) assert.ok(p[j] >= 0 && p[j] < 1);
      }
      assert.equal(latinHypercube(n, d, opts), pts);
    }
  }
});

test.run();
