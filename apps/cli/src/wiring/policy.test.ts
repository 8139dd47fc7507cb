// `--policy` parsing: lists split where a new policy starts, options stay with their policy,
// errors name the option; separator ids come from the tokenizer; train --mask is checked.
import { describe, expect, it } from "vitest";
import { toTrainConfig } from "../commands/train-config";
import { UsageError } from "../errors";
import { parsePolicies, separatorIds, splitPolicyList } from "./policy";
import { loadTokenizer } from "./tokenizer";

describe("--policy", () => {
  it("splits a list where a new policy starts", () => {
    expect(splitPolicyList("anchor,sink,sepllm,h2o,full")).toEqual([
      "anchor",
      "sink",
      "sepllm",
      "h2o",
      "full",
    ]);
    expect(splitPolicyList("sink:sink=2,window=64,h2o:budget=32,recent=8,full")).toEqual([
      "sink:sink=2,window=64",
      "h2o:budget=32,recent=8",
      "full",
    ]);
    expect(splitPolicyList("sepllm:separators=.\\,;,anchor")).toEqual([
      "sepllm:separators=.\\,;",
      "anchor",
    ]);
  });

  it("parses into named policies with canonical specs; errors name --policy", () => {
    const ps = parsePolicies("eval cache", "sink:window=64,anchor");
    expect(ps.map((p) => p.spec)).toEqual(["sink:sink=4,window=64,positions=original", "anchor"]);
    expect(() => parsePolicies("eval cache", "lru")).toThrow(UsageError);
    expect(() => parsePolicies("eval cache", "lru")).toThrow(
      /--policy: .*unknown cache policy "lru"/,
    );
    expect(() => parsePolicies("eval cache", "full,full")).toThrow(/listed twice/);
  });

  it("maps SepLLM's separator characters to the tokenizer's ids", async () => {
    const tok = await loadTokenizer("train", "bytes");
    const ps = parsePolicies("generate", "sepllm:separators=.\\n");
    const ids = separatorIds(tok, ps);
    expect(ids).toEqual(
      [...".\n"].map((ch) => tok.encodeContinuation(ch)[0] as number).sort((a, b) => a - b),
    );
    expect(separatorIds(tok, parsePolicies("generate", "sink"))).toEqual([]);
  });
});

describe("train --mask", () => {
  const cfg = (v: Record<string, unknown>) => toTrainConfig(v as never, () => "data");
  it("accepts sepllm with --anchor none and stores the canonical spec", () => {
    expect(cfg({ mask: "sepllm:window=32", anchor: "none" }).mask).toBe(
      "sepllm:initial=4,window=32,budget=inf,separators=.\\,?!;:\\n",
    );
    expect(cfg({ anchor: "ep" }).mask).toBeUndefined();
  });
  it("refuses a mask that does not fit the anchors", () => {
    expect(() => cfg({ mask: "sepllm", anchor: "ep" })).toThrow(/pass --anchor none/);
    expect(() => cfg({ mask: "causal", anchor: "ac" })).toThrow(/does not fit/);
    expect(() => cfg({ mask: "h2o", anchor: "none" })).toThrow(/--mask takes/);
  });
});
