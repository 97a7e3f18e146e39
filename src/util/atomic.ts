import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fail } from './errors.ts';

/**
 * Writes a file via a temp file and rename, so a reader never sees it half-written. A target that
 * exists and is not a regular file (a device such as /dev/null or /dev/stdout, a FIFO) is written
 * through, never renamed over; a failed write removes its temp file.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  let special = false;
  try {
    special = existsSync(file) && !statSync(file).isFile();
  } catch {
    special = false;
  }
  if (special) {
    if (statSync(file).isDirectory()) fail(file, 'is a directory, not a file to write');
    try {
      writeFileSync(file, data);
    } catch (e) {
      fail(file, `cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    return;
  }
  const tmp = `${file}.${process.pid}.tmp`;
  removeStaleTemps(file);
  try {
    mkdirSync(dirname(file), { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // mkdir -p says EEXIST when a part of the path is a regular file: say that instead
    fail(file, code === 'EEXIST' || code === 'ENOTDIR' ? `cannot write: a part of ${dirname(file)} is a file, not a directory` : `cannot write (${code ?? (e as Error).message})`);
  }
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // nothing more to do: the message below names the target
    }
    fail(file, `cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** The path with symlinks resolved where it exists (else just absolute), to compare files. */
function canonical(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/**
 * Refuses an output path that names one of the command's input files (it would be overwritten
 * before or while it is read): `outputs` are [flag, path] pairs, `inputs` paths.
 */
export function refuseOutputsOverInputs(outputs: ReadonlyArray<[string, string]>, inputs: readonly string[]): void {
  const ins = new Map(inputs.filter((p) => typeof p === 'string' && p !== '' && existsSync(p)).map((p) => [canonical(p), p]));
  for (const [flag, out] of outputs) {
    const hit = ins.get(canonical(out));
    if (hit !== undefined) fail(flag, `${out} is also an input of this command (${hit}): writing it would destroy the input`);
  }
}

/** true when a process with this pid runs (signal 0 probes without signalling; EPERM: it runs, as another user) */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes `FILE.PID.tmp` files beside `file` left by a process that no longer runs (killed while
 * writing): the next write of the same target cleans up after it. A live writer's temp file stays.
 */
export function removeStaleTemps(file: string): void {
  const dir = dirname(resolve(file)), base = basename(file);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(`${base}.`) || !n.endsWith('.tmp')) continue;
    const pid = Number(n.slice(base.length + 1, -4));
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    if (!processAlive(pid)) rmSync(join(dir, n), { force: true });
  }
}
