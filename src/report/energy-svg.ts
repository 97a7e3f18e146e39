/**
 * `run --svg FILE`: the energy of one run as a picture, three panels of horizontal bars laid out
 * on a fixed row grid (labels left of the bars, values right of them, so no text overlaps):
 *
 *   1. energy per frame by category, one stacked bar per chip, the ANN baselines beside them
 *   2. the four accounting levels: SNN on each chip against the ANN counterpart, log scale
 *   3. energy per frame by layer on each chip (events and per-core static; chip static not attributed)
 *
 * A pure function of its input (fixed number formatting): identical runs give identical bytes.
 */
import { formatRatio, si } from '../hw/report.ts';
import type { LevelFigure } from '../hw/levels.ts';

export interface EnergySvgChip {
  chip: string;
  perFrameJ: number;
  breakdownJ: Record<'synaptic' | 'neuron' | 'spike' | 'routing' | 'offchip' | 'static', number>;
  levels: LevelFigure[];
  byLayer: { layer: number; name: string; energyJPerFrame: number }[];
  /** "128 ticks, F1 0.974 at score > 0.5" */
  pricedAt: string;
}

export interface EnergySvgInput {
  title: string;
  chips: EnergySvgChip[];
  /** ANN baselines per frame: the compute-only one and the one that moves its data */
  ann: { label: string; energyJ: number }[];
}

const CATEGORIES = ['synaptic', 'neuron', 'spike', 'routing', 'offchip', 'static'] as const;
const CATEGORY_COLORS: Record<(typeof CATEGORIES)[number], string> = {
  synaptic: '#4c78a8', neuron: '#f58518', spike: '#e45756', routing: '#72b7b2', offchip: '#b279a2', static: '#9d9da0',
};
const CHIP_COLORS = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#b279a2', '#72b7b2'];
const ANN_COLOR = '#333333';

const WIDTH = 980;
const LABEL_W = 210;
const VALUE_W = 170;
const BAR_X = LABEL_W + 10;
const BAR_W = WIDTH - BAR_X - VALUE_W;
const ROW = 20;
const FONT = 'font-family="DejaVu Sans, Arial, sans-serif"';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f1 = (x: number) => x.toFixed(1);

class Canvas {
  parts: string[] = [];
  y = 0;
  text(x: number, y: number, s: string, o: { size?: number; anchor?: 'start' | 'end' | 'middle'; weight?: string; fill?: string } = {}) {
    this.parts.push(`<text x="${f1(x)}" y="${f1(y)}" font-size="${o.size ?? 12}" ${FONT} text-anchor="${o.anchor ?? 'start'}"${o.weight ? ` font-weight="${o.weight}"` : ''} fill="${o.fill ?? '#222'}">${esc(s)}</text>`);
  }
  rect(x: number, y: number, w: number, h: number, fill: string, title?: string) {
    this.parts.push(`<rect x="${f1(x)}" y="${f1(y)}" width="${f1(Math.max(0, w))}" height="${f1(h)}" fill="${fill}">${title ? `<title>${esc(title)}</title>` : ''}</rect>`);
  }
  line(x1: number, y1: number, x2: number, y2: number, stroke = '#bbb') {
    this.parts.push(`<line x1="${f1(x1)}" y1="${f1(y1)}" x2="${f1(x2)}" y2="${f1(y2)}" stroke="${stroke}" stroke-width="1"/>`);
  }
  heading(s: string, sub?: string) {
    this.y += 28;
    this.text(10, this.y, s, { size: 15, weight: 'bold' });
    if (sub) {
      this.y += 17;
      this.text(10, this.y, sub, { size: 11, fill: '#555' });
    }
    this.y += 10;
  }
}

/** A log10 axis over [lo, hi] (powers of ten), mapped onto the bar area. */
function logAxis(lo: number, hi: number) {
  const a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi));
  const span = Math.max(1, b - a);
  return { at: (v: number) => BAR_X + (BAR_W * (Math.log10(Math.max(v, 10 ** a)) - a)) / span, ticks: Array.from({ length: span + 1 }, (_, k) => 10 ** (a + k)) };
}

export function energySvg(input: EnergySvgInput): string {
  const c = new Canvas();
  c.y = 6;
  c.text(10, (c.y += 20), input.title, { size: 17, weight: 'bold' });
  for (const ch of input.chips) c.text(10, (c.y += 16), `${ch.chip}: ${si(ch.perFrameJ, 'J')} per frame at ${ch.pricedAt}`, { size: 11, fill: '#555' });

  // 1. by category (linear scale shared by the chips and the ANN baselines)
  c.heading('Energy per frame by category', 'stacked: synaptic, neuron, spike, routing, off-chip, static; the ANN baselines on the same scale');
  const maxJ = Math.max(...input.chips.map((x) => x.perFrameJ), ...input.ann.map((a) => a.energyJ));
  const lin = (v: number) => (BAR_W * v) / maxJ;
  for (const ch of input.chips) {
    const y = c.y;
    c.text(LABEL_W, y + 14, ch.chip, { anchor: 'end' });
    let x = BAR_X;
    for (const k of CATEGORIES) {
      const w = lin(ch.breakdownJ[k]);
      c.rect(x, y + 2, w, ROW - 4, CATEGORY_COLORS[k], `${k}: ${si(ch.breakdownJ[k], 'J')}`);
      x += w;
    }
    c.text(x + 6, y + 14, si(ch.perFrameJ, 'J'));
    c.y += ROW + 4;
  }
  for (const a of input.ann) {
    const y = c.y;
    c.text(LABEL_W, y + 14, a.label, { anchor: 'end' });
    c.rect(BAR_X, y + 2, lin(a.energyJ), ROW - 4, ANN_COLOR);
    c.text(BAR_X + lin(a.energyJ) + 6, y + 14, si(a.energyJ, 'J'));
    c.y += ROW + 4;
  }
  // legend, one row, fixed slots
  c.y += 6;
  CATEGORIES.forEach((k, i) => {
    const x = BAR_X + i * 110;
    c.rect(x, c.y, 12, 12, CATEGORY_COLORS[k]);
    c.text(x + 16, c.y + 11, k, { size: 11 });
  });
  c.y += 18;

  // 2. accounting levels, log scale
  c.heading('Accounting levels (log scale)', 'each level adds to the one before; ops is the op-count proxy (SOPs × E_AC against MACs × E_MAC)');
  const all = input.chips.flatMap((x) => x.levels.flatMap((l) => [l.per_frame_J, l.ann_J])).filter((v) => v > 0);
  const ax = logAxis(Math.min(...all), Math.max(...all));
  const top = c.y;
  const levelNames = input.chips[0]?.levels.map((l) => l.level) ?? [];
  for (const [li, level] of levelNames.entries()) {
    const rows = [{ label: `${level}: ANN`, v: input.chips[0].levels[li].ann_J, color: ANN_COLOR, ratio: '' },
      ...input.chips.map((ch, ci) => {
        const l = ch.levels[li];
        return { label: `${level}: ${ch.chip}`, v: l.per_frame_J, color: CHIP_COLORS[ci % CHIP_COLORS.length], ratio: `  ANN/SNN ${formatRatio(l.ratio)}` };
      })];
    for (const r of rows) {
      c.text(LABEL_W, c.y + 14, r.label, { anchor: 'end' });
      c.rect(BAR_X, c.y + 3, ax.at(r.v) - BAR_X, ROW - 6, r.color);
      c.text(ax.at(r.v) + 6, c.y + 14, `${si(r.v, 'J')}${r.ratio}`, { size: 11 });
      c.y += ROW;
    }
    c.y += 6;
  }
  for (const t of ax.ticks) {
    c.line(ax.at(t), top, ax.at(t), c.y);
    c.text(ax.at(t), c.y + 13, si(t, 'J'), { size: 10, anchor: 'middle', fill: '#555' });
  }
  c.y += 18;

  // 3. by layer, one block per chip, linear per chip
  for (const [ci, ch] of input.chips.entries()) {
    c.heading(`Energy per frame by layer on ${ch.chip}`, 'synaptic, neuron, spike, routing and off-chip events of the layer\'s cores plus their per-core static power; chip static not attributed');
    const m = Math.max(...ch.byLayer.map((l) => l.energyJPerFrame), 1e-30);
    for (const l of ch.byLayer) {
      const w = (BAR_W * l.energyJPerFrame) / m;
      c.text(LABEL_W, c.y + 13, `${l.layer} ${l.name}`, { anchor: 'end', size: 11 });
      c.rect(BAR_X, c.y + 3, w, ROW - 7, CHIP_COLORS[ci % CHIP_COLORS.length]);
      c.text(BAR_X + w + 6, c.y + 13, si(l.energyJPerFrame, 'J'), { size: 11 });
      c.y += ROW - 3;
    }
  }
  c.y += 16;
  const h = Math.ceil(c.y);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${h}" viewBox="0 0 ${WIDTH} ${h}">\n<rect width="${WIDTH}" height="${h}" fill="white"/>\n${c.parts.join('\n')}\n</svg>\n`;
}
