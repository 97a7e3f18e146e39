import { fail } from '../util/errors.ts';

/**
 * Largest number of float32 values a model may need (weights + every layer's activations, the
 * network input included): 2^30 floats = 4 GiB. Checked while the cfg is read, before each
 * layer's arrays are allocated, so an absurd shape is refused without touching memory.
 * The bundled cfgs need at most 3.2 GiB (yolov3-tiny at the largest --size, 4096).
 */
export const MAX_MODEL_FLOATS = 1 << 30;

/**
 * Largest magnitude a stored weight, bias or batch-norm statistic may have. Trained networks stay
 * many orders of magnitude below; a flipped exponent bit lands far above (e.g. 3e37).
 */
export const MAX_ABS_WEIGHT = 1e15;

/** Largest model or image file read into memory (Node's readFileSync refuses above 2 GiB). */
export const MAX_FILE_BYTES = 2 ** 31 - 1;

/** Refuses, before anything is allocated, a network whose tensors would not fit in memory. */
export function checkAllocation(where: string, floats: number): void {
  if (!(floats <= MAX_MODEL_FLOATS)) {
    fail(where, `the network would need at least ${(floats * 4 / 2 ** 30).toFixed(1)} GiB for weights and activations (limit ${MAX_MODEL_FLOATS * 4 / 2 ** 30} GiB)`);
  }
}
