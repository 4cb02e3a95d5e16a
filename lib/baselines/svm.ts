/**
 * A linear C-SVM by libsvm (npm:libsvm-js, libsvm compiled to JavaScript; the library behind
 * scikit-learn's SVC, which InterFaceGAN's code uses). libsvm-js picks its browser loader when
 * `self` is defined, which Deno defines; `self` is hidden while the module loads so that it takes
 * its Node path.
 */

interface LibSvm {
  train(samples: number[][], labels: number[]): void;
  predict(samples: number[][]): number[];
  serializeModel(): string;
  free(): void;
}
type LibSvmCtor = (new (opts: Record<string, unknown>) => LibSvm) & {
  KERNEL_TYPES: Record<string, number>;
  SVM_TYPES: Record<string, number>;
};

let loaded: Promise<LibSvmCtor> | null = null;

function libsvm(): Promise<LibSvmCtor> {
  loaded ??= (async () => {
    const g = globalThis as Record<string, unknown>;
    const desc = Object.getOwnPropertyDescriptor(g, "self");
    delete g.self;
    try {
      const mod = await import("libsvm-js/asm.js");
      return (mod.default ?? mod) as LibSvmCtor;
    } finally {
      if (desc) Object.defineProperty(g, "self", desc);
    }
  })();
  return loaded;
}

export interface LinearSvm {
  /** Normal of the separating hyperplane, w = sum_i alpha_i y_i x_i (not normalised). */
  weights: Float64Array;
  /** Offset: the decision function is w . x + bias (positive for label +1). */
  bias: number;
  supportVectors: number;
}

/** Trains a linear C-SVM on rows of `x` with labels +1 / -1; returns its hyperplane. */
export async function trainLinearSvm(x: number[][], y: number[], cost = 1): Promise<LinearSvm> {
  if (x.length !== y.length || x.length < 2) {
    throw new RangeError(`trainLinearSvm: ${x.length} samples, ${y.length} labels`);
  }
  if (!y.every((v) => v === 1 || v === -1)) {
    throw new RangeError("trainLinearSvm: labels must be +1 or -1");
  }
  const SVM = await libsvm();
  const svm = new SVM({
    type: SVM.SVM_TYPES.C_SVC,
    kernel: SVM.KERNEL_TYPES.LINEAR,
    cost,
    quiet: true,
  });
  svm.train(x, y);
  const model = svm.serializeModel();
  svm.free();
  // libsvm's model text: a header (rho, label order) then "SV", one line per support vector:
  // "coef idx:value idx:value ..." with coef = alpha_i y_i in the sign convention of the first label.
  const lines = model.trim().split("\n");
  const header = Object.fromEntries(
    lines.slice(0, lines.indexOf("SV")).map((l) => [l.split(" ")[0], l.split(" ").slice(1)]),
  );
  const rho = Number(header.rho[0]);
  const firstLabel = Number(header.label[0]);
  const d = x[0].length;
  const w = new Float64Array(d);
  const svs = lines.slice(lines.indexOf("SV") + 1);
  for (const line of svs) {
    const [coef, ...feats] = line.trim().split(" ");
    const c = Number(coef);
    for (const f of feats) {
      const [i, v] = f.split(":");
      w[Number(i) - 1] += c * Number(v); // libsvm-js indexes features from 1
    }
  }
  // libsvm's decision value is w . x - rho, positive for the first label.
  const sign = firstLabel === 1 ? 1 : -1;
  return { weights: w.map((v) => sign * v), bias: -sign * rho, supportVectors: svs.length };
}
