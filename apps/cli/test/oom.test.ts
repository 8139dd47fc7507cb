// Out of device memory during training: a run resumed under a small device budget
// (ANLLM_DEVICE_MEMORY, WebGPU) fails with an OutOfMemoryError naming the tensor, its size, what
// is allocated and the limit, with memoryReport's figures for the options that shrink a step;
// the last checkpoint is untouched, and resuming without the budget continues from it.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, TINY_TRAIN } from "./helpers";

process.env.ANLLM_DEVICE ??= "cpu";
const main = join(import.meta.dirname, "..", "src", "main.ts");

function run(
  argv: string[],
  env: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ["--conditions=@anllm/source", "--import", "tsx", main, ...argv],
      {
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...process.env, ...env },
      },
    );
    let stderr = "";
    p.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    p.on("error", reject);
    p.on("close", (code) => resolve({ code: code ?? -1, stderr }));
  });
}

describe("anllm train out of device memory", () => {
  it("names the tensor, size, allocation and limit, suggests options, keeps the checkpoint", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "anllm-oom-")), "run");
    const first = await cli(
      "train",
      ...TINY_TRAIN,
      "--seq-len",
      "32",
      "--steps",
      "4",
      "--checkpoint-every",
      "2",
      "--out",
      out,
    );
    expect(first.code).toBe(0);
    const ckpts = join(out, "checkpoints");
    const snapshot = () =>
      JSON.stringify({
        latest: readFileSync(join(ckpts, "latest.json"), "utf8"),
        dirs: readdirSync(ckpts).sort(),
        weights: readFileSync(join(ckpts, "step-00000004", "model.safetensors")).toString("base64"),
      });
    const before = snapshot();
    const r = await run(["train", "--resume", "--out", out, "--steps", "8"], {
      ANLLM_DEVICE: "webgpu",
      ANLLM_DEVICE_MEMORY: "1MiB",
      ANLLM_AUTOTUNE: "0",
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /anllm train: OutOfMemoryError: out of device memory: cannot allocate f32 \[[0-9, ]+\] \([0-9.]+ KiB\) with [0-9.]+ KiB already allocated \(limit 1\.00 MiB\); a training step here needs about [0-9.]+ MiB/,
    );
    expect(r.stderr).toMatch(/--checkpoint-activations: [0-9.]+ [KM]iB/);
    expect(r.stderr).toContain(`The last checkpoint (${join(ckpts, "step-00000004")}) is intact`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(snapshot()).toBe(before);
    const again = await cli("train", "--resume", "--out", out, "--steps", "6");
    expect(again.code).toBe(0);
    expect(readdirSync(ckpts)).toContain("step-00000006");
  }, 300_000);
});
