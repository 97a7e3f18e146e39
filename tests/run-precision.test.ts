/**
 * `neuroemu run --precision chip`: each chip's run uses the network quantized to that chip's
 * weight and membrane bits, the report says so and gives the float AP on the same frames; the JSON
 * gets a `precision` object per chip; a bad value is a one-line user error.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { runBin } from './helpers/cli.ts';

const run = runBin;
const dir = mkdtempSync(join(tmpdir(), 'neuroemu-precision-'));
const photo = faceSamplePhotos()[0];

test('run --precision chip: per-chip bits in the report and the JSON, float AP beside the quantized one', () => {
  const json = join(dir, 'run.json');
  const r = run('run', '--precision', 'chip', '--size', '128', '--timesteps', '8', '--images', photo, '--calib', photo, '--chip', 'truenorth', 'odin', '--json', json);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /precision +chip — weights 9-bit \(Δ per neuron\), membrane 20-bit saturating/);
  assert.match(r.out, /precision +chip — weights 3-bit \(Δ per neuron\), membrane 8-bit saturating/);
  assert.match(r.out, /AP@0\.5 vs ANN .*\(float: (n\/a|\d\.\d{4}(, cost -?\d\.\d{4})?)\) at tick 8/);
  const j = JSON.parse(readFileSync(json, 'utf8'));
  assert.is(j.length, 2);
  const tn = j.find((c: { chip: string }) => c.chip === 'truenorth'), od = j.find((c: { chip: string }) => c.chip === 'odin');
  for (const [c, wb, mb] of [[tn, 9, 20], [od, 3, 8]]) {
    assert.is(c.precision.mode, 'chip');
    assert.is(c.precision.weight_bits, wb);
    assert.is(c.precision.membrane_bits, mb);
    assert.ok('ap50_float' in c.precision);
    assert.is(c.precision.ap50_float, tn.precision.ap50_float, 'one float figure for every chip');
    assert.ok(c.precision.layers.length > 0);
    for (const l of c.precision.layers) assert.ok(l.step_min > 0 && l.step_max >= l.step_min, `${l.name} steps`);
    // the contract's keys are still there
    for (const k of ['energy', 'latency', 'counts', 'mapping', 'accuracy', 'baseline']) assert.ok(k in c, k);
    assert.ok('ap50_vs_ann' in c.accuracy);
  }
  // 3-bit weights round away more than 9-bit ones
  assert.ok(od.precision.weights_zeroed > tn.precision.weights_zeroed);
});

test('run: float is the default and says so; --precision foo is a one-line user error, exit 2', () => {
  const json = join(dir, 'float.json');
  const r = run('run', '--size', '128', '--timesteps', '2', '--images', photo, '--calib', photo, '--chip', 'loihi', '--json', json);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /precision +float \(float32; --precision chip: 9-bit weights, 24-bit membrane\)/);
  assert.not.match(r.out, /\(float: /);
  const j = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(j[0].precision, { mode: 'float', weight_bits: null, membrane_bits: null });

  const bad = run('run', '--precision', 'foo');
  assert.is(bad.code, 2, bad.out + bad.err);
  const lines = bad.err.split('\n').filter((l) => l.startsWith('neuroemu: '));
  assert.is(lines.length, 1, bad.err);
  assert.match(lines[0], /precision/);
  assert.match(lines[0], /foo/);
  assert.not.match(bad.err, /\n\s+at /);
});

test.run();
