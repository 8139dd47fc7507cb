// `anllm train` in-process on a tiny model and the fixture corpus: loss falls, run folder layout,
// JSON config files, usage errors (exit 2), and kill -9 + --resume reproducing the uninterrupted run.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readMetrics } from "@anllm/trainer/node";
import { describe, expect, it } from "vitest";
import { type AnyJson, cli, cliJson, FIXTURES, TINY_TRAIN } from "./helpers";

process.env.ANLLM_DEVICE ??= "cpu";
const tmp = () => mkdtempSync(join(tmpdir(), "anllm-train-"));
const CORPUS = join(FIXTURES, "corpus");
const TINY = [...TINY_TRAIN, "--seq-len", "32"];

/** One tiny training step into `dir/name`: its loss and the stored train-config.json. */
async function oneStep(dir: string, name: string, ...extra: string[]) {
  const out = join(dir, name);
  const j = await cliJson<AnyJson>("train", ...TINY, "--steps", "1", ...extra, "--out", out);
  const cfg = JSON.parse(readFileSync(join(out, "train-config.json"), "utf8"));
  return { loss: j.losses[0] as number, cfg };
}

describe("anllm train", () => {
  it("trains a tiny AC model: the loss falls and the run folder is complete", async () => {
    const out = join(tmp(), "run");
    const j = await cliJson<AnyJson>(
      "train",
      ...TINY,
      "--steps",
      "30",
      "--lr",
      "1e-2",
      "--warmup",
      "2",
      "--checkpoint-every",
      "10",
      "--out",
      out,
    );
    expect(j.ok).toBe(true);
    expect(j.steps).toBe(30);
    expect(j.stopReason).toBe("completed");
    const losses: number[] = j.losses;
    const head = (losses[0]! + losses[1]! + losses[2]!) / 3;
    const tail = (losses[27]! + losses[28]! + losses[29]!) / 3;
    expect(head).toBeGreaterThan(5);
    expect(tail).toBeLessThan(head - 1);
    const ckpt = join(out, "checkpoints", "step-00000030");
    for (const f of [
      "model.safetensors",
      "config.json",
      "optimizer.safetensors",
      "trainer-state.json",
      "anllm.json",
    ]) {
      expect(existsSync(join(ckpt, f)), f).toBe(true);
    }
    const hf = JSON.parse(readFileSync(join(ckpt, "config.json"), "utf8"));
    expect(hf.vocab_size).toBe(260); // 259 byte ids + <AC>
    expect(readMetrics(join(out, "metrics.jsonl"))).toHaveLength(30);
    expect(readFileSync(join(out, "loss-curve.svg"), "utf8")).toMatch(/^<svg/);
    expect(JSON.parse(readFileSync(join(out, "train-config.json"), "utf8")).anchor).toBe("ac");
  });

  it("reads a JSON config file; flags override it", async () => {
    const dir = tmp();
    const cfg = join(dir, "cfg.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        model: "tiny",
        data: [CORPUS],
        "batch-size": 2,
        "seq-len": 16,
        steps: 9,
        anchor: "ep",
      }),
    );
    const j = await cliJson<AnyJson>(
      "train",
      "--config",
      cfg,
      "--steps",
      "2",
      "--out",
      join(dir, "r"),
    );
    expect(j.steps).toBe(2);
    expect(j.config.seqLen).toBe(16);
    expect(j.config.anchor).toBe("ep");
  });

  it("rejects bad options with exit code 2 and a message naming the option", async () => {
    const dir = tmp();
    const badCfg = join(dir, "bad.json");
    writeFileSync(badCfg, JSON.stringify({ stepz: 3 }));
    const cases: Array<[string[], RegExp]> = [
      [["--steps", "0"], /--steps expects an integer >= 1, got "0"/],
      [["--lr", "fast"], /--lr expects a number/],
      [["--schedule", "step"], /--schedule expects one of constant\|linear\|cosine/],
      [["--anchor", "xx"], /--anchor expects one of none\|ep\|ac/],
      [["--model", "huge"], /neither a preset/],
      [["--data", "/no/such/data"], /--data path not found/],
      [["--config", badCfg], /unknown option "stepz"/],
      [["--config", join(dir, "missing.json")], /--config file not found/],
      [["--resume", "--out", join(dir, "none")], /--resume: no checkpoint/],
      [["--batch-size"], /argument missing/],
      [["--frobnicate"], /Unknown option '--frobnicate'/],
    ];
    for (const [argv, msg] of cases) {
      const r = await cli("train", ...TINY, "--steps", "1", "--out", join(dir, "o"), ...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr, argv.join(" ")).toMatch(msg);
    }
  });

  it("refuses to overwrite a run and to resume with changed options", async () => {
    const out = join(tmp(), "run");
    expect((await cli("train", ...TINY, "--steps", "2", "--out", out)).code).toBe(0);
    const again = await cli("train", ...TINY, "--steps", "2", "--out", out);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds a run; pass --resume/);
    const changed = await cli("train", "--out", out, "--resume", "--seq-len", "16", "--steps", "3");
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/--seq-len 16 differs from the run being resumed \(32\)/);
    const ok = await cliJson<AnyJson>("train", "--out", out, "--resume", "--steps", "3");
    expect(ok.startStep).toBe(2);
    expect(ok.steps).toBe(3);
  });

  it("an AC model on Llama-2's tokenizer saves the HF tokenizer files; the folder loads without anllm.json", async () => {
    const out = join(tmp(), "llama");
    const j = await cliJson<AnyJson>(
      "train",
      "--model",
      "tiny",
      "--tokenizer",
      "llama2",
      "--anchor",
      "ac",
      "--data",
      CORPUS,
      "--batch-size",
      "2",
      "--seq-len",
      "32",
      "--steps",
      "1",
      "--out",
      out,
    );
    const ckpt = j.checkpoint as string;
    const read = (f: string) => JSON.parse(readFileSync(join(ckpt, f), "utf8"));
    expect(read("config.json")).toMatchObject({ vocab_size: 32002, pad_token_id: 32000 });
    expect(read("added_tokens.json")).toEqual({ "[PAD]": 32000, "<AC>": 32001 });
    expect(read("special_tokens_map.json")).toMatchObject({
      pad_token: "[PAD]",
      additional_special_tokens: ["<AC>"],
    });
    expect(read("generation_config.json")).toEqual({
      bos_token_id: 1,
      eos_token_id: 2,
      pad_token_id: 32000,
    });
    const added = read("tokenizer.json").added_tokens as { id: number; content: string }[];
    expect(added.map((t) => [t.id, t.content])).toEqual([
      [0, "<unk>"],
      [1, "<s>"],
      [2, "</s>"],
      [32000, "[PAD]"],
      [32001, "<AC>"],
    ]);
    // without anllm.json the folder's tokenizer.json gives the tokenizer and the <AC> anchor
    rmSync(join(ckpt, "anllm.json"));
    const g = await cliJson<AnyJson>(
      "generate",
      "--model",
      ckpt,
      "--prompt",
      "One. Two. Three.",
      "--max-new-tokens",
      "2",
    );
    expect(g.anchorIds).toEqual([32001]);
    expect(g.prompt.tokens).toEqual([
      1, 3118, 29889, 32001, 7803, 29889, 32001, 12753, 29889, 32001,
    ]);
  });

  it("continues pre-training a model folder, adding the <AC> row when switching to AC", async () => {
    const dir = tmp();
    const plain = join(dir, "plain");
    expect(
      (await cli("train", ...TINY, "--anchor", "none", "--steps", "2", "--out", plain)).code,
    ).toBe(0);
    const j = await cliJson<AnyJson>(
      "train",
      ...TINY.slice(2),
      "--model",
      plain,
      "--anchor",
      "ac",
      "--steps",
      "2",
      "--out",
      join(dir, "ac"),
    );
    const ckpt = j.checkpoint as string;
    expect(JSON.parse(readFileSync(join(ckpt, "config.json"), "utf8")).vocab_size).toBe(260);
    expect(JSON.parse(readFileSync(join(ckpt, "anllm.json"), "utf8")).anchor).toEqual({
      mode: "ac",
      ids: [259],
    });
    const wrongTok = await cli(
      "train",
      ...TINY.slice(2),
      "--model",
      plain,
      "--tokenizer",
      "llama2",
      "--steps",
      "1",
      "--out",
      join(dir, "x"),
    );
    expect(wrongTok.code).toBe(2);
    expect(wrongTok.stderr).toMatch(/has 32000 ids but the model only 259/);
  });

  it("--shuffle-block sets the documents per shuffle block: stored in train-config.json, changes the data order", async () => {
    const dir = tmp();
    const run = (n: string, ...extra: string[]) => oneStep(dir, n, ...extra);
    const byDefault = await run("default");
    const fileOrder = await run("block1", "--shuffle-block", "1");
    const again = await run("block1-again", "--shuffle-block", "1");
    expect(byDefault.cfg.shuffleBlock).toBeUndefined();
    expect(fileOrder.cfg.shuffleBlock).toBe(1);
    // same seed and options: same batch; blocks of one document keep the files' order: another batch
    expect(again.loss).toBe(fileOrder.loss);
    expect(fileOrder.loss).not.toBe(byDefault.loss);
    const bad = await cli("train", ...TINY, "--shuffle-block", "0", "--out", join(dir, "bad"));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--shuffle-block expects an integer in \[1, 16777216\], got "0"/);
  });

  it("--loss-ids scores only the listed token ids (the others are ignored like -100 labels)", async () => {
    const dir = tmp();
    const loss = (n: string, ...extra: string[]) => oneStep(dir, n, ...extra);
    const all = await loss("all");
    // every id of the vocabulary listed: the same loss as no list
    const listed = await loss("listed", "--loss-ids", "0-99,100-259");
    expect(listed.loss).toBeCloseTo(all.loss, 6);
    expect(listed.cfg.lossIds).toBe("0-99,100-259");
    // lowercase letters only: another mean, over fewer positions
    const letters = await loss("letters", "--loss-ids", "97-122");
    expect(Math.abs(letters.loss - all.loss)).toBeGreaterThan(1e-3);
    const bad = await cli("train", ...TINY, "--loss-ids", "9-3", "--out", join(dir, "bad"));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--loss-ids: range 9-3 ends before it starts/);
  });

  it("--init-std sets a fresh preset's init (HF initializer_range) and refuses model folders", async () => {
    const dir = tmp();
    // refused before any training: a non-positive std, and a folder (its weights are continued)
    for (const [extra, message] of [
      [["--init-std", "0"], /--init-std expects a number in \[0\.000001, 10\], got "0"/],
      [["--model", dir, "--init-std", "0.1"], /--init-std initialises a fresh preset/],
    ] as const) {
      const r = await cli("train", ...TINY, ...extra, "--out", join(dir, "refused"));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const byDefault = await oneStep(dir, "default");
    const same = await oneStep(dir, "same", "--init-std", "0.02");
    const wide = await oneStep(dir, "wide", "--init-std", "0.5");
    expect([byDefault.cfg.initStd, same.cfg.initStd, wide.cfg.initStd]).toEqual([
      undefined,
      0.02,
      0.5,
    ]);
    // 0.02 is the default: the same weights, the same first loss; wider weights give sharper
    // logits at step 0, so a higher first loss than the near-uniform default
    expect(same.loss).toBe(byDefault.loss);
    expect(wide.loss).toBeGreaterThan(byDefault.loss + 0.1);
  });

  it("prints --help", async () => {
    const r = await cli("train", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--grad-accum N/);
  });

  it("after kill -9 mid-run, --resume gives the losses of the uninterrupted run", async () => {
    const main = join(import.meta.dirname, "..", "src", "main.ts");
    const args = (out: string) => [
      "--conditions=@anllm/source",
      "--import",
      "tsx",
      main,
      "train",
      ...TINY,
      "--steps",
      "14",
      "--grad-accum",
      "2",
      "--lr",
      "5e-3",
      "--schedule",
      "cosine",
      "--warmup",
      "3",
      "--checkpoint-every",
      "3",
      "--out",
      out,
    ];
    const child = (argv: string[], killAfterSteps?: number, out?: string) =>
      new Promise<string>((resolve, reject) => {
        const p = spawn(process.execPath, argv, {
          stdio: ["ignore", "ignore", "pipe"],
          env: { ...process.env, ANLLM_DEVICE: "cpu" },
        });
        let err = "";
        p.stderr.on("data", (d: Buffer) => {
          err += d.toString();
        });
        const timer = killAfterSteps
          ? setInterval(() => {
              const m = join(out!, "metrics.jsonl");
              if (existsSync(m) && readMetrics(m).length >= killAfterSteps) p.kill("SIGKILL");
            }, 20)
          : null;
        p.on("error", reject);
        p.on("close", (code, signal) => {
          if (timer) clearInterval(timer);
          resolve(`${code ?? signal}\n${err}`);
        });
      });
    const ref = join(tmp(), "ref");
    expect(await child(args(ref))).toMatch(/^0\n/);
    const out = join(tmp(), "killed");
    expect(await child(args(out), 8, out)).toMatch(/^SIGKILL\n/);
    const stepsBefore = readMetrics(join(out, "metrics.jsonl")).length;
    expect(stepsBefore).toBeGreaterThanOrEqual(8);
    expect(stepsBefore).toBeLessThan(14);
    const resumed = await child([...args(out), "--resume"]);
    expect(resumed).toMatch(/^0\n/);
    const want = readMetrics(join(ref, "metrics.jsonl")).map((m) => m.loss);
    const got = readMetrics(join(out, "metrics.jsonl")).map((m) => m.loss);
    expect(want).toHaveLength(14);
    expect(got).toEqual(want);
  });
});
