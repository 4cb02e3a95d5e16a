/** Where the trained baselines live. */
export const BASELINES_DIR = new URL("../../checkpoints/baselines/", import.meta.url).pathname
  .replace(/\/$/, "");
