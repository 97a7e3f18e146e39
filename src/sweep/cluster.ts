/**
 * Cluster scripts for a sweep (`neuroemu sweep ... --emit slurm|k8s FILE`): the shard count is
 * chosen from the simulation groups (one group per task, so no group is simulated twice), every
 * task runs `sweep --shard I/N` on its own results file (re-running a task resumes that file),
 * and the merge joins the shard files into the bytes the unsharded run would write.
 *
 * The scripts are a function of the sweep alone (no dates, no host names): the same command
 * writes the same bytes.
 */
import { shardRule } from './space.ts';
import type { SweepIdentity } from './sweep.ts';

/** Most array tasks a generated script asks for unless `--shards` says otherwise. */
export const DEFAULT_MAX_SHARDS = 64;

export interface ShardLoad {
  shard: number;
  points: number;
  groups: number;
  /** simulated ticks per frame, summed over the shard's groups (a shard's cost is about ticks × frames) */
  ticks: number;
}

export interface ClusterPlan {
  id: string;
  base: string;
  points: number;
  groups: number;
  shards: number;
  loads: ShardLoad[];
  frames: number;
  /** `sweep` and its arguments, without --shard, --out and --emit */
  sweepArgs: string[];
  /** where the tasks run (the command's working directory; paths in sweepArgs are relative to it) */
  cwd: string;
  /** the neuroemu executable (the script's NEUROEMU variable overrides it) */
  neuroemu: string;
  /** the merged results CSV */
  out: string;
  /** the shard files' folder: SHARD_DIR/part-I.csv */
  shardDir: string;
  /** worker threads of each task = CPUs it asks for */
  cpusPerTask: number;
  /** extra `#SBATCH --KEY=VALUE` lines */
  sbatch: string[];
}

/** The shard count: one task per simulation group, at most `maxShards` (then groups share tasks). */
export function chooseShards(groups: number, requested: number | undefined, maxShards = DEFAULT_MAX_SHARDS): number {
  if (requested !== undefined) return requested;
  return Math.max(1, Math.min(groups, maxShards));
}

/** What each shard will do, by the rule `sweep --shard` applies (space.ts shardRule), in one pass. */
export function shardLoads(identity: Pick<SweepIdentity, 'points'>, shards: number): ShardLoad[] {
  const shardOf = shardRule(identity.points, shards);
  const loads = Array.from({ length: shards }, (_, shard) => ({ shard, points: 0, groups: new Map<string, number>() }));
  for (const p of identity.points) {
    const l = loads[shardOf(p)];
    l.points++;
    l.groups.set(p.point.simKey, p.point.run.timesteps);
  }
  return loads.map((l) => ({ shard: l.shard, points: l.points, groups: l.groups.size, ticks: [...l.groups.values()].reduce((a, b) => a + b, 0) }));
}

/** POSIX shell single quoting. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function loadTable(plan: ClusterPlan, comment: string): string[] {
  const lines = [`${comment} shard  points  groups  ticks`];
  for (const l of plan.loads) lines.push(`${comment} ${String(l.shard).padStart(5)}  ${String(l.points).padStart(6)}  ${String(l.groups).padStart(6)}  ${String(l.ticks).padStart(5)}`);
  return lines;
}

function headline(plan: ClusterPlan): string {
  const per = plan.groups >= plan.shards ? 'whole simulation groups per task' : 'fewer groups than shards: points dealt, a group may be simulated by several tasks';
  return `neuroemu sweep ${plan.id} on ${plan.base}: ${plan.points} points in ${plan.groups} simulation group${plan.groups === 1 ? '' : 's'}, ${plan.shards} shard${plan.shards === 1 ? '' : 's'} (${per})`;
}

/** A Slurm job array (one task per shard) that submits its own merge job with --dependency=afterok. */
export function slurmScript(plan: ClusterPlan): string {
  const q = shellQuote;
  const name = `neuroemu-${plan.id.slice(0, 8)}`;
  const last = plan.shards - 1;
  const sbatchExtra = plan.sbatch.map((kv) => `#SBATCH --${kv}`);
  return [
    '#!/bin/bash',
    `# ${headline(plan)}`,
    `# ${plan.frames} frame${plan.frames === 1 ? '' : 's'} per point; written by \`neuroemu sweep --emit slurm\`: the same sweep writes the same script.`,
    '#',
    '#   bash THIS_FILE                  submit the array (one task per shard) and the merge job (afterok)',
    '#   bash THIS_FILE resubmit 1,3     resubmit tasks 1 and 3 (each resumes its shard file) and a new merge job',
    '#   bash THIS_FILE resubmit         resubmit every task (a complete shard only rewrites its summary)',
    '#   bash THIS_FILE merge            merge the shard files here and now (what the merge job runs)',
    '#   sbatch THIS_FILE                the array alone',
    '#',
    '# A shard costs about its simulated ticks x frames (each group is emulated once and its points',
    '# priced by replaying the trace):',
    ...loadTable(plan, '#'),
    `#SBATCH --job-name=${name}`,
    `#SBATCH --array=0-${last}`,
    `#SBATCH --cpus-per-task=${plan.cpusPerTask}`,
    `#SBATCH --output=${plan.shardDir}/slurm-%A_%a.out`,
    `#SBATCH --chdir=${plan.cwd}`,
    ...sbatchExtra,
    'set -euo pipefail',
    `cd ${q(plan.cwd)}`,
    `NEUROEMU="\${NEUROEMU:-${plan.neuroemu}}"`,
    `SHARDS=${plan.shards}`,
    `SHARD_DIR=${q(plan.shardDir)}`,
    `OUT=${q(plan.out)}`,
    `sweep_args=(${plan.sweepArgs.map(q).join(' ')})`,
    '',
    'if [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then',
    '  # an array task: its shard, resuming its file if an earlier attempt wrote part of it',
    '  exec "$NEUROEMU" "${sweep_args[@]}" --shard "$SLURM_ARRAY_TASK_ID/$SHARDS" --out "$SHARD_DIR/part-$SLURM_ARRAY_TASK_ID.csv"',
    'fi',
    '',
    'self="$(realpath "$0")"',
    'submit_merge() { # $1: the array job the merge waits for (every task must succeed)',
    `  sbatch --parsable --job-name=${name}-merge --dependency="afterok:$1" --kill-on-invalid-dep=yes \\`,
    '    --chdir="$PWD" --output="$SHARD_DIR/slurm-merge-%j.out" --wrap="bash \'$self\' merge"',
    '}',
    'case "${1:-submit}" in',
    '  submit | resubmit)',
    '    mkdir -p "$SHARD_DIR"',
    '    if [ "${1:-submit}" = submit ]; then tasks="0-$((SHARDS - 1))"; else tasks="${2:-0-$((SHARDS - 1))}"; fi',
    '    array="$(sbatch --parsable --array="$tasks" "$self")"',
    '    array="${array%%;*}"',
    '    merge="$(submit_merge "$array")"',
    '    echo "array job $array (tasks $tasks of 0-$((SHARDS - 1))), merge job $merge after it: $OUT"',
    '    ;;',
    '  merge)',
    '    files=()',
    '    for ((i = 0; i < SHARDS; i++)); do files+=("$SHARD_DIR/part-$i.csv"); done',
    '    exec "$NEUROEMU" sweep merge "${files[@]}" --out "$OUT"',
    '    ;;',
    '  *)',
    '    echo "usage: bash $0 [submit | resubmit [TASKS] | merge]" >&2',
    '    exit 2',
    '    ;;',
    'esac',
    '',
  ].join('\n');
}

/**
 * A Kubernetes Indexed Job (one completion per shard; JOB_COMPLETION_INDEX is the shard) as
 * YAML: comment lines over a JSON document, which YAML 1.2 reads as is. Kubernetes has no job
 * dependencies, so the merge is the command the header gives, run when the Job completes. The
 * image and the volume claim are placeholders to edit.
 */
export function k8sIndexedJob(plan: ClusterPlan, o: { image?: string; claim?: string } = {}): string {
  const image = o.image ?? 'neuroemu:latest';
  const claim = o.claim ?? 'neuroemu-work';
  const name = `neuroemu-sweep-${plan.id.slice(0, 8)}`;
  const mount = '/work';
  const task = `mkdir -p ${shellQuote(plan.shardDir)} && exec neuroemu ${plan.sweepArgs.map(shellQuote).join(' ')} --shard "$JOB_COMPLETION_INDEX/${plan.shards}" --out "${plan.shardDir}/part-$JOB_COMPLETION_INDEX.csv"`;
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: { app: 'neuroemu', 'neuroemu/sweep': plan.id } },
    spec: {
      completionMode: 'Indexed',
      completions: plan.shards,
      parallelism: plan.shards,
      // a failed shard is retried (and resumes its file) before the Job fails
      backoffLimit: 3 * plan.shards,
      template: {
        metadata: { labels: { app: 'neuroemu', 'neuroemu/sweep': plan.id } },
        spec: {
          restartPolicy: 'Never',
          containers: [{
            name: 'shard',
            image,
            workingDir: mount,
            command: ['/bin/sh', '-c', task],
            resources: { requests: { cpu: String(plan.cpusPerTask) } },
            volumeMounts: [{ name: 'work', mountPath: mount }],
          }],
          volumes: [{ name: 'work', persistentVolumeClaim: { claimName: claim } }],
        },
      },
    },
  };
  const merge = `neuroemu sweep merge ${Array.from({ length: plan.shards }, (_, i) => `${plan.shardDir}/part-${i}.csv`).map(shellQuote).join(' ')} --out ${shellQuote(plan.out)}`;
  return [
    `# ${headline(plan)}`,
    `# A Kubernetes Indexed Job: completion index I runs shard I/${plan.shards} on the volume claim "${claim}" mounted at ${mount}`,
    '# (the sweep\'s relative paths are taken from there); the image must provide `neuroemu` on its PATH.',
    `#   kubectl apply -f THIS_FILE && kubectl wait --for=condition=complete job/${name} --timeout=24h`,
    `#   then, on the volume: ${merge}`,
    ...loadTable(plan, '#'),
    JSON.stringify(job, null, 2),
    '',
  ].join('\n');
}
