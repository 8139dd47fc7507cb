// A byte-level tokenizer for tiny test models: ids 0-255 are UTF-8 bytes, then BOS, EOS, PAD.
import type { EncodeOptions, Tokenizer, TokenizerSpec } from "./tokenizer";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

class ByteTokenizer implements Tokenizer {
  readonly name = "bytes";
  readonly vocabSize = 259;
  readonly bosId = 256;
  readonly eosId = 257;
  readonly padId = 258;
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const ids = Array.from(encoder.encode(text));
    if (opts.bos ?? true) ids.unshift(this.bosId);
    if (opts.eos) ids.push(this.eosId);
    return ids;
  }
  encodeContinuation(text: string): number[] {
    return Array.from(encoder.encode(text));
  }
  decode(ids: ArrayLike<number>): string {
    const bytes = Array.from(ids).filter((id) => id >= 0 && id < 256);
    return decoder.decode(Uint8Array.from(bytes));
  }
  idToPiece(id: number): string | undefined {
    if (id === this.bosId) return "<s>";
    if (id === this.eosId) return "</s>";
    if (id === this.padId) return "<pad>";
    if (id < 0 || id > 255) return undefined;
    return id >= 0x20 && id < 0x7f ? String.fromCharCode(id) : `<0x${hex(id)}>`;
  }
  tokenToId(piece: string): number | undefined {
    if (piece === "<s>") return this.bosId;
    if (piece === "</s>") return this.eosId;
    if (piece === "<pad>") return this.padId;
    const m = /^<0x([0-9A-F]{2})>$/.exec(piece);
    if (m) return Number.parseInt(m[1]!, 16);
    if (piece.length === 1 && piece.charCodeAt(0) >= 0x20 && piece.charCodeAt(0) < 0x7f) {
      return piece.charCodeAt(0);
    }
    return undefined;
  }
  spec(): TokenizerSpec {
    return { kind: "bytes" };
  }
}

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, "0");
}

/** Byte-level tokenizer: vocabSize 259 (256 bytes, BOS 256, EOS 257, PAD 258). */
export function byteTokenizer(): Tokenizer {
  return new ByteTokenizer();
}
