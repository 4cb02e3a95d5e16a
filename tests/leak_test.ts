/** The tfjs tensor count is the same after 10 training steps as after 1 (no leak per step). */
import { assertEquals, tf } from "./_util.ts";
import { toyModels } from "./_toy_models.ts";
import { makeConfig, type PresetName } from "../lib/model/config.ts";
import { IDStyleEditor } from "../lib/model/editor.ts";
import { editorLosses } from "../lib/losses/total.ts";
import { AdaBelief } from "../lib/optim/adabelief.ts";
import { lrAt } from "../lib/optim/schedule.ts";
import { Rng } from "../lib/util/rng.ts";

for (const preset of ["paper", "official"] as PresetName[]) {
  Deno.test(`no tensor leak over training steps (${preset}, all five losses)`, () => {
    const cfg = makeConfig(preset, { model: { numLayers: 18, latentDim: 32, hiddenDim: 16 } });
    const editor = new IDStyleEditor(cfg.model);
    const opt = new AdaBelief(editor.trainableVariables(), cfg.optim);
    const models = toyModels(18, 32, 4);
    const rng = new Rng(1);
    const step = (i: number) => {
      const batch = {
        wPlus: tf.tensor3d(rng.normals(2 * 18 * 32), [2, 18, 32]),
        attr: tf.tensor2d([[1, -1, 1, -1], [-1, 1, -1, 1]]),
        targets: tf.tensor2d([[1, 0, 1, 0], [0, 1, 0, 1]]),
      };
      const vars = editor.trainableVariables();
      const { value, grads } = tf.variableGrads(
        () => editorLosses(editor, batch, cfg.loss, i, models).total,
        vars,
      );
      opt.apply(vars.map((v) => grads[v.name]), lrAt(i, cfg.optim, 10_000));
      value.dispose();
      tf.dispose(grads);
      tf.dispose([batch.wPlus, batch.attr, batch.targets]);
    };
    step(0);
    const after1 = tf.memory().numTensors;
    for (let i = 1; i < 10; i++) step(i);
    assertEquals(tf.memory().numTensors, after1);
    opt.dispose();
    editor.dispose();
  });
}
