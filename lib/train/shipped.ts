import { artifactPath } from "../paths.ts";

/** The editor checkpoints shipped in checkpoints/ (trained with the `default` schedule). */
const root = artifactPath("checkpoints/");

export const SHIPPED_CHECKPOINTS = {
  official: `${root}idstyle-synthface-official.safetensors`,
  paper: `${root}idstyle-synthface-paper.safetensors`,
} as const;
