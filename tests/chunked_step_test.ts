/**
 * The training step with image losses in chunks (for generators whose tape does not fit in
 * memory) equals the one-graph step: the same loss terms and the same parameters after a step,
 * for both presets' loss configurations and chunk sizes that do and do not divide the renders.
 */
import { assert, maxAbsDiff, tf } from "./_util.ts";
import { toyModels } from "./_toy_models.ts";
import { makeConfig, type PresetName } from "../lib/model/config.ts";
import { IDStyleEditor } from "../lib/model/editor.ts";
import { AdaBelief } from "../lib/optim/adabelief.ts";
import { trainStep } from "../lib/train/step.ts";
import { trainStepChunked } from "../lib/train/chunked_step.ts";
import { Rng } from "../lib/util/rng.ts";

const L = 4, D = 6;
const ATTRS = ["a", "b", "c"];

function setup(preset: PresetName) {
  const cfg = makeConfig(preset, {
    model: {
      attributes: ATTRS,
      numLayers: L,
      latentDim: D,
      hiddenDim: 5,
      fixedLayerRows: { a: [0, 1], b: [1, 2], c: [3] },
    },
  });
  const editor = new IDStyleEditor(cfg.model);
  return { cfg, editor, opt: new AdaBelief(editor.trainableVariables(), cfg.optim) };
}

for (const preset of ["official", "paper"] as PresetName[]) {
  for (const chunk of [1, 2, 5]) {
    Deno.test(`chunked image losses equal the one-graph step (${preset}, chunk ${chunk})`, () => {
      const rng = new Rng(5);
      const batch = {
        wPlus: tf.tensor3d(rng.normals(2 * L * D), [2, L, D]),
        attr: tf.tensor2d([[1, -1, 1], [-1, 1, 0]]),
        targets: tf.tensor2d([[1, 0, 1], [0, 1, 1]]),
      };
      const models = toyModels(L, D, ATTRS.length);
      const a = setup(preset), b = setup(preset);
      for (const [pa, pb] of a.editor.params().map((p, i) => [p, b.editor.params()[i]])) {
        pb.variable.assign(pa.variable);
      }
      for (let step = 0; step < 3; step++) {
        const la = trainStep(a.editor, a.opt, batch, a.cfg.loss, step, 1e-2, models);
        const lb = trainStepChunked(b.editor, b.opt, batch, b.cfg.loss, step, 1e-2, models, chunk);
        for (const k of Object.keys(la) as (keyof typeof la)[]) {
          assert(
            Math.abs(la[k]! - lb[k]!) <= 1e-5 * (1 + Math.abs(la[k]!)),
            `step ${step} ${k}: ${la[k]} vs ${lb[k]}`,
          );
        }
      }
      a.editor.params().forEach((p, i) => {
        const d = maxAbsDiff(p.variable.dataSync(), b.editor.params()[i].variable.dataSync());
        assert(d < 1e-5, `${p.name} differs by ${d} after 3 steps`);
      });
      const before = tf.memory().numTensors;
      trainStepChunked(b.editor, b.opt, batch, b.cfg.loss, 3, 1e-2, models, chunk);
      assert(
        tf.memory().numTensors === before,
        `tensors leaked: ${tf.memory().numTensors - before}`,
      );
      a.editor.dispose();
      b.editor.dispose();
      a.opt.dispose();
      b.opt.dispose();
    });
  }
}
