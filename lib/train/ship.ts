/**
 * Shipping a finished run as checkpoints/idstyle-synthface-<preset>.safetensors, with its training
 * metrics (.metrics.jsonl) and a model card (.md): data, steps, time, results.
 */
import { writeFileAtomic } from "../io/atomic.ts";
import { loadEditor } from "../io/checkpoint.ts";
import type { PresetName } from "../model/config.ts";
import { type MetricRow, RunDir } from "./run_dir.ts";
import { SHIPPED_CHECKPOINTS } from "./shipped.ts";
import type { TrainConfig } from "./config.ts";
import { formatDuration } from "../util/progress.ts";
import type { SynthFace } from "../world/synthface/world.ts";
import { editShowcase } from "../eval/showcase.ts";
import { writePng } from "../viz/png.ts";
import { backend } from "../backend.ts";

export async function shipRun(
  runPath: string,
  preset: PresetName,
  world: SynthFace,
): Promise<string> {
  const run = new RunDir(runPath);
  const target = SHIPPED_CHECKPOINTS[preset];
  const editorPath = `${runPath}/editor.safetensors`;
  const { editor, config, metadata } = await loadEditor(editorPath); // checks the file
  const bytes = await Deno.readFile(editorPath);
  await writeFileAtomic(target, bytes);
  const metrics = await run.readMetrics();
  await writeFileAtomic(
    target.replace(".safetensors", ".metrics.jsonl"),
    metrics.map((r) => JSON.stringify(r) + "\n").join(""),
  );
  const train = (config as unknown as { train: TrainConfig }).train;
  const trainRows = metrics.filter((r) => r.type === "train");
  const evals = metrics.filter((r) => r.type === "eval");
  const last = evals[evals.length - 1] as MetricRow | undefined;
  const seconds = Number(metadata["train.seconds"] ?? NaN);
  const counts = editor.countParameters();
  const fmt = (x: unknown, d = 3) => (typeof x === "number" ? x.toFixed(d) : "-");
  const figure = target.replace(".safetensors", ".png");
  const identityNet = await Deno.readTextFile(`${runPath}/world.json`)
    .then((t) => (JSON.parse(t).identity as string | undefined) ?? "not recorded by its world")
    .catch(() => "not recorded (the run predates world.json)");
  await writePng(figure, editShowcase(world, editor));
  const card = `# ID-Style on synthface, \`${preset}\` preset

![8 faces (seed 2024), each attribute added and removed, then all four toggled at once](${
    figure.split("/").pop()
  })

\`${target.split("/").pop()}\`: an ID-Style editor (${
    counts.total.toLocaleString("en-US")
  } parameters,
${counts.trainable.toLocaleString("en-US")} trainable) for the synthface world's four attributes
(${editor.attributes.join(", ")}), in the authors' PyTorch state_dict names (see the README).

- **Data**: the synthface dataset (data/synthface/): 80,000 style-mixed training samples of 10,000
  latents, labels from the training attribute classifier.
- **Training**: \`deno task train --model ${preset} --schedule ${train.schedule}\`: ${
    train.steps.toLocaleString("en-US")
  } steps at batch
  ${train.batchSize}, targets \`${train.targets}\`, images at ${train.resolution}x${train.resolution}, seed ${train.seed};
  ${
    config.loss
      ? `losses nb ${config.loss.weights.nb}, direction ${config.loss.weights.direction} (${config.loss.direction}), sparsity ${config.loss.weights.sparsity}, class ${config.loss.weights.class}, id ${config.loss.weights.id} (${config.loss.identity}), per-attribute terms ${config.loss.attributeReduction}`
      : ""
  };
  AdaBelief lr ${config.optim?.lr}, betas (${config.optim?.beta1}, ${config.optim?.beta2}), ${config.optim?.schedule.kind}.
- **Time**: ${
    Number.isFinite(seconds) ? formatDuration(seconds) : "?"
  } of wall time on the ${backend.name} backend (${navigator.hardwareConcurrency} cores; other work
  on the same cores lengthens it) (${
    trainRows.length
      ? fmt(trainRows.reduce((s, r) => s + (r.stepsPerSecond as number), 0) / trainRows.length, 2)
      : "?"
  } steps/s).
- **Last evaluation** (step ${last?.step ?? "-"}, the first ${
    last?.samples ?? "-"
  } test samples, each attribute edited both ways):
  mACC ${last ? fmt(100 * (last.mAcc as number), 1) : "-"}% by the evaluation classifier (${
    editor.attributes.map((a) => `${a} ${last ? fmt(100 * (last[`acc_${a}`] as number), 1) : "-"}%`)
      .join(", ")
  }),
  oracle mACC ${last ? fmt(100 * (last.oracleMAcc as number), 1) : "-"}%, FRS ${
    fmt(last?.frs)
  }, oracle identity ${fmt(last?.oracleIdentity)}, SSIM ${fmt(last?.ssim)}.
  The full evaluation (1,000 test latents, W and W+, beside the baselines) is notebook 03 and \`deno task evaluate\`.
- **Identity network** it trained against (L_id and FRS): ${identityNet}.
- **Files**: this card, the weights, \`${
    target.split("/").pop()?.replace(".safetensors", ".metrics.jsonl")
  }\` (every logged step and evaluation).
`;
  await writeFileAtomic(target.replace(".safetensors", ".md"), card);
  editor.dispose();
  return target;
}
