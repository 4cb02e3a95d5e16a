/**
 * `deno task train-evaluators [--only classifier,evalClassifier,identity] [--quick] [--out DIR]`:
 * retrains the synthface evaluators from their seeds (lib/world/evaluators/config.ts), with a
 * progress bar, checks them on held-out renders, and writes each network and its metrics
 * (`<name>.safetensors`, `<name>.metrics.json`) to checkpoints/synthface/ (or --out).
 */
import { backend } from "../backend.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { loadSynthFace, SYNTHFACE_DIR } from "../world/synthface/world.ts";
import { EVAL_CLASSIFIER, IDENTITY_NET, TRAIN_CLASSIFIER } from "../world/evaluators/specs.ts";
import { EVALUATOR_BARS, EVALUATOR_TRAINING } from "../world/evaluators/config.ts";
import {
  evaluateClassifier,
  evaluateIdentity,
  heldOutValues,
  trainClassifier,
  trainIdentity,
} from "../world/evaluators/train.ts";
import type { ConvNet } from "../world/evaluators/convnet.ts";
import { parseArgs } from "./args.ts";

const NAMES = ["classifier", "evalClassifier", "identity"] as const;
type Name = (typeof NAMES)[number];

const args = parseArgs(Deno.args, {
  usage:
    "deno task train-evaluators [--only classifier,evalClassifier,identity] [--quick] [--scale F] [--out DIR]",
  flags: {
    quick: "a tenth of the steps (a smoke run; the bars will not be met)",
    help: "this text",
  },
  options: {
    only: "comma-separated networks (default: all three)",
    out: `output directory (default ${SYNTHFACE_DIR})`,
    scale: "fraction of the steps, in (0, 1] (--quick: 0.1)",
  },
});
const only = (args.options.only?.split(",") ?? [...NAMES]) as Name[];
for (const n of only) {
  if (!NAMES.includes(n)) {
    args.fail(`--only: unknown network "${n}"; expected ${NAMES.join(", ")}`);
  }
}
const out = (args.options.out ?? SYNTHFACE_DIR).replace(/\/$/, "");
await Deno.mkdir(out, { recursive: true });
const scale = args.options.scale !== undefined
  ? Number(args.options.scale)
  : args.flags.quick
  ? 0.1
  : 1;
if (!(scale > 0 && scale <= 1)) {
  args.fail(`--scale: expected a number in (0, 1], got "${args.options.scale}"`);
}

const world = await loadSynthFace({ evaluators: false, dir: SYNTHFACE_DIR });
const cfg = EVALUATOR_TRAINING;
const lossCurve = (losses: number[]) => {
  const every = Math.max(1, Math.floor(losses.length / 50));
  return Array.from({ length: Math.ceil(losses.length / every) }, (_, i) => {
    const w = losses.slice(i * every, (i + 1) * every);
    return { step: i * every, loss: w.reduce((a, b) => a + b, 0) / w.length };
  });
};
const save = async (name: string, net: ConvNet, metrics: Record<string, unknown>) => {
  await net.save(`${out}/${name}.safetensors`, { trained: new Date().toISOString() });
  await writeFileAtomic(`${out}/${name}.metrics.json`, JSON.stringify(metrics, null, 2) + "\n");
};

let held: Float32Array | null = null;
for (const name of only) {
  const t0 = performance.now();
  if (name === "identity") {
    // Phases, each resumable from its own state file (removed once the network is written).
    let net: ConvNet | undefined;
    const phases = [];
    const states: string[] = [];
    for (const [i, phase] of cfg.identity.entries()) {
      const opts = { ...phase, steps: Math.round(phase.steps * scale) };
      const statePath = `${out}/identity.phase${i + 1}.state.safetensors`;
      states.push(statePath);
      const run = await trainIdentity(world, IDENTITY_NET, opts, {
        statePath,
        validation: cfg.validation,
        init: net,
      });
      if (run.resumedFrom > 0) {
        console.log(`identity phase ${i + 1}: resumed from step ${run.resumedFrom} (${statePath})`);
      }
      net?.dispose();
      net = run.net;
      phases.push({
        training: opts,
        trainSeconds: run.trainSeconds,
        validation: run.validation,
        lossCurve: lossCurve(run.losses),
      });
    }
    const m = evaluateIdentity(world, net!, cfg.heldOut.identitySeed, cfg.heldOut.identities);
    console.log(
      `identity: verification ROC AUC ${
        m.rocAuc.toFixed(4)
      } (bar ${EVALUATOR_BARS.rocAuc}), mean cos same ${m.meanCosSame.toFixed(3)}, different ${
        m.meanCosDifferent.toFixed(3)
      }`,
    );
    await save(IDENTITY_NET.name, net!, {
      network: IDENTITY_NET.name,
      parameters: net!.countParameters(),
      trainSeconds: phases.reduce((s, p) => s + p.trainSeconds, 0),
      backend: backend.name,
      heldOut: m,
      validation: { ...cfg.validation, note: "other identities than heldOut; used to choose" },
      phases,
    });
    for (const s of states) await Deno.remove(s);
    net!.dispose();
  } else {
    const spec = name === "classifier" ? TRAIN_CLASSIFIER : EVAL_CLASSIFIER;
    const opts = { ...cfg[name], steps: Math.round(cfg[name].steps * scale) };
    const { net, losses } = await trainClassifier(world, spec, opts);
    const trainSeconds = (performance.now() - t0) / 1000;
    held ??= heldOutValues(world, cfg.heldOut.renders, cfg.heldOut.seed);
    const accuracy = evaluateClassifier(world, net, held);
    const mean = Object.values(accuracy).reduce((a, b) => a + b, 0) / Object.keys(accuracy).length;
    console.log(
      `${spec.name}: held-out accuracy ${
        Object.entries(accuracy).map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`).join(", ")
      } (bar ${100 * EVALUATOR_BARS.accuracy}%)`,
    );
    await save(spec.name, net, {
      network: spec.name,
      parameters: net.countParameters(),
      training: opts,
      trainSeconds,
      backend: backend.name,
      heldOut: {
        renders: cfg.heldOut.renders,
        seed: cfg.heldOut.seed,
        accuracy,
        meanAccuracy: mean,
      },
      lossCurve: lossCurve(losses),
    });
    net.dispose();
  }
}
console.log(`wrote ${only.join(", ")} to ${out}`);
