/**
 * NIR (Neuromorphic Intermediate Representation, neuromorphs/NIR) files: read into a typed graph,
 * validated as NIR's own Python reader (nir/serialization.py `read`, nir/ir/*.py) validates, and
 * written back. No simulation semantics here: src/convert maps graphs to and from the SNN IR.
 *
 * The file (NIR 1.0.x, HDF5): a root dataset `version` (UTF-8 string) and a group `node`, the root
 * NIRGraph. Every node is a group with a string dataset `type` and one dataset per field; a graph
 * has `nodes/<name>/` (nested graphs recurse), `edges` (E × 2 strings) and, only when non-empty, a
 * `metadata` group (datasets and nested groups). No HDF5 attributes are used.
 *
 * The Python reader rebuilds each node by calling its dataclass with exactly the file's fields, so a
 * missing required field or an extra one is an error (TypeError there, a one-line UserError here);
 * the per-node shape assertions of nir/ir/*.py are repeated (IF: r, v_threshold, v_reset of one
 * shape; Affine/Linear weight at least 2-D; ...). Edge shape agreement is checked where a graph is
 * used (src/convert/nir-import.ts infers every shape), since NIR's own type check is optional.
 *
 * h5wasm (HDF5 compiled to WebAssembly) does the HDF5 work; it is loaded on first use (`nirReady`),
 * after which writing is synchronous. Reading runs HDF5 in a worker thread (src/model/nir-h5-worker.mjs)
 * that the caller waits for synchronously with a time limit: a damaged file can loop HDF5 forever.
 * The error handler is switched to throwing, so HDF5's diagnostics never reach stderr: they become
 * the one-line reason of a UserError.
 */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { describeThrown, fail, UserError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';

/** the NIR layout version neuroemu writes (the layout of NIR 1.0.7: IF/LIF v_reset present) */
export const NIR_WRITE_VERSION = '1.0.7';

export const NIR_NODE_TYPES = [
  'Conv1d', 'Conv2d', 'Delay', 'Flatten', 'Input', 'NIRGraph', 'Output', 'Affine', 'Linear', 'Scale',
  'CubaLI', 'CubaLIF', 'I', 'IF', 'LI', 'LIF', 'AvgPool2d', 'SumPool2d', 'Threshold',
] as const;
export type NirNodeType = (typeof NIR_NODE_TYPES)[number];
export type NirLeafType = Exclude<NirNodeType, 'NIRGraph'>;

export type NirDtype = 'float32' | 'float64' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64';
export type NirData = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/** an n-d array, row-major (C order, as numpy and HDF5 store it); shape [] is a scalar */
export interface NirTensor {
  dtype: NirDtype;
  shape: number[];
  data: NirData;
}
/** a field is an array or a string (Conv padding 'same' / 'valid') */
export type NirValue = NirTensor | string;
export type NirMetaValue = NirTensor | string | NirMetadata;
export interface NirMetadata {
  [key: string]: NirMetaValue;
}

export interface NirLeaf {
  type: NirLeafType;
  /** field name → value, the file's fields exactly (no defaults filled in) */
  fields: Record<string, NirValue>;
  metadata: NirMetadata;
}
export interface NirGraph {
  type: 'NIRGraph';
  /** in file order (HDF5 lists a group's members by name) */
  nodes: Map<string, NirNode>;
  edges: [string, string][];
  metadata: NirMetadata;
}
export type NirNode = NirLeaf | NirGraph;

export interface NirFile {
  /** the root `version` string (NIR's reader does not require it; absent → undefined) */
  version?: string;
  graph: NirGraph;
}

// ---------------------------------------------------------------------------------------------
// the node schemas: the dataclass fields of nir/ir/*.py at commit 7232ada (NIR 1.0.7)

/**
 * What a field holds: 'array' any numeric array (parameters, weights), 'int' integer scalar or
 * array (stride, groups, dims), 'shape' a 1-D integer array (Input/Output shape), 'pad' an
 * integer scalar/array or the string 'same' / 'valid'.
 */
type FieldKind = 'array' | 'int' | 'shape' | 'pad';
interface Schema {
  required: Record<string, FieldKind>;
  /** fields with a default in the dataclass; input_type/output_type where the dataclass accepts (and then recomputes) them */
  optional: Record<string, FieldKind>;
}
const IO = { input_type: 'int', output_type: 'int' } as const;
export const NIR_SCHEMAS: Record<NirLeafType, Schema> = {
  Affine: { required: { weight: 'array', bias: 'array' }, optional: { ...IO } },
  Linear: { required: { weight: 'array' }, optional: {} },
  Scale: { required: { scale: 'array' }, optional: {} },
  Conv1d: { required: { input_shape: 'int', weight: 'array', stride: 'int', padding: 'pad', dilation: 'int', groups: 'int', bias: 'array' }, optional: { ...IO } },
  Conv2d: { required: { input_shape: 'int', weight: 'array', stride: 'int', padding: 'pad', dilation: 'int', groups: 'int', bias: 'array' }, optional: {} },
  Delay: { required: { delay: 'array' }, optional: { ...IO } },
  Flatten: { required: {}, optional: { input_type: 'shape', start_dim: 'int', end_dim: 'int', output_type: 'int' } },
  // Input/Output.from_dict move `shape` into input_type/output_type (which they then overwrite)
  Input: { required: { shape: 'shape' }, optional: { input_type: 'int' } },
  Output: { required: { shape: 'shape' }, optional: { output_type: 'int' } },
  I: { required: { r: 'array' }, optional: { ...IO } },
  IF: { required: { r: 'array', v_threshold: 'array' }, optional: { v_reset: 'array', ...IO } },
  LI: { required: { tau: 'array', r: 'array', v_leak: 'array' }, optional: { ...IO } },
  LIF: { required: { tau: 'array', r: 'array', v_leak: 'array', v_threshold: 'array' }, optional: { v_reset: 'array', ...IO } },
  CubaLI: { required: { tau_syn: 'array', tau_mem: 'array', r: 'array', v_leak: 'array' }, optional: { w_in: 'array', ...IO } },
  CubaLIF: { required: { tau_syn: 'array', tau_mem: 'array', r: 'array', v_leak: 'array', v_threshold: 'array' }, optional: { v_reset: 'array', w_in: 'array', ...IO } },
  // padding 'same' passes NIR's shape inference (calculate_conv_output) like a conv's
  AvgPool2d: { required: { kernel_size: 'int', stride: 'int', padding: 'pad' }, optional: {} },
  SumPool2d: { required: { kernel_size: 'int', stride: 'int', padding: 'pad' }, optional: { ...IO } },
  Threshold: { required: { threshold: 'array' }, optional: { ...IO } },
};
/** NIRGraph's own keys besides nodes/edges/metadata/type (its __init__ accepts and recomputes them) */
const GRAPH_OPTIONAL = new Set(['input_type', 'output_type']);

/** parameter groups whose shapes nir/ir/neuron.py asserts equal (w_in broadcasts: checked apart) */
const SAME_SHAPE: Partial<Record<NirLeafType, string[]>> = {
  IF: ['r', 'v_threshold', 'v_reset'],
  LIF: ['tau', 'r', 'v_leak', 'v_reset', 'v_threshold'],
  LI: ['tau', 'r', 'v_leak'],
  CubaLI: ['tau_syn', 'tau_mem', 'r', 'v_leak'],
  CubaLIF: ['tau_syn', 'tau_mem', 'r', 'v_leak', 'v_reset', 'v_threshold'],
};

/** limits against hostile files: elements per dataset, nesting depth, nodes per graph */
export const NIR_MAX_ELEMENTS = 1 << 28;
export const NIR_MAX_DEPTH = 64;
const MAX_FILE_BYTES = 4 * 2 ** 30;

// ---------------------------------------------------------------------------------------------
// h5wasm, loaded once

type H5 = typeof import('h5wasm/node').default;
type H5Group = InstanceType<H5['Group']>;
let h5: H5 | null = null;
let tempSerial = 0;
/**
 * A fresh temp file for each read and write. HDF5 shares one open file between opens of the same
 * file (same device and inode), and a damaged file can leave handles open after an error inside a
 * library call: a later open of that file, rewritten in place, would see the damaged file's cached
 * metadata. A copy per call, with a new inode while any earlier copy is still held, keeps every read
 * independent of the ones before it. (h5wasm's Node build reads the real file system directly.)
 */
const tempPath = () => join(tmpdir(), `neuroemu-nir-${process.pid}-${++tempSerial}.h5`);

/** Loads h5wasm (once per process); reading and writing are synchronous after it. */
export async function nirReady(): Promise<void> {
  if (h5) return;
  const mod = (await import('h5wasm/node')).default;
  const M = await mod.ready;
  // HDF5 errors become thrown JS errors instead of a diagnostic stack printed on stderr
  (M as unknown as { activate_throwing_error_handler(): void }).activate_throwing_error_handler();
  h5 = mod;
}
function lib(): H5 {
  if (!h5) throw new Error('NIR: call `await nirReady()` before reading or writing');
  return h5;
}

/** HDF5's reason from its thrown diagnostic stack: the innermost "in FUNC(): reason" line */
function hdf5Reason(e: unknown): string {
  const msg = describeThrown(e);
  const lines = [...msg.matchAll(/#\d+: .*? in [A-Za-z0-9_]+\(\): (.*)/g)].map((m) => m[1].trim());
  if (lines.length > 0) return lines[lines.length - 1];
  return msg.split('\n')[0].slice(0, 200);
}

/** true for a path ending in .nir (the suffix that selects NIR in --model and --out) */
export const isNirFile = (file: string | undefined): boolean => typeof file === 'string' && /\.nir$/i.test(file);

// ---------------------------------------------------------------------------------------------
// reading

const H5T_INTEGER = 0, H5T_FLOAT = 1, H5T_STRING = 3;

function dtypeOf(where: string, m: { type: number; size: number; signed: boolean; littleEndian: boolean }): NirDtype {
  if (m.type === H5T_FLOAT) {
    if (m.size === 4) return 'float32';
    if (m.size === 8) return 'float64';
    fail(where, `a ${m.size * 8}-bit float is not supported (float32 or float64)`);
  }
  if (m.type === H5T_INTEGER) {
    const bits = m.size * 8;
    if (![8, 16, 32, 64].includes(bits)) fail(where, `a ${bits}-bit integer is not supported`);
    return `${m.signed ? 'int' : 'uint'}${bits}` as NirDtype;
  }
  const names: Record<number, string> = { 2: 'time', 4: 'bitfield', 5: 'opaque', 6: 'compound', 7: 'reference', 8: 'enum (a boolean?)', 9: 'variable-length', 10: 'array' };
  fail(where, `holds HDF5 class ${names[m.type] ?? m.type}, not a number or a string`);
}

const CTOR: Record<NirDtype, { new (n: number): NirData }> = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array,
  uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array,
};

// The worker's tree (src/model/nir-h5-worker.mjs)
interface TreeDataset {
  d: { type: number; size: number; signed: boolean; le: boolean; shape: number[] | null; value: unknown };
}
interface TreeGroup {
  g: [string, TreeEntity][];
}
type TreeEntity = TreeGroup | TreeDataset | { o: string } | { e: string };
const isGroup = (e: TreeEntity): e is TreeGroup => 'g' in e;

/** a dataset as a tensor or a string (a string array only where `strings` allows it) */
function readDataset(ds: TreeDataset, where: string, strings: 'scalar' | 'array' = 'scalar'): NirValue | string[] {
  const m = ds.d, shape = m.shape, value = m.value;
  if (shape === null) fail(where, 'is an empty (null) dataset, not a value');
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(where, `has an invalid shape ${JSON.stringify(shape)}`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (m.type !== H5T_STRING && !m.le && m.size > 1) fail(where, 'big-endian data is not supported');
  if (m.type === H5T_STRING) {
    if (shape.length === 0) {
      if (typeof value !== 'string') fail(where, 'a string dataset did not read as a string');
      return value;
    }
    if (strings !== 'array') fail(where, `is an array of ${n} strings, expected a number array or one string`);
    if (!Array.isArray(value) || value.length !== n || !value.every((s) => typeof s === 'string')) fail(where, 'a string array did not read as strings');
    return value as string[];
  }
  const dtype = dtypeOf(where, { type: m.type, size: m.size, signed: m.signed, littleEndian: m.le });
  const data = new CTOR[dtype](n);
  if (shape.length === 0) {
    if (typeof value !== 'number' && typeof value !== 'bigint') fail(where, 'a scalar did not read as a number');
    (data as unknown as (number | bigint)[])[0] = (dtype.endsWith('64') && dtype !== 'float64' ? BigInt(value) : Number(value)) as never;
  } else {
    if (!ArrayBuffer.isView(value) || (value as NirData).length !== n) fail(where, `the data does not match the shape ${JSON.stringify(shape)}`);
    data.set(value as never);
  }
  return { dtype, shape: [...shape], data };
}

/** a member of a group: a group or a dataset, null when absent; refuses links and unreadable members */
function childOf(g: TreeGroup, name: string, where: string): TreeGroup | TreeDataset | null {
  const hit = g.g.find(([k]) => k === name);
  if (!hit) return null;
  const e = hit[1];
  if ('e' in e) fail(`${where}/${name}`, e.e);
  if ('o' in e) fail(`${where}/${name}`, `is a ${e.o}, not a group or a dataset`);
  return e;
}
const keysOf = (g: TreeGroup): string[] => g.g.map(([k]) => k);

function readMetadata(g: TreeGroup, where: string, depth: number): NirMetadata {
  if (depth > NIR_MAX_DEPTH) fail(where, `metadata nested deeper than ${NIR_MAX_DEPTH} levels`);
  const out: NirMetadata = {};
  for (const k of keysOf(g)) {
    const e = childOf(g, k, where);
    if (!e) continue;
    out[k] = isGroup(e) ? readMetadata(e, `${where}/${k}`, depth + 1) : (readDataset(e, `${where}/${k}`, 'scalar') as NirValue);
  }
  return out;
}

function readTypeName(g: TreeGroup, where: string): NirNodeType {
  const t = childOf(g, 'type', where);
  if (!t) fail(where, 'has no `type` dataset (not a NIR node)');
  if (isGroup(t)) fail(`${where}/type`, 'is a group, expected a string');
  const v = readDataset(t, `${where}/type`);
  if (typeof v !== 'string') fail(`${where}/type`, 'is not a string');
  if (!(NIR_NODE_TYPES as readonly string[]).includes(v)) fail(`${where}/type`, `unknown node type "${v}" (NIR has ${NIR_NODE_TYPES.join(', ')})`);
  return v as NirNodeType;
}

function readNode(g: TreeGroup, where: string, depth: number): NirNode {
  if (depth > NIR_MAX_DEPTH) fail(where, `graphs nested deeper than ${NIR_MAX_DEPTH} levels`);
  const type = readTypeName(g, where);
  const keys = keysOf(g);
  const metaG = keys.includes('metadata') ? childOf(g, 'metadata', where) : null;
  if (metaG && !isGroup(metaG)) fail(`${where}/metadata`, 'is a dataset, expected a group');
  const metadata = metaG ? readMetadata(metaG as TreeGroup, `${where}/metadata`, 0) : {};
  if (type === 'NIRGraph') {
    for (const k of keys) if (!['type', 'nodes', 'edges', 'metadata'].includes(k) && !GRAPH_OPTIONAL.has(k)) fail(`${where}/${k}`, `NIRGraph has no field "${k}" (it has nodes, edges, metadata)`);
    const nodesG = childOf(g, 'nodes', where);
    if (!nodesG) fail(where, 'NIRGraph is missing its `nodes` group');
    if (!isGroup(nodesG)) fail(`${where}/nodes`, 'is a dataset, expected a group of nodes');
    const nodes = new Map<string, NirNode>();
    for (const k of keysOf(nodesG)) {
      const e = childOf(nodesG, k, `${where}/nodes`);
      if (!e) continue;
      if (!isGroup(e)) fail(`${where}/nodes/${k}`, 'is a dataset, expected a node group');
      nodes.set(k, readNode(e, `${where}/nodes/${k}`, depth + 1));
    }
    const edgesD = childOf(g, 'edges', where);
    if (!edgesD) fail(where, 'NIRGraph is missing its `edges` dataset');
    if (isGroup(edgesD)) fail(`${where}/edges`, 'is a group, expected an E x 2 string array');
    const ev = readDataset(edgesD, `${where}/edges`, 'array');
    const edges: [string, string][] = [];
    if (Array.isArray(ev)) {
      const shape = edgesD.d.shape ?? [];
      if (shape.length !== 2 || shape[1] !== 2) fail(`${where}/edges`, `has shape ${JSON.stringify(shape)}, expected [E, 2]`);
      for (let i = 0; i < ev.length; i += 2) edges.push([ev[i], ev[i + 1]]);
    } else if (typeof ev === 'string' || ev.data.length !== 0) {
      fail(`${where}/edges`, 'must be an E x 2 array of node names');
    } // an empty numeric array: Python writes `[]` for a graph without edges
    for (const [i, [a, b]] of edges.entries()) {
      for (const n of [a, b]) if (!nodes.has(n)) fail(`${where}/edges`, `edge ${i} (${a} -> ${b}) names "${n}", which is not a node of this graph`);
    }
    return { type, nodes, edges, metadata };
  }
  const schema = NIR_SCHEMAS[type];
  const fields: Record<string, NirValue> = {};
  for (const k of keys) {
    if (k === 'type' || k === 'metadata') continue;
    const kind = schema.required[k] ?? schema.optional[k];
    if (!kind) fail(`${where}/${k}`, `${type} has no field "${k}" (its fields: ${[...Object.keys(schema.required), ...Object.keys(schema.optional)].join(', ')})`);
    const e = childOf(g, k, where);
    if (!e) continue;
    if (isGroup(e)) fail(`${where}/${k}`, 'is a group, expected a dataset');
    fields[k] = checkKind(readDataset(e, `${where}/${k}`) as NirValue, kind, `${where}/${k}`);
  }
  for (const k of Object.keys(schema.required)) if (!(k in fields)) fail(where, `${type} is missing its required field "${k}"`);
  const leaf: NirLeaf = { type, fields, metadata };
  checkLeaf(leaf, where);
  return leaf;
}

/**
 * Checks an in-memory graph as the reader checks a file (known types, exact field sets, field kinds,
 * nir/ir/*.py's shape assertions, edges naming nodes): for graphs built or changed in code.
 */
export function validateGraph(g: NirGraph, where: string, depth = 0): void {
  if (depth > NIR_MAX_DEPTH) fail(where, `graphs nested deeper than ${NIR_MAX_DEPTH} levels`);
  for (const [k, n] of g.nodes) {
    const at = `${where}/nodes/${k}`;
    if (n.type === 'NIRGraph') {
      validateGraph(n, at, depth + 1);
      continue;
    }
    const schema = NIR_SCHEMAS[n.type as NirLeafType];
    if (!schema) fail(`${at}/type`, `unknown node type "${n.type}"`);
    for (const f of Object.keys(n.fields)) {
      const kind = schema.required[f] ?? schema.optional[f];
      if (!kind) fail(`${at}/${f}`, `${n.type} has no field "${f}"`);
      checkKind(n.fields[f], kind, `${at}/${f}`);
    }
    for (const f of Object.keys(schema.required)) if (!(f in n.fields)) fail(at, `${n.type} is missing its required field "${f}"`);
    checkLeaf(n, at);
  }
  for (const [i, [a, b]] of g.edges.entries()) for (const n of [a, b]) if (!g.nodes.has(n)) fail(`${where}/edges`, `edge ${i} (${a} -> ${b}) names "${n}", which is not a node of this graph`);
}

const isInt = (t: NirTensor) => t.dtype.includes('int');

function checkKind(v: NirValue, kind: FieldKind, where: string): NirValue {
  if (typeof v === 'string') {
    if (kind === 'pad' && (v === 'same' || v === 'valid')) return v;
    fail(where, kind === 'pad' ? `padding "${v}" must be 'same', 'valid' or integers` : `is the string "${v.slice(0, 40)}", expected numbers`);
  }
  if ((kind === 'int' || kind === 'shape' || kind === 'pad') && !isInt(v)) fail(where, `is ${v.dtype}, expected integers`);
  if (kind === 'shape' && v.shape.length !== 1) fail(where, `has shape ${JSON.stringify(v.shape)}, expected a 1-D list of sizes`);
  if (kind === 'shape') for (const x of v.data) if (Number(x) < 0) fail(where, `size ${x} is negative`);
  if (kind === 'array' && v.dtype !== 'float32' && v.dtype !== 'float64' && !isInt(v)) fail(where, `is ${v.dtype}, expected numbers`);
  return v;
}

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const fmtShape = (s: number[]) => `(${s.join(', ')})`;

/** The shape assertions nir/ir/*.py makes when it builds a node, plus those it would crash on. */
function checkLeaf(n: NirLeaf, where: string): void {
  const t = (k: string) => n.fields[k] as NirTensor | undefined;
  const same = SAME_SHAPE[n.type];
  if (same) {
    const present = same.filter((k) => t(k) !== undefined);
    const s0 = t(present[0])!.shape;
    for (const k of present) if (!sameShape(t(k)!.shape, s0)) fail(`${where}/${k}`, `has shape ${fmtShape(t(k)!.shape)}, ${present[0]} has ${fmtShape(s0)}: ${n.type}'s parameters must have one shape`);
    const w = t('w_in');
    if (w && !(w.shape.length === 0 || sameShape(w.shape, s0) || (w.shape.length === 1 && w.shape[0] === 1))) fail(`${where}/w_in`, `shape ${fmtShape(w.shape)} does not broadcast to ${fmtShape(s0)}`);
  }
  if ((n.type === 'Affine' || n.type === 'Linear') && t('weight')!.shape.length < 2) fail(`${where}/weight`, `has shape ${fmtShape(t('weight')!.shape)}: ${n.type} weight must be at least 2-D`);
  if (n.type === 'Conv2d' || n.type === 'Conv1d') {
    const dims = n.type === 'Conv2d' ? 4 : 3;
    const w = t('weight')!;
    if (w.shape.length !== dims) fail(`${where}/weight`, `has shape ${fmtShape(w.shape)}: ${n.type} weight must be ${dims}-D (C_out, C_in/groups, ${dims === 4 ? 'kH, kW' : 'k'})`);
  }
  if (n.type === 'Flatten') {
    const it = t('input_type');
    if (it) {
      const start = intField(n, 'start_dim', 1, where), end = intField(n, 'end_dim', -1, where);
      flattenShape([...it.data].map(Number), start, end, where);
    }
  }
}

/** a scalar integer field, or its default when absent */
export function intField(n: NirLeaf, k: string, dflt: number, where = k): number {
  const v = n.fields[k];
  if (v === undefined) return dflt;
  if (typeof v === 'string' || v.data.length !== 1) fail(`${where}/${k}`, 'must be one integer');
  return Number(v.data[0]);
}

/**
 * Flatten's output shape (nir/ir/utils.py calc_flatten_output): dims start..end (end −1 = last)
 * multiplied into one. Negative start counts from the end as numpy slicing does.
 */
export function flattenShape(input: number[], start: number, end: number, where: string): number[] {
  const n = input.length;
  const s = start < 0 ? start + n : start;
  const e = end === -1 ? n - 1 : end < 0 ? end + n : end;
  if (!(s >= 0 && s < n && e >= s && e < n)) fail(where, `start_dim ${start} / end_dim ${end} do not select dimensions of ${fmtShape(input)}`);
  return [...input.slice(0, s), input.slice(s, e + 1).reduce((a, b) => a * b, 1), ...input.slice(e + 1)];
}

/** Reads and validates a .nir file (await nirReady() first). */
export function readNirSync(file: string, opts: { timeoutMs?: number } = {}): NirFile {
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    fail(file, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot read (${(e as NodeJS.ErrnoException).code ?? describeThrown(e)})`);
  }
  if (!st.isFile()) fail(file, 'not a regular file');
  if (st.size === 0) fail(file, 'file is empty');
  if (st.size > MAX_FILE_BYTES) fail(file, `${(st.size / 2 ** 30).toFixed(1)} GiB is too large`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    fail(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? describeThrown(e)})`);
  }
  checkSignature(file, bytes);
  const mem = tempPath();
  try {
    writeFileSync(mem, bytes);
  } catch (e) {
    rmSync(mem, { force: true });
    fail(file, `cannot copy to a temp file for HDF5 (${(e as NodeJS.ErrnoException).code ?? describeThrown(e)})`);
  }
  let tree: TreeGroup;
  try {
    tree = readTree(file, mem, opts.timeoutMs ?? NIR_READ_TIMEOUT_MS);
  } finally {
    rmSync(mem, { force: true });
  }
  const where = (p: string) => `${file}: ${p}`;
  const version = (() => {
    const v = childOf(tree, 'version', where(''));
    if (!v) return undefined;
    if (isGroup(v)) fail(where('/version'), 'is a group, expected a string');
    const s = readDataset(v, where('/version'));
    if (typeof s !== 'string') fail(where('/version'), 'is not a string');
    return s;
  })();
  const node = childOf(tree, 'node', where(''));
  if (!node) fail(file, 'has no `node` group: not a NIR graph');
  if (!isGroup(node)) fail(where('/node'), 'is a dataset, expected the root graph group');
  const graph = readNode(node, where('/node'), 0);
  if (graph.type !== 'NIRGraph') fail(where('/node'), `the root node is a ${graph.type}, expected a NIRGraph`);
  return { version, graph };
}

/** a read that takes longer than this is stopped (a damaged file can loop HDF5 forever) */
export const NIR_READ_TIMEOUT_MS = 120_000;

let worker: Worker | null = null;
/** the HDF5 reader thread, started on first use; unref'd so that it never keeps the process alive */
function h5Worker(): Worker {
  if (!worker) {
    const w = new Worker(new URL('./nir-h5-worker.mjs', import.meta.url));
    w.unref();
    w.on('error', () => {
      if (worker === w) worker = null;
    });
    w.on('exit', () => {
      if (worker === w) worker = null;
    });
    worker = w;
  }
  return worker;
}
function dropWorker(): void {
  const w = worker;
  worker = null;
  if (w) void w.terminate();
}

/** The file's HDF5 tree, read by the worker thread while this one waits (synchronously, bounded). */
function readTree(file: string, copy: string, timeoutMs: number): TreeGroup {
  const w = h5Worker();
  const { port1, port2 } = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  try {
    w.postMessage({ file: copy, port: port2, flag, maxElements: NIR_MAX_ELEMENTS, maxDepth: NIR_MAX_DEPTH * 2 + 4 }, [port2]);
    const waited = Atomics.wait(flag, 0, 0, timeoutMs);
    const msg = receiveMessageOnPort(port1)?.message as { tree?: TreeGroup; where?: string; reason?: string; dead?: boolean } | undefined;
    if (waited === 'timed-out' || !msg) {
      dropWorker();
      fail(file, `HDF5 did not finish reading it in ${(timeoutMs / 1000).toFixed(0)} s (a damaged file?)`);
    }
    // after a WASM abort the HDF5 instance is unusable: the next read gets a new thread
    if (msg.dead) dropWorker();
    if (msg.tree) return msg.tree;
    fail(msg.where ? `${file}: ${msg.where}` : file, msg.reason ?? 'cannot be read');
  } finally {
    port1.close();
  }
}

export async function readNir(file: string): Promise<NirFile> {
  return readNirSync(file);
}

/** HDF5's signature is at byte 0 or a user-block offset 512·2^k */
function checkSignature(file: string, bytes: Buffer): void {
  const sig = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
  const buf = bytes.subarray(0, 1 << 20);
  for (let at = 0; at + 8 <= buf.length; at = at === 0 ? 512 : at * 2) if (buf.subarray(at, at + 8).equals(sig)) return;
  fail(file, 'not an HDF5 file (no HDF5 signature): a .nir file is HDF5');
}

// ---------------------------------------------------------------------------------------------
// writing

const H5_DTYPE: Record<NirDtype, string> = {
  float32: '<f', float64: '<d', int8: '<b', int16: '<h', int32: '<i', int64: '<q', uint8: '<B', uint16: '<H', uint32: '<I', uint64: '<Q',
};

function writeValue(g: H5Group, name: string, v: NirValue): void {
  if (typeof v === 'string') {
    g.create_dataset({ name, data: v, dtype: 'S' });
    return;
  }
  const n = v.shape.reduce((a, b) => a * b, 1);
  if (n !== v.data.length) throw new Error(`NIR write: ${name} has ${v.data.length} values for shape ${fmtShape(v.shape)}`);
  // gzip as NIR's Python writer does by default (the per-neuron r / v_threshold / v_reset arrays are
  // constant: they shrink ~1000x); one chunk per dataset, small ones stored plain
  const big = n >= 4096 && v.shape.length > 0;
  g.create_dataset({ name, data: v.data, shape: v.shape, dtype: H5_DTYPE[v.dtype], ...(big ? { chunks: v.shape, compression: 'gzip' as const, compression_opts: 4 } : {}) });
}

function writeMetadata(g: H5Group, m: NirMetadata): void {
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === 'string' || 'dtype' in v) writeValue(g, k, v as NirValue);
    else writeMetadata(g.create_group(k), v as NirMetadata);
  }
}

function writeNode(g: H5Group, n: NirNode): void {
  writeValue(g, 'type', n.type);
  if (n.type === 'NIRGraph') {
    const nodes = g.create_group('nodes');
    for (const [k, c] of n.nodes) writeNode(nodes.create_group(k), c);
    if (n.edges.length > 0) g.create_dataset({ name: 'edges', data: n.edges.flat(), shape: [n.edges.length, 2], dtype: 'S' });
    else g.create_dataset({ name: 'edges', data: new Float64Array(0), shape: [0], dtype: '<d' }); // as Python writes []
  } else {
    for (const [k, v] of Object.entries(n.fields)) writeValue(g, k, v);
  }
  if (Object.keys(n.metadata).length > 0) writeMetadata(g.create_group('metadata'), n.metadata);
}

/** The file's bytes (await nirReady() first). */
export function encodeNirSync(nf: NirFile): Uint8Array {
  const L = lib();
  const tmp = tempPath();
  try {
    const f = new L.File(tmp, 'w');
    try {
      writeValue(f, 'version', nf.version ?? NIR_WRITE_VERSION);
      writeNode(f.create_group('node'), nf.graph);
    } finally {
      f.close();
    }
    return readFileSync(tmp);
  } catch (e) {
    throw new Error(`NIR write failed: ${hdf5Reason(e)}`);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Writes a .nir file via a temp file and rename (src/util/atomic.ts). */
export function writeNirSync(file: string, nf: NirFile): number {
  const bytes = encodeNirSync(nf);
  writeFileAtomic(file, bytes);
  return bytes.length;
}

export async function writeNir(file: string, nf: NirFile): Promise<number> {
  await nirReady();
  return writeNirSync(file, nf);
}

// ---------------------------------------------------------------------------------------------
// building and reading tensors

export const f32 = (shape: number[], data: ArrayLike<number>): NirTensor => ({ dtype: 'float32', shape, data: Float32Array.from(data) });
export const i64 = (shape: number[], data: ArrayLike<number>): NirTensor => ({ dtype: 'int64', shape, data: BigInt64Array.from(Array.from(data, (x) => BigInt(x))) });
export const i64s = (x: number): NirTensor => i64([], [x]);

/** a tensor's values as float64 numbers (int64 converted; exact below 2^53) */
export function numbers(t: NirTensor): Float64Array {
  const out = new Float64Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
  return out;
}

/** deep equality of two graphs (null, or where they differ): node names (any order), types, fields (dtype, shape, every value), edges, metadata */
export function nirEqual(a: NirNode, b: NirNode, where = 'node'): string | null {
  if (a.type !== b.type) return `${where}: type ${a.type} vs ${b.type}`;
  const mm = metaEqual(a.metadata, b.metadata, `${where}/metadata`);
  if (mm) return mm;
  if (a.type === 'NIRGraph' && b.type === 'NIRGraph') {
    // HDF5 lists a group's members by name, so node order is not part of a graph
    const ka = [...a.nodes.keys()].sort(), kb = [...b.nodes.keys()].sort();
    if (ka.join('\0') !== kb.join('\0')) return `${where}: nodes [${ka}] vs [${kb}]`;
    if (JSON.stringify(a.edges) !== JSON.stringify(b.edges)) return `${where}: edges differ`;
    for (const k of ka) {
      const d = nirEqual(a.nodes.get(k)!, b.nodes.get(k)!, `${where}/${k}`);
      if (d) return d;
    }
    return null;
  }
  const fa = (a as NirLeaf).fields, fb = (b as NirLeaf).fields;
  if (Object.keys(fa).sort().join() !== Object.keys(fb).sort().join()) return `${where}: fields [${Object.keys(fa)}] vs [${Object.keys(fb)}]`;
  for (const k of Object.keys(fa)) {
    const d = valueEqual(fa[k], fb[k], `${where}/${k}`);
    if (d) return d;
  }
  return null;
}
function valueEqual(a: NirMetaValue, b: NirMetaValue, where: string): string | null {
  if (typeof a === 'string' || typeof b === 'string') return a === b ? null : `${where}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  if ('dtype' in a !== 'dtype' in b) return `${where}: a value vs a group`;
  if (!('dtype' in a)) return metaEqual(a, b as NirMetadata, where);
  const ta = a as NirTensor, tb = b as NirTensor;
  if (ta.dtype !== tb.dtype || !sameShape(ta.shape, tb.shape)) return `${where}: ${ta.dtype}${fmtShape(ta.shape)} vs ${tb.dtype}${fmtShape(tb.shape)}`;
  const ba = new Uint8Array(ta.data.buffer, ta.data.byteOffset, ta.data.byteLength), bb = new Uint8Array(tb.data.buffer, tb.data.byteOffset, tb.data.byteLength);
  for (let i = 0; i < ba.length; i++) if (ba[i] !== bb[i]) return `${where}: values differ at byte ${i}`;
  return null;
}
function metaEqual(a: NirMetadata, b: NirMetadata, where: string): string | null {
  const ka = Object.keys(a).sort(), kb = Object.keys(b).sort();
  if (ka.join('\0') !== kb.join('\0')) return `${where}: keys [${ka}] vs [${kb}]`;
  for (const k of ka) {
    const d = valueEqual(a[k], b[k], `${where}/${k}`);
    if (d) return d;
  }
  return null;
}
