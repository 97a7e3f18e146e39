/**
 * Ground-truth loaders on small hand-written fixtures (tests/fixtures/eval) and the `eval` command
 * driven through yargs. Fixture boxes: 000001 (200×100) has a dog at VOC (11,21)-(60,80) and a
 * difficult/crowd person at (101,11)-(150,90); 000002 (100×100) a cat at (1,1)-(50,50).
 * dets.json: on 000001 a dog FP at .95, the dog at .9, the person at .8; on 000002 the cat at .7;
 * 000003 has no truth. Expected APs are worked out per test.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { evalCommand } from '../src/cli/eval.ts';
import { loadCocoJson, loadTruth, loadVocXml, loadYoloLabels, parseVocXml, readDetectionsFile } from '../src/detect/truth.ts';
import { UserError } from '../src/util/errors.ts';

const FIX = join(fileURLToPath(import.meta.url), '..', 'fixtures', 'eval');
const DETS = join(FIX, 'dets.json');
const tmp = mkdtempSync(join(tmpdir(), 'neuroemu-eval-'));

const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-4, `${what}: ${a} ≠ ${b}`);

function throwsUser(fn: () => unknown, pattern: RegExp) {
  try {
    fn();
  } catch (err) {
    assert.instance(err, UserError);
    const msg = (err as Error).message;
    assert.not.match(msg, /\n/, 'one line');
    assert.match(msg, pattern);
    return;
  }
  assert.unreachable(`expected a UserError matching ${pattern}`);
}

// ---------------------------------------------------------------------------------------------
// loaders

test('VOC XML: objects, difficult, <part> ignored, 1-based boxes → x = xmin − 1, w = xmax − xmin', () => {
  const images = loadVocXml(join(FIX, 'voc'));
  assert.is(images.length, 2);
  const [a, b] = images;
  assert.is(a.file, '000001.xml');
  assert.equal([a.width, a.height], [200, 100]);
  assert.equal(a.boxes, [
    { x: 10, y: 20, w: 49, h: 59, className: 'dog', difficult: false },
    { x: 100, y: 10, w: 49, h: 79, className: 'person', difficult: true },
  ]);
  assert.equal(b.boxes, [{ x: 0, y: 0, w: 49, h: 49, className: 'cat', difficult: false }]);
});

test('VOC XML: malformed files give a one-line UserError naming file and line', () => {
  throwsUser(() => parseVocXml('<annotation>\n<object>\n<name>dog</name>\n</annotation>', 'bad.xml'), /^bad\.xml:4: <\/annotation> closes <object> opened on line 2$/);
  throwsUser(() => parseVocXml('<annotation>\n  <object>\n    <name>dog</name>\n  </object>\n</annotation>', 'nobox.xml'), /^nobox\.xml:2: <object> has no <bndbox>$/);
  throwsUser(
    () => parseVocXml('<annotation><object><name>a</name><bndbox><xmin>1</xmin><ymin>x</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>', 'num.xml'),
    /^num\.xml:1: <ymin> is not a number: "x"$/,
  );
  throwsUser(() => parseVocXml('<annotation>', 'open.xml'), /^open\.xml:1: <annotation> is never closed$/);
  throwsUser(() => parseVocXml('<doc/>', 'root.xml'), /expected <annotation>, found <doc>/);
});

test('YOLO labels: normalized lines × the detections file image size; classes.txt names', () => {
  const { images } = readDetectionsFile(DETS);
  const truth = loadYoloLabels(join(FIX, 'yolo'), images);
  assert.equal(
    truth.map((t) => t.boxes.length),
    [2, 1, 0],
    '000003 has no label file: no objects',
  );
  const dog = truth[0].boxes[0];
  assert.is(dog.className, 'dog');
  // cx .1725, w .245 in 200 px → x = (.1725 − .1225)·200 = 10, w = 49; cy .495, h .59 in 100 px → y = 20, h = 59
  near(dog.x, 10, 'x');
  near(dog.y, 20, 'y');
  near(dog.w, 49, 'w');
  near(dog.h, 59, 'h');
  assert.is(truth[1].boxes[0].className, 'cat');
  const f = join(tmp, 'bad.txt');
  writeFileSync(f, '0 0.5 0.5 0.1 0.1\n0 0.5 0.5\n');
  throwsUser(() => loadYoloLabels(f, [{ file: 'bad.jpg', width: 10, height: 10, detections: [] }]), /bad\.txt:2: expected "class cx cy w h", got 3 fields$/);
  writeFileSync(f, '7 0.5 0.5 0.1 0.1\n');
  throwsUser(() => loadYoloLabels(f, [{ file: 'bad.jpg', width: 10, height: 10, detections: [] }], ['a']), /bad\.txt:1: class 7 but only 1 class names$/);
});

test('COCO JSON: images in id order, iscrowd, category names', () => {
  const truth = loadCocoJson(join(FIX, 'coco.json'));
  assert.equal(
    truth.map((t) => t.file),
    ['000001.jpg', '000002.jpg'],
  );
  assert.equal(truth[0].boxes[1], { x: 100, y: 10, w: 49, h: 79, className: 'person', crowd: true, area: 3871 });
  const f = join(tmp, 'coco-bad.json');
  writeFileSync(f, JSON.stringify({ images: [{ id: 1, file_name: 'a.jpg' }], annotations: [{ image_id: 1, category_id: 3, bbox: [0, 0, 1, 1] }], categories: [] }));
  throwsUser(() => loadCocoJson(f), /coco-bad\.json: annotations\[0\]\.category_id: no category with id 3$/);
  writeFileSync(f, JSON.stringify({ images: [], annotations: [{ image_id: 1, category_id: 3, bbox: [0, 0, 1] }], categories: [] }));
  throwsUser(() => loadCocoJson(f), /coco-bad\.json: annotations\[0\]\.bbox/);
});

test('detections JSON: validation errors name the field; bad JSON names line and column', () => {
  const f = join(tmp, 'dets-bad.json');
  const good = JSON.parse(readFileSync(DETS, 'utf8'));
  good.images[1].detections[0].score = 'high';
  writeFileSync(f, JSON.stringify(good));
  throwsUser(() => readDetectionsFile(f), /dets-bad\.json: images\[1\]\.detections\[0\]\.score: .*expected number/);
  writeFileSync(f, '{\n  "model": "x",\n  "engine": "ann",,\n}');
  throwsUser(() => readDetectionsFile(f), /dets-bad\.json:3:\d+: not valid JSON/);
  writeFileSync(f, JSON.stringify({ ...JSON.parse(readFileSync(DETS, 'utf8')), engine: 'gpu' }));
  throwsUser(() => readDetectionsFile(f), /dets-bad\.json: engine: /);
});

test('loadTruth picks the format from the path', () => {
  const { images } = readDetectionsFile(DETS);
  assert.is(loadTruth(join(FIX, 'voc'), images).kind, 'voc-xml');
  assert.is(loadTruth(join(FIX, 'voc', '000002.xml'), images).kind, 'voc-xml');
  assert.is(loadTruth(join(FIX, 'yolo'), images).kind, 'yolo-txt');
  assert.is(loadTruth(join(FIX, 'coco.json'), images).kind, 'coco-json');
  assert.is(loadTruth(DETS, images).kind, 'detections');
  throwsUser(() => loadTruth(join(FIX, 'nope'), images), /nope: no such file or directory$/);
  const empty = join(tmp, 'empty');
  mkdirSync(empty, { recursive: true });
  throwsUser(() => loadTruth(empty, images), /no \.xml \(VOC\) or \.txt \(YOLO\) annotation files/);
});

// ---------------------------------------------------------------------------------------------
// the command

async function run(args: string[]): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  const w1 = process.stdout.write.bind(process.stdout);
  const w2 = process.stderr.write.bind(process.stderr);
  const log = console.log;
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  console.log = (...a: unknown[]) => void (out += a.join(' ') + '\n');
  try {
    await yargs(args)
      .scriptName('neuroemu')
      .command(evalCommand)
      .strict()
      .exitProcess(false)
      .fail((msg, e) => {
        if (e) throw e;
        throw new UserError(msg);
      })
      .help()
      .version(false)
      .parseAsync();
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
    console.log = log;
  }
  return { out, err };
}

test('eval: VOC XML truth, voc07 — dog .5 (FP then TP), cat 1, person only difficult → excluded', async () => {
  const { out, err } = await run(['eval', DETS, '--truth', join(FIX, 'voc')]);
  assert.match(out, /counted: VOC2007 11-point AP, IoU > 0\.5 \(\+1 pixel areas\); 2 images, 4 detections, 3 truth boxes \(1 difficult\/crowd ignored\)/);
  assert.match(out, /dog\s+1\s+0\s+2\s+0\.5000/);
  assert.match(out, /cat\s+1\s+0\s+1\s+1\.0000/);
  assert.match(out, /person\s+0\s+1\s+1\s+-/);
  assert.match(out, /mAP 0\.7500 {2}\(mean over 2 classes with truth; 1 class without truth excluded\)/);
  assert.match(err, /1 detection image\(s\) have no ground truth and were skipped: images\/000003\.jpg/);
});

test('eval: YOLO labels (no difficult flag) → person counts: (.5 + 1 + 1)/3', async () => {
  const { out } = await run(['eval', DETS, '--truth', join(FIX, 'yolo'), '--metric', 'voc']);
  assert.match(out, /VOC2010\+ all-point AP/);
  assert.match(out, /mAP 0\.8333 /);
});

test('eval: COCO truth and metric, --json written', async () => {
  const json = join(tmp, 'ap.json');
  const { out } = await run(['eval', DETS, '--truth', join(FIX, 'coco.json'), '--metric', 'coco', '--json', json]);
  // dog: FP then TP at IoU 1 → .5 at every threshold; cat 1; person: crowd only → excluded
  assert.match(out, /COCO AP@\[\.50:\.95\]/);
  assert.match(out, /mAP 0\.7500 /);
  const r = JSON.parse(readFileSync(json, 'utf8'));
  assert.is(r.metric, 'coco');
  assert.is(r.iou, null);
  assert.ok(Math.abs(r.map - 0.75) < 1e-9);
  assert.equal(r.unmatchedImages, ['images/000003.jpg']);
});

test('eval: another detections file as the reference', async () => {
  const { out } = await run(['eval', DETS, '--truth', DETS]);
  assert.match(out, /truth: reference detections/);
  assert.match(out, /mAP 1\.0000 /);
});

test('eval: user errors are one-line UserErrors', async () => {
  const f = join(tmp, 'broken.json');
  writeFileSync(f, JSON.stringify({ model: 'm', engine: 'ann', size: 416, images: [{ file: 'a.jpg', width: 10, height: 10, detections: [{ x: 0, y: 0, w: -1, h: 1, score: 1, class: 'a' }] }] }));
  for (const [args, pattern] of [
    [['eval', f, '--truth', DETS], /broken\.json: images\[0\]\.detections\[0\]\.w: must not be negative/],
    [['eval', DETS, '--truth', DETS, '--metric', 'coco', '--iou', '0.7'], /^--iou: /],
    [['eval', DETS, '--truth', DETS, '--iou', '1.5'], /^--iou: must be between 0 and 1/],
    [['eval', DETS, '--truth', DETS, '--metric', 'map'], /Invalid values/],
    [['eval', DETS], /Missing required argument: truth/],
  ] as const) {
    try {
      await run([...args]);
      assert.unreachable(`${args.join(' ')} should fail`);
    } catch (err) {
      assert.instance(err, UserError, String(err));
      assert.match((err as Error).message, pattern);
    }
  }
});

test('eval --help shows the examples', async () => {
  const { out } = await run(['eval', '--help']);
  assert.match(out, /--truth/);
  assert.match(out, /Examples:/);
  assert.match(out, /snn\.json --truth ann\.json/);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
