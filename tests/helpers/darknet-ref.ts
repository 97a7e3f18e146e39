/**
 * Runs Debian's darknet (libdarknet.so, pjreddie 2018) through tests/harness/darknet_ref.c so tests
 * can hold neuroemu to the implementation it imitates.
 *
 * - The harness is compiled with gcc once per source/header/library/compiler combination into
 *   build/darknet-ref/<hash>/ (written under a temporary name, then renamed, so test files that
 *   run in parallel never see a half-written binary).
 * - darknetAvailable() is false when libdarknet.so, darknet.h or gcc is missing (tests skip and
 *   print darknetSkipReason()); a compile failure with all three present is a harness bug and throws.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
const SOURCE = join(ROOT, 'tests', 'harness', 'darknet_ref.c');
const BUILD_DIR = join(ROOT, 'build', 'darknet-ref');

/** Where Debian's `darknet` package puts the library and header (override for other installs). */
export const DARKNET_LIB_DIR = process.env.DARKNET_LIB_DIR ?? '/usr/lib/darknet';
export const DARKNET_INCLUDE_DIR = process.env.DARKNET_INCLUDE_DIR ?? join(DARKNET_LIB_DIR, 'include');
/** cfgs and sample images shipped by the Debian package */
export const DARKNET_SHARE_DIR = process.env.DARKNET_SHARE_DIR ?? '/usr/share/darknet';

const LIB = () => join(DARKNET_LIB_DIR, 'libdarknet.so');
const HEADER = () => join(DARKNET_INCLUDE_DIR, 'darknet.h');

let status: { ok: boolean; reason: string } | undefined;

function gccVersion(): string | undefined {
  const r = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.split('\n')[0];
}

function checkStatus(): { ok: boolean; reason: string } {
  if (!existsSync(LIB())) return { ok: false, reason: `${LIB()} not found (install Debian's darknet: scripts/ensure-darknet.sh)` };
  if (!existsSync(HEADER())) return { ok: false, reason: `${HEADER()} not found` };
  if (!gccVersion()) return { ok: false, reason: 'gcc is not on PATH' };
  return { ok: true, reason: '' };
}

/** true when libdarknet.so, darknet.h and gcc are all present. */
export function darknetAvailable(): boolean {
  status ??= checkStatus();
  return status.ok;
}

/** Why darknet comparisons are skipped ('' when they are not). */
export function darknetSkipReason(): string {
  status ??= checkStatus();
  return status.reason;
}

let binaryPath: string | undefined;

/** Compiles the harness if needed and returns the executable's path. */
export function harnessBinary(): string {
  if (binaryPath) return binaryPath;
  if (!darknetAvailable()) throw new Error(`darknet harness unavailable: ${darknetSkipReason()}`);
  const lib = statSync(LIB());
  const hash = createHash('sha256')
    .update(readFileSync(SOURCE))
    .update(readFileSync(HEADER()))
    .update(`${lib.size}:${lib.mtimeMs}:${gccVersion()}:${DARKNET_LIB_DIR}`)
    .digest('hex')
    .slice(0, 16);
  const dir = join(BUILD_DIR, hash);
  const exe = join(dir, 'darknet_ref');
  if (!existsSync(exe)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${exe}.${process.pid}.tmp`;
    const args = ['-O2', '-Wall', '-o', tmp, SOURCE, `-I${DARKNET_INCLUDE_DIR}`, `-L${DARKNET_LIB_DIR}`, '-ldarknet',
      `-Wl,-rpath,${DARKNET_LIB_DIR}`, '-lm'];
    const r = spawnSync('gcc', args, { encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      rmSync(tmp, { force: true });
      throw new Error(`gcc ${args.join(' ')} failed:\n${r.stderr ?? r.error}`);
    }
    renameSync(tmp, exe);
  }
  binaryPath = exe;
  return exe;
}

function run(args: string[]): { stderr: string; seconds: number } {
  const t0 = performance.now();
  const r = spawnSync(harnessBinary(), args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 600_000 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.error || r.status !== 0) {
    throw new Error(`darknet_ref ${args.join(' ')} exited with ${r.status ?? r.error}:\n${r.stderr}`);
  }
  return { stderr: r.stderr, seconds };
}

function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  const out = new Float32Array(b.length / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'neuroemu-darknet-ref-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A cfg's text with [net] width and height replaced (how darknet's input size is changed). */
export function cfgWithSize(text: string, width: number, height: number): string {
  const lines = text.split(/\r?\n/);
  let inNet = false;
  let seenW = false, seenH = false;
  const out = lines.map((line) => {
    const t = line.replace(/\s+/g, '');
    if (t.startsWith('[')) inNet = t === '[net]' || t === '[network]';
    if (!inNet) return line;
    if (/^width=/i.test(t)) {
      seenW = true;
      return `width=${width}`;
    }
    if (/^height=/i.test(t)) {
      seenH = true;
      return `height=${height}`;
    }
    return line;
  });
  if (!seenW || !seenH) throw new Error('cfgWithSize: [net] has no width= or height= line');
  return out.join('\n');
}

export interface DarknetLayerOutput {
  index: number;
  /** darknet's layer type: convolutional, maxpool, route, upsample, region, yolo, ... */
  type: string;
  c: number;
  h: number;
  w: number;
  /** net->layers[i].output after network_predict (C×H×W) */
  data: Float32Array;
}

export interface DarknetForwardResult {
  layers: DarknetLayerOutput[];
  /** darknet's stderr (its layer table with per-layer BFLOPs) */
  log: string;
  /** wall time of the harness process (load + forward + writing outputs) */
  seconds: number;
}

/**
 * load_network + set_batch_network(1) + network_predict on `input` (C×H×W float32), returning every
 * layer's output. `size` rewrites the cfg's width/height in a temporary copy.
 */
export function darknetForward(opts: { cfg: string; weights: string | Uint8Array; input: Float32Array; size?: number | { w: number; h: number } }): DarknetForwardResult {
  return withTempDir((dir) => {
    let cfg = opts.cfg;
    if (opts.size !== undefined) {
      const s = typeof opts.size === 'number' ? { w: opts.size, h: opts.size } : opts.size;
      cfg = join(dir, 'net.cfg');
      writeFileSync(cfg, cfgWithSize(readFileSync(opts.cfg, 'utf8'), s.w, s.h));
    }
    const weights = typeof opts.weights === 'string' ? opts.weights : join(dir, 'net.weights');
    if (typeof opts.weights !== 'string') writeFileSync(weights, opts.weights);
    const input = join(dir, 'input.f32');
    writeFileSync(input, new Uint8Array(opts.input.buffer, opts.input.byteOffset, opts.input.byteLength));
    const outDir = join(dir, 'out');
    mkdirSync(outDir);
    const { stderr, seconds } = run(['forward', cfg, weights, input, outDir]);
    const layers = readFileSync(join(outDir, 'layers.txt'), 'utf8').trim().split('\n').map((line): DarknetLayerOutput => {
      const [i, type, c, h, w, n] = line.split(' ');
      const index = Number(i);
      const data = readF32(join(outDir, `layer_${index}.f32`));
      if (data.length !== Number(n)) throw new Error(`layer ${index}: ${data.length} floats, expected ${n}`);
      return { index, type, c: Number(c), h: Number(h), w: Number(w), data };
    });
    return { layers, log: stderr, seconds };
  });
}

/** Per-conv-layer "x.xxx BFLOPs" figures from darknet's load-time layer table, by layer index. */
export function darknetLayerBflops(log: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const line of log.split('\n')) {
    const r = /^\s*(\d+)\s+conv\b.*?([\d.]+)\s+BFLOPs/.exec(line);
    if (r) m.set(Number(r[1]), Number(r[2]));
  }
  return m;
}

export interface DarknetImageResult {
  /** make_image + data[k*w*h + y*w + x] = px/255. */
  image: Float32Array;
  /** letterbox_image(im, letterbox.w, letterbox.h) */
  letterbox: Float32Array;
  /** resize_image(im, resize.w, resize.h) */
  resize: Float32Array;
}

/** darknet's letterbox_image and resize_image on already-decoded 8-bit RGB pixels (H×W×3). */
export function darknetImageOps(img: { width: number; height: number; data: Uint8Array }, letterbox: { w: number; h: number }, resize: { w: number; h: number }): DarknetImageResult {
  if (img.data.length !== img.width * img.height * 3) throw new Error('image data is not width*height*3 bytes');
  return withTempDir((dir) => {
    const rgb = join(dir, 'image.rgb');
    writeFileSync(rgb, img.data);
    run(['image', rgb, String(img.width), String(img.height), String(letterbox.w), String(letterbox.h), String(resize.w), String(resize.h), dir]);
    return {
      image: readF32(join(dir, 'image.f32')),
      letterbox: readF32(join(dir, 'letterbox.f32')),
      resize: readF32(join(dir, 'resize.f32')),
    };
  });
}

/** Largest |a[i] - b[i]| (Infinity on a length mismatch, NaN-safe: a NaN anywhere gives Infinity). */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Largest |a[i]| (for reporting differences relative to the magnitude of the values). */
export function maxAbs(a: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
