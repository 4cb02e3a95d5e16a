/**
 * Running an exported editor in onnxruntime-node (CPU provider, one intra-op thread by default).
 * onnxruntime-node's install script only fetches the CUDA provider, which is never needed here;
 * Deno does not run install scripts, and its CPU binaries ship in the package.
 */
import ort from "onnxruntime-node";

export interface OrtEditorOutputs {
  /** [B, M, L, D] */
  edited: Float32Array;
  /** [B, L, D] */
  combined: Float32Array;
}

export class OrtEditor {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly numAttributes: number,
  ) {}

  static async create(
    model: Uint8Array | string,
    numAttributes: number,
    threads = 1,
  ): Promise<OrtEditor> {
    const opts = {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all" as const,
    };
    const session = typeof model === "string"
      ? await ort.InferenceSession.create(model, opts)
      : await ort.InferenceSession.create(model, opts);
    return new OrtEditor(session, numAttributes);
  }

  /** wplus: B x L x D values, attr: B x M values. */
  async run(
    wplus: Float32Array,
    attr: Float32Array,
    batch: number,
    L = 18,
    D = 512,
  ): Promise<OrtEditorOutputs> {
    const out = await this.session.run({
      wplus: new ort.Tensor("float32", wplus, [batch, L, D]),
      attr: new ort.Tensor("float32", attr, [batch, this.numAttributes]),
    });
    return { edited: out.edited.data as Float32Array, combined: out.combined.data as Float32Array };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
