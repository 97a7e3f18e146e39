import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatTick, lineChart } from '../src/report/svg.ts';

test('line chart: deterministic bytes, points mapped onto the plot box', () => {
  const s = [{ name: 'a', points: [[1, 0], [10, 1]] as [number, number][] }];
  const a = lineChart(s, { title: 't', xLabel: 'x', yLabel: 'y', width: 300, height: 200 });
  assert.is(a, lineChart(s, { title: 't', xLabel: 'x', yLabel: 'y', width: 300, height: 200 }));
  // plot box: l=70, r=180 → width 50; t=40, b=50 → height 110. (1,0) → (70,150); (10,1) → (120,40)
  assert.match(a, /points="70,150 120,40"/);
  const log = lineChart(s.map((x) => ({ ...x, points: [[1, 1], [100, 2]] as [number, number][] })), { title: 't', xLabel: 'x', yLabel: 'y', xLog: true, width: 300, height: 200 });
  assert.match(log, /points="70,150 120,40"/);
  assert.match(log, />10</); // a decade tick between 1 and 100
});

test('tick labels', () => {
  assert.is(formatTick(0.5), '0.5');
  assert.is(formatTick(25000), '2.5e4');
  assert.is(formatTick(0), '0');
});

test('escapes text', () => {
  const svg = lineChart([{ name: '<a&b>', points: [[0, 0], [1, 1]] }], { title: 'x', xLabel: 'x', yLabel: 'y' });
  assert.match(svg, /&lt;a&amp;b&gt;/);
});

test('axes over extreme ranges (11 decades, a huge offset with a tiny range, zero on a log axis, 600 decades) give a bounded number of ticks', async () => {
  const { lineChart } = await import('../src/report/svg.ts');
  const cases: [number, number][][] = [[[1, 1], [1e11, 2]], [[1e11, 1], [1e11 + 1e-4, 2]], [[0, 1], [1e-300, 2]], [[1e-300, 1e300], [1e300, 1e-300]]];
  for (const pts of cases) {
    for (const xLog of [false, true]) {
      const svg = lineChart([{ name: 'a', points: pts, scatter: true }], { title: 't', xLabel: 'x', yLabel: 'y', xLog, yLog: xLog });
      const ticks = (svg.match(/stroke="#eee"/g) ?? []).length;
      assert.ok(ticks <= 120, `${JSON.stringify(pts)} log=${xLog}: ${ticks} grid lines`);
      assert.match(svg, /<\/svg>\n?$/);
    }
  }
});

test.run();
