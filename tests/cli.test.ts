import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { runBin } from './helpers/cli.ts';

const run = runBin;

test('info yolov2-tiny-voc prints the per-layer table and darknet\'s 6.97 BFLOPs', () => {
  const r = run('info', 'yolov2-tiny-voc');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /3,485,520,896 MACs = 6\.971 BFLOPs/);
  assert.match(r.out, /13x13x1024\s+13x13x1024\s+9,441,280\s+1,594,884,096/);
});

test('every command answers --help with examples', () => {
  for (const cmd of ['run', 'detect', 'convert', 'convergence', 'eval', 'chips', 'map', 'replay', 'tune', 'info']) {
    const r = run(cmd, '--help');
    assert.is(r.code, 0, `${cmd}: ${r.err}`);
    assert.match(r.out, /Examples:/, cmd);
  }
});

test('user errors: one line on stderr naming the flag or file, exit code 2, no stack trace', () => {
  for (const args of [['info', 'nosuch-model'], ['info', 'face', '--size', '100'], ['detect', '/nonexistent.jpg'], ['detect', 'x.jpg', '--threshold', '3'], ['nosuchcommand']]) {
    const r = run(...args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.out}${r.err}`);
    // progress lines may precede it; the error itself is one line
    assert.is(r.err.split('\n').filter((l) => l.startsWith('neuroemu: ')).length, 1, r.err);
    assert.not.match(r.err, /\n\s+at /);
  }
  assert.match(run('detect', '/nonexistent.jpg').err, /\/nonexistent\.jpg/);
});

test('numeric flags: a value that is not a number, and a seed out of range, are one-line errors in every command', () => {
  const cases: string[][] = [
    ['run', '--workers', 'abc'], ['run', '--seed', 'abc'], ['run', '--seed', '1e300'], ['run', '--seed', '-1'], ['run', '--candidate-threshold', 'NaN'],
    ['detect', 'x.jpg', '--threshold', 'abc'], ['detect', 'x.jpg', '--engine', 'snn', '--timesteps', 'abc'], ['convergence', '--timesteps', 'abc'],
    ['sweep', '--workers', 'abc', '--vary', 'timesteps=8', '--out', '/tmp/never.csv'], ['tune', '--images', 'x.jpg', '--holdout', 'y.jpg', '--out', '/tmp/never.json', '--budget', 'abc'], ['map', '--chip', 'loihi', '--size', 'abc'],
  ];
  for (const args of cases) {
    const r = run(...args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.out}${r.err}`);
    const lines = r.err.split('\n').filter((l) => l.startsWith('neuroemu: '));
    assert.is(lines.length, 1, r.err);
    assert.match(lines[0], new RegExp(`--${args[args.indexOf(args.find((a) => ['abc', 'NaN', '1e300', '-1'].includes(a))!) - 1].replace(/^--/, '')}`), lines[0]);
    assert.not.match(r.err, /\n\s+at /);
  }
});

test('an output path that names an input is refused before anything runs, the input intact; a device is written through, not replaced', async () => {
  const { copyFileSync, statSync, writeFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'neuroemu-clobber-'));
  const photo = join(dir, 'p.jpg');
  copyFileSync(faceSamplePhotos()[0], photo);
  const before = readFileSync(photo);
  for (const args of [['detect', photo, '--json', photo], ['detect', photo, '--dump-raw', join(dir, '.', 'p.jpg')], ['run', '--images', photo, '--csv', photo, '--timesteps', '8']]) {
    const r = run(...args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /is also an input of this command/);
    assert.is(r.err.split('\n').filter((l) => l.startsWith('neuroemu: ')).length, 1, r.err);
  }
  assert.ok(readFileSync(photo).equals(before), 'the photo is untouched');
  const { writeFileAtomic } = await import('../src/util/atomic.ts');
  writeFileAtomic('/dev/null', 'x');
  assert.ok(statSync('/dev/null').isCharacterDevice(), '/dev/null is still a device');
  writeFileSync(join(dir, 'keep'), 'k');
  assert.ok(readdirSync(dir).every((f) => !f.endsWith('.tmp')));
  // a temp file left by a killed writer (no such pid) is removed by the next write of the target;
  // one of a live writer (this test's parent) is left alone
  writeFileSync(join(dir, 'out.json.999999999.tmp'), 'half');
  writeFileSync(join(dir, `out.json.${process.ppid}.tmp`), 'in progress');
  writeFileAtomic(join(dir, 'out.json'), '{}');
  assert.equal(readdirSync(dir).filter((f) => f.startsWith('out.json')).sort(), ['out.json', `out.json.${process.ppid}.tmp`].sort());
});

test('sweep: a cross product beyond --max-points (default 10,000) is refused at once, with the count', () => {
  const r = run('sweep', '--chip', 'loihi', '--vary', 'core.neurons=1:1000000:1', '--out', join(tmpdir(), 'never-written.csv'));
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /the cross product has 1,000,000 points, more than 10,000 \(--max-points/);
  assert.not.ok(existsSync(join(tmpdir(), 'never-written.csv')));
});

test('detect writes the detections JSON and the raw dump, nothing half-written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neuroemu-cli-'));
  const json = join(dir, 'dets.json'), raw = join(dir, 'raw.json');
  const r = run('detect', faceSamplePhotos()[0], '--json', json, '--dump-raw', raw, '--size', '224');
  assert.is(r.code, 0, r.err);
  const d = JSON.parse(readFileSync(json, 'utf8'));
  assert.is(d.model, 'face');
  assert.is(d.engine, 'ann');
  assert.is(d.size, 224);
  assert.is(d.images.length, 1);
  assert.equal(Object.keys(d.images[0]).sort(), ['detections', 'file', 'height', 'width']);
  assert.ok(d.images[0].detections.length > 0, 'sample1 has faces');
  assert.equal(Object.keys(d.images[0].detections[0]).sort(), ['class', 'h', 'score', 'w', 'x', 'y']);
  const dump = JSON.parse(readFileSync(raw, 'utf8'));
  assert.equal(dump.shape, [25, 7, 7]);
  assert.is(dump.data.length, 25 * 49);
  assert.ok(existsSync(json) && readdirSync(dir).every((f) => !f.endsWith('.tmp')));
});

test.run();
