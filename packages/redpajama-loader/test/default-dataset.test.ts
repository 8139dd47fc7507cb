// The embedded public-domain corpus: RedPajama 1T-Sample layout, several sources, a disjoint
// held-out split, licence file present, size within budget.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultDatasetPath, readDocuments, resolveDataset } from "../src/index";

describe("embedded dataset", () => {
  it("is a Sample-layout folder with book, c4 and wikipedia sources and a licence", async () => {
    const train = defaultDatasetPath();
    const ds = await resolveDataset(train);
    expect(ds.layout).toBe("sample");
    expect(ds.files.map((f) => f.subset)).toEqual(["book", "c4", "wikipedia"]);
    expect(existsSync(join(train, "..", "README.md"))).toBe(true);
    const bytes = ["train", "heldout"].flatMap((s) =>
      readdirSync(join(train, "..", s)).map((f) => statSync(join(train, "..", s, f)).size),
    );
    expect(bytes.reduce((a, b) => a + b, 0)).toBeLessThan(4 * 1024 * 1024);
  });

  it("has thousands of clean documents and a disjoint held-out split (every 20th document)", async () => {
    const seen = new Set<string>();
    let train = 0;
    let chars = 0;
    for await (const d of readDocuments(defaultDatasetPath(), { strict: true })) {
      seen.add(d.text);
      train++;
      chars += d.text.length;
    }
    let held = 0;
    for await (const d of readDocuments(defaultDatasetPath("heldout"), { strict: true })) {
      expect(seen.has(d.text)).toBe(false);
      held++;
    }
    expect(train).toBeGreaterThan(4000);
    expect(chars).toBeGreaterThan(5_000_000);
    expect(held).toBeGreaterThan(200);
    expect(held / (train + held)).toBeCloseTo(0.05, 2);
  });
});
