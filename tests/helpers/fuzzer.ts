/**
 * The seeded fuzzing harness of tests/fuzz.test.ts and tests/fuzz-files.test.ts: every attempt must
 * succeed or throw a one-line UserError; anything else (another exception, a multi-line message, an
 * attempt slower than ATTEMPT_LIMIT_MS) is a failure reported with its label (seed and mutation).
 */
import * as assert from 'uvu/assert';
import { UserError } from '../../src/util/errors.ts';

/** FUZZ_SCALE=10 in the environment runs ten times as many attempts. */
export const FUZZ_SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? 1) || 1);
// A hang guard, not a speed test: generous enough for a loaded 2-core CI machine (attempts take ~0.1 s).
export const ATTEMPT_LIMIT_MS = 30000;

export type Rand = () => number;
export const int = (rand: Rand, n: number) => Math.floor(rand() * n);
export const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[int(rand, xs.length)];

/** Runs attempts, collecting failures (anything but success or a one-line UserError, or too slow). */
export class Fuzzer {
  failures: string[] = [];
  ok = 0;
  refused = 0;
  slowestMs = 0;
  /** refusal messages with numbers and paths blurred, counted (FUZZ_VERBOSE=1 prints them) */
  reasons = new Map<string, number>();
  /** `seed` is only reported with the failures */
  constructor(readonly seed: number) {}
  /** `check`, when given, vets a refusal's message too (e.g. that it names the file) */
  attempt(label: string, fn: () => void, check?: (message: string) => string | null): void {
    const t0 = performance.now();
    try {
      fn();
      this.ok++;
    } catch (e) {
      const why = e instanceof UserError && !/[\r\n]/.test(e.message) && e.message.length > 0 ? (check?.(e.message) ?? null) : 'not a one-line UserError';
      if (why === null) {
        this.refused++;
        const key = (e as Error).message.replace(/^\S+: /, '').replace(/"[^"]*"/g, '"…"').replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/g, 'N').slice(0, 90);
        this.reasons.set(key, (this.reasons.get(key) ?? 0) + 1);
      } else this.failures.push(`${label}: ${why}: ${e instanceof Error ? e.stack?.split('\n').slice(0, 4).join(' | ') : String(e)}`);
    }
    const ms = performance.now() - t0;
    this.slowestMs = Math.max(this.slowestMs, ms);
    if (ms > ATTEMPT_LIMIT_MS) this.failures.push(`${label}: took ${ms.toFixed(0)} ms (limit ${ATTEMPT_LIMIT_MS})`);
  }
  assertClean(what: string, minOk = 1, minRefused = 1): void {
    if (process.env.FUZZ_VERBOSE) {
      const top = [...this.reasons].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, n]) => `    ${n} × ${k}`).join('\n');
      process.stderr.write(`${what}: ${this.ok} accepted, ${this.refused} refused, slowest ${this.slowestMs.toFixed(0)} ms\n${top}\n`);
    }
    const head = this.failures.slice(0, 8).join('\n  ');
    assert.is(this.failures.length, 0, `${what}: ${this.failures.length} failures (seed ${this.seed}):\n  ${head}`);
    // the fuzzer must exercise both outcomes, or it is not testing what it claims
    assert.ok(this.ok >= minOk, `${what}: only ${this.ok} mutated inputs were accepted`);
    assert.ok(this.refused >= minRefused, `${what}: only ${this.refused} mutated inputs were refused`);
  }
}
