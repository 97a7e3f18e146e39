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


test('energy picture (run --svg): deterministic, bars to scale, every text row apart from its neighbours; renders with rsvg-convert when present', async () => {
  const { energySvg } = await import('../src/report/energy-svg.ts');
  const levels = (k: number) => (['ops', 'dynamic', 'offchip', 'static'] as const).map((level, i) => ({ level, per_frame_J: k * 10 ** (i - 5), ann_J: 2e-4, ratio: 2e-4 / (k * 10 ** (i - 5)), rule: 'r' }));
  const chip = (name: string, k: number) => ({
    chip: name, perFrameJ: 6e-3 * k, pricedAt: '16 ticks per frame, F1 1.000',
    breakdownJ: { synaptic: 1e-3 * k, neuron: 1e-3 * k, spike: 0, routing: 1e-3 * k, offchip: 1e-3 * k, static: 2e-3 * k },
    levels: levels(k), byLayer: [{ layer: 0, name: 'conv0', energyJPerFrame: 2e-3 }, { layer: 1, name: 'pool0', energyJPerFrame: 1e-3 }],
  });
  const input = { title: 'toy', chips: [chip('a', 1), chip('b', 2)], ann: [{ label: 'ANN compute', energyJ: 3e-3 }] };
  const svg = energySvg(input);
  assert.is(svg, energySvg(input));
  // by category: chip b's stacked segments sum to the longest bar (the scale's maximum, 12 mJ)
  const rects = [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="16.0" fill="[^"]+"><title>/g)].map((m) => ({ x: +m[1], y: +m[2], w: +m[3] }));
  const rowB = rects.filter((r) => r.y === rects[6].y);
  const barW = 980 - 220 - 170;
  assert.ok(Math.abs(rowB.reduce((a, r) => a + r.w, 0) - barW) < 0.5, 'chip b spans the bar area');
  assert.ok(Math.abs(rects.filter((r) => r.y === rects[0].y).reduce((a, r) => a + r.w, 0) - barW / 2) < 0.5, 'chip a is half of it');
  // labels: texts that start in the same column are at least 11 px apart vertically
  const texts = [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" font-size="(\d+)"[^>]*text-anchor="(\w+)"/g)].map((m) => ({ x: +m[1], y: +m[2], anchor: m[4] }));
  const byColumn = new Map<string, number[]>();
  for (const t of texts) {
    if (t.anchor === 'middle') continue; // axis ticks, one row
    const k = `${t.anchor}:${t.anchor === 'end' ? t.x : 'start'}`;
    byColumn.set(k, [...(byColumn.get(k) ?? []), t.y]);
  }
  for (const [k, ys] of byColumn) {
    const sorted = [...ys].sort((p, q) => p - q);
    for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i] - sorted[i - 1] >= 11 || sorted[i] === sorted[i - 1] && k.startsWith('start'), `${k}: rows at ${sorted[i - 1]} and ${sorted[i]}`);
  }
  for (const s of ['Energy per frame by category', 'Accounting levels (log scale)', 'Energy per frame by layer on a', 'ANN/SNN', '12.00 mJ', 'ANN compute']) assert.ok(svg.includes(s), s);
  const { spawnSync } = await import('node:child_process');
  const rsvg = spawnSync('rsvg-convert', ['--format', 'png'], { input: svg });
  if (rsvg.error) console.log('  (rsvg-convert not installed: rendering not checked)');
  else assert.is(rsvg.status, 0, String(rsvg.stderr));
});

test.run();
