/** src/util/array.ts against Math.max / Math.min on small lists, and on lists too long to spread. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendAll, maxOf, minOf } from '../src/util/array.ts';
import { formatTable } from '../src/report/table.ts';

test('maxOf / minOf agree with Math.max / Math.min, NaN and empty lists included', () => {
  for (const a of [[], [3], [1, 5, 2], [-1, -7], [2, NaN, 1], [Infinity, 0]]) {
    assert.ok(Object.is(maxOf(a), Math.max(...a)), `max ${a}`);
    assert.ok(Object.is(minOf(a), Math.min(...a)), `min ${a}`);
    assert.ok(Object.is(maxOf(a, 4), Math.max(4, ...a)), `max 4, ${a}`);
  }
});

test('500,000 values: no stack overflow in maxOf, appendAll or a 500,000-row table', () => {
  const big = Array.from({ length: 500_000 }, (_, i) => (i * 7919) % 100_003);
  assert.is(maxOf(big), 100_002);
  assert.is(minOf(big), 0);
  assert.is(appendAll([1], big).length, 500_001);
  const t = formatTable([{ header: 'n' }], big.map((v) => [v]));
  assert.is(t.split('\n').length, 500_002);
});

test.run();
