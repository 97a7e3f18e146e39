/**
 * Ground-truth and detections loaders. Every box comes out in original-image pixels, top-left
 * x, y and width, height, 0-based; images are matched by base name without extension.
 *
 * - VOC XML (one file or a directory of them): annotation/object/{name, difficult, bndbox}.
 *   VOC pixel indices are 1-based and inclusive; a box becomes x = xmin − 1, w = xmax − xmin as
 *   darknet's scripts/voc_label.py converts it (the +1 of the VOC IoU is applied in map.ts).
 *   The image is named by the XML file's base name (the devkit's annopath % imagename).
 * - YOLO txt (one file or a directory): `class cx cy w h` normalized per line, as darknet's
 *   data.c read_boxes reads it; the image size comes from the detections file entry with the
 *   same base name; an image without a label file has no objects (YOLO's background images).
 * - COCO JSON: images, annotations (bbox [x, y, w, h], iscrowd, area), categories; images in
 *   ascending id order as pycocotools sorts imgIds.
 * - A detections JSON (src/detect/types.ts DetectionsFile) as the reference: every box is truth.
 *
 * Bad input raises a UserError naming the file (and line or field).
 */
import { checkJsonDepth } from '../util/json.ts';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { z } from 'zod';
import { fail } from '../util/errors.ts';
import type { TruthBox, TruthImage } from './map.ts';
import { imageKey, truthFromDetections } from './map.ts';
import type { DetectionsFile, ImageDetections } from './types.ts';

// ---------------------------------------------------------------------------------------------
// A tiny XML reader: elements, text, comments, CDATA, processing instructions; no namespaces or
// DTDs. Enough for VOC annotations, with line numbers for errors.

export interface XmlNode {
  name: string;
  children: XmlNode[];
  text: string;
  line: number;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string, where: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    const v = ENTITIES[e];
    if (v === undefined) fail(where, `unknown XML entity ${m}`);
    return v;
  });
}

const TOKEN =
  /<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<\/\s*([A-Za-z_][\w.:-]*)\s*>|<([A-Za-z_][\w.:-]*)(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*(\/?)>|([^<]+)|</g;

/** Parses an XML document into its root element; `file` names it in errors. */
export function parseXml(text: string, file: string): XmlNode {
  const root: XmlNode = { name: '#document', children: [], text: '', line: 1 };
  const stack: XmlNode[] = [root];
  let line = 1;
  let pos = 0;
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(text); m !== null; m = TOKEN.exec(text)) {
    if (m.index !== pos) fail(`${file}:${line}`, 'unreadable XML');
    const tok = m[0];
    const top = stack[stack.length - 1];
    const here = `${file}:${line}`;
    if (m[1] !== undefined) top.text += m[1];
    else if (m[2] !== undefined) {
      if (stack.length === 1) fail(here, `</${m[2]}> closes nothing`);
      if (top.name !== m[2]) fail(here, `</${m[2]}> closes <${top.name}> opened on line ${top.line}`);
      stack.pop();
    } else if (m[3] !== undefined) {
      if (stack.length === 1 && root.children.length > 0) fail(here, `a second root element <${m[3]}>`);
      const node: XmlNode = { name: m[3], children: [], text: '', line };
      top.children.push(node);
      if (m[4] !== '/') stack.push(node);
    } else if (m[5] !== undefined) {
      if (stack.length === 1 && m[5].trim() !== '') fail(here, 'text outside the root element');
      top.text += decodeEntities(m[5], here);
    } else if (tok === '<') fail(here, 'malformed tag');
    for (let i = 0; i < tok.length; i++) if (tok.charCodeAt(i) === 10) line++;
    pos = m.index + tok.length;
  }
  if (pos !== text.length) fail(`${file}:${line}`, 'unreadable XML');
  if (stack.length > 1) {
    const open = stack[stack.length - 1];
    fail(`${file}:${open.line}`, `<${open.name}> is never closed`);
  }
  if (root.children.length !== 1) fail(file, 'no root element');
  return root.children[0];
}

const child = (n: XmlNode, name: string): XmlNode | undefined => n.children.find((c) => c.name === name);

function numberField(n: XmlNode, name: string, file: string): number {
  const c = child(n, name);
  if (!c) fail(`${file}:${n.line}`, `<${n.name}> has no <${name}>`);
  const t = c.text.trim();
  const v = Number(t);
  if (t === '' || !Number.isFinite(v)) fail(`${file}:${c.line}`, `<${name}> is not a number: "${t}"`);
  return v;
}

/** One VOC annotation file → its image (named by the file's base name). */
export function parseVocXml(text: string, file: string): TruthImage {
  const root = parseXml(text, file);
  if (root.name !== 'annotation') fail(`${file}:${root.line}`, `expected <annotation>, found <${root.name}>`);
  const size = child(root, 'size');
  const boxes: TruthBox[] = [];
  for (const obj of root.children.filter((c) => c.name === 'object')) {
    // direct children only: <part> elements (VOC person layout) have their own name and bndbox
    const nameNode = child(obj, 'name');
    const name = nameNode?.text.trim() ?? '';
    if (!name) fail(`${file}:${obj.line}`, '<object> has no <name>');
    const diffNode = child(obj, 'difficult');
    const diff = diffNode?.text.trim() ?? '0';
    if (diff !== '0' && diff !== '1') fail(`${file}:${diffNode?.line ?? obj.line}`, `<difficult> must be 0 or 1, got "${diff}"`);
    const bb = child(obj, 'bndbox');
    if (!bb) fail(`${file}:${obj.line}`, '<object> has no <bndbox>');
    const xmin = numberField(bb, 'xmin', file);
    const ymin = numberField(bb, 'ymin', file);
    const xmax = numberField(bb, 'xmax', file);
    const ymax = numberField(bb, 'ymax', file);
    if (xmax < xmin || ymax < ymin) fail(`${file}:${bb.line}`, `empty box: xmin ${xmin} ymin ${ymin} xmax ${xmax} ymax ${ymax}`);
    boxes.push({ x: xmin - 1, y: ymin - 1, w: xmax - xmin, h: ymax - ymin, className: name, difficult: diff === '1' });
  }
  return {
    file: basename(file),
    width: size ? numberField(size, 'width', file) : undefined,
    height: size ? numberField(size, 'height', file) : undefined,
    boxes,
  };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    fail(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function listFiles(dir: string, ext: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.toLowerCase().endsWith(ext))
    .sort()
    .map((n) => join(dir, n));
}

/** A VOC .xml file or a directory of them (sorted by name). */
export function loadVocXml(path: string): TruthImage[] {
  if (statSync(path).isDirectory()) {
    const files = listFiles(path, '.xml');
    if (files.length === 0) fail(path, 'no .xml annotation files in this directory');
    return files.map((f) => parseVocXml(readText(f), f));
  }
  return [parseVocXml(readText(path), path)];
}

// ---------------------------------------------------------------------------------------------
// YOLO txt labels

/** Parses one darknet label file (`class cx cy w h` per line, normalized) into pixel boxes. */
export function parseYoloLabels(text: string, file: string, width: number, height: number, classNames?: readonly string[]): TruthBox[] {
  const boxes: TruthBox[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const where = `${file}:${i + 1}`;
    const parts = line.split(/\s+/);
    if (parts.length !== 5) fail(where, `expected "class cx cy w h", got ${parts.length} fields`);
    const [c, ...rest] = parts;
    if (!/^\d+$/.test(c)) fail(where, `class must be a non-negative integer, got "${c}"`);
    const nums = rest.map(Number);
    if (nums.some((v) => !Number.isFinite(v))) fail(where, `cx cy w h must be numbers, got "${rest.join(' ')}"`);
    const [cx, cy, w, h] = nums;
    if (w < 0 || h < 0) fail(where, `negative width or height`);
    const id = Number(c);
    let className = c;
    if (classNames) {
      if (id >= classNames.length) fail(where, `class ${id} but only ${classNames.length} class names`);
      className = classNames[id];
    }
    boxes.push({ x: (cx - w / 2) * width, y: (cy - h / 2) * height, w: w * width, h: h * height, className });
  });
  return boxes;
}

/** Reads a names file (darknet .names, labelImg classes.txt): one name per line, blank lines skipped. */
export function readNamesFile(file: string): string[] {
  const names = readText(file)
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) fail(file, 'no class names');
  return names;
}

/**
 * YOLO labels for the images of a detections file: `path` is one label file or a directory of
 * `<image base name>.txt`. Class names: `classNames`, else the directory's classes.txt (labelImg),
 * else the numeric id as a string.
 */
export function loadYoloLabels(path: string, images: readonly ImageDetections[], classNames?: readonly string[]): TruthImage[] {
  if (statSync(path).isDirectory()) {
    const names = classNames ?? (existsSync(join(path, 'classes.txt')) ? readNamesFile(join(path, 'classes.txt')) : undefined);
    let found = 0;
    const out = images.map((im) => {
      const file = join(path, `${imageKey(im.file)}.txt`);
      if (!existsSync(file)) return { file: im.file, width: im.width, height: im.height, boxes: [] };
      found++;
      return { file: im.file, width: im.width, height: im.height, boxes: parseYoloLabels(readText(file), file, im.width, im.height, names) };
    });
    if (found === 0 && images.length > 0) fail(path, 'no label file here is named after an image of the detections file');
    return out;
  }
  const key = imageKey(path);
  const im = images.find((i) => imageKey(i.file) === key);
  if (!im) fail(path, `no image named ${key} in the detections file (its size is needed)`);
  return [{ file: im.file, width: im.width, height: im.height, boxes: parseYoloLabels(readText(path), path, im.width, im.height, classNames) }];
}

// ---------------------------------------------------------------------------------------------
// JSON: COCO annotations and detections files

/** `images[3].detections[0].score` from a zod issue path. */
function fieldPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : `${s ? '.' : ''}${String(p)}`;
  return s || '(top level)';
}

function check<T>(schema: z.ZodType<T>, value: unknown, file: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    fail(`${file}: ${fieldPath(issue.path)}`, issue.message.replace(/\s+/g, ' '));
  }
  return r.data;
}

/** JSON.parse with a one-line error naming the file, line and column. */
export function readJson(file: string): unknown {
  const text = readText(file);
  checkJsonDepth(text, file);
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const at = /position (\d+)/.exec(msg);
    if (at) {
      const before = text.slice(0, Number(at[1]));
      const line = before.split('\n').length;
      const col = before.length - before.lastIndexOf('\n');
      fail(`${file}:${line}:${col}`, `not valid JSON (${msg.replace(/ in JSON at position \d+.*$/, '')})`);
    }
    fail(file, `not valid JSON (${msg})`);
  }
}

const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const nonNeg = finite.refine((v) => v >= 0, 'must not be negative');
const positive = finite.refine((v) => v > 0, 'must be positive');

/**
 * Validates a long array item by item, stopping at the first bad one: a schema over the whole
 * array collects every item's issues, and zod spreads them into one call (a stack overflow beyond
 * ~100,000 bad items). Returns the items as parsed.
 */
function checkItems<T>(item: z.ZodType<T>, arr: unknown[], file: string, path: (string | number)[]): T[] {
  const out: T[] = new Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const r = item.safeParse(arr[i]);
    if (!r.success) {
      const issue = r.error.issues[0];
      fail(`${file}: ${fieldPath([...path, i, ...issue.path])}`, issue.message.replace(/\s+/g, ' '));
    }
    out[i] = r.data;
  }
  return out;
}

const cocoImage = z.object({ id: z.union([z.number(), z.string()]), file_name: z.string().min(1), width: positive.optional(), height: positive.optional() });
const cocoAnnotation = z.object({
  image_id: z.union([z.number(), z.string()]),
  category_id: z.union([z.number(), z.string()]),
  bbox: z.tuple([finite, finite, nonNeg, nonNeg]),
  iscrowd: z.union([z.literal(0), z.literal(1), z.boolean()]).optional(),
  area: nonNeg.optional(),
});
const cocoOuter = z.object({
  images: z.array(z.unknown()),
  annotations: z.array(z.unknown()),
  categories: z.array(z.object({ id: z.union([z.number(), z.string()]), name: z.string().min(1) })),
});

export const isCocoJson = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && 'annotations' in v && 'categories' in v && 'images' in v;

/** COCO instances JSON → images in ascending id order (pycocotools sorts imgIds). */
export function parseCocoJson(value: unknown, file: string): TruthImage[] {
  const outer = check(cocoOuter, value, file);
  const coco = { ...outer, images: checkItems(cocoImage, outer.images, file, ['images']), annotations: checkItems(cocoAnnotation, outer.annotations, file, ['annotations']) };
  const cats = new Map<string, string>();
  coco.categories.forEach((c) => cats.set(String(c.id), c.name));
  const images = new Map<string, TruthImage>();
  coco.images.forEach((im, i) => {
    if (images.has(String(im.id))) fail(`${file}: images[${i}].id`, `duplicate image id ${im.id}`);
    images.set(String(im.id), { file: im.file_name, width: im.width, height: im.height, boxes: [] });
  });
  coco.annotations.forEach((a, i) => {
    const im = images.get(String(a.image_id));
    if (!im) fail(`${file}: annotations[${i}].image_id`, `no image with id ${a.image_id}`);
    const name = cats.get(String(a.category_id));
    if (name === undefined) fail(`${file}: annotations[${i}].category_id`, `no category with id ${a.category_id}`);
    const [x, y, w, h] = a.bbox;
    im.boxes.push({ x, y, w, h, className: name, crowd: a.iscrowd === 1 || a.iscrowd === true, area: a.area });
  });
  const ids = [...images.keys()];
  const numeric = ids.every((k) => /^-?\d+(\.\d+)?$/.test(k));
  ids.sort((a, b) => (numeric ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0));
  return ids.map((k) => images.get(k) as TruthImage);
}

/** COCO JSON file → truth images. */
export function loadCocoJson(file: string): TruthImage[] {
  return parseCocoJson(readJson(file), file);
}

const detectionItem = z.object({ x: finite, y: finite, w: nonNeg, h: nonNeg, score: finite, class: z.string() });
const detectionsSchema = z.object({
  model: z.string(),
  engine: z.enum(['ann', 'snn']),
  size: positive,
  /** optional class list (index = class id); not written by every producer */
  classes: z.array(z.string()).optional(),
  images: z.array(
    z.object({
      file: z.string().min(1),
      width: positive,
      height: positive,
      detections: z.array(z.unknown()),
    }),
  ),
});

export interface LoadedDetections {
  file: DetectionsFile;
  images: ImageDetections[];
  /** the file's own class list when it has one */
  classNames?: string[];
}

export const isDetectionsJson = (v: unknown): boolean => typeof v === 'object' && v !== null && 'engine' in v && 'images' in v;

/**
 * Validates a detections JSON value. Class ids: the index in `classNames` (or the file's own
 * `classes`) when listed, otherwise numbered in order of first appearance; evaluation matches
 * classes by name only.
 */
export function parseDetections(value: unknown, file: string, classNames?: readonly string[]): LoadedDetections {
  const d0 = check(detectionsSchema, value, file);
  const d = { ...d0, images: d0.images.map((im, i) => ({ ...im, detections: checkItems(detectionItem, im.detections, file, ['images', i, 'detections']) })) };
  const names = [...(classNames ?? d.classes ?? [])];
  const ids = new Map(names.map((n, i) => [n, i]));
  const idOf = (n: string): number => {
    let id = ids.get(n);
    if (id === undefined) {
      id = ids.size;
      ids.set(n, id);
    }
    return id;
  };
  const seen = new Map<string, number>();
  d.images.forEach((im, i) => {
    const key = imageKey(im.file);
    const prev = seen.get(key);
    if (prev !== undefined) fail(`${file}: images[${i}].file`, `same base name as images[${prev}] (${key}); images are matched by base name`);
    seen.set(key, i);
  });
  const images: ImageDetections[] = d.images.map((im) => ({
    file: im.file,
    width: im.width,
    height: im.height,
    detections: im.detections.map((x) => ({ x: x.x, y: x.y, w: x.w, h: x.h, score: x.score, classId: idOf(x.class), className: x.class })),
  }));
  const { classes: _classes, ...rest } = d;
  return { file: rest, images, classNames: d.classes };
}

/** Reads and validates a detections JSON file. */
export function readDetectionsFile(file: string, classNames?: readonly string[]): LoadedDetections {
  return parseDetections(readJson(file), file, classNames);
}

// ---------------------------------------------------------------------------------------------

export type TruthKind = 'voc-xml' | 'yolo-txt' | 'coco-json' | 'detections';

export interface LoadedTruth {
  kind: TruthKind;
  images: TruthImage[];
}

/**
 * Loads ground truth of any supported kind from a file or directory, chosen by extension and
 * content: .xml or a directory of .xml → VOC; .txt or a directory of .txt → YOLO labels (sizes
 * from `detections`); .json → COCO when it has images/annotations/categories, else a detections
 * file used as the reference.
 */
export function loadTruth(path: string, detections: readonly ImageDetections[], classNames?: readonly string[]): LoadedTruth {
  if (!existsSync(path)) fail(path, 'no such file or directory');
  if (statSync(path).isDirectory()) {
    const names = readdirSync(path);
    const xml = names.filter((n) => n.toLowerCase().endsWith('.xml')).length;
    const txt = names.filter((n) => n.toLowerCase().endsWith('.txt') && n !== 'classes.txt').length;
    if (xml > 0 && txt > 0) fail(path, `holds both .xml (${xml}) and .txt (${txt}) files; point --truth at one kind`);
    if (xml > 0) return { kind: 'voc-xml', images: loadVocXml(path) };
    if (txt > 0) return { kind: 'yolo-txt', images: loadYoloLabels(path, detections, classNames) };
    fail(path, 'no .xml (VOC) or .txt (YOLO) annotation files in this directory');
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.xml') return { kind: 'voc-xml', images: loadVocXml(path) };
  if (ext === '.txt') return { kind: 'yolo-txt', images: loadYoloLabels(path, detections, classNames) };
  if (ext === '.json') {
    const v = readJson(path);
    if (isCocoJson(v)) return { kind: 'coco-json', images: parseCocoJson(v, path) };
    if (isDetectionsJson(v)) return { kind: 'detections', images: truthFromDetections(parseDetections(v, path, classNames).images) };
    fail(path, 'neither COCO annotations (images, annotations, categories) nor a detections file (model, engine, images)');
  }
  fail(path, `unknown ground-truth format "${ext || '(no extension)'}": use VOC .xml, YOLO .txt, COCO .json or a detections .json`);
}
