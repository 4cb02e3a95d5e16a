import { artifactPath } from "../paths.ts";

/** Where the trained baselines live. */
export const BASELINES_DIR = artifactPath("checkpoints/baselines");
