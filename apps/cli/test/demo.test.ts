// `anllm demo` end to end on WebGPU (lavapipe here; fails, never skips, without an adapter) with
// tiny models and short budgets. The continual demo (default): a tiny full-attention base continued
// with AC anchors, both models compared (perplexity per length, anchor perplexity, samples, cache
// experiment) and the run folder. --from-scratch: falling loss, perplexities, a generated sample, a
// cache reduction. Plus the usage errors.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensorsHeader, readSafetensorsTensor } from "@anllm/tensor/io";
import { readMetrics } from "@anllm/trainer/node";
import { describe, expect, it } from "vitest";
import { type AnyJson, cli, cliJson, TINY_TRAIN } from "./helpers";

process.env.ANLLM_DEVICE = "webgpu";
/** Short evaluation settings of both demo modes. */
const SHORT_EVAL = ["--eval-windows", "2", "--cache-prompt", "160", "--max-new-tokens", "6"];
const tmp = () => mkdtempSync(join(tmpdir(), "anllm-demo-"));

describe("anllm demo", () => {
  it("continues a full-attention base with AC anchors and compares base and AnLLM-AC", async () => {
    const dir = tmp();
    const base = join(dir, "base");
    const pre = ["train", ...TINY_TRAIN, "--anchor", "none", "--seq-len", "64", "--lr", "1e-2"];
    expect((await cli(...pre, "--steps", "12", "--out", base)).code).toBe(0);
    const out = join(dir, "demo");
    const s = await cliJson<AnyJson>(
      "demo",
      "--base",
      base,
      "--steps",
      "6",
      "--warmup",
      "1",
      "--seq-len",
      "64",
      "--batch-size",
      "4",
      "--lengths",
      "32,64",
      ...SHORT_EVAL,
      "--out",
      out,
    );
    expect(s.device.kind).toBe("webgpu");
    expect(s.mode).toBe("continual");
    expect(s.base.dir).toBe(base);
    // the base's vocabulary plus the <AC> row, initialised to the mean
    expect(s.model).toMatchObject({
      anchor: "ac",
      acInit: "mean",
      vocabSize: 260,
      anchorIds: [259],
    });
    expect(s.training.steps).toBe(6);
    expect(s.training.packing).toBe(true);
    // the base recipe's shuffle block: every document of the corpus mixed, not the file order
    expect(s.training.shuffleBlock).toBe(8192);
    expect(JSON.parse(readFileSync(join(out, "train-config.json"), "utf8")).shuffleBlock).toBe(
      8192,
    );
    expect(s.training.heldoutAnchorLoss.length).toBe(64);
    // step 1's loss: the model before any update, as metrics.jsonl logged it
    const firstMetrics = JSON.parse(readFileSync(s.files.metrics, "utf8").split("\n")[0]!);
    expect(s.training.lossFirstStep).toBe(firstMetrics.loss);
    expect(Math.exp(s.training.heldoutAnchorLoss.after)).toBeCloseTo(
      s.perplexity.byLength[1].acAnchor,
      9,
    );
    const p = s.perplexity;
    expect(p.byLength.map((x: AnyJson) => x.length)).toEqual([32, 64]);
    for (const x of p.byLength) {
      for (const k of ["baseFull", "acFull", "acAnchor", "acAnchorBeforeTraining"]) {
        expect(x[k], k).toBeGreaterThan(1);
      }
      expect(x.ratioAcFullToBase).toBeCloseTo(x.acFull / x.baseFull, 12);
    }
    expect(p.claim.worstRatio).toBe(
      Math.max(...p.byLength.map((x: AnyJson) => x.ratioAcFullToBase)),
    );
    expect(p.claim.holds).toBe(p.claim.worstRatio <= 1.1);
    expect(s.samples.base.cache).toBe("full");
    expect(s.samples.ac.cache).toBe("anchor");
    // the base keeps every entry; the anchor cache never holds more than the full one
    expect(s.samples.base.peakEntries).toBe(s.samples.base.fullEntries);
    expect(s.samples.ac.peakEntries).toBeLessThanOrEqual(s.samples.ac.fullEntries);
    const ce = s.cacheExperiment;
    expect(ce.peakEntries).toBeLessThan(ce.fullEntries);
    expect(ce.speedupVsFullCache).toBeCloseTo(ce.fullCacheMs / ce.anchorMs, 9);
    expect(ce.speedupVsNoCache).toBeCloseTo(ce.noCacheMs / ce.anchorMs, 9);
    for (const f of Object.values(s.files) as string[]) expect(existsSync(f), f).toBe(true);
    expect(readFileSync(s.files.perplexityPlot, "utf8")).toMatch(/^<svg/);
    expect(JSON.parse(readFileSync(s.files.summary, "utf8")).perplexity).toEqual(p);
  });

  it("trains, evaluates, generates and summarises into the run folder", async () => {
    const out = join(tmp(), "demo");
    const s = await cliJson<AnyJson>(
      "demo",
      "--from-scratch",
      "--model",
      "tiny",
      "--steps",
      "16",
      "--lr",
      "1e-2",
      "--warmup",
      "2",
      "--seq-len",
      "48",
      "--batch-size",
      "4",
      ...SHORT_EVAL,
      "--out",
      out,
    );
    expect(s.device.kind).toBe("webgpu");
    expect(s.model.anchor).toBe("ac");
    expect(s.training.steps).toBe(16);
    expect(s.training.lossEnd).toBeLessThan(s.training.lossStart);
    expect(s.perplexity.full).toBeGreaterThan(1);
    expect(s.perplexity.anchor).toBeGreaterThan(1);
    expect(s.generation.tokens).toBeGreaterThan(0);
    expect(s.cacheExperiment.reduction).toBeGreaterThan(0.1);
    // T is the ratio of the two measured times (speed itself belongs in benchmarks)
    const ce = s.cacheExperiment;
    expect(ce.speedupVsFullCache).toBeCloseTo(ce.fullCacheMs / ce.anchorMs, 9);
    expect(ce.peakEntries).toBeLessThan(ce.fullEntries);
    for (const f of [
      s.files.metrics,
      s.files.lossCurve,
      s.files.summary,
      join(s.files.checkpoint, "model.safetensors"),
    ]) {
      expect(existsSync(f), f).toBe(true);
    }
    expect(JSON.parse(readFileSync(s.files.summary, "utf8")).training.steps).toBe(16);
    // a second demo into the same folder replaces the first
    const again = await cli(
      "demo",
      "--from-scratch",
      "--model",
      "tiny",
      "--steps",
      "2",
      "--seq-len",
      "32",
      "--batch-size",
      "2",
      "--eval-windows",
      "1",
      "--cache-prompt",
      "64",
      "--max-new-tokens",
      "2",
      "--out",
      out,
    );
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/training: 2 steps/);
    expect(again.stdout).toMatch(/K\/V cache reduction/);
  });

  it("rejects bad options with exit code 2", async () => {
    const dir = tmp();
    mkdirSync(join(dir, "busy"));
    writeFileSync(join(dir, "busy", "notes.txt"), "keep me");
    const cases: Array<[string[], RegExp]> = [
      [["--steps=-1"], /--steps expects an integer >= 1, got "-1"/],
      [["--steps", "-1"], /--steps.*ambiguous/],
      [["--time-budget", "0"], /--time-budget expects a number in \[1, Infinity\]/],
      [["--from-scratch", "--anchor", "both"], /--anchor expects one of none\|ep\|ac/],
      [["--out", join(dir, "busy")], /is not a run folder/],
      [["extra"], /unexpected argument "extra"/],
      [["--from-scratch", "--model", "giant"], /--model expects a preset/],
      [
        ["--from-scratch", "--model", "tiny", "--cache-prompt", "250"],
        /exceeds the model's maxSeqLen 256/,
      ],
      [["--model", "tiny"], /--model applies to --from-scratch only/],
      [["--from-scratch", "--base", dir], /--base belongs to the continual demo/],
      [["--base", join(dir, "nope")], /--base not found/],
      [["--base", join(dir, "busy")], /no config.json/],
      [["--lengths", "1,64"], /--lengths expects lengths >= 2/],
      [["--shuffle-block", "0"], /--shuffle-block expects an integer in \[1, 16777216\], got "0"/],
    ];
    for (const [argv, msg] of cases) {
      const r = await cli("demo", ...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr, argv.join(" ")).toMatch(msg);
    }
    expect(readFileSync(join(dir, "busy", "notes.txt"), "utf8")).toBe("keep me");
    expect((await cli("demo", "--help")).stdout).toMatch(/--time-budget SEC/);
  });

  it("train --resume on WebGPU continues bit-exactly (same weights and losses)", async () => {
    const dir = tmp();
    const base = ["train", ...TINY_TRAIN, "--seq-len", "32", "--checkpoint-every", "3"];
    expect((await cli(...base, "--steps", "7", "--out", join(dir, "a"))).code).toBe(0);
    expect((await cli(...base, "--steps", "3", "--out", join(dir, "b"))).code).toBe(0);
    expect((await cli("train", "--out", join(dir, "b"), "--resume", "--steps", "7")).code).toBe(0);
    // Bit-exact: every WebGPU kernel sums in a fixed order (the embedding gradient included, which
    // once used float atomics and differed in the last bits between runs).
    const file = (run: string) =>
      join(dir, run, "checkpoints", "step-00000007", "model.safetensors");
    const [ha, hb] = [
      await readSafetensorsHeader(file("a")),
      await readSafetensorsHeader(file("b")),
    ];
    expect([...hb.entries.keys()]).toEqual([...ha.entries.keys()]);
    for (const name of ha.entries.keys()) {
      const [x, y] = [
        await readSafetensorsTensor(file("a"), ha, name),
        await readSafetensorsTensor(file("b"), hb, name),
      ];
      const bytes = (t: typeof x) =>
        Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      expect(bytes(y).equals(bytes(x)), name).toBe(true);
    }
    const a = readMetrics(join(dir, "a", "metrics.jsonl")).map((m) => m.loss);
    const b = readMetrics(join(dir, "b", "metrics.jsonl")).map((m) => m.loss);
    expect(a).toHaveLength(7);
    expect(b).toEqual(a);
  });
});
