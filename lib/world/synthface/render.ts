/**
 * The synthface renderer: factor values [N, F] -> images [N, H, W, 3] in [-1, 1], differentiable,
 * resolution-independent (train at 64, show at 256). Soft shapes (sdf.ts) are painted back to
 * front: background, long hair, shirt, neck, ears, face, cheeks, stubble, eyes, brows, wrinkles,
 * nose, mouth, hair cap, glasses; then lighting.
 *
 * What the attributes draw: gender (male) shortens the hair, adds stubble and thick brows, widens
 * the jaw and removes lip tint and eyeliner; age greys the hair and adds nasolabial folds, forehead
 * lines and eye bags; smile curves and opens the mouth, lifts pink cheeks and narrows the eyes;
 * glasses draw dark frames and tinted lenses. Their visibility ramps over values 0.3-0.7 (the open
 * smile over 0.4-0.65), so the label (value > 0.5) is visible at a glance at 64x64.
 *
 * The image is kept as three [N, H, W] colour planes while painting: on wasm, broadcasting along
 * the channel axis runs ~30x slower per element than same-shape ops, and stacking on the last axis
 * costs more than the whole face. The planes are assembled once at the end (stack on axis 0, then
 * one 2D transpose).
 */
import * as tf from "@tensorflow/tfjs";
import {
  col,
  cover,
  ellipse,
  type Grid,
  hCapsule,
  lerp,
  makeGrid,
  maxT,
  minT,
  palette,
  rotate,
  roundedBox,
  smoothstep,
  type T,
} from "./sdf.ts";
import { factorIndex } from "./spec.ts";

const SKIN = [[0.98, 0.86, 0.76], [0.9, 0.7, 0.55], [0.7, 0.49, 0.34], [0.45, 0.3, 0.21]];
const HAIR = [[0.88, 0.74, 0.46], [0.62, 0.3, 0.15], [0.42, 0.27, 0.16], [0.25, 0.17, 0.11]];
const GREY = [0.84, 0.84, 0.86];
const IRIS = [[0.3, 0.52, 0.82], [0.33, 0.58, 0.32], [0.48, 0.3, 0.13], [0.2, 0.13, 0.08]];
const BACKGROUND = [[0.55, 0.7, 0.88], [0.72, 0.86, 0.62], [0.9, 0.78, 0.55], [0.84, 0.62, 0.74], [
  0.62,
  0.62,
  0.68,
]];
const SHIRT = [[0.2, 0.3, 0.62], [0.62, 0.2, 0.22], [0.2, 0.5, 0.3], [0.88, 0.88, 0.88], [
  0.16,
  0.16,
  0.18,
]];

/** A colour as three planes, each [N, 1, 1] (flat) or [N, H, W] (shaded). */
type Rgb = [T, T, T];

const grids = new Map<number, Grid>();

/** The pixel grid of a resolution, built once and kept. */
function grid(size: number): Grid {
  let g = grids.get(size);
  if (!g) {
    g = makeGrid(size);
    tf.keep(g.u); // outlives any tidy scope that first asks for it
    tf.keep(g.v);
    grids.set(size, g);
  }
  return g;
}

/** [N, 3] colours as three [N, 1, 1] planes. */
function planes(c: tf.Tensor2D): Rgb {
  return tf.split(c, 3, 1).map((p) => tf.reshape(p, [-1, 1, 1])) as Rgb;
}

function constant(c: number[]): Rgb {
  return c.map((x) => tf.scalar(x)) as Rgb;
}

function scale(c: Rgb, k: T | number): Rgb {
  return c.map((p) => tf.mul(p, k)) as Rgb;
}

/** c1 + (c2 - c1) t, per plane. */
function mix(c1: Rgb, c2: Rgb, t: T): Rgb {
  return c1.map((p, i) => lerp(p, c2[i], t)) as Rgb;
}

/** Assembles three [N, H, W] planes into [N, H, W, 3]. */
function assemble(p: Rgb): tf.Tensor4D {
  const [N, H, W] = p[0].shape;
  return tf.reshape(tf.transpose(tf.reshape(tf.stack(p, 0), [3, N * H * W])), [
    N,
    H,
    W,
    3,
  ]) as tf.Tensor4D;
}

export function renderFactors(values: tf.Tensor2D, size = 64): tf.Tensor4D {
  const g = grid(size);
  return tf.tidy(() => {
    const cols = tf.split(values, values.shape[1], 1);
    const f = (name: string) => col(cols[factorIndex(name)]); // [N, 1, 1]

    // Attribute visibility.
    const male = smoothstep(0.3, 0.7, f("gender"));
    const female = tf.sub(1, male);
    const specs = smoothstep(0.3, 0.7, f("glasses"));
    const old = smoothstep(0.3, 0.7, f("age"));
    const smile = smoothstep(0.25, 0.75, f("smile"));
    const open = smoothstep(0.4, 0.65, f("smile")); // teeth show as the label flips

    // Colours, as planes.
    const skin = scale(planes(palette(SKIN, f("skinTone"))), lerp(1, 0.93, old));
    const baseHair = scale(planes(palette(HAIR, f("hairHue"))), lerp(1.05, 0.4, f("hairDarkness")));
    const hair = mix(baseHair, constant(GREY), tf.mul(old, 0.92));
    const iris = planes(palette(IRIS, f("irisHue")));
    const bg = scale(planes(palette(BACKGROUND, f("bgHue"))), lerp(0.62, 1.08, f("bgLevel")));
    const shirt = planes(palette(SHIRT, f("shirtHue")));
    const lips = mix(scale(skin, 0.78), constant([0.8, 0.27, 0.33]), female);

    // Pose: the head turns (yaw shifts it, the features further) and tilts (roll).
    const yaw = tf.sub(f("yaw"), 0.5);
    const cx = tf.mul(yaw, 0.22);
    const [du, dv] = rotate(tf.sub(g.u, cx), g.v, tf.mul(tf.sub(f("roll"), 0.5), 0.3));
    const fdu = tf.sub(du, tf.mul(yaw, 0.1)); // features
    const mdu = tf.abs(fdu); // mirrored, for paired features

    // Head geometry.
    const fw = tf.add(lerp(0.38, 0.5, f("faceWidth")), tf.mul(male, 0.03));
    const fh = lerp(0.52, 0.64, f("faceLength"));
    const dvF = tf.add(dv, 0.02);
    const taper = tf.sub(
      tf.mul(lerp(0.45, 0.18, f("jawWidth")), tf.sub(1, tf.mul(male, 0.35))),
      tf.mul(old, 0.06),
    );
    const t = tf.clipByValue(tf.div(tf.relu(dvF), fh), 0, 1.5);
    const pointed = lerp(0, 0.7, f("chinShape")); // a pointed chin tapers linearly, a round one quadratically
    const widthScale = tf.sub(1, tf.mul(taper, lerp(tf.square(t), t, pointed)));
    const faceA = cover(ellipse(tf.div(du, widthScale), dvF, fw, fh), g);
    const volume = lerp(0.03, 0.13, f("hairStyle"));
    const length = tf.clipByValue(
      tf.add(tf.mul(female, 0.9), tf.mul(tf.sub(f("hairStyle"), 0.5), 0.5)),
      0,
      1,
    );

    // The image: three planes; each layer in its own scope so that its intermediates are freed.
    const shadeBg = tf.sub(1, tf.mul(g.v, 0.12));
    let img: Rgb = bg.map((p) => tf.mul(p, shadeBg)) as Rgb;
    const layer = (fn: () => [T, Rgb]) => {
      const prev = img;
      img = tf.tidy(() => {
        const [alpha, c] = fn();
        return prev.map((p, i) => tf.add(p, tf.mul(alpha, tf.sub(c[i], p)))) as Rgb;
      });
      tf.dispose(prev);
    };

    // Long hair behind the head.
    layer(() => {
      const top = ellipse(du, tf.add(dvF, 0.07), tf.add(fw, volume), tf.add(fh, 0.07));
      const bottom = lerp(0.12, 1.15, length);
      const box = roundedBox(
        du,
        tf.sub(dvF, tf.div(tf.sub(bottom, 0.1), 2)),
        tf.add(fw, tf.mul(volume, 0.8)),
        tf.div(tf.add(bottom, 0.1), 2),
        0.12,
      );
      return [cover(minT(top, box), g), hair];
    });
    // Shirt and neck.
    layer(
      () => [cover(ellipse(tf.sub(g.u, tf.mul(cx, 0.3)), tf.sub(g.v, 1.22), 0.95, 0.42), g), shirt],
    );
    layer(
      () => [
        cover(
          roundedBox(
            tf.sub(g.u, tf.mul(cx, 0.5)),
            tf.sub(g.v, 0.85),
            tf.add(0.15, tf.mul(male, 0.03)),
            0.3,
            0.05,
          ),
          g,
        ),
        scale(skin, 0.84),
      ],
    );
    // Ears, then the face with a rounded shading.
    layer(() => {
      const ear = lerp(0.75, 1.3, f("earSize"));
      return [
        cover(
          ellipse(
            tf.sub(tf.abs(du), tf.mul(fw, 0.96)),
            tf.add(dvF, 0.02),
            tf.mul(ear, 0.06),
            tf.mul(ear, 0.11),
          ),
          g,
        ),
        scale(skin, 0.9),
      ];
    });
    layer(() => [faceA, scale(skin, tf.sub(1, tf.mul(tf.square(tf.div(du, fw)), 0.22)))]);
    // Cheeks (smile, and a little for women), stubble (men).
    layer(() => {
      const cheeks = cover(
        ellipse(tf.sub(mdu, 0.21), tf.sub(dvF, tf.sub(0.1, tf.mul(smile, 0.03))), 0.075, 0.06),
        g,
        2,
      );
      return [
        tf.mul(tf.mul(cheeks, faceA), tf.add(tf.mul(smile, 0.45), tf.mul(female, 0.15))),
        constant([0.93, 0.45, 0.45]),
      ];
    });
    layer(() => {
      const beard = cover(ellipse(du, tf.sub(dvF, 0.4), tf.mul(fw, 0.85), 0.3), g, 2);
      return [tf.mul(tf.mul(beard, faceA), tf.mul(male, 0.45)), scale(hair, 0.55)];
    });

    // Eyes: whites, irises and pupils clipped to them, eyeliner (women), eye bags (age).
    const spacing = lerp(0.15, 0.22, f("eyeSpacing"));
    const rx = lerp(0.055, 0.08, f("eyeSize"));
    const ry = tf.mul(
      tf.mul(tf.mul(rx, lerp(0.42, 0.72, f("eyeShape"))), tf.sub(1, tf.mul(smile, 0.4))),
      tf.sub(1, tf.mul(old, 0.2)),
    );
    const eu = tf.sub(mdu, spacing), ev = tf.add(dvF, 0.1);
    const eyeSdf = ellipse(eu, ev, rx, ry);
    const eyeA = cover(eyeSdf, g);
    layer(() => [eyeA, constant([0.97, 0.97, 0.97])]);
    const ri = tf.mul(rx, 0.48);
    layer(() => [tf.mul(cover(ellipse(eu, ev, ri, ri), g), eyeA), iris]);
    layer(
      () => [
        tf.mul(cover(ellipse(eu, ev, tf.mul(ri, 0.45), tf.mul(ri, 0.45)), g), eyeA),
        constant([0.05, 0.04, 0.04]),
      ],
    );
    layer(
      () => [
        tf.mul(cover(tf.sub(tf.abs(eyeSdf), 0.006), g), tf.add(0.25, tf.mul(female, 0.65))),
        constant([0.1, 0.07, 0.07]),
      ],
    );
    layer(() => {
      const bags = cover(
        tf.sub(tf.abs(ellipse(eu, tf.sub(ev, 0.03), tf.mul(rx, 0.9), 0.045)), 0.005),
        g,
      );
      return [
        tf.mul(tf.mul(bags, cover(tf.neg(tf.sub(ev, 0.03)), g)), tf.mul(old, 0.7)),
        scale(skin, 0.6),
      ];
    });
    // Brows.
    layer(() => {
      const [bu, bv] = rotate(eu, tf.add(ev, 0.09), lerp(-0.3, 0.3, f("browTilt")));
      const browR = tf.add(lerp(0.008, 0.02, f("browThickness")), tf.mul(male, 0.008));
      return [cover(hCapsule(bu, bv, 0.06, browR), g), scale(hair, 0.55)];
    });
    // Wrinkles (age): forehead lines and nasolabial folds.
    const noseTip = lerp(0.11, 0.2, f("noseLength"));
    layer(() => {
      let lines: T = maxT(
        cover(hCapsule(fdu, tf.add(dvF, 0.43), 0.15, 0.007), g),
        cover(hCapsule(fdu, tf.add(dvF, 0.36), 0.15, 0.007), g),
      );
      const fold = tf.sub(
        tf.abs(ellipse(tf.sub(mdu, 0.02), tf.sub(dvF, tf.add(noseTip, 0.02)), 0.15, 0.12)),
        0.007,
      );
      const band = tf.mul(
        cover(tf.sub(tf.abs(tf.sub(dvF, tf.add(noseTip, 0.07))), 0.075), g),
        cover(tf.sub(0.07, mdu), g),
      );
      lines = maxT(lines, tf.mul(cover(fold, g), band));
      return [tf.mul(tf.mul(lines, faceA), tf.mul(old, 0.75)), scale(skin, 0.55)];
    });
    // Nose and nostrils.
    const noseW = lerp(0.018, 0.034, f("noseWidth"));
    layer(() => {
      const mid = tf.div(tf.sub(noseTip, 0.05), 2);
      return [
        tf.mul(
          cover(hCapsule(tf.sub(dvF, mid), fdu, tf.div(tf.add(noseTip, 0.05), 2), noseW), g, 1.5),
          0.5,
        ),
        scale(skin, 0.8),
      ];
    });
    layer(
      () => [
        cover(ellipse(tf.sub(mdu, tf.mul(noseW, 1.1)), tf.sub(dvF, noseTip), 0.016, 0.01), g),
        scale(skin, 0.45),
      ],
    );
    // Mouth: lips around a centre line that curves up with the smile, teeth when open.
    const mw = tf.add(lerp(0.09, 0.14, f("mouthWidth")), tf.mul(smile, 0.03));
    const tm = tf.div(fdu, mw);
    const curve = lerp(-0.012, 0.07, smile);
    const dm = tf.sub(
      dvF,
      tf.add(tf.add(noseTip, 0.1), tf.mul(curve, tf.sub(0.35, tf.square(tm)))),
    );
    const gap = tf.mul(open, 0.045);
    const widthSdf = tf.sub(tf.abs(fdu), mw);
    layer(() => {
      const lt = tf.mul(lerp(0.012, 0.028, f("lipThickness")), tf.sub(1, tf.mul(male, 0.3)));
      return [cover(maxT(tf.sub(tf.abs(dm), tf.add(lt, tf.div(gap, 2))), widthSdf), g), lips];
    });
    layer(
      () => [
        tf.mul(
          cover(maxT(tf.sub(tf.abs(dm), tf.div(gap, 2)), tf.sub(tf.abs(fdu), tf.mul(mw, 0.85))), g),
          open,
        ),
        constant([0.96, 0.94, 0.9]),
      ],
    );
    layer(
      () => [
        tf.mul(cover(maxT(tf.sub(tf.abs(dm), 0.004), widthSdf), g), tf.mul(tf.sub(1, open), 0.8)),
        scale(lips, 0.5),
      ],
    );
    // Hair cap above the hairline (the fringe lowers it in the middle).
    layer(() => {
      const cap = cover(
        ellipse(
          du,
          tf.add(dvF, 0.05),
          tf.add(tf.add(fw, 0.03), tf.mul(volume, 0.5)),
          tf.add(fh, 0.08),
        ),
        g,
      );
      const hairY = tf.add(
        tf.add(tf.neg(fh), lerp(0.15, 0.33, f("hairline"))),
        tf.mul(tf.mul(male, old), 0.06),
      );
      const fringe = tf.mul(
        tf.sub(f("hairStyle"), 0.5),
        tf.mul(tf.relu(tf.sub(1, tf.abs(tf.div(du, fw)))), 0.12),
      );
      const above = cover(
        tf.sub(dvF, tf.add(tf.add(hairY, fringe), tf.mul(tf.square(tf.div(du, fw)), 0.3))),
        g,
        2,
      );
      return [tf.mul(cap, above), hair];
    });
    // Glasses: tinted lenses, frames, bridge and temples.
    const lens = roundedBox(eu, tf.add(ev, 0.005), 0.095, 0.07, 0.035);
    layer(() => [tf.mul(cover(lens, g), tf.mul(specs, 0.35)), constant([0.22, 0.28, 0.34])]);
    layer(() => {
      const frame = cover(tf.sub(tf.abs(lens), 0.011), g);
      const bridge = cover(hCapsule(fdu, tf.add(ev, 0.01), tf.sub(spacing, 0.095), 0.009), g);
      const reach = tf.sub(fw, tf.add(spacing, 0.095));
      const temple = cover(
        hCapsule(
          tf.sub(mdu, tf.add(tf.add(spacing, 0.095), tf.div(reach, 2))),
          ev,
          tf.div(reach, 2),
          0.008,
        ),
        g,
      );
      return [tf.mul(maxT(maxT(frame, bridge), temple), specs), constant([0.06, 0.06, 0.08])];
    });
    // Lighting: level and a left-right gradient; then [-1, 1].
    const light = tf.add(
      lerp(0.8, 1.15, f("lightLevel")),
      tf.mul(tf.mul(tf.sub(f("lightDir"), 0.5), 0.5), g.u),
    );
    const lit = img.map((p) => tf.sub(tf.mul(tf.clipByValue(tf.mul(p, light), 0, 1), 2), 1)) as Rgb;
    return assemble(lit);
  });
}
