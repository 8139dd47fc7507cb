// The pre-trained base shipped in apps/cli/models/base-small: its provenance file names the command
// and the script that rebuild it and the data it was trained on (checksums of the embedded corpus
// as it is now), and the shipped weights load and reach the recorded held-out perplexity with the
// recorded protocol, on WebGPU (lavapipe here; fails, never skips, without an adapter) as recorded.

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { captureIo } from "../src/io";
import {
  type HeldoutProtocol,
  heldoutFullPerplexity,
  readBaseProvenance,
  shippedBaseDir,
} from "../src/wiring/base-model";
import { ensureDevice } from "../src/wiring/device";
import { loadModelDir } from "../src/wiring/model";

process.env.ANLLM_DEVICE = "webgpu";
const repoRoot = join(import.meta.dirname, "..", "..", "..");

describe("the shipped base model", () => {
  const dir = shippedBaseDir();
  const prov = readBaseProvenance(dir)!;

  it("has a provenance file naming its command, rebuild script, seed, commit and data", () => {
    expect(prov).not.toBeNull();
    expect(prov.command).toMatch(/^pnpm anllm train .*--anchor none/);
    expect(prov.command).toContain(`--seed ${prov.seed}`);
    expect(prov.rebuild).toBe("bash scripts/build-base-model.sh");
    expect(existsSync(join(repoRoot, "scripts", "build-base-model.sh"))).toBe(true);
    expect(prov.commit).toMatch(/^[0-9a-f]{7,40}$/);
    const data = prov.data as Record<string, Array<{ file: string; sha256: string }>>;
    expect(data.train!.length).toBeGreaterThan(0);
    // the corpus it was trained and measured on is the one in the repository now
    for (const f of [...data.train!, ...data.heldout!]) {
      const sha = createHash("sha256")
        .update(readFileSync(join(repoRoot, f.file)))
        .digest("hex");
      expect(sha, f.file).toBe(f.sha256);
    }
    for (const f of ["config.json", "model.safetensors", "anllm.json"]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
  });

  it("loads and reaches the recorded held-out perplexity", async () => {
    const device = await ensureDevice(captureIo());
    expect(device.kind).toBe("webgpu");
    const base = await loadModelDir("test", dir);
    expect(base.anchorMode).toBe("none");
    expect(base.tokenizer.name).toBe("bytes");
    const protocol = prov.heldout.protocol as HeldoutProtocol;
    const got = await heldoutFullPerplexity(base, protocol);
    base.model.dispose();
    expect(got.map((r) => r.length)).toEqual(protocol.lengths);
    prov.heldout.results.forEach((want, i) => {
      expect(got[i]!.windows).toBe(want.windows);
      // same weights, data and protocol: equal up to float summation order
      expect(Math.abs(got[i]!.ppl / want.ppl - 1), `L=${want.length}`).toBeLessThan(1e-4);
    });
  });
});
