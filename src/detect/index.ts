/** Detection post-processing and evaluation: decoding, NMS, ground truth, mAP. */
export * from './types.ts';
export * from './decode.ts';
export * from './nms.ts';
export * from './map.ts';
export * from './truth.ts';
