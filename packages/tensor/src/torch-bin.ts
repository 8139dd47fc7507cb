// Reading PyTorch `torch.save` state dicts (pytorch_model.bin) without executing anything: the
// zip container (torch >= 1.6: `<prefix>/data.pkl` + one file per storage under `<prefix>/data/`)
// or the legacy stream (magic, protocol, sys_info, the object pickle, the storage keys, then each
// storage as an int64 element count and its bytes), and a restricted pickle machine that knows
// exactly the opcodes and globals torch.save emits for a dict of tensors. Any other global is
// refused by name, so a malicious file cannot run code. Tensors are read one at a time (peak host
// memory about one storage).
import type { FileHandle } from "node:fs/promises";
import yauzl from "yauzl";
import { openRegularFile, readExactly } from "./file-read";
import { bf16ToF32, f16ToF32 } from "./half";

/** A pytorch_model.bin that cannot be read, with the file and what is wrong. */
export class TorchBinError extends Error {
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = "TorchBinError";
  }
}

/** Element types a state dict may hold here (as spelled in safetensors headers). */
export type TorchBinDType = "F32" | "F16" | "BF16";

/** One tensor of the state dict: where its elements are in which storage. */
export interface TorchBinEntry {
  name: string;
  dtype: TorchBinDType;
  shape: number[];
  /** storage key (file name under data/ in the zip format) */
  storage: string;
  /** offset of the first element in the storage, in elements */
  offset: number;
  /** element strides per dimension */
  stride: number[];
}

const STORAGE_TYPES: Record<string, TorchBinDType> = {
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
};
const ELEM_BYTES: Record<TorchBinDType, number> = { F32: 4, F16: 2, BF16: 2 };
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** Most bytes of pickles the legacy format may hold before the storages. */
const MAX_LEGACY_PICKLES = 64 * 1024 * 1024;

// ---- the restricted pickle machine ----------------------------------------------------------

/** A global the machine allows, resolved to a marker object. */
interface Global {
  kind: "global";
  module: string;
  name: string;
}
/** A storage reference (persistent id). */
interface StorageRef {
  kind: "storage";
  dtype: TorchBinDType;
  key: string;
  numel: number;
}
/** A tensor as _rebuild_tensor_v2 describes it. */
interface TensorRef {
  kind: "tensor";
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}
/** An OrderedDict / dict: insertion-ordered entries. */
class PickleDict {
  readonly kind = "dict";
  readonly items = new Map<unknown, unknown>();
}
const MARK = Symbol("mark");

const ALLOWED_GLOBALS = new Set([
  "collections OrderedDict",
  "torch._utils _rebuild_tensor_v2",
  "torch._utils _rebuild_tensor",
  "torch._utils _rebuild_parameter",
  ...Object.keys(STORAGE_TYPES).map((s) => `torch ${s}`),
]);

/** Storage types torch has that this reader does not convert (named in the refusal). */
const OTHER_STORAGES = new Set([
  "DoubleStorage",
  "LongStorage",
  "IntStorage",
  "ShortStorage",
  "CharStorage",
  "ByteStorage",
  "BoolStorage",
  "ComplexFloatStorage",
  "ComplexDoubleStorage",
]);

interface PickleResult {
  value: unknown;
  /** offset just past the STOP opcode */
  end: number;
}

/** Runs one pickle from `buf[start]`; `persistent` resolves BINPERSID ids. */
function unpickle(
  file: string,
  buf: Uint8Array,
  start: number,
  persistent: (pid: unknown) => unknown,
): PickleResult {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let p = start;
  const fail = (what: string): never => {
    throw new TorchBinError(file, `pickle at byte ${p}: ${what}`);
  };
  const need = (n: number) => {
    if (p + n > buf.length) fail("unexpected end of data (truncated file?)");
  };
  const u8 = () => {
    need(1);
    return buf[p++] as number;
  };
  const u16 = () => {
    need(2);
    const v = view.getUint16(p, true);
    p += 2;
    return v;
  };
  const u32 = () => {
    need(4);
    const v = view.getUint32(p, true);
    p += 4;
    return v;
  };
  const bytes = (n: number) => {
    need(n);
    const b = buf.subarray(p, p + n);
    p += n;
    return b;
  };
  const text = (n: number) => new TextDecoder("utf-8", { fatal: true }).decode(bytes(n));
  const line = () => {
    const e = buf.indexOf(0x0a, p);
    if (e < 0) fail("unterminated line");
    const s = new TextDecoder("utf-8").decode(buf.subarray(p, e));
    p = e + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0) fail("stack underflow");
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const m = stack.lastIndexOf(MARK);
    if (m < 0) fail("no MARK on the stack");
    const items = stack.splice(m);
    items.shift();
    return items;
  };
  const top = () => {
    if (stack.length === 0) fail("stack underflow");
    return stack[stack.length - 1];
  };
  const setItems = (d: unknown, kv: unknown[]) => {
    if (!(d instanceof PickleDict)) fail("SETITEM(S) on something that is not a dict");
    for (let i = 0; i + 1 < kv.length; i += 2) (d as PickleDict).items.set(kv[i], kv[i + 1]);
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!isGlobal(fn)) return fail("REDUCE of something that is not an allowed global");
    const a = args as unknown[];
    if (!Array.isArray(a)) return fail("REDUCE arguments are not a tuple");
    const id = `${fn.module} ${fn.name}`;
    if (id === "collections OrderedDict") {
      const d = new PickleDict();
      if (a.length > 0) fail("OrderedDict with constructor arguments");
      return d;
    }
    if (id === "torch._utils _rebuild_tensor_v2" || id === "torch._utils _rebuild_tensor") {
      const [storage, offset, shape, stride] = a;
      if (!isStorage(storage)) return fail("_rebuild_tensor without a storage");
      if (
        typeof offset !== "number" ||
        !isIntTuple(shape) ||
        !isIntTuple(stride) ||
        shape.length !== stride.length
      )
        return fail("_rebuild_tensor arguments are not (storage, offset, size, stride)");
      const t: TensorRef = { kind: "tensor", storage, offset, shape, stride };
      return t;
    }
    if (id === "torch._utils _rebuild_parameter") {
      if (!isTensorRef(a[0])) return fail("_rebuild_parameter without a tensor");
      return a[0];
    }
    return fail(`calling ${id} is not allowed`);
  };
  for (;;) {
    const at = p;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME (protocol 4): the length is informational
        bytes(8);
        break;
      case 0x2e: // STOP
        return { value: pop(), end: p };
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: {
        // BININT
        stack.push(u32() | 0);
        break;
      }
      case 0x8a: {
        // LONG1: little-endian two's complement of n bytes
        const n = u8();
        const b = bytes(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i] as number);
        if (n > 0 && ((b[n - 1] as number) & 0x80) !== 0) v -= 1n << BigInt(8 * n);
        stack.push(
          v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
            ? Number(v)
            : v,
        );
        break;
      }
      case 0x47: {
        // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(p, false));
        p += 8;
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(text(u8()));
        break;
      case 0x54: // BINSTRING
        stack.push(text(u32()));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(bytes(u8()));
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) fail("APPEND to something that is not a list");
        (l as unknown[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) fail("APPENDS to something that is not a list");
        (l as unknown[]).push(...items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new PickleDict());
        break;
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) fail(`memo entry ${i} was never stored`);
        stack.push(memo.get(i));
        break;
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        const id = `${module} ${name}`;
        if (module === "torch" && OTHER_STORAGES.has(name))
          fail(`tensors of ${name} are not supported (only F32, F16 and BF16)`);
        if (!ALLOWED_GLOBALS.has(id))
          fail(`refusing global ${module}.${name} (only a state dict of tensors is read)`);
        const g: Global = { kind: "global", module, name };
        stack.push(g);
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistent(pop()));
        break;
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(call(fn, args));
        break;
      }
      case 0x62: {
        // BUILD: the state of an OrderedDict (its _metadata attribute) or a tensor's; ignored
        const state = pop();
        const obj = top();
        if (!(obj instanceof PickleDict) && !isTensorRef(obj))
          fail("BUILD on an object other than a dict or tensor");
        void state;
        break;
      }
      default:
        p = at;
        fail(`opcode 0x${op.toString(16).padStart(2, "0")} is not allowed in a state dict`);
    }
  }
}

function isGlobal(x: unknown): x is Global {
  return typeof x === "object" && x !== null && (x as Global).kind === "global";
}
function isStorage(x: unknown): x is StorageRef {
  return typeof x === "object" && x !== null && (x as StorageRef).kind === "storage";
}
function isTensorRef(x: unknown): x is TensorRef {
  return typeof x === "object" && x !== null && (x as TensorRef).kind === "tensor";
}
function isIntTuple(x: unknown): x is number[] {
  return Array.isArray(x) && x.every((v) => Number.isSafeInteger(v) && v >= 0);
}

/** Resolves a ('storage', type, key, location, numel, ...) persistent id. */
function storageRef(file: string, pid: unknown): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5)
    throw new TorchBinError(file, "persistent id is not a ('storage', ...) tuple");
  const [, type, key, , numel] = pid;
  if (!isGlobal(type) || type.module !== "torch" || !(type.name in STORAGE_TYPES))
    throw new TorchBinError(file, "persistent id names no supported storage type");
  if (typeof key !== "string" || !Number.isSafeInteger(numel) || (numel as number) < 0)
    throw new TorchBinError(file, "persistent id has a bad key or element count");
  if (pid.length > 5 && pid[5] !== null)
    throw new TorchBinError(file, `storage ${key} is a view of another storage (not supported)`);
  return {
    kind: "storage",
    dtype: STORAGE_TYPES[type.name] as TorchBinDType,
    key,
    numel: numel as number,
  };
}

/** The name -> tensor entries of an unpickled state dict. */
function stateDictEntries(file: string, value: unknown): Map<string, TorchBinEntry> {
  if (!(value instanceof PickleDict))
    throw new TorchBinError(file, "the pickle does not hold a dict of tensors");
  const out = new Map<string, TorchBinEntry>();
  for (const [k, v] of value.items) {
    if (typeof k !== "string") throw new TorchBinError(file, "a state-dict key is not a string");
    if (!isTensorRef(v)) throw new TorchBinError(file, `entry "${k}" is not a tensor`);
    const last = v.offset + v.shape.reduce((a, n, d) => a + (n - 1) * (v.stride[d] as number), 0);
    if (v.shape.some((n) => n === 0) ? v.offset > v.storage.numel : last >= v.storage.numel)
      throw new TorchBinError(
        file,
        `tensor "${k}" reaches element ${last} of storage ${v.storage.key}, which holds ${v.storage.numel}`,
      );
    out.set(k, {
      name: k,
      dtype: v.storage.dtype,
      shape: [...v.shape],
      storage: v.storage.key,
      offset: v.offset,
      stride: [...v.stride],
    });
  }
  return out;
}

/** Elements of `e` in row-major order, gathered from its storage's bytes. */
function gather(e: TorchBinEntry, storage: Uint8Array): Float32Array<ArrayBuffer> {
  const n = e.shape.reduce((a, b) => a * b, 1);
  const size = ELEM_BYTES[e.dtype];
  const raw = new Uint8Array(n * size);
  const contiguous = e.shape.every((_, d) => {
    const inner = e.shape.slice(d + 1).reduce((a, b) => a * b, 1);
    return e.shape[d] === 1 || e.stride[d] === inner;
  });
  if (contiguous) raw.set(storage.subarray(e.offset * size, (e.offset + n) * size));
  else {
    const idx = new Array<number>(e.shape.length).fill(0);
    for (let i = 0; i < n; i++) {
      let src = e.offset;
      for (let d = 0; d < idx.length; d++) src += (idx[d] as number) * (e.stride[d] as number);
      raw.set(storage.subarray(src * size, (src + 1) * size), i * size);
      for (let d = idx.length - 1; d >= 0; d--) {
        idx[d] = (idx[d] as number) + 1;
        if ((idx[d] as number) < (e.shape[d] as number)) break;
        idx[d] = 0;
      }
    }
  }
  if (e.dtype === "F32") return new Float32Array(raw.buffer);
  const u16 = new Uint16Array(raw.buffer);
  return e.dtype === "F16" ? f16ToF32(u16) : bf16ToF32(u16);
}

// ---- the two containers ---------------------------------------------------------------------

interface StorageSource {
  read(key: string, bytes: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

async function readStream(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function openZip(
  path: string,
): Promise<{ entries: Map<string, TorchBinEntry>; source: StorageSource }> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false }, (err, z) =>
      err ? reject(new TorchBinError(path, `not a readable zip (${err.message})`)) : resolve(z),
    ),
  );
  try {
    const files = new Map<string, yauzl.Entry>();
    for await (const e of zip.eachEntry()) files.set(e.fileName, e);
    const pkl = [...files.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pkl.length !== 1)
      throw new TorchBinError(
        path,
        `expected one <prefix>/data.pkl in the zip, found ${pkl.length}`,
      );
    const prefix = (pkl[0] as string).slice(0, -"data.pkl".length);
    const data = await readStream(
      await zip.openReadStreamPromise(files.get(pkl[0] as string) as yauzl.Entry),
    );
    const { value } = unpickle(path, data, 0, (pid) => storageRef(path, pid));
    const entries = stateDictEntries(path, value);
    const source: StorageSource = {
      async read(key, bytes) {
        const e = files.get(`${prefix}data/${key}`);
        if (!e) throw new TorchBinError(path, `storage ${key} is missing from the zip`);
        if (e.uncompressedSize < bytes)
          throw new TorchBinError(
            path,
            `storage ${key} holds ${e.uncompressedSize} bytes, needs ${bytes}`,
          );
        return readStream(await zip.openReadStreamPromise(e));
      },
      async close() {
        zip.close();
      },
    };
    return { entries, source };
  } catch (e) {
    zip.close();
    throw e instanceof TorchBinError
      ? e
      : new TorchBinError(path, `bad zip (${(e as Error).message})`);
  }
}

function readAt(fh: FileHandle, pos: number, len: number, path: string): Promise<Uint8Array> {
  return readExactly(fh, len, pos, (detail) => new TorchBinError(path, detail));
}

async function openLegacy(
  path: string,
  fh: FileHandle,
  size: number,
): Promise<{ entries: Map<string, TorchBinEntry>; source: StorageSource }> {
  const head = await readAt(fh, 0, Math.min(size, MAX_LEGACY_PICKLES), path);
  const storages = new Map<string, StorageRef>();
  const plain = (pid: unknown) => {
    throw new TorchBinError(path, `unexpected persistent id ${JSON.stringify(pid)}`);
  };
  let r = unpickle(path, head, 0, plain);
  if (r.value !== LEGACY_MAGIC)
    throw new TorchBinError(path, "neither a zip nor a legacy torch.save file (bad magic number)");
  r = unpickle(path, head, r.end, plain); // protocol version
  r = unpickle(path, head, r.end, plain); // sys_info (byte order, type sizes)
  const sys = r.value;
  if (sys instanceof PickleDict && sys.items.get("little_endian") === false)
    throw new TorchBinError(path, "big-endian files are not supported");
  r = unpickle(path, head, r.end, (pid) => {
    const s = storageRef(path, pid);
    storages.set(s.key, s);
    return s;
  });
  const entries = stateDictEntries(path, r.value);
  r = unpickle(path, head, r.end, plain);
  const keys = r.value;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string"))
    throw new TorchBinError(path, "the storage key list is not a list of strings");
  // storages follow in key order, each an int64 element count then its bytes
  const where = new Map<string, number>();
  let pos = r.end;
  for (const key of keys as string[]) {
    const s = storages.get(key);
    if (!s) throw new TorchBinError(path, `storage ${key} is listed but never used`);
    const count = new DataView((await readAt(fh, pos, 8, path)).buffer).getBigInt64(0, true);
    if (count !== BigInt(s.numel))
      throw new TorchBinError(
        path,
        `storage ${key} holds ${count} elements, the pickle says ${s.numel}`,
      );
    where.set(key, pos + 8);
    pos += 8 + s.numel * ELEM_BYTES[s.dtype];
  }
  if (pos > size)
    throw new TorchBinError(path, `the storages end at byte ${pos}, the file at ${size}`);
  return {
    entries,
    source: {
      async read(key, bytes) {
        const at = where.get(key);
        if (at === undefined) throw new TorchBinError(path, `storage ${key} is not in the file`);
        return readAt(fh, at, bytes, path);
      },
      close: () => fh.close(),
    },
  };
}

/** An open pytorch_model.bin: the state dict's entries, tensors read on demand. */
export class TorchBinFile {
  private constructor(
    readonly path: string,
    readonly entries: Map<string, TorchBinEntry>,
    private readonly source: StorageSource,
  ) {}

  /** Opens `path` (zip or legacy torch.save format); throws TorchBinError naming the file. */
  static async open(path: string): Promise<TorchBinFile> {
    const fh = await openRegularFile(path, (detail) => new TorchBinError(path, detail));
    const size = (await fh.stat()).size;
    let closeFh = true;
    try {
      const magic = await readAt(fh, 0, Math.min(4, size), path);
      if (magic[0] === 0x50 && magic[1] === 0x4b) {
        const z = await openZip(path);
        return new TorchBinFile(path, z.entries, z.source);
      }
      const l = await openLegacy(path, fh, size);
      closeFh = false;
      return new TorchBinFile(path, l.entries, l.source);
    } finally {
      if (closeFh) await fh.close();
    }
  }

  /** The entry of tensor `name` (TorchBinError when there is none). */
  entry(name: string): TorchBinEntry {
    const e = this.entries.get(name);
    if (!e) throw new TorchBinError(this.path, `no tensor named "${name}"`);
    return e;
  }

  /** One tensor as row-major f32 values (F16/BF16 converted; views gathered). */
  async readF32(name: string): Promise<Float32Array<ArrayBuffer>> {
    const e = this.entry(name);
    const size = ELEM_BYTES[e.dtype];
    const last =
      e.offset + e.shape.reduce((a, n, d) => a + Math.max(0, n - 1) * (e.stride[d] as number), 0);
    const storage = await this.source.read(e.storage, (last + 1) * size);
    return gather(e, storage);
  }

  /** Releases the file. */
  async close(): Promise<void> {
    await this.source.close();
  }
}
