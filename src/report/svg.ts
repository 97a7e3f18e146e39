/**
 * Dependency-free SVG charts: line series and scatter marks on linear or log axes. Output is a
 * pure function of the data (fixed number formatting), so identical inputs give identical bytes.
 */
import { maxOf, minOf } from '../util/array.ts';

export interface Series {
  name: string;
  points: Array<[number, number]>;
  /** draw markers only (scatter) instead of a polyline */
  scatter?: boolean;
  /** optional per-point labels (scatter) */
  labels?: string[];
  /** highlight: a thicker line or filled, larger markers (e.g. a Pareto front) */
  emphasis?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  xLog?: boolean;
  yLog?: boolean;
  width?: number;
  height?: number;
  /** horizontal reference lines, e.g. 90 % of the ANN's AP */
  hLines?: Array<{ y: number; label: string }>;
  yMin?: number;
  yMax?: number;
  /** widen the data range by this fraction on each side (marks off the frame); default 0 */
  pad?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (v: number) => (Math.round(v * 100) / 100).toString();

/** at most this many ticks per axis: a guard against ranges where a step does not advance */
const MAX_TICKS = 50;

function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return Number.isFinite(lo) ? [lo] : [];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  // a step below the resolution of the values (a huge offset, a tiny range) would never advance
  if (!(step > 0) || lo + step === lo || hi + step === hi) return [lo, hi];
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9 && out.length < MAX_TICKS; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function logTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !(hi >= lo) || !Number.isFinite(hi)) return [lo, hi].filter((v) => v > 0 && Number.isFinite(v));
  const out: number[] = [];
  const e0 = Math.floor(Math.log10(lo)), e1 = Math.ceil(Math.log10(hi));
  // over many decades: 1× marks only, every k-th decade, so the axis keeps a readable number of ticks
  const every = Math.max(1, Math.ceil((e1 - e0 + 1) / 12));
  const marks = e1 - e0 > 6 ? [1] : [1, 2, 5];
  for (let e = e0; e <= e1; e += every) {
    for (const m of marks) {
      const v = m * 10 ** e;
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  }
  return out.length >= 2 ? out : [lo, hi];
}

export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  return Number(v.toPrecision(4)).toString();
}

export function lineChart(series: Series[], opt: ChartOptions): string {
  const W = opt.width ?? 720, H = opt.height ?? 440;
  const m = { l: 70, r: 180, t: 40, b: 50 };
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!opt.xLog || x > 0) && (!opt.yLog || y > 0));
  let xLo = minOf(all.map((p) => p[0])), xHi = maxOf(all.map((p) => p[0]));
  let yLo = opt.yMin ?? minOf(all.map((p) => p[1]).concat((opt.hLines ?? []).map((h) => h.y)));
  let yHi = opt.yMax ?? maxOf(all.map((p) => p[1]).concat((opt.hLines ?? []).map((h) => h.y)));
  if (!all.length) { xLo = 0; xHi = 1; yLo = 0; yHi = 1; }
  if (opt.pad && all.length) {
    const widen = (lo: number, hi: number, log: boolean | undefined): [number, number] => {
      if (log) { const f = Math.pow(hi / lo, opt.pad!); return [lo / f, hi * f]; }
      const d = (hi - lo) * opt.pad!;
      return [lo - d, hi + d];
    };
    [xLo, xHi] = widen(xLo, xHi, opt.xLog);
    if (opt.yMin === undefined && opt.yMax === undefined) [yLo, yHi] = widen(yLo, yHi, opt.yLog);
  }
  if (xLo === xHi) { xLo -= opt.xLog ? xLo / 2 : 1; xHi += opt.xLog ? xHi : 1; }
  if (yLo === yHi) { yLo -= opt.yLog ? yLo / 2 : 1; yHi += opt.yLog ? yHi : 1; }
  const tx = (v: number) => opt.xLog ? (Math.log(v) - Math.log(xLo)) / (Math.log(xHi) - Math.log(xLo)) : (v - xLo) / (xHi - xLo);
  const ty = (v: number) => opt.yLog ? (Math.log(v) - Math.log(yLo)) / (Math.log(yHi) - Math.log(yLo)) : (v - yLo) / (yHi - yLo);
  const X = (v: number) => m.l + tx(v) * pw;
  const Y = (v: number) => m.t + ph - ty(v) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2 - m.r / 2}" y="22" text-anchor="middle" font-size="15">${esc(opt.title)}</text>`);
  const xt = opt.xLog ? logTicks(xLo, xHi) : niceTicks(xLo, xHi, 8);
  const yt = opt.yLog ? logTicks(yLo, yHi) : niceTicks(yLo, yHi, 6);
  for (const v of xt) {
    out.push(`<line x1="${num(X(v))}" y1="${m.t}" x2="${num(X(v))}" y2="${m.t + ph}" stroke="#eee"/>`);
    out.push(`<text x="${num(X(v))}" y="${m.t + ph + 16}" text-anchor="middle">${formatTick(v)}</text>`);
  }
  for (const v of yt) {
    out.push(`<line x1="${m.l}" y1="${num(Y(v))}" x2="${m.l + pw}" y2="${num(Y(v))}" stroke="#eee"/>`);
    out.push(`<text x="${m.l - 6}" y="${num(Y(v) + 4)}" text-anchor="end">${formatTick(v)}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(opt.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opt.yLabel)}</text>`);
  for (const h of opt.hLines ?? []) {
    out.push(`<line x1="${m.l}" y1="${num(Y(h.y))}" x2="${m.l + pw}" y2="${num(Y(h.y))}" stroke="#999" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${m.l + pw - 4}" y="${num(Y(h.y) - 3)}" text-anchor="end" fill="#666">${esc(h.label)}</text>`);
  }
  // point labels: emphasized series first; each label takes the first of four places around its
  // mark (right above, right below, left above, left below) that stays inside the chart and
  // overlaps no label placed before; a label with no such place is left out
  const placed: Array<[number, number, number, number]> = [];
  const labelAt = (x: number, y: number, text: string): string | null => {
    const w = text.length * 5.2, h = 10;
    for (const [x0, base] of [[x + 6, y - 5], [x + 6, y + 5 + h], [x - 6 - w, y - 5], [x - 6 - w, y + 5 + h]]) {
      const box: [number, number, number, number] = [x0, base - h, x0 + w, base];
      if (box[0] < 2 || box[2] > W - 2 || box[1] < m.t || box[3] > m.t + ph + 12) continue;
      if (placed.some((b) => box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3])) continue;
      placed.push(box);
      return `<text x="${num(x0)}" y="${num(base)}" font-size="9" fill="#333">${esc(text)}</text>`;
    }
    return null;
  };
  const labelled = new Map<number, string[]>();
  [...series.keys()].sort((a, b) => Number(!!series[b].emphasis) - Number(!!series[a].emphasis)).forEach((i) => {
    const s = series[i];
    if (!s.scatter || !s.labels) return;
    const texts: string[] = [];
    s.points.forEach(([x, y], k) => {
      const label = s.labels?.[k];
      if (!label || !Number.isFinite(x) || !Number.isFinite(y) || (opt.xLog && x <= 0) || (opt.yLog && y <= 0)) return;
      const t = labelAt(X(x), Y(y), label);
      if (t) texts.push(t);
    });
    labelled.set(i, texts);
  });
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!opt.xLog || x > 0) && (!opt.yLog || y > 0));
    if (s.scatter) {
      for (const [x, y] of pts) out.push(`<circle cx="${num(X(x))}" cy="${num(Y(y))}" r="${s.emphasis ? 5 : 3.5}" fill="${s.emphasis ? color : 'none'}" stroke="${color}"/>`);
      out.push(...(labelled.get(i) ?? []));
    } else if (pts.length) {
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="${s.emphasis ? 2.5 : 1.6}" points="${pts.map(([x, y]) => `${num(X(x))},${num(Y(y))}`).join(' ')}"/>`);
    }
    const ly = m.t + 14 + i * 18;
    out.push(s.scatter
      ? `<circle cx="${m.l + pw + 20}" cy="${ly - 4}" r="4" fill="${s.emphasis ? color : 'none'}" stroke="${color}"/>`
      : `<line x1="${m.l + pw + 12}" y1="${ly - 4}" x2="${m.l + pw + 30}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${m.l + pw + 36}" y="${ly}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
