// `anllm train` on WebGPU tunes the kernels of its step at first use and pins the choices in the
// run folder (kernel-choices.json); a resumed run applies the pinned choices, whatever the
// process's tuning table or the machine's cache say by then.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getDevice, setTunedChoices, tunedChoices } from "@anllm/tensor";
import { describe, expect, it } from "vitest";
import { type AnyJson, cliJson, TINY_TRAIN } from "./helpers";

const tmp = () => mkdtempSync(join(tmpdir(), "anllm-tune-"));
process.env.ANLLM_DEVICE = "webgpu";
process.env.ANLLM_TUNE_CACHE = join(tmp(), "autotune.json");
const TINY = TINY_TRAIN;

describe("kernel choices of a training run", () => {
  it("are tuned at first use, pinned in the run folder and applied again on resume", async () => {
    const out = join(tmp(), "run");
    const args = [...TINY, "--seq-len", "32", "--checkpoint-every", "2", "--out", out];
    const first = await cliJson<AnyJson>("train", ...args, "--steps", "2");
    expect(first.ok).toBe(true);
    const device = getDevice();
    expect(device.kind).toBe("webgpu");
    const pinned = JSON.parse(readFileSync(join(out, "kernel-choices.json"), "utf8"))[
      device.name
    ] as Record<string, string>;
    const classes = Object.keys(pinned);
    expect(classes.some((c) => c.startsWith("matmul "))).toBe(true);
    expect(classes.some((c) => c.startsWith("attention "))).toBe(true);
    // the global cache holds the same choices
    const cache = JSON.parse(readFileSync(process.env.ANLLM_TUNE_CACHE as string, "utf8"));
    for (const c of classes) expect(cache[device.name][c], c).toBe(pinned[c]);
    // the process's table changes (as a changed cache would): resume restores the pinned choices
    const other = Object.fromEntries(
      classes.map((c) => [
        c,
        c.startsWith("matmul ")
          ? pinned[c] === "scalar"
            ? "default"
            : "scalar"
          : pinned[c] === "generic"
            ? "unrolled"
            : "generic",
      ]),
    );
    setTunedChoices(other, device);
    const resumed = await cliJson<AnyJson>("train", ...args, "--steps", "4", "--resume");
    expect(resumed.ok).toBe(true);
    const now = tunedChoices(device);
    for (const c of classes) expect(now[c], c).toBe(pinned[c]);
  });
});
