/** Lanes: at most n tasks at a time, started in the order asked, results and failures passed through. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Lanes } from '../src/util/lanes.ts';

test('Lanes: never more than n running, FIFO start order, a failure does not lose the lane', async () => {
  const lanes = new Lanes(2);
  let running = 0, most = 0;
  const started: number[] = [];
  const task = (i: number, ms: number, fail = false) => lanes.run(async () => {
    started.push(i);
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, ms));
    running--;
    if (fail) throw new Error(`task ${i}`);
    return i * 10;
  });
  const all = [task(0, 30), task(1, 5, true), task(2, 5), task(3, 5), task(4, 1)];
  const out = await Promise.allSettled(all);
  assert.is(most, 2);
  assert.equal(started, [0, 1, 2, 3, 4]);
  assert.equal(out.map((o) => (o.status === 'fulfilled' ? o.value : 'failed')), [0, 'failed', 20, 30, 40]);
  assert.throws(() => new Lanes(0), /positive integer/);
});

test.run();
