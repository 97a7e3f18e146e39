/**
 * NIR export (src/convert/nir-export.ts, `neuroemu convert --out net.nir`): every node's type,
 * fields, dtypes and shapes as NIR 1.0.7 lays them out, the dense expansion of grouped convs
 * checked weight by weight, neuroemu's semantics in metadata, and NIR's own Python reader loading
 * the files (type checking on: shapes agree along every edge).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandGroups, snnToNir } from '../src/convert/nir-export.ts';
import { convLayer, makeSnn, poolLayer } from '../src/sim/handmade.ts';
import { NIR_SCHEMAS, nirReady, numbers, readNirSync, writeNirSync, type NirLeaf, type NirTensor } from '../src/model/nir.ts';
import type { SnnNetwork } from '../src/convert/snn-ir.ts';
import { mulberry32 } from '../src/util/rng.ts';
import { NO_PYTHON, PYTHON, pythonLayout, tsLayout } from './helpers/nir.ts';
import { runBinAsync } from './helpers/cli.ts';

await nirReady();
const tmp = mkdtempSync(join(tmpdir(), 'neuroemu-nir-export-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** input 4×8×8 → grouped 3×3 conv (2 groups, IBT) → 2×2 max-pool → 1×1 conv (IF, reset zero) → readout 3×3 conv */
function toy(): SnnNetwork {
  const rand = mulberry32(7);
  const w = (n: number) => Float32Array.from({ length: n }, () => Math.round((rand() - 0.5) * 64) / 32);
  const c0 = convLayer(0, -1, { c: 4, h: 8, w: 8 }, { filters: 6, size: 3, pad: 1, groups: 2, rule: 'ibt', vthPos: 1, vthNeg: 10, weights: w(6 * 2 * 9), biases: w(6) });
  const p1 = poolLayer(1, 0, c0.outShape, 2, 2);
  p1.rule = 'max';
  const c2 = convLayer(2, 1, p1.outShape, { filters: 5, size: 1, rule: 'if', vthPos: 0.75, reset: 'zero', weights: w(5 * 6) });
  const c3 = convLayer(3, 2, c2.outShape, { filters: 3, size: 3, pad: 1, rule: 'integrate', weights: w(3 * 5 * 9), lambda: Float32Array.of(1, 2, 3) });
  return makeSnn({ c: 4, h: 8, w: 8 }, [c0, p1, c2, c3], [3], { vInit: 0.5, readoutStart: 8, pool: 'max' }, 'toy');
}

const t = (n: NirLeaf, k: string) => n.fields[k] as NirTensor;
const ints = (x: NirTensor) => [...x.data].map(Number);

test('layout: every node has exactly its NIR fields, with PyTorch shapes and int64/float32 dtypes', () => {
  const snn = toy();
  const ex = snnToNir(snn);
  const g = ex.file.graph;
  assert.equal([...g.nodes.keys()], ['input', 'conv0', 'conv0.neuron', 'pool1', 'conv2', 'conv2.neuron', 'conv3', 'conv3.neuron', 'output']);
  assert.equal(g.edges, [['input', 'conv0'], ['conv0', 'conv0.neuron'], ['conv0.neuron', 'pool1'], ['pool1', 'conv2'], ['conv2', 'conv2.neuron'], ['conv2.neuron', 'conv3'], ['conv3', 'conv3.neuron'], ['conv3.neuron', 'output']]);
  for (const [name, n] of g.nodes) {
    if (n.type === 'NIRGraph') return assert.unreachable('no nested graph');
    const s = NIR_SCHEMAS[n.type];
    const fields = Object.keys(n.fields).sort();
    for (const k of Object.keys(s.required)) assert.ok(fields.includes(k), `${name} lacks ${k}`);
    for (const k of fields) assert.ok(k in s.required || k in s.optional, `${name} has ${k}`);
  }
  const conv0 = g.nodes.get('conv0') as NirLeaf;
  assert.equal(t(conv0, 'weight').shape, [6, 4, 3, 3], 'dense: C_out × C_in × kH × kW');
  assert.is(t(conv0, 'weight').dtype, 'float32');
  assert.equal(ints(t(conv0, 'groups')), [1]);
  assert.equal(t(conv0, 'groups').shape, []);
  assert.equal(ints(t(conv0, 'stride')), [1, 1]);
  assert.equal(ints(t(conv0, 'padding')), [1, 1]);
  assert.equal(ints(t(conv0, 'input_shape')), [8, 8]);
  assert.is(t(conv0, 'stride').dtype, 'int64');
  // block-diagonal: output o in group g reads input channels g·2..g·2+1 with the grouped weights, zeros elsewhere
  const c0 = snn.layers[0] as ReturnType<typeof convLayer>;
  const dense = t(conv0, 'weight').data as Float32Array;
  for (let o = 0; o < 6; o++) for (let i = 0; i < 4; i++) for (let k = 0; k < 9; k++) {
    const g = Math.floor(o / 3), gi = i - g * 2;
    const want = gi >= 0 && gi < 2 ? c0.weights[(o * 2 + gi) * 9 + k] : 0;
    assert.is(dense[(o * 4 + i) * 9 + k], want, `w[${o}][${i}][${k}]`);
  }
  assert.equal([...expandGroups(c0)], [...dense]);
  const if0 = g.nodes.get('conv0.neuron') as NirLeaf;
  assert.is(if0.type, 'IF');
  for (const k of ['r', 'v_threshold', 'v_reset']) assert.equal(t(if0, k).shape, [6, 8, 8]);
  assert.ok(numbers(t(if0, 'v_threshold')).every((v) => v === 1));
  assert.ok(numbers(t(if0, 'v_reset')).every((v) => v === 0));
  assert.is(if0.metadata.neuroemu_rule, 'ibt');
  assert.equal(numbers(if0.metadata.neuroemu_vth_neg as NirTensor)[0], 10);
  assert.equal(numbers(if0.metadata.neuroemu_v_init as NirTensor)[0], 0.5);
  const pool = g.nodes.get('pool1') as NirLeaf;
  assert.is(pool.type, 'SumPool2d');
  assert.equal(ints(t(pool, 'kernel_size')), [2, 2]);
  assert.equal(ints(t(pool, 'padding')), [0, 0]);
  assert.is(pool.metadata.neuroemu_pool_rule, 'max');
  const if2 = g.nodes.get('conv2.neuron') as NirLeaf;
  assert.ok(numbers(t(if2, 'v_threshold')).every((v) => v === 0.75));
  const ro = g.nodes.get('conv3.neuron') as NirLeaf;
  assert.is(ro.type, 'I');
  assert.equal([...numbers(ro.metadata.neuroemu_lambda as NirTensor)], [1, 2, 3]);
  assert.equal(ints(t(g.nodes.get('output') as NirLeaf, 'shape')), [3, 4, 4]);
  assert.equal(ints(t(g.nodes.get('input') as NirLeaf, 'shape')), [4, 8, 8]);
  // what the command prints: the IBT layer's three differences and the pool's
  const d0 = ex.notes[0].differences.join('; ');
  assert.match(d0, /fires at v > 1 \(neuroemu: V ≥ 1\)/);
  assert.match(d0, /resets to 0 \(neuroemu: subtracts the threshold\)/);
  assert.match(d0, /no −1 spikes \(neuroemu's IBT neuron: −1 at V ≤ −10\)/);
  assert.match(d0, /starts at v = 0 \(neuroemu: V₀ = 0.5·vth\)/);
  assert.match(ex.notes[1].differences.join(), /sums the window's spikes \(neuroemu: max-count pool/);
  assert.not.match(ex.notes[2].differences.join(), /resets to 0/, 'reset zero is exact');
});

test('a sigma-delta IBT layer: its metadata says how it fires, and the differences say NIR resets it', () => {
  const snn = toy();
  (snn.layers[0] as ReturnType<typeof convLayer>).sigmaDelta = true;
  const ex = snnToNir(snn);
  const n0 = ex.file.graph.nodes.get('conv0.neuron') as NirLeaf;
  assert.match(String(n0.metadata.neuroemu_reset), /^none \(sigma-delta\)/);
  assert.match(String(n0.metadata.neuroemu_sigma_delta), /fires \+1 while leaky\(V\) - E >= v_threshold/);
  const d0 = ex.notes[0].differences.join('; ');
  assert.match(d0, /resets to 0 \(neuroemu: a sigma-delta neuron, no reset/);
  assert.not.match(d0, /subtracts the threshold/);
  // the IF layer of the same network is untouched
  assert.is((ex.file.graph.nodes.get('conv2.neuron') as NirLeaf).metadata.neuroemu_sigma_delta, undefined);
});

test("NIR's Python reader loads the export with type checking, and sees our bytes", () => {
  const ex = snnToNir(toy());
  const file = join(tmp, 'toy.nir');
  writeNirSync(file, ex.file);
  const back = readNirSync(file);
  if (!PYTHON) return console.log(NO_PYTHON);
  const py = pythonLayout(file);
  const ours = tsLayout(back);
  assert.equal(py.graph, ours.graph);
  assert.equal(py.datasets, ours.datasets);
  assert.is(py.version, '1.0.7');
});

test('--nir-keep-groups: groups kept, which NIR\'s reader accepts only without type checking', () => {
  const ex = snnToNir(toy(), { keepGroups: true });
  const conv0 = ex.file.graph.nodes.get('conv0') as NirLeaf;
  assert.equal(t(conv0, 'weight').shape, [6, 2, 3, 3]);
  assert.equal(ints(t(conv0, 'groups')), [2]);
  const file = join(tmp, 'toy-groups.nir');
  writeNirSync(file, ex.file);
  if (!PYTHON) return console.log(NO_PYTHON);
  assert.throws(() => pythonLayout(file), /type mismatch/);
  pythonLayout(file, false);
});

test('neuroemu convert --out face.nir: the face detector as NIR, loaded by NIR\'s reader, the differences printed', async () => {
  const out = join(tmp, 'face224.nir');
  const r = await runBinAsync('convert', '--size', '224', '--calib', 'node_modules/@vladmandic/face-api/demo/sample1.jpg', '--out', out);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /NIR graph: what another simulator will run instead of neuroemu/);
  assert.match(r.out, /  2  conv1\/depthwise  Conv2d \+ IF    groups 16 written as a dense block-diagonal Conv2d/);
  assert.match(r.out, / 17  conv8            Conv2d \+ I     the readout integrates \(exact\)/);
  assert.match(r.out, /wrote .*face224\.nir: NIR 1\.0\.7, 32 nodes, 31 edges/);
  const nf = readNirSync(out);
  assert.is(nf.graph.nodes.size, 32);
  if (!PYTHON) return console.log(NO_PYTHON);
  const py = pythonLayout(out);
  assert.is(Object.keys(py.graph.nodes).length, 32);
  assert.equal(py.graph, tsLayout(nf).graph);
});

test('yolov3-tiny (route, upsample) is refused: NIR has no concatenation', async () => {
  const r = await runBinAsync('convert', '--model', 'yolov3-tiny', '--weights', 'synthetic', '--size', '64', '--calib', 'node_modules/@vladmandic/face-api/demo/sample1.jpg', '--out', join(tmp, 'y3.nir'));
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /NIR has no (concatenation|upsampling) node/);
  assert.is(r.err.trim().split('\n').filter((l) => !l.startsWith('calibrate')).length, 1, r.err);
});

test.run();
