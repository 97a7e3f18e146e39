/**
 * The graph IR: a plain, serializable list of layers with shapes resolved at import.
 * Everything downstream reads only this, never a file format.
 *
 * Conventions:
 * - Activations are C×H×W (darknet's order) in the IR and on the TypeScript reference path;
 *   the WASM kernels convert to channels-last internally.
 * - Conv weights are [filters][cin/groups][size][size] (darknet's OIHW order).
 * - `inputs` holds layer indices; -1 is the network input.
 */

export type Activation = 'linear' | 'leaky' | 'relu';

export interface Shape {
  c: number;
  h: number;
  w: number;
}

/** Batch-norm parameters kept apart from the conv (only when import is asked not to fold). */
export interface BatchNorm {
  scales: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  /** darknet adds .000001 to the variance before the square root */
  eps: number;
}

interface LayerBase {
  index: number;
  name: string;
  inputs: number[];
  inShape: Shape;
  outShape: Shape;
}

export interface ConvLayer extends LayerBase {
  kind: 'conv';
  filters: number;
  size: number;
  stride: number;
  /** zero padding on every side, in pixels */
  pad: number;
  groups: number;
  activation: Activation;
  /** negative-side slope of a leaky activation (0.1 in darknet and face-api) */
  leakySlope: number;
  weights: Float32Array;
  /** zeros where the source layer has no bias (see noBias) */
  biases: Float32Array;
  /** the source layer has no bias (face-api's depthwise convs): not counted as parameters */
  noBias?: boolean;
  bn?: BatchNorm;
}

export interface MaxPoolLayer extends LayerBase {
  kind: 'maxpool';
  size: number;
  stride: number;
  /** padding before the first row/column; window cells outside the input are ignored */
  padBegin: number;
}

export interface RouteLayer extends LayerBase {
  kind: 'route';
  /** concatenated along channels, in this order (absolute layer indices) */
  layers: number[];
}

export interface UpsampleLayer extends LayerBase {
  kind: 'upsample';
  stride: number;
}

/** YOLOv2 region head (darknet [region]); it reads the conv output before it. */
export interface RegionLayer extends LayerBase {
  kind: 'region';
  /** anchor (w, h) pairs in grid cells */
  anchors: number[];
  classes: number;
  coords: number;
  num: number;
}

/** YOLOv3 yolo head (darknet [yolo]); anchors in input pixels. */
export interface YoloLayer extends LayerBase {
  kind: 'yolo';
  anchors: number[];
  mask: number[];
  classes: number;
}

/** face-api TinyFaceDetector head: 5 anchors × (tx, ty, tw, th, objectness), one class. */
export interface FaceHeadLayer extends LayerBase {
  kind: 'facehead';
  /** anchor (w, h) pairs in grid cells */
  anchors: number[];
}

export type Layer = ConvLayer | MaxPoolLayer | RouteLayer | UpsampleLayer | RegionLayer | YoloLayer | FaceHeadLayer;
export type HeadLayer = RegionLayer | YoloLayer | FaceHeadLayer;

/** How an image becomes the network input. */
export type Preprocess =
  | { kind: 'darknet-letterbox' }
  | { kind: 'face-api'; meanRgb: [number, number, number] };

export interface Network {
  /** short name, e.g. "yolov2-tiny-voc" or "face" */
  name: string;
  /** where it came from (file paths), for reports */
  source: string;
  format: 'darknet' | 'face-api';
  input: Shape;
  preprocess: Preprocess;
  layers: Layer[];
  /** class names where the model has them (index = class id) */
  classNames?: string[];
  /** NMS IoU threshold of the source framework */
  nmsIou: number;
  /** default score threshold of the source framework's detector */
  scoreThreshold: number;
  /** true when batch norm was folded into conv weights and biases */
  bnFolded: boolean;
}

export const isHead = (l: Layer): l is HeadLayer => l.kind === 'region' || l.kind === 'yolo' || l.kind === 'facehead';

export function shapeSize(s: Shape): number {
  return s.c * s.h * s.w;
}

/** conv output size along one axis, darknet's formula */
export function convOut(n: number, size: number, stride: number, pad: number): number {
  return Math.floor((n + 2 * pad - size) / stride) + 1;
}
