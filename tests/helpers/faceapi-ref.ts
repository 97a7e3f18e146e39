/**
 * Independent truth for the face detector: runs the real @vladmandic/face-api 1.7.15 code
 * (dist/face-api.esm-nobundle.js: its NetInput.toBatchTensor, TinyYolov2Base.forwardInput /
 * runMobilenet / extractBoxes, ops/nonMaxSuppression, NeuralNetwork.loadFromDisk) on tfjs-core
 * 4.22.0 with the pure-JS 'cpu' backend. None of neuroemu's src/ is used here.
 *
 * The nobundle build (meant for bundlers) imports three tfjs packages by their ESM dist paths,
 * whose extensionless internal imports Node cannot load. A Node module-resolution hook
 * (node:module register), scoped to imports made by the face-api file, points them at:
 *   @tensorflow/tfjs/dist/index.js               → the same package's Node build (dist/tf.node.js:
 *                                                  tfjs-core + chained ops + gradients + tfjs-backend-cpu
 *                                                  + webgl/layers/converter/data), devDependency 4.22.0
 *   @tensorflow/tfjs-backend-webgl/dist/index.js → its Node build (inert here: no WebGL)
 *   @tensorflow/tfjs-backend-wasm/dist/index.js  → an empty module (not installed: no .wasm binaries)
 * The backend is then set to tfjs's pure-JS 'cpu'. Nothing downloads binaries.
 */
import { register, createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Minimal structural types for the parts of tfjs / face-api used here. */
export interface TfTensor {
  shape: number[];
  dtype: string;
  dataSync(): Float32Array | Int32Array | Uint8Array;
  clone(): TfTensor;
  dispose(): void;
}
interface Tf {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  keep<T extends TfTensor>(t: T): T;
  tensor3d(values: Int32Array | Float32Array, shape: [number, number, number], dtype: 'int32' | 'float32'): TfTensor;
  memory(): { numTensors: number };
  version_core: string;
}
interface FaceApiBox { x: number; y: number; width: number; height: number }
interface FaceApiDetection { score: number; box: FaceApiBox; imageWidth: number; imageHeight: number }
interface TinyFaceDetectorNet {
  loadFromDisk(path: string): Promise<void>;
  locateFaces(input: TfTensor, options: unknown): Promise<FaceApiDetection[]>;
  forwardInput(input: unknown, inputSize: number): TfTensor;
  runMobilenet(x: TfTensor, params: unknown): TfTensor;
}
interface FaceApi {
  tf: Tf;
  version: string;
  env: { monkeyPatch(env: { readFile: (p: string) => Promise<Buffer> }): void; isNodejs(): boolean };
  TinyFaceDetector: new () => TinyFaceDetectorNet;
  TinyFaceDetectorOptions: new (o: { inputSize: number; scoreThreshold: number }) => unknown;
}

const require = createRequire(import.meta.url);
export const FACE_API_DIR = dirname(require.resolve('@vladmandic/face-api/package.json'));
const NOBUNDLE = join(FACE_API_DIR, 'dist', 'face-api.esm-nobundle.js');

// The resolve hook, as a module of its own (hooks run on a loader thread).
const HOOKS = `
let map = {}, parent = '';
export async function initialize(data) { map = data.map; parent = data.parent; }
export async function resolve(specifier, context, next) {
  if (context.parentURL === parent && Object.hasOwn(map, specifier)) return { url: map[specifier], shortCircuit: true };
  return next(specifier, context);
}`;

let loaded: Promise<{ faceapi: FaceApi; tf: Tf; net: TinyFaceDetectorNet }> | undefined;

/** Imports face-api once, selects the tfjs 'cpu' backend, loads the TinyFaceDetector weights from the package's model/ folder. */
export function loadFaceApi(): Promise<{ faceapi: FaceApi; tf: Tf; net: TinyFaceDetectorNet }> {
  loaded ??= (async () => {
    const tfNode = pathToFileURL(require.resolve('@tensorflow/tfjs')).href; // dist/tf.node.js
    const webglNode = pathToFileURL(require.resolve('@tensorflow/tfjs-backend-webgl')).href;
    register(`data:text/javascript,${encodeURIComponent(HOOKS)}`, {
      data: {
        parent: pathToFileURL(NOBUNDLE).href,
        map: {
          '@tensorflow/tfjs/dist/index.js': tfNode,
          '@tensorflow/tfjs-backend-webgl/dist/index.js': webglNode,
          '@tensorflow/tfjs-backend-wasm/dist/index.js': 'data:text/javascript,export {}',
        },
      },
    });
    const faceapi = (await import(pathToFileURL(NOBUNDLE).href)) as FaceApi;
    const tf = faceapi.tf;
    if (!(await tf.setBackend('cpu'))) throw new Error('tfjs cpu backend did not initialize');
    await tf.ready();
    // face-api's node env could not require('fs') from ESM; hand it a readFile. The copy gives each
    // file its own ArrayBuffer (loadFromDisk passes buf.buffer on to tf.io).
    faceapi.env.monkeyPatch({
      readFile: async (p: string) => {
        const b = await readFile(p);
        const ab = new ArrayBuffer(b.length);
        new Uint8Array(ab).set(b);
        return Buffer.from(ab);
      },
    });
    const net = new faceapi.TinyFaceDetector();
    await net.loadFromDisk(join(FACE_API_DIR, 'model'));
    return { faceapi, tf, net };
  })();
  return loaded;
}

export interface FaceApiResult {
  /** the float32 [1,S,S,3] tensor runMobilenet received (padded, resized, mean-subtracted, /255), NHWC */
  input: Float32Array;
  /** conv8 output [1,g,g,25], NHWC */
  conv8: Float32Array;
  grid: number;
  /** face-api's FaceDetection boxes, in original-image pixels */
  detections: Array<{ x: number; y: number; w: number; h: number; score: number }>;
}

/**
 * One face-api detection pass (TinyFaceDetector.locateFaces) on an 8-bit RGB image given as
 * HWC bytes, built into a tf.tensor3d(int32) as face-api's docs do for node. The tensor that
 * runMobilenet receives and the [1,g,g,25] output of forwardInput are captured on the way.
 */
export async function runFaceApi(rgb: Uint8Array, width: number, height: number, inputSize: number, scoreThreshold = 0.5): Promise<FaceApiResult> {
  const { faceapi, tf, net } = await loadFaceApi();
  let input: TfTensor | undefined, conv8: TfTensor | undefined;
  const origRun = net.runMobilenet, origForward = net.forwardInput;
  net.runMobilenet = function (x: TfTensor, params: unknown) {
    input = tf.keep(x.clone()); // called inside forwardInput's tf.tidy
    return origRun.call(this, x, params);
  };
  net.forwardInput = function (inp: unknown, size: number) {
    const out = origForward.call(this, inp, size);
    conv8 = tf.keep(out.clone());
    return out;
  };
  const image = tf.tensor3d(Int32Array.from(rgb), [height, width, 3], 'int32');
  try {
    const found = await net.locateFaces(image, new faceapi.TinyFaceDetectorOptions({ inputSize, scoreThreshold }));
    if (!input || !conv8) throw new Error('face-api did not go through forwardInput/runMobilenet');
    if (input.shape.join() !== `1,${inputSize},${inputSize},3`) throw new Error(`face-api input shape ${input.shape}`);
    const grid = conv8.shape[1];
    return {
      input: Float32Array.from(input.dataSync()),
      conv8: Float32Array.from(conv8.dataSync()),
      grid,
      detections: found.map((d) => ({ x: d.box.x, y: d.box.y, w: d.box.width, h: d.box.height, score: d.score })),
    };
  } finally {
    net.runMobilenet = origRun;
    net.forwardInput = origForward;
    image.dispose();
    input?.dispose();
    conv8?.dispose();
  }
}

/** NHWC (batch 1) → C×H×W */
export function nhwcToChw(src: Float32Array, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[(k * h + y) * w + x] = src[(y * w + x) * c + k];
  return out;
}
