/**
 * Probe (development tool): how much the face detector's scores depend on the negative side of its
 * leaky activations. The ANN is run with every leaky slope scaled by k (k < 1: part of the negative
 * side missing, as in an IBT network whose small negative values have not yet produced a −1 spike),
 * and its boxes' logit bias against the true ANN is measured at 0.3.
 *   node --import tsx scripts/probe/negative-side.ts PHOTOS...
 */
import { detectImagesAnn } from '../../src/detect/ann-detect.ts';
import { fidelityAtThreshold } from '../../src/detect/fidelity.ts';
import { loadModel } from '../../src/model/load.ts';

const photos = process.argv.slice(2);
const ref = await detectImagesAnn(loadModel({ model: 'face' }), photos, { threshold: 0.3 });
for (const k of [0, 0.5, 0.8, 0.9, 0.95, 1.1]) {
  const net = loadModel({ model: 'face' });
  for (const l of net.layers) if (l.kind === 'conv' && l.activation === 'leaky') l.leakySlope *= k;
  const got = await detectImagesAnn(net, photos, { threshold: 0.05 });
  const f = fidelityAtThreshold(ref.images, got.images, { threshold: 0.3 });
  console.log(`leaky slope × ${k}: logit bias ${f.bias.mean?.toFixed(3)} mean, F1 ${f.f1.toFixed(3)} at 0.3`);
}
