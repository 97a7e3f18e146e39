/** Plain-text tables for stdout: columns right-aligned unless marked left. */
import { maxOf } from '../util/array.ts';
export interface Column {
  header: string;
  align?: 'left' | 'right';
}

export function formatTable(columns: Column[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = columns.map((col, i) => maxOf(cells.map((r) => (r[i] ?? '').length), col.header.length));
  const fmt = (vals: string[]) =>
    vals.map((v, i) => (columns[i].align === 'left' ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ').trimEnd();
  const lines = [fmt(columns.map((c) => c.header)), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of cells) lines.push(fmt(r));
  return lines.join('\n');
}

/** 1234567 → "1,234,567" */
export const thousands = (n: number): string => Math.round(n).toLocaleString('en-US');
