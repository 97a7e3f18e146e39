/**
 * The NIR file library (src/model/nir.ts) against NIR's own Python reader and the two fixtures
 * written by Sinabs and Norse: read → write → read gives the same graph; the Python reader loads
 * what neuroemu writes and sees the same nodes, edges and bytes; field sets and shapes are checked
 * as nir/ir/*.py checks them; damaged files (truncated, bit flips, fields removed, added or
 * retyped) give a one-line UserError naming the file, never a stack trace.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNirSync, f32, i64, nirEqual, nirReady, readNirSync, writeNirSync, type NirFile, type NirGraph, type NirLeaf, type NirTensor } from '../src/model/nir.ts';
import { UserError } from '../src/util/errors.ts';
import { mulberry32 } from '../src/util/rng.ts';
import { FUZZ_SCALE, Fuzzer, int, pick } from './helpers/fuzzer.ts';
import { NO_PYTHON, NORSE_NIR, PYTHON, pythonLayout, SINABS_NIR, tsLayout } from './helpers/nir.ts';

await nirReady();
const tmp = mkdtempSync(join(tmpdir(), 'neuroemu-nir-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const refused = (fn: () => unknown, re: RegExp, file: string) => {
  try {
    fn();
  } catch (e) {
    assert.instance(e, UserError, `not a UserError: ${(e as Error).stack}`);
    const m = (e as Error).message;
    assert.ok(!/[\r\n]/.test(m), `more than one line: ${m}`);
    assert.ok(m.includes(file), `does not name ${file}: ${m}`);
    assert.match(m, re);
    return m;
  }
  assert.unreachable(`accepted, expected ${re}`);
};

test('the Sinabs fixture reads as the N-MNIST CNN of its README', () => {
  const nf = readNirSync(SINABS_NIR);
  assert.is(nf.version, '0.2.0');
  const types = Object.fromEntries([...nf.graph.nodes].map(([k, n]) => [k, n.type]));
  assert.equal(types, { '0': 'Conv2d', '1': 'IF', '10': 'IF', '11': 'Affine', '12': 'IF', '2': 'Conv2d', '3': 'IF', '4': 'SumPool2d', '5': 'Conv2d', '6': 'IF', '7': 'SumPool2d', '8': 'Flatten', '9': 'Affine', input: 'Input', output: 'Output' });
  const conv0 = nf.graph.nodes.get('0') as NirLeaf;
  assert.equal((conv0.fields.weight as NirTensor).shape, [16, 2, 5, 5]);
  assert.is((conv0.fields.weight as NirTensor).dtype, 'float32');
  assert.equal([...(conv0.fields.stride as NirTensor).data], [2n, 2n]);
  assert.equal([...((nf.graph.nodes.get('input') as NirLeaf).fields.shape as NirTensor).data], [2n, 34n, 34n]);
  assert.equal(((nf.graph.nodes.get('9') as NirLeaf).fields.weight as NirTensor).shape, [256, 128]);
  assert.is(nf.graph.edges.length, 14);
});

for (const [name, file] of [['Sinabs CNN', SINABS_NIR], ['Norse LIF', NORSE_NIR]] as const) {
  test(`${name}: read → write → read gives the same graph, and NIR's Python reader agrees byte for byte`, () => {
    const a = readNirSync(file);
    const out = join(tmp, `rt-${name.replace(/\W/g, '')}.nir`);
    writeNirSync(out, a);
    const b = readNirSync(out);
    assert.is(nirEqual(a.graph, b.graph), null);
    assert.is(b.version, a.version);
    if (!PYTHON) return console.log(NO_PYTHON);
    // the original file and our copy, as NIR's reader and h5py see them, against our reading
    const ours = tsLayout(a);
    for (const f of [file, out]) {
      const py = pythonLayout(f);
      assert.equal(py.graph, ours.graph, `${f}: nodes/edges as nir.read() builds them`);
      assert.equal(py.datasets, ours.datasets, `${f}: every dataset's dtype, shape and bytes`);
    }
  });
}

/** a small graph with every field kind: nested graph, metadata (nested), strings, int64 scalars */
function sample(): NirFile {
  const sub: NirGraph = {
    type: 'NIRGraph',
    nodes: new Map<string, NirLeaf | NirGraph>([
      ['input', { type: 'Input', fields: { shape: i64([1], [3]) }, metadata: {} }],
      ['lin', { type: 'Linear', fields: { weight: f32([3, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1]) }, metadata: {} }],
      ['output', { type: 'Output', fields: { shape: i64([1], [3]) }, metadata: {} }],
    ]),
    edges: [['input', 'lin'], ['lin', 'output']],
    metadata: { note: 'inner' },
  };
  return {
    version: '1.0.7',
    graph: {
      type: 'NIRGraph',
      nodes: new Map<string, NirLeaf | NirGraph>([
        ['input', { type: 'Input', fields: { shape: i64([1], [3]) }, metadata: {} }],
        ['if', { type: 'IF', fields: { r: f32([3], [1, 1, 1]), v_threshold: f32([3], [1, 2, 3]), v_reset: f32([3], [0, 0, 0]) }, metadata: { neuroemu: { rule: 'ibt', vth_neg: f32([3], [10, 20, 30]) } } }],
        ['sub', sub],
        ['output', { type: 'Output', fields: { shape: i64([1], [3]) }, metadata: {} }],
      ]),
      edges: [['input', 'if'], ['if', 'sub'], ['sub', 'output']],
      metadata: { source: 'neuroemu test', ticks: { dtype: 'int64', shape: [], data: BigInt64Array.of(16n) } },
    },
  };
}

test('a nested graph with metadata round-trips, and NIR\'s Python reader loads it', () => {
  const out = join(tmp, 'sample.nir');
  const a = sample();
  writeNirSync(out, a);
  const b = readNirSync(out);
  assert.is(nirEqual(a.graph, b.graph), null);
  if (!PYTHON) return console.log(NO_PYTHON);
  const py = pythonLayout(out);
  const ours = tsLayout(a);
  assert.equal(py.graph, ours.graph);
  assert.equal(py.datasets, ours.datasets);
  assert.is(py.version, '1.0.7');
});

/** writes a mutated copy of sample() and expects the reader to refuse it naming the node/field */
function refusedMutation(label: string, mutate: (g: NirGraph) => void, re: RegExp): string | undefined {
  const nf = sample();
  mutate(nf.graph);
  const file = join(tmp, `mut-${label}.nir`);
  writeFileSync(file, encodeNirSync(nf));
  return refused(() => readNirSync(file), re, file);
}
const leaf = (g: NirGraph, k: string) => g.nodes.get(k) as NirLeaf;

test('field sets and shapes are checked as nir/ir/*.py checks them', () => {
  refusedMutation('missing', (g) => delete leaf(g, 'if').fields.v_threshold, /node\/nodes\/if: IF is missing its required field "v_threshold"/);
  refusedMutation('extra', (g) => (leaf(g, 'if').fields.tau = f32([3], [1, 1, 1])), /node\/nodes\/if\/tau: IF has no field "tau"/);
  refusedMutation('shape', (g) => (leaf(g, 'if').fields.r = f32([2], [1, 1])), /node\/nodes\/if\/r: has shape \(2\), v_threshold has \(3\)|if\/v_threshold: has shape \(3\), r has \(2\)/);
  refusedMutation('string', (g) => (leaf(g, 'if').fields.r = 'one'), /if\/r: is the string "one", expected numbers/);
  refusedMutation('type', (g) => ((leaf(g, 'if') as unknown as { type: string }).type = 'Spiker'), /if\/type: unknown node type "Spiker"/);
  refusedMutation('edge', (g) => g.edges.push(['if', 'nowhere']), /node\/edges: edge 3 \(if -> nowhere\) names "nowhere"/);
  refusedMutation('nested', (g) => delete leaf(g.nodes.get('sub') as NirGraph, 'lin').fields.weight, /node\/nodes\/sub\/nodes\/lin: Linear is missing its required field "weight"/);
  refusedMutation('lin1d', (g) => (leaf(g.nodes.get('sub') as NirGraph, 'lin').fields.weight = f32([3], [1, 2, 3])), /lin\/weight: has shape \(3\): Linear weight must be at least 2-D/);
  refusedMutation('shapefloat', (g) => (leaf(g, 'input').fields.shape = f32([1], [3])), /input\/shape: is float32, expected integers/);
  // v_reset is optional (NIR ≥ 1.0.7 fills zeros); Python accepts IF without it
  const nf = sample();
  delete leaf(nf.graph, 'if').fields.v_reset;
  const file = join(tmp, 'noreset.nir');
  writeNirSync(file, nf);
  assert.not.ok('v_reset' in leaf(readNirSync(file).graph, 'if').fields);
  if (PYTHON) pythonLayout(file);
});

test('files that are not NIR: one line naming the file', () => {
  const junk = join(tmp, 'junk.nir');
  writeFileSync(junk, 'hello, not HDF5');
  refused(() => readNirSync(junk), /not an HDF5 file/, junk);
  refused(() => readNirSync(join(tmp, 'absent.nir')), /does not exist/, 'absent.nir');
  const empty = join(tmp, 'empty.nir');
  writeFileSync(empty, '');
  refused(() => readNirSync(empty), /empty/, empty);
  const trunc = join(tmp, 'trunc.nir');
  writeFileSync(trunc, readFileSync(SINABS_NIR).subarray(0, 100000));
  refused(() => readNirSync(trunc), /truncated file/, trunc);
});

test('fuzz: truncations and bit flips of both fixtures and of neuroemu-written files, mutated graphs', () => {
  const rand = mulberry32(20260112);
  const fz = new Fuzzer(20260112);
  const sampleFile = join(tmp, 'fuzz-sample.nir');
  writeNirSync(sampleFile, sample());
  const sources = [SINABS_NIR, NORSE_NIR, sampleFile].map((f) => readFileSync(f));
  const file = join(tmp, 'fuzz.nir');
  const n = 150 * FUZZ_SCALE;
  for (let i = 0; i < n; i++) {
    const src = pick(rand, sources);
    const buf = Buffer.from(src);
    let label: string;
    const mode = int(rand, 3);
    if (mode === 0) {
      const len = int(rand, buf.length);
      label = `truncate to ${len}`;
      writeFileSync(file, buf.subarray(0, len));
    } else {
      const flips = mode === 1 ? 1 : 1 + int(rand, 16);
      const at: number[] = [];
      // flips land in the first 4 KiB (superblock, object headers, names) half of the time
      for (let k = 0; k < flips; k++) {
        const p = rand() < 0.5 ? int(rand, Math.min(4096, buf.length)) : int(rand, buf.length);
        buf[p] ^= 1 << int(rand, 8);
        at.push(p);
      }
      label = `flip bytes ${at.join(',')}`;
      writeFileSync(file, buf);
    }
    fz.attempt(`#${i} ${label}`, () => void readNirSync(file, { timeoutMs: 10000 }), (m) => (m.includes(file) ? null : `does not name ${file}`));
  }
  // graph-level mutations written by neuroemu: retyped, reshaped, removed and added fields
  const kinds = ['drop', 'add', 'string', 'float-int', 'reshape'] as const;
  for (let i = 0; i < 60 * FUZZ_SCALE; i++) {
    const nf = readNirSync(pick(rand, [SINABS_NIR, NORSE_NIR]));
    const names = [...nf.graph.nodes.keys()];
    const node = nf.graph.nodes.get(pick(rand, names)) as NirLeaf;
    const keys = Object.keys(node.fields);
    const k = pick(rand, keys.length ? keys : ['x']);
    const kind = pick(rand, kinds);
    if (kind === 'drop') delete node.fields[k];
    else if (kind === 'add') node.fields[`extra${i}`] = f32([1], [1]);
    else if (kind === 'string') node.fields[k] = 'same';
    else if (kind === 'float-int') node.fields[k] = i64([1], [1]);
    else {
      const t = node.fields[k];
      if (t && typeof t !== 'string' && t.data.length > 1) node.fields[k] = { ...t, shape: [t.data.length - 1], data: t.data.slice(1) } as NirTensor;
    }
    const f = join(tmp, 'fuzz-graph.nir');
    writeFileSync(f, encodeNirSync(nf));
    fz.attempt(`graph #${i} ${kind} ${node.type}.${k}`, () => void readNirSync(f), (m) => (m.includes(f) ? null : `does not name ${f}`));
  }
  fz.assertClean('NIR files');
});

test.run();
