import { fail } from '../util/errors.ts';

/** Largest number of float32 values a model may need (weights + activations): 4 GiB of floats. */
export const MAX_MODEL_FLOATS = 1 << 30;

/** Refuses, before anything is allocated, a network whose tensors would not fit in memory. */
export function checkAllocation(file: string, floats: number): void {
  if (floats > MAX_MODEL_FLOATS) {
    fail(file, `the network would need ${(floats * 4 / 2 ** 30).toFixed(1)} GiB for weights and activations (limit ${MAX_MODEL_FLOATS * 4 / 2 ** 30} GiB)`);
  }
}
