/** Conversion: calibration statistics, normalization, ANN → SNN IR, the .snn file. */
export * from './snn-ir.ts';
export { ActivationStats, calibrate, calibrateInputs, histogramPercentile, PERCENTILE_REL_ERROR } from './calibrate.ts';
export type { CalibrateOptions, LayerActivationStats, StatSide } from './calibrate.ts';
export { concatLambda, effectiveConv, fuseLinearInto, lambdaRange, normalizeConv } from './normalize.ts';
export { convertNetwork, convertNetworkWithReport, defaultSettings, validateSettings } from './convert.ts';
export type { ConversionResult, LayerReport } from './convert.ts';
export { decodeSnn, encodeSnn, isSnnFile, loadSnn, saveSnn, SNN_MAGIC } from './snn-file.ts';
export { describeQuantization, quantizeForChip, signedLevels, thresholdOnGrid } from './quantize.ts';
export type { ChipBits, LayerQuantization, QuantizationReport } from './quantize.ts';
