/**
 * Soft-edged shapes for the synthface renderer, as tfjs ops on a normalised pixel grid
 * (u right, v down, both in [-1, 1]): approximate signed distances, turned into coverage by a
 * sigmoid whose width is about one pixel at any resolution. Shape parameters are [N, 1, 1] tensors,
 * so every shape is differentiable in them. Grids are [1, H, W].
 *
 * Written for the wasm backend's costs (measured on [16, 64, 64]): add, mul, abs, relu and square
 * take 10-20 us, while sqrt takes ~220 us and maximum / minimum ~500 us. So distances are taken
 * in squared form near the edge ((d^2 - r^2) / 2r, equal to d - r to first order at the edge,
 * which is all a one-pixel soft edge sees), and max / min are built from relu.
 */
import * as tf from "@tensorflow/tfjs";

export type T = tf.Tensor;

export interface Grid {
  u: tf.Tensor3D; // [1, H, W]
  v: tf.Tensor3D; // [1, H, W]
  /** Edge softness in normalised units (about 0.6 pixel). */
  tau: number;
  size: number;
}

export function makeGrid(size: number): Grid {
  const coords = Float32Array.from({ length: size }, (_, i) => ((i + 0.5) / size) * 2 - 1);
  const u = tf.tensor3d(Float32Array.from({ length: size * size }, (_, k) => coords[k % size]), [
    1,
    size,
    size,
  ]);
  const v = tf.tensor3d(
    Float32Array.from({ length: size * size }, (_, k) => coords[Math.floor(k / size)]),
    [1, size, size],
  );
  return { u, v, tau: 1.2 / size, size };
}

/** Per-image scalar [N] as a broadcastable [N, 1, 1]. */
export function col(x: tf.Tensor): tf.Tensor3D {
  return tf.reshape(x, [-1, 1, 1]) as tf.Tensor3D;
}

/** max(a, b) = b + relu(a - b) (tf.maximum is slow on wasm). */
export function maxT(a: T, b: T | number): T {
  return tf.add(b, tf.relu(tf.sub(a, b)));
}

/** min(a, b) = a - relu(a - b). */
export function minT(a: T, b: T | number): T {
  return tf.sub(a, tf.relu(tf.sub(a, b)));
}

/** Coverage of the inside of a signed distance (negative inside); `soft` scales the edge width. */
export function cover(sdf: T, g: Grid, soft = 1): T {
  return tf.sigmoid(tf.mul(sdf, -1 / (g.tau * soft)));
}

/** Ellipse: ((du/rx)^2 + (dv/ry)^2 - 1) min(rx, ry) / 2, the distance to first order at the edge. */
export function ellipse(du: T, dv: T, rx: T | number, ry: T | number): T {
  const r2 = tf.add(tf.square(tf.div(du, rx)), tf.square(tf.div(dv, ry)));
  return tf.mul(tf.sub(r2, 1), tf.mul(minScalarish(rx, ry), 0.5));
}

function minScalarish(a: T | number, b: T | number): T | number {
  if (typeof a === "number" && typeof b === "number") return Math.min(a, b);
  return minT(tf.add(a, 0), b); // [N, 1, 1]: cheap
}

/** Horizontal capsule of half length hl and radius r at the origin: (d^2 - r^2) / 2r. */
export function hCapsule(du: T, dv: T, hl: T | number, r: T | number): T {
  const d2 = tf.add(tf.square(tf.relu(tf.sub(tf.abs(du), hl))), tf.square(dv));
  return tf.div(tf.sub(d2, tf.square(r)), tf.mul(r, 2));
}

/** Rounded box with half sizes (hx, hy) and corner radius rc (exact distance). */
export function roundedBox(du: T, dv: T, hx: T | number, hy: T | number, rc: number): T {
  const qx = tf.sub(tf.abs(du), tf.sub(hx, rc));
  const qy = tf.sub(tf.abs(dv), tf.sub(hy, rc));
  const outside = tf.sqrt(tf.add(tf.add(tf.square(tf.relu(qx)), tf.square(tf.relu(qy))), 1e-9));
  return tf.sub(tf.sub(outside, tf.relu(tf.neg(maxT(qx, qy)))), rc);
}

/** Rotates offsets by angle theta [N, 1, 1] (radians). */
export function rotate(du: T, dv: T, theta: T): [T, T] {
  const c = tf.cos(theta), s = tf.sin(theta);
  return [tf.add(tf.mul(du, c), tf.mul(dv, s)), tf.sub(tf.mul(dv, c), tf.mul(du, s))];
}

/** Smoothstep of x from a to b, differentiable inside (a, b). */
export function smoothstep(a: number, b: number, x: T): T {
  const t = tf.clipByValue(tf.div(tf.sub(x, a), b - a), 0, 1);
  return tf.mul(tf.square(t), tf.sub(3, tf.mul(t, 2)));
}

/** a + (b - a) t. */
export function lerp(a: number | T, b: number | T, t: T): T {
  return tf.add(a, tf.mul(tf.sub(b, a), t));
}

/** Colour between palette stops (rows of [S, 3]) at t in [0, 1], [N, 3]. */
export function palette(stops: number[][], t: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const S = stops.length;
    const x = tf.mul(tf.clipByValue(tf.reshape(t, [-1]), 0, 1), S - 1); // [N]
    const weights = tf.stack(stops.map((_, i) => tf.relu(tf.sub(1, tf.abs(tf.sub(x, i))))), 1); // [N, S] hat functions
    return tf.matMul(weights, tf.tensor2d(stops)) as tf.Tensor2D;
  });
}
