/** One detected box, in original-image pixels, x/y the top-left corner. */
export interface Detection {
  x: number;
  y: number;
  w: number;
  h: number;
  score: number;
  /** class id (0 for single-class models) */
  classId: number;
  /** class name where the model has names, otherwise the id as a string */
  className: string;
}

/** Detections for one image, as written in the detections JSON. */
export interface ImageDetections {
  file: string;
  width: number;
  height: number;
  detections: Detection[];
}

/** The detections JSON file that `neuroemu detect --json` writes. */
export interface DetectionsFile {
  model: string;
  engine: 'ann' | 'snn';
  size: number;
  images: Array<{
    file: string;
    width: number;
    height: number;
    detections: Array<{ x: number; y: number; w: number; h: number; score: number; class: string }>;
  }>;
}
