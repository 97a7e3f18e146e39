/**
 * The hostile-input corpus of issue 15, run through the real CLI: every case must exit 2 with
 * exactly one `neuroemu:` line on stderr and no stack frame anywhere in its output. The cases are
 * made here from the project's own files (a chip, the face model, a sample photo, a recorded trace).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { runBin } from './helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'neuroemu-hostile-'));
const at = (name: string) => join(dir, name);
const photo = faceSamplePhotos()[0];
const model = new URL('../node_modules/@vladmandic/face-api/model/', import.meta.url).pathname;
const loihi = JSON.parse(readFileSync(new URL('../chips/loihi.json', import.meta.url), 'utf8'));

// the files the cases read
writeFileSync(at('deep.json'), '{"name":' + '['.repeat(5000) + ']'.repeat(5000) + '}');
writeFileSync(at('big-board.json'), JSON.stringify({ ...loihi, board: { chips_x: { value: 10000, source: Object.keys(loihi.sources)[0] }, chips_y: { value: 10000, source: Object.keys(loihi.sources)[0] } } }));
const png = new PNG({ width: 8, height: 8 });
const pngBytes = PNG.sync.write(png);
writeFileSync(at('cut.png'), pngBytes.subarray(0, pngBytes.length - 12));
writeFileSync(at('empty.jpg'), Buffer.alloc(0));
writeFileSync(at('not-an-image.jpg'), 'hello');
const manifest = JSON.parse(readFileSync(join(model, 'tiny_face_detector_model-weights_manifest.json'), 'utf8'));
symlinkSync(join(model, 'tiny_face_detector_model.bin'), at('link.bin'));
writeFileSync(at('linked.json'), JSON.stringify([{ ...manifest[0], paths: ['link.bin'] }]));
copyFileSync(join(model, 'tiny_face_detector_model.bin'), at('b.bin'));
writeFileSync(at('listed-twice.json'), JSON.stringify([{ ...manifest[0], paths: ['b.bin', 'b.bin'] }]));
writeFileSync(at('bad-dets.json'), JSON.stringify({ model: 'face', engine: 'ann', size: 416, images: [{ file: 'a.jpg', width: 10, height: 10, detections: Array.from({ length: 150_000 }, () => ({ x: 0, y: 0, w: -1, h: 1, score: 0.5, class: 'face' })) }] }));
writeFileSync(at('not-a-trace.trace'), 'NEUROTRC' + '\u0001\u0000\u0000\u0000' + '\u00ff\u00ff\u00ff\u0000');
writeFileSync(at('not-a-network.snn'), 'NEUROSNN\u0063\u0000\u0000\u0000');
copyFileSync(photo, at('p.jpg'));

const cases: Array<[string, string[]]> = [
  ['deep JSON chip (validate)', ['chips', 'validate', at('deep.json')]],
  ['deep JSON chip (run)', ['run', '--chip', at('deep.json')]],
  ['deep JSON detections (eval)', ['eval', at('deep.json'), '--truth', at('deep.json')]],
  ['board too large (file)', ['chips', 'validate', at('big-board.json')]],
  ['board too large (--board)', ['map', '--chip', 'loihi', '--board', '100000x100000', '--size', '64']],
  ['--workers abc', ['run', '--workers', 'abc']],
  ['--seed 1e300', ['run', '--seed', '1e300']],
  ['--candidate-threshold NaN', ['run', '--candidate-threshold', 'NaN']],
  ['--timesteps -4', ['run', '--timesteps', '-4']],
  ['--max-points beyond the cap', ['sweep', '--vary', 'core.neurons=1:1000000:1', '--out', at('never.csv')]],
  ['truncated PNG', ['detect', at('cut.png')]],
  ['empty JPEG', ['detect', at('empty.jpg')]],
  ['not an image', ['detect', at('not-an-image.jpg')]],
  ['manifest .bin linked out of its folder', ['detect', photo, '--model', at('linked.json')]],
  ['manifest .bin listed twice', ['detect', photo, '--model', at('listed-twice.json')]],
  ['150,000 invalid detections', ['eval', at('bad-dets.json'), '--truth', at('bad-dets.json')]],
  ['a trace that is not one', ['replay', at('not-a-trace.trace'), '--chip', 'loihi']],
  ['a .snn file of an unknown version', ['detect', photo, '--engine', 'snn', '--timesteps', '4', '--model', at('not-a-network.snn')]],
  ['output over its input', ['detect', at('p.jpg'), '--json', at('p.jpg')]],
  ['an unknown image set', ['detect', '@nosuchset']],
  ['a string flag without its value, last on the line', ['detect', photo, '--engine', 'snn', '--timesteps', '4', '--reference']],
];

test('every hostile case: exit 2, one line naming what is wrong, no stack frame', () => {
  for (const [name, args] of cases) {
    const r = runBin(...args);
    assert.is(r.code, 2, `${name}: exit ${r.code}\n${r.err}`);
    const lines = r.err.split('\n').filter((l) => l.startsWith('neuroemu: '));
    assert.is(lines.length, 1, `${name}: ${r.err}`);
    assert.not.match(r.out + r.err, /\n\s+at |RangeError|TypeError|Maximum call stack|Invalid typed array/, `${name}: ${r.err}`);
  }
  assert.match(runBin('detect', photo, '--engine', 'snn', '--timesteps', '4', '--reference').err, /^neuroemu: --reference: needs a value$/m);
  assert.ok(readFileSync(at('p.jpg')).equals(readFileSync(photo)), 'the input the output was aimed at is untouched');
  rmSync(dir, { recursive: true, force: true });
});

test.run();
