/** The editor checkpoints shipped in checkpoints/ (trained with the `default` schedule). */
const root = new URL("../../checkpoints/", import.meta.url).pathname;

export const SHIPPED_CHECKPOINTS = {
  official: `${root}idstyle-synthface-official.safetensors`,
  paper: `${root}idstyle-synthface-paper.safetensors`,
} as const;
