/**
 * Cluster scripts of a sweep (`sweep --emit slurm|k8s FILE`, src/sweep/cluster.ts):
 * - the shard count follows the simulation groups; the script is valid bash, names the sweep id
 *   its tasks will write, and is the same bytes when written twice; the Kubernetes Indexed Job
 *   has the shape Kubernetes requires (checked, not run); bad --emit / --shards / --sbatch get one line;
 * - on a real Slurm (a one-node cluster on localhost, scripts/slurm-cluster.sh, root only): the
 *   generated script submitted as it is; one task cancelled mid-run (scancel) after writing part of
 *   its shard, its merge job cancelled with it, the task resubmitted by the script: it resumes its
 *   file, and the merged CSV is byte-identical to the unsharded run. The cluster is stopped and
 *   its files removed at the end, pass or fail.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/model/load.ts';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { chooseShards, shellQuote } from '../src/sweep/cluster.ts';
import { readResults } from '../src/sweep/results.ts';

const dir = mkdtempSync(join(tmpdir(), 'neuroemu-cluster-'));
const bin = join(PROJECT_ROOT, 'bin', 'neuroemu');
const clusterScript = join(PROJECT_ROOT, 'scripts', 'slurm-cluster.sh');
const photos = faceSamplePhotos().slice(0, 2);
// 8 simulation groups (ticks), 2 points each; the last group is long enough to be cancelled in
const LONG_TICKS = 800;
const common = ['--chip', 'loihi', '--size', '64', '--images', ...photos, '--calib', ...photos, '--workers', '1',
  '--vary', `timesteps=2,3,4,5,6,7,8,${LONG_TICKS}`, '--vary', 'energy.synop_pJ=12,36'];
const neuroemu = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: dir, env });
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('shard count: one per simulation group, capped, or as asked; shell quoting', () => {
  assert.is(chooseShards(8, undefined), 8);
  assert.is(chooseShards(500, undefined), 64);
  assert.is(chooseShards(0, undefined), 1);
  assert.is(chooseShards(8, 3), 3);
  assert.is(shellQuote('a/b.csv'), 'a/b.csv');
  assert.is(shellQuote("it's here"), `'it'\\''s here'`);
  const echoed = spawnSync('bash', ['-c', `printf %s ${shellQuote("a b'c$HOME")}`], { encoding: 'utf8' }).stdout;
  assert.is(echoed, "a b'c$HOME");
});

test('--emit slurm: valid bash with one task per group, the sweep id, the merge after every task; the same bytes twice', () => {
  const r = neuroemu(['sweep', ...common, '--out', 'e.csv', '--emit', 'slurm', 'e.sbatch', '--sbatch', 'time=00:10:00']);
  assert.is(r.status, 0, r.stderr);
  const m = /^sweep ([0-9a-f]{16}): 16 points in 8 simulation groups → 8 shards \(busiest: shard 7, 1 group, 800 ticks × 2 frames\)$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  const text = readFileSync(join(dir, 'e.sbatch'), 'utf8');
  assert.ok(text.startsWith('#!/bin/bash\n'));
  assert.match(text, new RegExp(`neuroemu sweep ${m![1]} on loihi: 16 points in 8 simulation groups, 8 shards`));
  for (const line of ['#SBATCH --array=0-7', '#SBATCH --cpus-per-task=1', '#SBATCH --time=00:10:00', `#SBATCH --chdir=${dir}`, 'SHARDS=8', 'SHARD_DIR=e.shards', 'OUT=e.csv'])
    assert.ok(text.split('\n').includes(line), `missing line: ${line}`);
  assert.match(text, /--dependency="afterok:\$1" --kill-on-invalid-dep=yes/);
  assert.match(text, /--shard "\$SLURM_ARRAY_TASK_ID\/\$SHARDS" --out "\$SHARD_DIR\/part-\$SLURM_ARRAY_TASK_ID\.csv"/);
  // #SBATCH lines must come before the first command, or sbatch ignores them
  const lines = text.split('\n');
  const firstCommand = lines.findIndex((l, i) => i > 0 && l !== '' && !l.startsWith('#'));
  const lastDirective = lines.map((l) => l.startsWith('#SBATCH')).lastIndexOf(true);
  assert.ok(lastDirective > 0 && lastDirective < firstCommand);
  assert.is(spawnSync('bash', ['-n', join(dir, 'e.sbatch')]).status, 0, 'bash -n');
  // the tasks' command line is the sweep's own: the same sweep id when run (here: validated only)
  const args = /^sweep_args=\((.*)\)$/m.exec(text)![1];
  assert.match(args, /^sweep --chip loihi --vary timesteps=2,3,4,5,6,7,8,800 --vary energy\.synop_pJ=12,36 --model face --size 64 /);
  assert.not.match(args, /--shard|--out|--emit/);
  // re-written: identical bytes
  assert.is(neuroemu(['sweep', ...common, '--out', 'e.csv', '--emit', 'slurm', 'e2.sbatch', '--sbatch', 'time=00:10:00']).status, 0);
  assert.is(readFileSync(join(dir, 'e2.sbatch'), 'utf8'), text);
  // fewer shards than groups: whole groups per task, the load table says so
  const four = neuroemu(['sweep', ...common, '--out', 'e.csv', '--emit', 'slurm', 'e4.sbatch', '--shards', '4']);
  assert.is(four.status, 0, four.stderr);
  assert.match(readFileSync(join(dir, 'e4.sbatch'), 'utf8'), /#     3       4       2    805\n/);
});

test('--emit k8s: an Indexed Job, one completion per shard, JOB_COMPLETION_INDEX as the shard', () => {
  const r = neuroemu(['sweep', ...common, '--out', 'k.csv', '--emit', 'k8s', 'k.yaml']);
  assert.is(r.status, 0, r.stderr);
  const text = readFileSync(join(dir, 'k.yaml'), 'utf8');
  // YAML: comment lines over a JSON document
  const body = text.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  const job = JSON.parse(body);
  assert.is(job.apiVersion, 'batch/v1');
  assert.is(job.kind, 'Job');
  assert.match(job.metadata.name, /^neuroemu-sweep-[0-9a-f]{8}$/);
  assert.is(job.spec.completionMode, 'Indexed');
  assert.is(job.spec.completions, 8);
  assert.is(job.spec.parallelism, 8);
  const pod = job.spec.template.spec;
  assert.is(pod.restartPolicy, 'Never');
  assert.is(pod.containers.length, 1);
  const [sh, dashC, command] = pod.containers[0].command;
  assert.equal([sh, dashC], ['/bin/sh', '-c']);
  assert.match(command, /--shard "\$JOB_COMPLETION_INDEX\/8" --out "k\.shards\/part-\$JOB_COMPLETION_INDEX\.csv"$/);
  assert.is(spawnSync('sh', ['-n', '-c', command]).status, 0, 'sh -n');
  assert.is(pod.volumes[0].name, pod.containers[0].volumeMounts[0].name);
  assert.match(text, /^# {3}then, on the volume: neuroemu sweep merge k\.shards\/part-0\.csv .* k\.shards\/part-7\.csv --out k\.csv$/m);
});

test('--emit refusals: one line, exit 2, nothing written', () => {
  const cases: [string[], RegExp][] = [
    [['--emit', 'pbs', 'x.sh'], /^neuroemu: --emit: "pbs": expected slurm or k8s/],
    [['--emit', 'slurm', 'x.sh', '--shard', '0/2'], /^neuroemu: --emit: writes the script of every shard; leave out --shard/],
    [['--emit', 'slurm', 'x.sh', '--shards', '0'], /^neuroemu: --shards: 0 must be an integer in 1\.\.10000/],
    [['--emit', 'slurm', 'x.sh', '--shards', '17'], /^neuroemu: --shards: 17 shards for 16 points: 1 would have nothing to do/],
    [['--emit', 'slurm', 'x.sh', '--sbatch', 'time 1'], /^neuroemu: --sbatch: "time 1": expected KEY=VALUE/],
    [['--emit', 'k8s', 'x.sh', '--sbatch', 'time=1'], /^neuroemu: --sbatch: only with --emit slurm/],
    [['--shards', '4'], /^neuroemu: --shards: only with --emit slurm\|k8s FILE/],
  ];
  for (const [extra, re] of cases) {
    const r = neuroemu(['sweep', ...common, '--out', 'x.csv', ...extra]);
    assert.is(r.status, 2, `${extra.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.not.ok(existsSync(join(dir, 'x.sh')));
    assert.not.ok(existsSync(join(dir, 'x.csv')));
  }
});

// ---------------------------------------------------------------------------------------------
// on a real Slurm

const slurmSkipReason = (() => {
  if (process.getuid?.() !== 0) return 'not root: the one-node Slurm cluster needs root to start its daemons';
  const probe = spawnSync('bash', ['-c', 'PATH=$PATH:/usr/sbin command -v slurmctld && command -v sbatch && PATH=$PATH:/usr/sbin command -v munged'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'slurm-wlm or munge is not installed (scripts/slurm-cluster.sh install, run by npm test as root, installs them)';
  return null;
})();
if (slurmSkipReason) console.log(`SKIP cluster (Slurm): ${slurmSkipReason}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

(slurmSkipReason ? test.skip : test)('real Slurm: the generated script runs the sweep; a task cancelled mid-run is resubmitted, resumes its file, and the merge is byte-identical to the unsharded run', async () => {
  const clusterDir = join(dir, 'slurm');
  const started = spawnSync('bash', [clusterScript, 'start', clusterDir], { encoding: 'utf8' });
  try {
    assert.is(started.status, 0, `the cluster did not start: ${started.stderr}`);
    const env = { ...process.env, SLURM_CONF: join(clusterDir, 'slurm.conf') };
    const slurm = (cmd: string, args: string[]) => {
      const r = spawnSync(cmd, args, { encoding: 'utf8', env, cwd: dir });
      assert.is(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
      return r.stdout.trim();
    };
    const jobState = (id: string) => /JobState=(\S+)/.exec(slurm('scontrol', ['show', 'job', id]))?.[1];
    const waitFor = async (what: string, done: () => boolean, seconds: number) => {
      const t0 = Date.now();
      while (!done()) {
        if (Date.now() - t0 > seconds * 1000) {
          const log = join(clusterDir, 'log', 'slurmctld.log');
          throw new Error(`timed out after ${seconds} s waiting for ${what}; squeue: ${slurm('squeue', ['-h'])}; ${existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-5).join(' | ') : ''}`);
        }
        await sleep(250);
      }
    };

    // the truth: the unsharded sweep in this process's machine, no cluster
    const ref = neuroemu(['sweep', ...common, '--out', 'ref.csv']);
    assert.is(ref.status, 0, ref.stderr);
    const reference = readFileSync(join(dir, 'ref.csv'), 'utf8');

    // 4 shards of 2 groups each: shard 3 simulates the 5-tick group, then the long one
    const emitted = neuroemu(['sweep', ...common, '--out', 'all.csv', '--emit', 'slurm', 'all.sbatch', '--shards', '4', '--sbatch', 'time=00:20:00']);
    assert.is(emitted.status, 0, emitted.stderr);
    const submitted = slurm('bash', ['all.sbatch']);
    const ids = /^array job (\d+) \(tasks 0-3 of 0-3\), merge job (\d+) after it: all\.csv$/.exec(submitted);
    assert.ok(ids, submitted);
    const [array, merge] = [ids![1], ids![2]];

    // cancel task 3 once it has written its first group's rows (it is then in the long group)
    const part3 = join(dir, 'all.shards', 'part-3.csv');
    const rowsIn = (f: string) => (existsSync(f) ? readResults(f, { repair: false }).rows.length : 0);
    await waitFor('task 3 to write its first rows', () => rowsIn(part3) >= 1 || jobState(`${array}_3`) === 'COMPLETED', 240);
    assert.is(jobState(`${array}_3`), 'RUNNING', 'task 3 finished before it could be cancelled: make its long group longer');
    slurm('scancel', [`${array}_3`]);
    await waitFor('task 3 to be cancelled', () => jobState(`${array}_3`) === 'CANCELLED', 60);
    const partial = rowsIn(part3);
    assert.ok(partial >= 1 && partial < 4, `task 3 wrote ${partial} of its 4 rows before it was cancelled`);
    // the merge job waited for every task: it can never run now, and is cancelled with it
    await waitFor('the merge job to be cancelled', () => jobState(merge) === 'CANCELLED', 60);
    assert.not.ok(existsSync(join(dir, 'all.csv')));
    for (const t of [0, 1, 2]) await waitFor(`task ${t}`, () => jobState(`${array}_${t}`) === 'COMPLETED', 240);
    assert.not.ok(existsSync(`${part3}.lock`), 'the cancelled task left its lock');

    // resubmitted by the script: task 3 resumes its file, then the new merge job runs
    const again = slurm('bash', ['all.sbatch', 'resubmit', '3']);
    const ids2 = /^array job (\d+) \(tasks 3 of 0-3\), merge job (\d+) after it: all\.csv$/.exec(again);
    assert.ok(ids2, again);
    await waitFor('the resubmitted task and the merge', () => jobState(ids2![2]) === 'COMPLETED' || jobState(ids2![2]) === 'CANCELLED' || jobState(ids2![2]) === 'FAILED', 300);
    assert.is(jobState(`${ids2![1]}_3`), 'COMPLETED');
    assert.is(jobState(ids2![2]), 'COMPLETED');
    const taskLog = readFileSync(join(dir, 'all.shards', `slurm-${ids2![1]}_3.out`), 'utf8');
    assert.match(taskLog, new RegExp(`shard 3/4: 4 points; ${partial} already in all\\.shards/part-3\\.csv`));
    const mergeLog = readFileSync(join(dir, 'all.shards', `slurm-merge-${ids2![2]}.out`), 'utf8');
    assert.match(mergeLog, /merged 4 files: 16 points of sweep [0-9a-f]{16}, none missing or duplicated/);
    assert.is(readFileSync(join(dir, 'all.csv'), 'utf8'), reference, 'the merged CSV differs from the unsharded run');
    console.log(`  Slurm: ${readdirSync(join(dir, 'all.shards')).filter((f) => f.startsWith('slurm-')).length} job logs; task 3 cancelled after ${partial} of 4 rows, resumed; merge byte-identical`);
  } finally {
    spawnSync('bash', [clusterScript, 'stop', clusterDir]);
    assert.not.ok(existsSync(clusterDir), 'the cluster\'s files were not removed');
  }
});

test.run();
