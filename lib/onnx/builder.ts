/**
 * A small ONNX graph builder on the protobuf classes of `onnx-proto` (ONNX 1.10 schema).
 * Only what our exports need: float initializers, int64 constants, nodes with attributes.
 */
import onnxProto from "onnx-proto";

// deno-lint-ignore no-explicit-any
export const onnx: any = (onnxProto as any).onnx;

const FLOAT = 1;
const INT64 = 7;

export type Dim = number | string;

export interface AttrValue {
  ints?: number[];
  i?: number;
  f?: number;
}

export class GraphBuilder {
  // deno-lint-ignore no-explicit-any
  private nodes: any[] = [];
  // deno-lint-ignore no-explicit-any
  private inits: any[] = [];
  // deno-lint-ignore no-explicit-any
  private inputs: any[] = [];
  // deno-lint-ignore no-explicit-any
  private outputs: any[] = [];
  private counter = 0;

  constructor(readonly name: string, readonly opset = 17) {}

  private fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  private valueInfo(name: string, dims: Dim[]) {
    return {
      name,
      type: {
        tensorType: {
          elemType: FLOAT,
          shape: {
            dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
          },
        },
      },
    };
  }

  input(name: string, dims: Dim[]): string {
    this.inputs.push(this.valueInfo(name, dims));
    return name;
  }

  output(name: string, dims: Dim[]): void {
    this.outputs.push(this.valueInfo(name, dims));
  }

  /** A float initializer (copied, little-endian). */
  float(name: string, data: Float32Array, dims: number[]): string {
    const copy = Float32Array.from(data);
    this.inits.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(copy.buffer) });
    return name;
  }

  int64(name: string, values: number[]): string {
    const b = new BigInt64Array(values.map((v) => BigInt(v)));
    this.inits.push({
      name,
      dims: [values.length],
      dataType: INT64,
      rawData: new Uint8Array(b.buffer),
    });
    return name;
  }

  /** Adds a node; returns its output name (`out` if given). */
  op(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    out?: string,
  ): string {
    return this.opMulti(opType, inputs, 1, attrs, out ? [out] : undefined)[0];
  }

  /** Adds a node with `n` outputs; returns their names. */
  opMulti(
    opType: string,
    inputs: string[],
    n: number,
    attrs: Record<string, AttrValue> = {},
    outs?: string[],
  ): string[] {
    const base = outs?.[0] ?? this.fresh(opType.toLowerCase());
    const outputs = outs ?? Array.from({ length: n }, (_, i) => (n === 1 ? base : `${base}_${i}`));
    const attribute = Object.entries(attrs).map(([name, v]) => {
      if (v.ints) return { name, ints: v.ints, type: 7 }; // INTS
      if (v.f !== undefined) return { name, f: v.f, type: 1 }; // FLOAT
      return { name, i: v.i, type: 2 }; // INT
    });
    this.nodes.push({ opType, input: inputs, output: outputs, name: base, attribute });
    return outputs;
  }

  encode(producer = "idstyle-deno"): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: producer,
      opsetImport: [{ domain: "", version: this.opset }],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.inits,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
