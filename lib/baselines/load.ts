/**
 * The baselines by name, each loaded from its shipped checkpoint (checkpoints/baselines/) or a
 * given file, as an AttributeEditor of the evaluation protocol. All three were trained in the
 * synthface world and edit there.
 */
import type { AttributeEditor } from "../eval/evaluate.ts";
import type { SynthFace } from "../world/synthface/world.ts";
import { InterFaceGANEditor } from "./interfacegan.ts";
import { IsfGanEditor } from "./isfgan.ts";
import { StyleFlowEditor } from "./styleflow_editor.ts";
import { BASELINES_DIR } from "./paths.ts";

/** The baselines' command-line names. */
export const BASELINES = ["interfacegan", "isfgan", "styleflow"] as const;
export type BaselineName = typeof BASELINES[number];

/** Their names in tables and figures. */
export const BASELINE_LABELS: Readonly<Record<BaselineName, string>> = {
  interfacegan: "InterFaceGAN",
  isfgan: "ISF-GAN",
  styleflow: "StyleFlow",
};

/** The shipped checkpoint of each baseline. */
export function baselineCheckpoint(name: BaselineName): string {
  return `${BASELINES_DIR}/${name}.safetensors`;
}

export function isBaselineName(name: string): name is BaselineName {
  return (BASELINES as readonly string[]).includes(name);
}

export interface LoadedBaseline {
  editor: AttributeEditor & { countParameters(): number };
  path: string;
}

/** Loads baseline `name` (from `path`, default its shipped checkpoint) for `world`. */
export async function loadBaseline(
  name: BaselineName,
  world: SynthFace,
  path = baselineCheckpoint(name),
): Promise<LoadedBaseline> {
  switch (name) {
    case "interfacegan":
      return { editor: await InterFaceGANEditor.load(path), path };
    case "isfgan":
      return { editor: await IsfGanEditor.load(path, world), path };
    case "styleflow":
      return { editor: await StyleFlowEditor.load(path, world), path };
  }
}
