/**
 * Per-frame stopping rules for an emulation (src/sim/emulate.ts `stop`): a frame ends at the first
 * check tick where its rule says it is done, so its energy is the energy to that tick.
 *
 * - 'f1' (needs the ANN's detections of the frame: an oracle, for pricing "energy to reach F1 X"):
 *   the SNN's detections above the operating threshold, decoded at the check tick, reach F1 >= target
 *   against the ANN's (src/detect/fidelity.ts). A frame where the ANN finds nothing is done as soon
 *   as the SNN finds nothing either.
 * - 'stable' (needs no reference: what a deployed chip could do): the readout has stopped moving:
 *   the mean over every value of every readout of |r(t) − r(t − every)| <= delta (raw head units,
 *   logits for the face detector), at the second check or later. The mean, because the largest
 *   change is set by a few noisy cells and stayed above 0.3 logits up to 256 ticks on the sample
 *   photos (scripts/probe/stop-probe.ts), so a max rule never stops.
 * Both are plain data so they cross to worker threads.
 */
import type { SnnNetwork } from '../convert/snn-ir.ts';
import { fidelityAtThreshold } from '../detect/fidelity.ts';
import { detectFromReadouts } from '../detect/snn-detect.ts';
import type { ImageDetections } from '../detect/types.ts';

export type StopRule =
  | { kind: 'f1'; every: number; target: number; threshold: number; reference: ImageDetections[] }
  | { kind: 'stable'; every: number; delta: number };

export function describeStopRule(r: StopRule): string {
  return r.kind === 'f1'
    ? `each frame stops at the first multiple of ${r.every} ticks where its F1 against the ANN at score > ${r.threshold} reaches ${r.target} (an oracle: it uses the ANN's detections)`
    : `each frame stops at the first multiple of ${r.every} ticks where the readout moved by ${r.delta} or less on average over the last ${r.every} ticks (no reference needed)`;
}

/** The check function for emulateFrames, for frames of these sizes (original image pixels). */
export function stopCheck(rule: StopRule, snn: SnnNetwork, sizes: { width: number; height: number }[]): (frame: number, tick: number, readouts: Float32Array[]) => boolean {
  if (rule.kind === 'f1') {
    return (frame, _tick, raws) => {
      const { width, height } = sizes[frame];
      const ref = rule.reference[frame];
      const dets = detectFromReadouts(snn, raws, width, height, rule.threshold);
      return fidelityAtThreshold([ref], [{ file: ref.file, width, height, detections: dets }], { threshold: rule.threshold }).f1 >= rule.target;
    };
  }
  let lastFrame = -1;
  let last: Float32Array[] | null = null;
  return (frame, _tick, raws) => {
    const prev = frame === lastFrame ? last : null;
    lastFrame = frame;
    last = raws;
    if (!prev) return false;
    let moved = 0, n = 0;
    for (let k = 0; k < raws.length; k++) {
      const a = raws[k], b = prev[k];
      for (let i = 0; i < a.length; i++) moved += Math.abs(a[i] - b[i]);
      n += a.length;
    }
    return moved / Math.max(1, n) <= rule.delta;
  };
}
