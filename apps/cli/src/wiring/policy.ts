// `--policy NAME[:key=value,...][,NAME...]`: anchor-mask's cache policies for generate and eval,
// and the separator ids SepLLM needs from the model's tokenizer.
import { type CachePolicy, formatPolicy, POLICY_NAMES, parsePolicy } from "@anllm/anchor-mask";
import type { NamedPolicy } from "@anllm/evaluator";
import type { Tokenizer } from "@anllm/redpajama-loader";
import type { OptionSpec } from "../args";
import { UsageError } from "../errors";

/** The `--policy` option (one policy; eval cache takes a comma-separated list). */
export const POLICY_OPTION: OptionSpec = {
  type: "string",
  arg: "NAME[:k=v,...]",
  help: `KV-cache policy: ${POLICY_NAMES.join("|")}, e.g. sink:sink=4,window=256 (docs: guide/cache-policies.md)`,
};

/**
 * Splits a policy list on commas that start a new policy: a piece of the form `key=value`
 * (no `:`) continues the previous policy's options; `\,` is a literal comma.
 */
export function splitPolicyList(text: string): string[] {
  const pieces: string[] = [];
  let cur = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === "\\" && i + 1 < text.length) {
      cur += ch + (text[++i] as string);
    } else if (ch === ",") {
      pieces.push(cur);
      cur = "";
    } else cur += ch;
  }
  pieces.push(cur);
  const out: string[] = [];
  for (const p of pieces.map((s) => s.trim()).filter((s) => s.length > 0)) {
    if (out.length > 0 && !p.includes(":") && p.includes("=")) out[out.length - 1] += `,${p}`;
    else out.push(p);
  }
  return out;
}

/** Parses `--policy` into named policies; errors name the option and what was expected. */
export function parsePolicies(command: string, text: string): NamedPolicy[] {
  const out: NamedPolicy[] = [];
  for (const spec of splitPolicyList(text)) {
    let policy: CachePolicy;
    try {
      policy = parsePolicy(spec);
    } catch (e) {
      throw new UsageError(command, `--policy: ${(e as Error).message}`);
    }
    out.push({ name: policy.kind, spec: formatPolicy(policy), policy });
  }
  if (out.length === 0) throw new UsageError(command, "--policy: no policy given");
  const names = out.map((p) => p.spec);
  if (new Set(names).size !== names.length)
    throw new UsageError(command, `--policy: a policy is listed twice (${names.join(", ")})`);
  return out;
}

/**
 * Token ids of SepLLM's separator characters in `tokenizer` (each character alone; a character
 * that takes several tokens contributes its last, as a word-final piece).
 */
export function separatorIds(tokenizer: Tokenizer, policies: readonly NamedPolicy[]): number[] {
  const chars = new Set<string>();
  for (const p of policies)
    if (p.policy.kind === "sepllm") for (const c of p.policy.separators) chars.add(c);
  const ids = new Set<number>();
  for (const c of chars) {
    const enc = tokenizer.encodeContinuation(c);
    const last = enc[enc.length - 1];
    if (last !== undefined) ids.add(last);
  }
  return [...ids].sort((a, b) => a - b);
}
