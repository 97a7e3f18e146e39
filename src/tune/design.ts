/**
 * Space-filling initial designs in the unit cube [0, 1)^d: a seeded Latin hypercube and the Sobol
 * sequence (Joe–Kuo direction numbers, Gray-code order, optionally scrambled).
 */
import { mulberry32 } from '../util/rng.ts';

/**
 * Joe & Kuo direction numbers (file new-joe-kuo-6.21201, S. Joe and F. Y. Kuo, "Constructing
 * Sobol sequences with better two-dimensional projections", SIAM J. Sci. Comput. 30, 2008;
 * https://web.maths.unsw.edu.au/~fkuo/sobol/), dimensions 2..64, each row [s, a, m_1..m_s]:
 * s the degree of the primitive polynomial, a its inner coefficients as bits, m the initial
 * direction integers. Dimension 1 is the van der Corput sequence (all m = 1).
 */
const JOE_KUO: readonly (readonly number[])[] = [
  [1, 0, 1],
  [2, 1, 1, 3],
  [3, 1, 1, 3, 1],
  [3, 2, 1, 1, 1],
  [4, 1, 1, 1, 3, 3],
  [4, 4, 1, 3, 5, 13],
  [5, 2, 1, 1, 5, 5, 17],
  [5, 4, 1, 1, 5, 5, 5],
  [5, 7, 1, 1, 7, 11, 19],
  [5, 11, 1, 1, 5, 1, 1],
  [5, 13, 1, 1, 1, 3, 11],
  [5, 14, 1, 3, 5, 5, 31],
  [6, 1, 1, 3, 3, 9, 7, 49],
  [6, 13, 1, 1, 1, 15, 21, 21],
  [6, 16, 1, 3, 1, 13, 27, 49],
  [6, 19, 1, 1, 1, 15, 7, 5],
  [6, 22, 1, 3, 1, 15, 13, 25],
  [6, 25, 1, 1, 5, 5, 19, 61],
  [7, 1, 1, 3, 7, 11, 23, 15, 103],
  [7, 4, 1, 3, 7, 13, 13, 15, 69],
  [7, 7, 1, 1, 3, 13, 7, 35, 63],
  [7, 8, 1, 3, 5, 9, 1, 25, 53],
  [7, 14, 1, 3, 1, 13, 9, 35, 107],
  [7, 19, 1, 3, 1, 5, 27, 61, 31],
  [7, 21, 1, 1, 5, 11, 19, 41, 61],
  [7, 28, 1, 3, 5, 3, 3, 13, 69],
  [7, 31, 1, 1, 7, 13, 1, 19, 1],
  [7, 32, 1, 3, 7, 5, 13, 19, 59],
  [7, 37, 1, 1, 3, 9, 25, 29, 41],
  [7, 41, 1, 3, 5, 13, 23, 1, 55],
  [7, 42, 1, 3, 7, 3, 13, 59, 17],
  [7, 50, 1, 3, 1, 3, 5, 53, 69],
  [7, 55, 1, 1, 5, 5, 23, 33, 13],
  [7, 56, 1, 1, 7, 7, 1, 61, 123],
  [7, 59, 1, 1, 7, 9, 13, 61, 49],
  [7, 62, 1, 3, 3, 5, 3, 55, 33],
  [8, 14, 1, 3, 1, 15, 31, 13, 49, 245],
  [8, 21, 1, 3, 5, 15, 31, 59, 63, 97],
  [8, 22, 1, 3, 1, 11, 11, 11, 77, 249],
  [8, 38, 1, 3, 1, 11, 27, 43, 71, 9],
  [8, 47, 1, 1, 7, 15, 21, 11, 81, 45],
  [8, 49, 1, 3, 7, 3, 25, 31, 65, 79],
  [8, 50, 1, 3, 1, 1, 19, 11, 3, 205],
  [8, 52, 1, 1, 5, 9, 19, 21, 29, 157],
  [8, 56, 1, 3, 7, 11, 1, 33, 89, 185],
  [8, 67, 1, 3, 3, 3, 15, 9, 79, 71],
  [8, 70, 1, 3, 7, 11, 15, 39, 119, 27],
  [8, 84, 1, 1, 3, 1, 11, 31, 97, 225],
  [8, 97, 1, 1, 1, 3, 23, 43, 57, 177],
  [8, 103, 1, 3, 7, 7, 17, 17, 37, 71],
  [8, 115, 1, 3, 1, 5, 27, 63, 123, 213],
  [8, 122, 1, 1, 3, 5, 11, 43, 53, 133],
  [9, 8, 1, 3, 5, 5, 29, 17, 47, 173, 479],
  [9, 13, 1, 3, 3, 11, 3, 1, 109, 9, 69],
  [9, 16, 1, 1, 1, 5, 17, 39, 23, 5, 343],
  [9, 22, 1, 3, 1, 5, 25, 15, 31, 103, 499],
  [9, 25, 1, 1, 1, 11, 11, 17, 63, 105, 183],
  [9, 44, 1, 1, 5, 11, 9, 29, 97, 231, 363],
  [9, 47, 1, 1, 5, 15, 19, 45, 41, 7, 383],
  [9, 52, 1, 3, 7, 7, 31, 19, 83, 137, 221],
  [9, 55, 1, 1, 1, 3, 23, 15, 111, 223, 83],
  [9, 59, 1, 1, 5, 13, 31, 15, 55, 25, 161],
  [9, 62, 1, 1, 3, 13, 25, 47, 39, 87, 257],
];

/** Largest dimension the built-in direction-number table supports. */
export const SOBOL_MAX_DIM = JOE_KUO.length + 1;

const BITS = 32;
const TWO_POW_32 = 4294967296;

const popcountParity = (v: number): number => {
  v ^= v >>> 16;
  v ^= v >>> 8;
  v ^= v >>> 4;
  v ^= v >>> 2;
  v ^= v >>> 1;
  return v & 1;
};

export interface SobolOptions {
  /**
   * Randomize the sequence (default false): Matoušek's linear matrix scramble (a random lower-
   * triangular binary matrix per dimension applied to the direction numbers) followed by a random
   * digital shift, the Owen-style scramble that SciPy's `qmc.Sobol(scramble=True)` uses. Keeps
   * the (t, s)-net structure: the first 2^m points still hit each dyadic interval of length 2^-m
   * once per dimension.
   */
  scramble?: boolean;
  /** Seed of the scramble (default 0). */
  seed?: number;
}

/** The Sobol sequence in [0, 1)^d, generated in Gray-code order (Antonov–Saleev), 32-bit. */
export class SobolSequence {
  readonly dim: number;
  private readonly v: Uint32Array; // dim × 32 direction numbers, v[j*32 + k] = m_k << (31 − k)
  private readonly x: Uint32Array;
  private index = 0;

  constructor(dim: number, opts: SobolOptions = {}) {
    if (!Number.isInteger(dim) || dim < 1 || dim > SOBOL_MAX_DIM) {
      throw new RangeError(`Sobol: dimension must be an integer in 1..${SOBOL_MAX_DIM}, got ${dim}`);
    }
    this.dim = dim;
    this.v = new Uint32Array(dim * BITS);
    this.x = new Uint32Array(dim);
    for (let k = 0; k < BITS; k++) this.v[k] = 2 ** (31 - k);
    for (let j = 1; j < dim; j++) {
      const row = JOE_KUO[j - 1];
      const s = row[0];
      const a = row[1];
      const base = j * BITS;
      for (let k = 0; k < s; k++) this.v[base + k] = row[2 + k] * 2 ** (31 - k);
      for (let k = s; k < BITS; k++) {
        let vk = this.v[base + k - s] ^ (this.v[base + k - s] >>> s);
        for (let l = 1; l < s; l++) if ((a >>> (s - 1 - l)) & 1) vk ^= this.v[base + k - l];
        this.v[base + k] = vk;
      }
    }
    if (opts.scramble) {
      const rand = mulberry32(opts.seed ?? 0);
      const u32 = () => Math.floor(rand() * TWO_POW_32) >>> 0;
      for (let j = 0; j < dim; j++) {
        // Row p of the lower-triangular matrix, as a mask over the input digits (bit 31 = digit 0).
        const rows = new Uint32Array(BITS);
        for (let p = 0; p < BITS; p++) {
          const above = p === 0 ? 0 : (u32() >>> (BITS - p)) << (BITS - p); // random digits q < p
          rows[p] = (above | (1 << (31 - p))) >>> 0;
        }
        const base = j * BITS;
        for (let k = 0; k < BITS; k++) {
          const vk = this.v[base + k];
          let out = 0;
          for (let p = 0; p < BITS; p++) if (popcountParity(vk & rows[p])) out |= 1 << (31 - p);
          this.v[base + k] = out >>> 0;
        }
        this.x[j] = u32(); // digital shift
      }
    }
  }

  /** The next point (the first one is the origin when unscrambled). */
  next(): number[] {
    const p = Array.from(this.x, (v) => v / TWO_POW_32);
    // Gray code: flip the direction number of the lowest zero bit of the current index.
    let c = 0;
    let i = this.index;
    while (i & 1) {
      i >>>= 1;
      c++;
    }
    if (c >= BITS) throw new RangeError('Sobol: sequence exhausted (2^32 points)');
    for (let j = 0; j < this.dim; j++) this.x[j] ^= this.v[j * BITS + c];
    this.index++;
    return p;
  }
}

/** The first n points of the d-dimensional Sobol sequence. */
export function sobol(n: number, d: number, opts: SobolOptions = {}): number[][] {
  const s = new SobolSequence(d, opts);
  return Array.from({ length: n }, () => s.next());
}

export interface LatinHypercubeOptions {
  seed?: number;
  /** Put each point at the centre of its stratum instead of uniformly inside it (default false). */
  centered?: boolean;
  /** Draw this many designs and keep the one with the largest minimum distance (default 1). */
  maximinCandidates?: number;
}

/**
 * A seeded Latin hypercube of n points in [0, 1)^d: in every dimension each of the n strata
 * [i/n, (i+1)/n) holds exactly one point.
 */
export function latinHypercube(n: number, d: number, opts: LatinHypercubeOptions = {}): number[][] {
  const rand = mulberry32(opts.seed ?? 0);
  const draw = (): number[][] => {
    const pts = Array.from({ length: n }, () => new Array<number>(d));
    for (let j = 0; j < d; j++) {
      const perm = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const k = Math.floor(rand() * (i + 1));
        [perm[i], perm[k]] = [perm[k], perm[i]];
      }
      for (let i = 0; i < n; i++) {
        const u = opts.centered ? 0.5 : rand();
        pts[i][j] = Math.min((perm[i] + u) / n, 1 - Number.EPSILON);
      }
    }
    return pts;
  };
  let best = draw();
  let bestD = minDistance(best);
  for (let c = 1; c < (opts.maximinCandidates ?? 1); c++) {
    const p = draw();
    const dist = minDistance(p);
    if (dist > bestD) {
      best = p;
      bestD = dist;
    }
  }
  return best;
}

function minDistance(pts: number[][]): number {
  let m = Infinity;
  for (let a = 0; a < pts.length; a++) {
    for (let b = 0; b < a; b++) {
      let s = 0;
      for (let j = 0; j < pts[a].length; j++) s += (pts[a][j] - pts[b][j]) ** 2;
      if (s < m) m = s;
    }
  }
  return Math.sqrt(m);
}

/** Maps unit-cube points to the box [lower, upper]. */
export function scaleToBox(points: readonly (readonly number[])[], lower: readonly number[], upper: readonly number[]): number[][] {
  return points.map((p) => p.map((u, j) => lower[j] + u * (upper[j] - lower[j])));
}
