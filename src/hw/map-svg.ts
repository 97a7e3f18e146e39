/**
 * SVG of a placement: one cell per router of the chips in use, colored by the layer of its cores
 * (partial-sum cores in a lighter shade), chip boundaries as thick outlines, and the expected
 * traffic (routing.ts expectedTraffic) as lines between neighbouring cells whose width grows with
 * the packets per tick on that link.
 *
 * Large boards are drawn at a coarser grain: when the used part of the mesh is wider or taller than
 * `maxCells` routers, b×b routers make one cell (b the smallest that fits), colored by the layer
 * most of its cores belong to, and only traffic between cells is drawn. Where a router holds
 * several cores (Loihi: 4) and b = 1, the cell is split into one square per core. Runs of equal
 * cells in a row are merged into one rectangle. Output is a pure function of its inputs (fixed
 * number formatting), so the same mapping gives the same bytes.
 */
import type { Mapping } from './mapper.ts';
import type { Traffic } from './routing.ts';
import { si } from './report.ts';

export interface MapSvgOptions {
  traffic?: Traffic;
  /** what the traffic assumes, printed under the title */
  trafficNote?: string;
  /** cells along the longer side at most (default 160) */
  maxCells?: number;
  /** drawing width of the mesh, px (default 960) */
  width?: number;
  /**
   * A heat map instead of the layer colors: each cell colored by the summed value of its cores
   * (e.g. energy per frame, J) on a log scale; `label` says what the value is.
   */
  heat?: { valuesByCore: Float64Array; label: string; unit: string };
}

/** Sequential palette (dark blue → yellow, viridis stops) at t in [0, 1]. */
const HEAT_STOPS: [number, number, number][] = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
export function heatColor(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (HEAT_STOPS.length - 1);
  const i = Math.min(HEAT_STOPS.length - 2, Math.floor(x)), f = x - i;
  const c = HEAT_STOPS[i].map((v, k) => Math.round(v + (HEAT_STOPS[i + 1][k] - v) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (v: number) => (Math.round(v * 100) / 100).toString();

/** Layer color: golden-angle hues; partial-sum cores lighter. */
export function layerColor(layer: number, partial: boolean): string {
  const hue = Math.round((layer * 137.508) % 360);
  return `hsl(${hue},${partial ? 55 : 65}%,${partial ? 78 : 52}%)`;
}

export function mappingSvg(m: Mapping, opts: MapSvgOptions = {}): string {
  const chip = m.chip.chip;
  const p = m.placement;
  const nChipsX = m.chipsUsed > m.board.chipsX ? m.board.chipsX : Math.max(1, m.chipsUsed);
  const nChipsY = Math.max(1, Math.ceil(m.chipsUsed / m.board.chipsX));
  const RW = nChipsX * chip.tilesX, RH = nChipsY * chip.tilesY;
  const maxCells = opts.maxCells ?? 160;
  const b = Math.max(1, Math.ceil(Math.max(RW, RH) / maxCells));
  const CW = Math.ceil(RW / b), CH = Math.ceil(RH / b);
  const width = opts.width ?? 960;
  const cell = Math.max(2, Math.min(40, Math.floor(width / Math.max(CW, CH))));
  const cpt = chip.coresPerTile;
  const heat = opts.heat;
  const sub = b === 1 && cpt > 1 && !heat ? Math.ceil(Math.sqrt(cpt)) : 1;
  const top = 58, left = 10;
  const nLayers = m.snn.layers.length;
  const keys = 2 * nLayers;

  // majority (layer, role) per cell
  const counts = new Int32Array(CW * CH * keys);
  const slotKey = new Int32Array(sub > 1 ? CW * CH * cpt : 0).fill(-1);
  for (let id = 0; id < m.coresUsed; id++) {
    const cx = Math.floor(p.meshX[id] / b), cy = Math.floor(p.meshY[id] / b);
    if (cx >= CW || cy >= CH) continue;
    const k = m.cores.layer[id] * 2 + m.cores.role[id];
    counts[(cy * CW + cx) * keys + k]++;
    if (sub > 1) slotKey[(cy * CW + cx) * cpt + p.slot[id]] = k;
  }
  const cellKey = new Int32Array(CW * CH).fill(-1);
  for (let i = 0; i < CW * CH; i++) {
    let best = 0;
    for (let k = 0; k < keys; k++)
      if (counts[i * keys + k] > best) {
        best = counts[i * keys + k];
        cellKey[i] = k;
      }
  }
  const colorOf = (k: number) => layerColor(k >> 1, (k & 1) === 1);
  // heat: the summed value per cell, quantized to 64 color levels so equal runs merge
  let heatLo = 0, heatHi = 0;
  if (heat) {
    const v = new Float64Array(CW * CH);
    for (let id = 0; id < m.coresUsed; id++) {
      const cx = Math.floor(p.meshX[id] / b), cy = Math.floor(p.meshY[id] / b);
      if (cx < CW && cy < CH) v[cy * CW + cx] += heat.valuesByCore[id] ?? 0;
    }
    heatLo = Infinity;
    for (let i = 0; i < v.length; i++) if (v[i] > 0) {
      heatLo = Math.min(heatLo, v[i]);
      heatHi = Math.max(heatHi, v[i]);
    }
    if (!(heatHi > 0)) heatLo = heatHi = 0;
    const span = heatHi > heatLo ? Math.log(heatHi / heatLo) : 1;
    for (let i = 0; i < v.length; i++) cellKey[i] = v[i] > 0 ? Math.round((63 * Math.log(v[i] / heatLo)) / span) : cellKey[i] >= 0 ? 0 : -1;
  }
  const fillOf = (k: number) => (heat ? heatColor(k / 63) : colorOf(k));

  const meshW = CW * cell, meshH = CH * cell;
  const legendRows = m.layers.filter((l) => l).length;
  const legendH = 16 * Math.ceil(legendRows / 3) + 24;
  const W = left * 2 + meshW, H = top + meshH + 16 + legendH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  const title = `${m.network} on ${m.chipName}: ${m.coresUsed.toLocaleString('en-US')} cores, ${m.chipsUsed} chip${m.chipsUsed === 1 ? '' : 's'} (board ${m.board.chipsX}x${m.board.chipsY})`;
  out.push(`<text x="${left}" y="18" font-size="15" font-weight="bold">${esc(title)}</text>`);
  const sub1 = `${chip.tilesX}x${chip.tilesY} routers per chip, ${cpt} core${cpt === 1 ? '' : 's'} per router` + (b > 1 ? `; one cell = ${b}x${b} routers (majority layer)` : '');
  out.push(`<text x="${left}" y="34">${esc(sub1)}</text>`);
  if (heat) out.push(`<text x="${left}" y="50">${esc(`color: ${heat.label} per cell, log scale from ${si(heatLo, heat.unit)} to ${si(heatHi, heat.unit)}`)}</text>`);
  else if (opts.traffic) out.push(`<text x="${left}" y="50">${esc(`line width ∝ expected packets per tick on a link${opts.trafficNote ? ` (${opts.trafficNote})` : ''}; busiest ${num(opts.traffic.maxLink.packets)}`)}</text>`);

  // cells
  out.push(`<g stroke="none">`);
  out.push(`<rect x="${left}" y="${top}" width="${meshW}" height="${meshH}" fill="#f2f2f2"/>`);
  // a router whose slots all hold the same (layer, role) is drawn whole; mixed ones slot by slot
  if (sub > 1) {
    for (let i = 0; i < CW * CH; i++) {
      let k0 = slotKey[i * cpt];
      for (let k = 1; k < cpt; k++) if (slotKey[i * cpt + k] !== k0) k0 = -2;
      cellKey[i] = k0;
    }
  }
  const s = cell / sub;
  for (let cy = 0; cy < CH; cy++) {
    let cx = 0;
    while (cx < CW) {
      const key = cellKey[cy * CW + cx];
      if (key === -2) {
        for (let k = 0; k < cpt; k++) {
          const kk = slotKey[(cy * CW + cx) * cpt + k];
          if (kk < 0) continue;
          const x = left + cx * cell + (k % sub) * s, y = top + cy * cell + Math.floor(k / sub) * s;
          out.push(`<rect x="${num(x)}" y="${num(y)}" width="${num(s)}" height="${num(s)}" fill="${colorOf(kk)}"/>`);
        }
        cx++;
        continue;
      }
      let end = cx + 1;
      while (end < CW && cellKey[cy * CW + end] === key) end++;
      if (key >= 0) out.push(`<rect x="${left + cx * cell}" y="${top + cy * cell}" width="${(end - cx) * cell}" height="${cell}" fill="${fillOf(key)}"/>`);
      cx = end;
    }
  }
  out.push(`</g>`);

  // traffic between cells
  const t = opts.traffic;
  if (t) {
    const ewLoad = new Float64Array(CW * CH), nsLoad = new Float64Array(CW * CH);
    for (let y = 0; y < Math.min(RH, t.meshHeight); y++)
      for (let x = 0; x < Math.min(RW, t.meshWidth); x++) {
        const i = y * t.meshWidth + x;
        const cx = Math.floor(x / b), cy = Math.floor(y / b);
        if (x + 1 < RW && Math.floor((x + 1) / b) !== cx && t.ew[i] > 0) ewLoad[cy * CW + cx] += t.ew[i];
        if (y + 1 < RH && Math.floor((y + 1) / b) !== cy && t.ns[i] > 0) nsLoad[cy * CW + cx] += t.ns[i];
      }
    let max = 0;
    for (let i = 0; i < CW * CH; i++) max = Math.max(max, ewLoad[i], nsLoad[i]);
    if (max > 0) {
      const links: [number, number, boolean][] = [];
      for (let i = 0; i < CW * CH; i++) {
        if (ewLoad[i] >= max * 0.01) links.push([ewLoad[i], i, true]);
        if (nsLoad[i] >= max * 0.01) links.push([nsLoad[i], i, false]);
      }
      links.sort((a, c) => c[0] - a[0] || a[1] - c[1] || Number(c[2]) - Number(a[2]));
      const shown = links.slice(0, 4000).sort((a, c) => a[1] - c[1] || Number(c[2]) - Number(a[2]));
      out.push(`<g stroke="#111" stroke-opacity="0.55" stroke-linecap="round">`);
      for (const [load, i, isEW] of shown) {
        const cx = i % CW, cy = Math.floor(i / CW);
        const x1 = left + (cx + 0.5) * cell, y1 = top + (cy + 0.5) * cell;
        const x2 = isEW ? x1 + cell : x1, y2 = isEW ? y1 : y1 + cell;
        const w = Math.max(0.3, (load / max) * cell * 0.6);
        out.push(`<line x1="${num(x1)}" y1="${num(y1)}" x2="${num(x2)}" y2="${num(y2)}" stroke-width="${num(w)}"/>`);
      }
      out.push(`</g>`);
    }
  }

  // chip outlines
  out.push(`<g fill="none" stroke="#000" stroke-width="2">`);
  for (let cy = 0; cy < nChipsY; cy++)
    for (let cx = 0; cx < nChipsX; cx++) {
      const x = left + ((cx * chip.tilesX) / b) * cell, y = top + ((cy * chip.tilesY) / b) * cell;
      out.push(`<rect x="${num(x)}" y="${num(y)}" width="${num((chip.tilesX / b) * cell)}" height="${num((chip.tilesY / b) * cell)}"/>`);
    }
  out.push(`</g>`);

  // legend
  if (heat) {
    const ly = top + meshH + 12, n = 32, w = Math.min(meshW, 480);
    for (let k = 0; k < n; k++) out.push(`<rect x="${num(left + (k * w) / n)}" y="${ly}" width="${num(w / n + 0.5)}" height="12" fill="${heatColor(k / (n - 1))}"/>`);
    out.push(`<text x="${left}" y="${ly + 26}">${esc(si(heatLo, heat.unit))}</text>`);
    out.push(`<text x="${left + w}" y="${ly + 26}" text-anchor="end">${esc(si(heatHi, heat.unit))}</text>`);
    out.push(`</svg>`);
    return out.join('\n') + '\n';
  }
  let i = 0;
  const ly = top + meshH + 20;
  for (const l of m.layers) {
    if (!l) continue;
    const col = i % 3, row = Math.floor(i / 3);
    const x = left + col * Math.max(220, Math.floor(meshW / 3)), y = ly + row * 16;
    out.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${layerColor(l.layer, false)}"/>`);
    if (l.split) out.push(`<rect x="${x + 13}" y="${y - 10}" width="6" height="12" fill="${layerColor(l.layer, true)}"/>`);
    out.push(`<text x="${x + 22}" y="${y}">${esc(`${l.layer} ${l.kind} ${l.shape.h}x${l.shape.w}x${l.shape.c}: ${l.cores.toLocaleString('en-US')} cores`)}</text>`);
    i++;
  }
  out.push(`</svg>`);
  return out.join('\n') + '\n';
}
