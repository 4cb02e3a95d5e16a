/**
 * A generator's FLOP count for one render, from its layer shapes (2 per multiply-add): the
 * modulated convolutions (an up-sampling transposed convolution counted at its input resolution,
 * as the convention for this cost goes), the ToRGB 1x1 convolutions and the style affines. The
 * blurs, noise and activations are a few FLOP per pixel and left out.
 */
import type { StyleGAN2Weights } from "./weights.ts";

export function generatorFlops(w: StyleGAN2Weights): number {
  const D = w.styleDim;
  let flops = 0;
  const conv = (cin: number, cout: number, k: number, res: number) => {
    flops += 2 * cin * cout * k * k * res * res + 2 * D * cin;
  };
  conv(w.conv1.cin, w.conv1.cout, 3, 4);
  conv(w.toRgb1.cin, 3, 1, 4);
  for (let r = 0; r < w.toRgbs.length; r++) {
    const res = 8 * 2 ** r;
    const up = w.convs[2 * r], plain = w.convs[2 * r + 1];
    conv(up.cin, up.cout, up.k, res / 2);
    conv(plain.cin, plain.cout, plain.k, res);
    conv(w.toRgbs[r].cin, 3, 1, res);
  }
  return flops;
}

/** The mapping network's FLOP count per z. */
export function mappingFlops(w: StyleGAN2Weights): number {
  return w.mapping.length * 2 * w.styleDim * w.styleDim;
}
