/**
 * Seeded JSON-level mutations for the file fuzzers: delete a field, replace a value with a wrong
 * type / negative / huge / "NaN" string / deeply nested value, rename a key, duplicate a key (the
 * text then holds both; JSON.parse keeps the last), plus text-level truncation and byte flips.
 */
import { int, pick, type Rand } from './fuzzer.ts';

type Path = (string | number)[];

/** Values a field should not hold: wrong types, out-of-range numbers, numbers as strings, nesting. */
const WRONG_VALUES: readonly unknown[] = [
  null, true, false, '', 'x', 'NaN', 'Infinity', '-1', '1e400', 0, -0, -1, -0.5, 0.5, 3.5, 1e-320, 1e308, -1e308, 2 ** 31, 2 ** 53 + 2,
  [], {}, [1], [-1, 2], { value: 1 }, { value: -1, source: 'x' }, nested(20), nested(70),
];

/** An array nested n levels deep; 70 is beyond the readers' 64-level limit. */
function nested(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = [v];
  return v;
}

/** Every path below the root, objects' keys and arrays' indices. */
function paths(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push([...at, i]), paths(x, [...at, i], out)));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) out.push([...at, k]), paths(x, [...at, k], out);
  return out;
}

function parentOf(doc: unknown, p: Path): Record<string | number, unknown> {
  let o = doc as Record<string | number, unknown>;
  for (const k of p.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  return o;
}

/** A value near the original: for numbers a sign flip, zero, huge, fraction; others a wrong value. */
function perturb(rand: Rand, old: unknown): unknown {
  if (typeof old === 'number' && rand() < 0.6) return pick(rand, [-old, 0, old * 1e300, old + 0.5, old - 1, -1, Math.round(old * 1000) + 1, old / 3]);
  if (typeof old === 'string' && rand() < 0.3) return pick(rand, [old + 'x', old.slice(1), old.toUpperCase(), old + old, '../' + old, '']);
  return structuredClone(pick(rand, WRONG_VALUES));
}

/** JSON text with `dup` emitted twice in the object at `at` (first the extra value, then the real one, or the reverse). */
function stringifyWithDuplicate(doc: unknown, at: Path, key: string, extra: unknown, extraFirst: boolean): string {
  const walk = (v: unknown, p: Path): string => {
    if (Array.isArray(v)) return `[${v.map((x, i) => walk(x, [...p, i])).join(',')}]`;
    if (typeof v !== 'object' || v === null) return JSON.stringify(v) ?? 'null';
    const entries = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${walk(x, [...p, k])}`);
    if (p.length === at.length && p.every((k, i) => k === at[i])) {
      const e = `${JSON.stringify(key)}:${JSON.stringify(extra)}`;
      if (extraFirst) entries.unshift(e);
      else entries.push(e);
    }
    return `{${entries.join(',')}}`;
  };
  return walk(doc, []);
}

/**
 * One to three mutations of `original` (parsed JSON), serialized. `focus`, when given, restricts
 * the structural mutations to paths it accepts (e.g. away from comment keys) most of the time.
 */
export function mutateJson(original: unknown, rand: Rand, focus?: (p: Path) => boolean): { bytes: Buffer; ops: string[] } {
  const doc = structuredClone(original);
  const ops: string[] = [];
  let text: string | null = null;
  const n = 1 + int(rand, 3);
  for (let k = 0; k < n; k++) {
    let all = paths(doc);
    if (focus && rand() < 0.9) all = all.filter(focus);
    if (all.length === 0) break;
    const p = pick(rand, all);
    const parent = parentOf(doc, p);
    const last = p[p.length - 1];
    const u = rand();
    if (u < 0.2) {
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete parent[last];
      ops.push(`delete ${p.join('.')}`);
    } else if (u < 0.75) {
      const v = perturb(rand, parent[last]);
      parent[last] = v;
      ops.push(`set ${p.join('.')}=${JSON.stringify(v)?.slice(0, 30)}`);
    } else if (u < 0.82 && !Array.isArray(parent)) {
      parent[`${String(last)}${pick(rand, ['x', '_', 'S', ' '])}`] = parent[last];
      delete parent[last];
      ops.push(`rename ${p.join('.')}`);
    } else if (u < 0.9 && !Array.isArray(parent)) {
      // the last mutation: the duplicate lives only in the text
      const extra = perturb(rand, parent[last]);
      const first = rand() < 0.5;
      text = stringifyWithDuplicate(doc, p.slice(0, -1), String(last), extra, first);
      ops.push(`duplicate ${p.join('.')} (${first ? 'bad first' : 'bad last'}: ${JSON.stringify(extra)?.slice(0, 30)})`);
      break;
    } else if (Array.isArray(parent)) {
      parent.splice(last as number, 0, structuredClone(parent[last]));
      ops.push(`repeat ${p.join('.')}`);
    } else {
      parent[last] = [parent[last]];
      ops.push(`wrap ${p.join('.')}`);
    }
  }
  text ??= JSON.stringify(doc, null, rand() < 0.5 ? 2 : undefined);
  // sometimes damage the text too
  let bytes = Buffer.from(text, 'utf8');
  const t = rand();
  if (t < 0.08) {
    const cut = int(rand, bytes.length);
    bytes = bytes.subarray(0, cut);
    ops.push(`truncate@${cut}`);
  } else if (t < 0.16) {
    const pos = int(rand, bytes.length), bit = int(rand, 8);
    bytes[pos] ^= 1 << bit;
    ops.push(`flip@${pos}.${bit}`);
  }
  return { bytes, ops };
}
