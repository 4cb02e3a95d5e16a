/**
 * A small, safe reader for Python pickles (protocols 0 to 5, as far as data goes), enough for
 * the files `torch.save` writes. It is a stack machine over the opcodes; nothing in the pickle is
 * ever evaluated:
 *
 * - a global (GLOBAL, STACK_GLOBAL) resolves only through the closed allow-list the caller
 *   passes in ("module.name" -> a pure JS handler); any other name (`os.system`,
 *   `builtins.eval`, `subprocess.Popen`, ...) stops the load at once with an error naming it;
 * - REDUCE and NEWOBJ call only such handlers, BUILD only a handler's `build`;
 * - persistent ids (BINPERSID, PERSID) go to the caller's `persistentLoad`;
 * - opcodes that import or call by other routes (INST, OBJ, EXT1/2/4) and out-of-band buffers
 *   are refused as unsupported.
 *
 * Python values map to JS as: dict -> plain object with string keys (int keys as decimal
 * strings), list / tuple / set -> array, int -> number (BigInt beyond 2^53), float -> number,
 * str -> string, bytes -> Uint8Array (a view into the pickle's bytes), None -> null,
 * True / False -> boolean, a global -> `PickleGlobal` (a name and its handler).
 *
 * Every problem is a `PickleError` whose message is one line starting with the source's name.
 */

export class PickleError extends Error {
  override name = "PickleError";
}

/** What the allow-list maps a global's name to. */
export interface GlobalHandler {
  /** REDUCE / NEWOBJ on the global: builds a value from the argument tuple (absent: refused). */
  call?(args: unknown[]): unknown;
  /** BUILD on a value that `call` made, with the pickled state (absent: BUILD is refused). */
  build?(obj: unknown, state: unknown): void;
}

/** A resolved global as it sits on the stack. */
export class PickleGlobal {
  constructor(readonly name: string, readonly handler: GlobalHandler) {}
}

export interface PickleOptions {
  /** Names the file in every error. */
  source: string;
  /** The closed allow-list: "module.name" (e.g. "collections.OrderedDict") -> handler. */
  globals: ReadonlyMap<string, GlobalHandler>;
  /** Resolves a persistent id (BINPERSID / PERSID); without it, persistent ids are an error. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Appended to the refusal of a global that is not allowed, e.g. "only ... are allowed". */
  refusalHint?: string;
  /** What the allowed globals are, for the refusal, e.g. "a PyTorch tensor or container". */
  allowedWhat?: string;
}

export interface PickleResult {
  value: unknown;
  /** Offset just past the STOP opcode. */
  end: number;
}

const OPNAMES: Record<number, string> = {
  0x80: "PROTO",
  0x95: "FRAME",
  0x7d: "EMPTY_DICT",
  0x5d: "EMPTY_LIST",
  0x29: "EMPTY_TUPLE",
  0x8f: "EMPTY_SET",
  0x28: "MARK",
  0x30: "POP",
  0x31: "POP_MARK",
  0x32: "DUP",
  0x71: "BINPUT",
  0x72: "LONG_BINPUT",
  0x70: "PUT",
  0x94: "MEMOIZE",
  0x68: "BINGET",
  0x6a: "LONG_BINGET",
  0x67: "GET",
  0x63: "GLOBAL",
  0x93: "STACK_GLOBAL",
  0x58: "BINUNICODE",
  0x8c: "SHORT_BINUNICODE",
  0x8d: "BINUNICODE8",
  0x56: "UNICODE",
  0x55: "SHORT_BINSTRING",
  0x54: "BINSTRING",
  0x53: "STRING",
  0x42: "BINBYTES",
  0x43: "SHORT_BINBYTES",
  0x8e: "BINBYTES8",
  0x96: "BYTEARRAY8",
  0x4a: "BININT",
  0x4b: "BININT1",
  0x4d: "BININT2",
  0x49: "INT",
  0x4c: "LONG",
  0x8a: "LONG1",
  0x8b: "LONG4",
  0x47: "BINFLOAT",
  0x46: "FLOAT",
  0x74: "TUPLE",
  0x85: "TUPLE1",
  0x86: "TUPLE2",
  0x87: "TUPLE3",
  0x6c: "LIST",
  0x64: "DICT",
  0x91: "FROZENSET",
  0x88: "NEWTRUE",
  0x89: "NEWFALSE",
  0x4e: "NONE",
  0x73: "SETITEM",
  0x75: "SETITEMS",
  0x61: "APPEND",
  0x65: "APPENDS",
  0x90: "ADDITEMS",
  0x52: "REDUCE",
  0x62: "BUILD",
  0x81: "NEWOBJ",
  0x92: "NEWOBJ_EX",
  0x51: "BINPERSID",
  0x50: "PERSID",
  0x2e: "STOP",
  // Known but refused: they import or call by routes outside the allow-list, or need buffers.
  0x69: "INST",
  0x6f: "OBJ",
  0x82: "EXT1",
  0x83: "EXT2",
  0x84: "EXT4",
  0x97: "NEXT_BUFFER",
  0x98: "READONLY_BUFFER",
};

const REFUSED = new Set([0x69, 0x6f, 0x82, 0x83, 0x84, 0x97, 0x98]);

/** A Python dict key as a JS property name. */
function keyString(k: unknown): string {
  if (typeof k === "string") return k;
  if (typeof k === "number" || typeof k === "bigint" || typeof k === "boolean") {
    return typeof k === "boolean" ? (k ? "True" : "False") : String(k);
  }
  if (k === null) return "None";
  if (Array.isArray(k)) return `(${k.map(keyString).join(", ")})`;
  if (k instanceof PickleGlobal) return k.name;
  return String(k);
}

/** Sets a property safely (a key "__proto__" must not reach the prototype). */
export function setKey(obj: Record<string, unknown>, k: unknown, v: unknown): void {
  const key = keyString(k);
  if (key === "__proto__") {
    Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true });
  } else obj[key] = v;
}

function isDict(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

const utf8 = new TextDecoder("utf-8");
const latin1 = new TextDecoder("latin1");

/** A short, one-line rendering of a value for error messages. */
function show(v: unknown): string {
  if (v instanceof PickleGlobal) return `global ${v.name}`;
  if (v === null) return "None";
  if (Array.isArray(v)) return `a sequence of ${v.length}`;
  if (v instanceof Uint8Array) return `bytes[${v.length}]`;
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "..." : v);
  if (typeof v === "object") return v.constructor?.name === "Object" ? "a dict" : "an object";
  return String(v);
}

/**
 * Runs the pickle that starts at `start` in `bytes` up to its STOP and returns its value and
 * the offset after STOP.
 */
export function unpickle(bytes: Uint8Array, start: number, opts: PickleOptions): PickleResult {
  const { source } = opts;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  let pos = start;
  let opPos = start;
  let op = 0;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const made = new WeakMap<object, PickleGlobal>();

  const opName = () => OPNAMES[op] ?? "?";
  const fail = (what: string): never => {
    throw new PickleError(
      `${source}: corrupt pickle: ${what} (opcode ${opName()} 0x${
        op.toString(16).padStart(2, "0")
      } at byte ${opPos})`,
    );
  };
  const need = (k: number) => {
    if (k > n - pos) {
      throw new PickleError(
        `${source}: truncated file: the pickle ends early (opcode ${opName()} at byte ${opPos} needs ${k} more bytes, ${
          n - pos
        } left)`,
      );
    }
  };
  const take = (k: number): Uint8Array => {
    need(k);
    const out = bytes.subarray(pos, pos + k);
    pos += k;
    return out;
  };
  const u8 = () => {
    need(1);
    return bytes[pos++];
  };
  const u16 = () => {
    need(2);
    const v = dv.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = () => {
    need(4);
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = () => {
    need(4);
    const v = dv.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(n)) fail(`length ${v} is beyond the end of the file`);
    return Number(v);
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) {
      throw new PickleError(
        `${source}: truncated file: the pickle ends early (opcode ${opName()} at byte ${opPos} lacks its newline)`,
      );
    }
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    const floor = marks.length ? marks[marks.length - 1] : 0;
    if (stack.length <= floor) fail("stack underflow");
    return stack.pop();
  };
  const top = (): unknown => {
    const floor = marks.length ? marks[marks.length - 1] : 0;
    if (stack.length <= floor) fail("stack underflow");
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    if (!marks.length) fail("no MARK on the stack");
    return stack.splice(marks.pop()!);
  };
  const signedLE = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : v;
  };
  const textInt = (s: string): number | bigint | boolean => {
    const t = s.trim().replace(/L$/, "");
    if (t === "00") return false; // protocol 0 False / True
    if (t === "01") return true;
    if (!/^[+-]?\d+$/.test(t)) fail(`bad integer literal ${JSON.stringify(s.slice(0, 40))}`);
    const b = BigInt(t);
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(b)
      : b;
  };
  const resolve = (module: string, name: string): PickleGlobal => {
    const full = `${module}.${name}`;
    const handler = opts.globals.get(full);
    if (!handler) {
      const what = opts.allowedWhat ?? "on the allow-list";
      throw new PickleError(
        `${source}: refuses to load: the pickle names the global ${
          JSON.stringify(full)
        }, which is not ${what}${opts.refusalHint ? "; " + opts.refusalHint : ""}`,
      );
    }
    return new PickleGlobal(full, handler);
  };
  const callGlobal = (f: unknown, args: unknown, how: string): unknown => {
    if (!(f instanceof PickleGlobal)) return fail(`${how} on ${show(f)}, which is not a global`);
    if (!Array.isArray(args)) return fail(`${how} arguments are ${show(args)}, not a tuple`);
    if (!f.handler.call) return fail(`${how} on ${f.name}, which cannot be called`);
    const out = f.handler.call(args);
    if (typeof out === "object" && out !== null) made.set(out, f);
    return out;
  };
  const setItems = (d: unknown, items: unknown[]) => {
    if (!isDict(d)) fail(`setting items on ${show(d)}, not a dict`);
    if (items.length % 2) fail("an odd number of items for a dict");
    for (let i = 0; i < items.length; i += 2) {
      setKey(d as Record<string, unknown>, items[i], items[i + 1]);
    }
  };
  const appendItems = (l: unknown, items: unknown[]) => {
    if (!Array.isArray(l)) fail(`appending to ${show(l)}, not a list`);
    for (const it of items) (l as unknown[]).push(it);
  };
  const persistent = (pid: unknown) => {
    if (!opts.persistentLoad) fail("a persistent id, but this file has no external storage");
    stack.push(opts.persistentLoad!(pid));
  };

  for (;;) {
    opPos = pos;
    if (pos >= n) {
      throw new PickleError(
        `${source}: truncated file: the pickle ends early at byte ${pos}, before its STOP opcode`,
      );
    }
    op = bytes[pos++];
    switch (op) {
      case 0x80: { // PROTO
        const p = u8();
        if (p > 5) fail(`unsupported pickle protocol ${p}`);
        break;
      }
      case 0x95: // FRAME: frames are contiguous in the stream; only check the length
        if (u64() > n - pos) fail("frame runs past the end of the file");
        break;
      case 0x7d: // EMPTY_DICT
        stack.push({});
        break;
      case 0x5d: // EMPTY_LIST
      case 0x8f: // EMPTY_SET
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (marks.length && stack.length === marks[marks.length - 1]) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: // PUT
        memo.set(Number(textInt(line())), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: { // GET
        const i = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(textInt(line()));
        if (!memo.has(i)) fail(`memo entry ${i} was never stored`);
        stack.push(memo.get(i));
        break;
      }
      case 0x63: { // GLOBAL
        const module = line();
        const name = line();
        stack.push(resolve(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") {
          fail("STACK_GLOBAL needs two strings");
        }
        stack.push(resolve(module as string, name as string));
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(utf8.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8.decode(take(u64())));
        break;
      case 0x56: // UNICODE (raw-unicode-escape; \uXXXX escapes)
        stack.push(
          line().replace(
            /\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g,
            (_, a, b) => String.fromCodePoint(parseInt(a ?? b, 16)),
          ),
        );
        break;
      case 0x55: // SHORT_BINSTRING (a Python 2 str; torch loads them as UTF-8)
        stack.push(utf8.decode(take(u8())));
        break;
      case 0x54: { // BINSTRING
        const len = i32();
        if (len < 0) fail(`negative string length ${len}`);
        stack.push(utf8.decode(take(len)));
        break;
      }
      case 0x53: { // STRING: a quoted repr
        const s = line().trim();
        const q = s[0];
        if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) {
          fail("STRING is not quoted");
        }
        stack.push(
          s.slice(1, -1).replace(
            /\\(x[0-9a-fA-F]{2}|.)/g,
            (_, e: string) =>
              e[0] === "x"
                ? String.fromCharCode(parseInt(e.slice(1), 16))
                : ({ n: "\n", t: "\t", r: "\r", "0": "\0" } as Record<string, string>)[e] ?? e,
          ),
        );
        break;
      }
      case 0x42: // BINBYTES
        stack.push(take(u32()));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()));
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()));
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x49: // INT
      case 0x4c: // LONG
        stack.push(textInt(line()));
        break;
      case 0x8a: // LONG1
        stack.push(signedLE(take(u8())));
        break;
      case 0x8b: { // LONG4
        const len = i32();
        if (len < 0) fail(`negative LONG4 length ${len}`);
        stack.push(signedLE(take(len)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x46: { // FLOAT
        const s = line().trim();
        const v = Number(s);
        if (Number.isNaN(v) && !/^[+-]?nan$/i.test(s)) fail(`bad float literal ${s}`);
        stack.push(v);
        break;
      }
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: { // TUPLE2
        const b = pop(), a = pop();
        stack.push([a, b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop(), b = pop(), a = pop();
        stack.push([a, b, c]);
        break;
      }
      case 0x6c: // LIST
      case 0x91: // FROZENSET
        stack.push(popMark());
        break;
      case 0x64: { // DICT
        const items = popMark();
        const d = {};
        setItems(d, items);
        stack.push(d);
        break;
      }
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x73: { // SETITEM
        const v = pop(), k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: // APPENDS
      case 0x90: { // ADDITEMS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const f = pop();
        stack.push(callGlobal(f, args, "REDUCE"));
        break;
      }
      case 0x81: { // NEWOBJ: cls.__new__(cls, *args)
        const args = pop();
        const cls = pop();
        stack.push(callGlobal(cls, args, "NEWOBJ"));
        break;
      }
      case 0x92: { // NEWOBJ_EX: keyword arguments are not supported
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!isDict(kwargs) || Object.keys(kwargs).length) fail("keyword arguments");
        stack.push(callGlobal(cls, args, "NEWOBJ_EX"));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        const g = typeof obj === "object" && obj !== null ? made.get(obj) : undefined;
        if (!g) fail(`BUILD on ${show(obj)}, which no allowed global made`);
        if (!g!.handler.build) fail(`BUILD on a ${g!.name}, which takes no state`);
        g!.handler.build!(obj, state);
        break;
      }
      case 0x51: // BINPERSID
        persistent(pop());
        break;
      case 0x50: // PERSID
        persistent(line());
        break;
      case 0x2e: { // STOP
        const v = pop();
        return { value: v, end: pos };
      }
      default:
        if (REFUSED.has(op)) {
          fail("unsupported opcode (it imports or calls outside the allow-list)");
        }
        throw new PickleError(
          `${source}: corrupt pickle: unknown opcode 0x${op.toString(16).padStart(2, "0")}${
            op >= 0x20 && op < 0x7f ? ` ('${String.fromCharCode(op)}')` : ""
          } at byte ${opPos}`,
        );
    }
  }
}

export { isDict };
