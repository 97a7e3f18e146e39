/**
 * Standard optimization test functions with their known global minima, as tabulated by
 * S. Surjanovic and D. Bingham, "Virtual Library of Simulation Experiments"
 * (https://www.sfu.ca/~ssurjano/optimization.html), and used throughout the BO literature.
 */

export interface TestFunction {
  name: string;
  dim: number;
  lower: number[];
  upper: number[];
  /** Global minimum value. */
  minimum: number;
  /** The (or one of the) global minimizers. */
  minimizers: number[][];
  f: (x: readonly number[]) => number;
}

/**
 * Branin–Hoo on [−5, 10] × [0, 15]:
 * f = a(x2 − b x1² + c x1 − r)² + s(1 − t) cos x1 + s, a = 1, b = 5.1/(4π²), c = 5/π, r = 6,
 * s = 10, t = 1/(8π). Global minimum 0.397887 at (−π, 12.275), (π, 2.275), (9.42478, 2.475).
 */
export const branin: TestFunction = {
  name: 'branin',
  dim: 2,
  lower: [-5, 0],
  upper: [10, 15],
  minimum: 0.397887,
  minimizers: [
    [-Math.PI, 12.275],
    [Math.PI, 2.275],
    [9.42478, 2.475],
  ],
  f: ([x1, x2]) => {
    const b = 5.1 / (4 * Math.PI * Math.PI);
    const c = 5 / Math.PI;
    const t = 1 / (8 * Math.PI);
    return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
  },
};

const H6_ALPHA = [1.0, 1.2, 3.0, 3.2];
const H6_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const H6_P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
].map((r) => r.map((v) => v * 1e-4));

/**
 * Hartmann 6-D on [0, 1]^6: f = −Σ_i α_i exp(−Σ_j A_ij (x_j − P_ij)²).
 * Global minimum −3.32237 at (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573).
 */
export const hartmann6: TestFunction = {
  name: 'hartmann6',
  dim: 6,
  lower: new Array(6).fill(0),
  upper: new Array(6).fill(1),
  minimum: -3.32237,
  minimizers: [[0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]],
  f: (x) => {
    let s = 0;
    for (let i = 0; i < 4; i++) {
      let e = 0;
      for (let j = 0; j < 6; j++) e += H6_A[i][j] * (x[j] - H6_P[i][j]) ** 2;
      s += H6_ALPHA[i] * Math.exp(-e);
    }
    return -s;
  },
};

/** Rosenbrock in d dimensions on [−2.048, 2.048]^d: Σ 100(x_{i+1} − x_i²)² + (1 − x_i)²; minimum 0 at (1, …, 1). */
export function rosenbrock(dim = 2): TestFunction {
  return {
    name: `rosenbrock${dim}`,
    dim,
    lower: new Array(dim).fill(-2.048),
    upper: new Array(dim).fill(2.048),
    minimum: 0,
    minimizers: [new Array(dim).fill(1)],
    f: (x) => {
      let s = 0;
      for (let i = 0; i + 1 < dim; i++) s += 100 * (x[i + 1] - x[i] * x[i]) ** 2 + (1 - x[i]) ** 2;
      return s;
    },
  };
}
