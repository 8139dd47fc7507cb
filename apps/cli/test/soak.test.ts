// Kill-and-resume soak on WebGPU: `anllm train` in a child process is SIGKILLed again and again,
// at seeded random steps and while a checkpoint is being written (a `.tmp-` folder exists), and
// resumed each time; the final losses and weights must equal an uninterrupted run's bit for bit.
// Fails (never skips) without a WebGPU adapter, like the demo test.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, watch } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seededRandom } from "@anllm/tensor";
import { readSafetensorsHeader, readSafetensorsTensor } from "@anllm/tensor/io";
import { readMetrics } from "@anllm/trainer/node";
import { describe, expect, it } from "vitest";
import { TINY_TRAIN } from "./helpers";

const STEPS = 12;
const SEED = 16_016;
const main = join(import.meta.dirname, "..", "src", "main.ts");
const tmp = () => mkdtempSync(join(tmpdir(), "anllm-soak-"));

const args = (out: string, resume: boolean) => [
  "--conditions=@anllm/source",
  "--import",
  "tsx",
  main,
  "train",
  ...TINY_TRAIN,
  "--seq-len",
  "32",
  "--steps",
  String(STEPS),
  "--lr",
  "5e-3",
  "--checkpoint-every",
  "2",
  "--out",
  out,
  ...(resume ? ["--resume"] : []),
];

type Kill = { kind: "step"; after: number } | { kind: "checkpoint-write" };

/** Runs train once; kills it as `kill` says. Resolves to the exit code or signal, and stderr. */
function child(out: string, resume: boolean, kill: Kill | null) {
  return new Promise<{ end: string; stderr: string; killedIn: string | null }>(
    (resolve, reject) => {
      const p = spawn(process.execPath, args(out, resume), {
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...process.env, ANLLM_DEVICE: "webgpu" },
      });
      let stderr = "";
      let killedIn: string | null = null;
      p.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      const ckpts = join(out, "checkpoints");
      let watcher: ReturnType<typeof watch> | null = null;
      const poll = setInterval(() => {
        if (!kill || killedIn) return;
        if (kill.kind === "step") {
          const m = join(out, "metrics.jsonl");
          if (existsSync(m) && readMetrics(m).length >= kill.after) {
            killedIn = `after step ${readMetrics(m).length}`;
            p.kill("SIGKILL");
          }
        } else if (!watcher && existsSync(ckpts)) {
          watcher = watch(ckpts, (_e, name) => {
            if (killedIn || !name?.startsWith(".tmp-")) return;
            killedIn = `during the write of ${name}`;
            p.kill("SIGKILL");
          });
        }
      }, 5);
      p.on("error", reject);
      p.on("close", (code, signal) => {
        clearInterval(poll);
        watcher?.close();
        resolve({ end: String(code ?? signal), stderr, killedIn });
      });
    },
  );
}

async function weights(out: string): Promise<Map<string, Buffer>> {
  const f = join(out, "checkpoints", `step-${String(STEPS).padStart(8, "0")}`, "model.safetensors");
  const h = await readSafetensorsHeader(f);
  const res = new Map<string, Buffer>();
  for (const n of h.entries.keys()) {
    const t = await readSafetensorsTensor(f, h, n);
    res.set(n, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return res;
}

describe("kill -9 and resume on WebGPU (soak)", () => {
  it("resumes after kills at random steps and during checkpoint writes, bit-exactly", async () => {
    const ref = join(tmp(), "ref");
    const first = await child(ref, false, null);
    expect(first.end, first.stderr).toBe("0");
    expect(first.stderr).toMatch(/webgpu|WebGPU/);

    const rng = seededRandom(SEED);
    const out = join(tmp(), "killed");
    const log: string[] = [];
    let done = false;
    for (let round = 0; round < 12 && !done; round++) {
      const resume = existsSync(join(out, "checkpoints", "latest.json"));
      const have = existsSync(join(out, "metrics.jsonl"))
        ? readMetrics(join(out, "metrics.jsonl")).length
        : 0;
      const kill: Kill | null =
        round >= 8
          ? null // enough kills: let it finish
          : rng.next() < 0.5
            ? { kind: "checkpoint-write" }
            : { kind: "step", after: Math.min(STEPS, have + 1 + Math.floor(rng.next() * 3)) };
      const r = await child(out, resume, kill);
      log.push(
        `${resume ? "resume" : "start"} -> ${r.end}${r.killedIn ? ` (killed ${r.killedIn})` : ""}`,
      );
      if (r.end === "0") done = true;
      else expect(r.end, r.stderr).toBe("SIGKILL");
    }
    console.log(`soak (seed ${SEED}): ${log.join("; ")}`);
    expect(done).toBe(true);
    expect(log.filter((l) => l.includes("killed")).length).toBeGreaterThanOrEqual(3);
    const want = readMetrics(join(ref, "metrics.jsonl")).map((m) => m.loss);
    const got = readMetrics(join(out, "metrics.jsonl")).map((m) => m.loss);
    expect(want).toHaveLength(STEPS);
    expect(got).toEqual(want);
    const [a, b] = [await weights(ref), await weights(out)];
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [n, bytes] of a) expect(b.get(n)!.equals(bytes), n).toBe(true);
    // no half-written checkpoint is left behind once a run completes
    expect(readdirSync(join(out, "checkpoints")).filter((e) => e.startsWith(".tmp-"))).toEqual([]);
  }, 600_000);
});
