// Independent oracle for the anchor rule, written from the prose of apps/docs/guide/method.md:
// split each document's real tokens into segments (a segment ends at its anchor), then list what
// each query sees. Shares no code with src/; deliberately slow and explicit.

/** One sequence as the oracle sees it. */
export interface BruteInput {
  readonly isAnchor: readonly number[];
  /** 1 = real token (default all real) */
  readonly valid?: readonly number[];
  /** document id per token (default one document) */
  readonly docs?: readonly number[];
  readonly bosVisible?: boolean;
  readonly keepFull?: ReadonlyArray<readonly [number, number]>;
  readonly padQuery?: "self" | "none";
}

interface Seg {
  readonly members: number[];
  anchor: number; // -1 while open
}

/** Dense 0/1 mask `[L, L]` built by listing, for each query, the keys the method allows. */
export function bruteMask(inp: BruteInput): Uint8Array {
  const n = inp.isAnchor.length;
  const valid = inp.valid ?? new Array<number>(n).fill(1);
  const docs = inp.docs ?? new Array<number>(n).fill(0);
  const inFull = (t: number) => (inp.keepFull ?? []).some(([s, e]) => t >= s && t < e);
  const out = new Uint8Array(n * n);
  // Group real tokens by document, in order.
  const byDoc = new Map<number, number[]>();
  for (let t = 0; t < n; t++) {
    if (!valid[t]) continue;
    const list = byDoc.get(docs[t]!) ?? [];
    list.push(t);
    byDoc.set(docs[t]!, list);
  }
  for (const tokens of byDoc.values()) {
    // Segments: consecutive real tokens, closed by an anchor.
    const segs: Seg[] = [];
    let open: Seg | null = null;
    const segOf = new Map<number, number>();
    for (const t of tokens) {
      if (open === null) {
        open = { members: [], anchor: -1 };
        segs.push(open);
      }
      open.members.push(t);
      segOf.set(t, segs.length - 1);
      if (inp.isAnchor[t]) {
        open.anchor = t;
        open = null;
      }
    }
    for (const i of tokens) {
      const visible = new Set<number>();
      const own = segOf.get(i)!;
      for (const j of segs[own]!.members) if (j <= i) visible.add(j);
      if (!inp.isAnchor[i]) {
        for (let k = 0; k < own; k++) visible.add(segs[k]!.anchor);
        for (const j of tokens) if (j < i && inFull(j)) visible.add(j);
      }
      if (inp.bosVisible) visible.add(tokens[0]!);
      for (const j of visible) out[i * n + j] = 1;
    }
  }
  if ((inp.padQuery ?? "self") === "self") {
    for (let t = 0; t < n; t++) if (!valid[t]) out[t * n + t] = 1;
  }
  return out;
}
