// The README's example, run as written (keep the two in sync): token ids -> anchors -> mask.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { buildAnchorMask, epStrategy, formatMask, markAnchors } from "../src/index";

const here = dirname(fileURLToPath(import.meta.url));

it("README example builds the mask from token ids and anchor ids", () => {
  const ids = [1, 306, 763, 29889, 450, 29889, 3118, 1781, 29889, 13]; // from your tokenizer
  const isAnchor = markAnchors(ids, epStrategy([29889])); // Llama-2 "." (take the id from the tokenizer)
  const mask = buildAnchorMask(isAnchor, { length: 9 }); // Uint8Array [L*L], row = query, 1 = attend
  const text = formatMask(mask, { labels: ids.map(String) });
  expect(text.split("\n")).toEqual([
    "          1   306   763 29889   450 29889  3118  1781 29889    13",
    "    1     1     0     0     0     0     0     0     0     0     0",
    "  306     1     1     0     0     0     0     0     0     0     0",
    "  763     1     1     1     0     0     0     0     0     0     0",
    "29889     1     1     1     1     0     0     0     0     0     0",
    "  450     0     0     0     1     1     0     0     0     0     0",
    "29889     0     0     0     0     1     1     0     0     0     0",
    " 3118     0     0     0     1     0     1     1     0     0     0",
    " 1781     0     0     0     1     0     1     1     1     0     0",
    "29889     0     0     0     0     0     0     1     1     1     0",
    "   13     0     0     0     0     0     0     0     0     0     1",
  ]);
  // The README's `const` lines are exactly the ones run above.
  const readme = readFileSync(join(here, "..", "README.md"), "utf8");
  const block = readme.split("```ts\n")[1]!.split("```")[0]!;
  const consts = block.split("\n").filter((l) => l.startsWith("const "));
  expect(consts).toHaveLength(3);
  const source = readFileSync(fileURLToPath(import.meta.url), "utf8");
  for (const line of consts) expect(source).toContain(`  ${line}\n`);
});
