/**
 * A perceptual distance in the spirit of LPIPS (Zhang et al. 2018), over the world's own network
 * features (in synthface the evaluation classifier's conv maps): at every layer, unit-normalise
 * each position's channel vector, take squared differences summed over channels, average over
 * positions; sum over layers. Without LPIPS's learned per-channel weights and not on VGG/AlexNet
 * features, it is not LPIPS and its values are not comparable with published LPIPS.
 */
import * as tf from "@tensorflow/tfjs";

/** Distances between pairs of images given their feature maps (same layers, same shapes) -> [N]. */
export function featureDistance(mapsA: tf.Tensor4D[], mapsB: tf.Tensor4D[]): tf.Tensor1D {
  if (mapsA.length !== mapsB.length) {
    throw new RangeError(`featureDistance: ${mapsA.length} vs ${mapsB.length} layers`);
  }
  return tf.tidy(() => {
    const unit = (m: tf.Tensor4D) =>
      tf.div(m, tf.add(tf.sqrt(tf.sum(tf.square(m), 3, true)), 1e-10));
    let total: tf.Tensor = tf.zeros([mapsA[0].shape[0]]);
    for (let l = 0; l < mapsA.length; l++) {
      const d = tf.sum(tf.square(tf.sub(unit(mapsA[l]), unit(mapsB[l]))), 3); // [N, h, w]
      total = tf.add(total, tf.mean(d, [1, 2]));
    }
    return total as tf.Tensor1D;
  });
}
