// Task templates and file readers on hand-written fixtures in the public raw formats.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DataFormatError } from "../src/errors";
import { loadTask, readTaskFile } from "../src/qa-data";
import { hellaswagPreprocess, pyCapitalize } from "../src/qa-tasks";

const fx = (p: string) => join(import.meta.dirname, "fixtures", p);

describe("task templates (pre-0.4 harness)", () => {
  it("OpenBookQA: raw stem, padded answer key, HF-flattened train file", async () => {
    const { docs, trainDocs } = await loadTask("openbookqa", {
      eval: fx("openbookqa/test.jsonl"),
      train: fx("openbookqa/train.jsonl"),
    });
    expect(docs[0]).toMatchObject({
      text: "A kettle on a hot stove will",
      gold: 1,
      target: " whistle when the water boils",
    });
    expect(docs[1]!.gold).toBe(0);
    expect(trainDocs![1]).toMatchObject({
      text: "A compass needle points toward",
      choices: ["the floor", "magnetic north", "the nearest tree", "the sun"],
      gold: 1,
    });
  });

  it("ARC: Question/Answer template, digit keys, 3 and 5 choices", async () => {
    const docs = await readTaskFile("arc_easy", fx("arc/ARC-Easy-Test.jsonl"));
    expect(docs[0]).toMatchObject({
      text: "Question: What do bees collect from flowers?\nAnswer:",
      gold: 0,
    });
    expect(docs[0]!.choices).toHaveLength(3);
    expect(docs[1]!.choices).toHaveLength(5);
    expect(docs[1]!.gold).toBe(2);
    expect((await readTaskFile("arc_challenge", fx("arc/ARC-Challenge-Test.jsonl")))[0]!.gold).toBe(
      1,
    );
  });

  it("PIQA: labels from the line-aligned -labels.lst file", async () => {
    const docs = await readTaskFile("piqa", fx("piqa/dev.jsonl"));
    expect(docs.map((d) => d.gold)).toEqual([0, 1]);
    expect(docs[1]!.text).toBe("Question: Loosen a tight jar lid\nAnswer:");
    expect(docs[1]!.target).toBe(" Run the lid under hot water.");
  });

  it("HellaSwag: capitalize + preprocess ([title], [header], [step], double spaces)", async () => {
    expect(pyCapitalize("IF THE SOIL is dry,")).toBe("If the soil is dry,");
    expect(hellaswagPreprocess("a [title] b")).toBe("a.  b".replace("  ", " "));
    const docs = await readTaskFile("hellaswag", fx("hellaswag/hellaswag_val.jsonl"));
    expect(docs[0]!.text).toBe("Making tea: A man fills a kettle with water. He");
    expect(docs[0]!.choices[2]).toBe("paints the kettle blue.");
    expect(docs[1]!.text).toBe(
      "Home and Garden: How to water a plant. Check the soil. If the soil is dry,",
    );
    expect(docs[1]!.choices.slice(1, 3)).toEqual(["move it to the attic.", " sing to it loudly."]);
    expect(docs[1]!.gold).toBe(0);
  });

  it("SciQ: JSON array, correct answer last, empty support stripped", async () => {
    const docs = await readTaskFile("sciq", fx("sciq/test.json"));
    expect(docs[0]!.choices).toEqual(["oxygen", "neon", "helium", "carbon dioxide"]);
    expect(docs[0]!.gold).toBe(3);
    expect(docs[0]!.text).toBe(
      "Animals breathe in oxygen and breathe out carbon dioxide.\nQuestion: What gas do animals exhale?\nAnswer:",
    );
    expect(docs[1]!.text).toBe("Question: What is frozen water called?\nAnswer:");
  });

  it("BoolQ: SuperGLUE boolean label and Google 'answer' field", async () => {
    const { docs, trainDocs } = await loadTask("boolq", {
      eval: fx("boolq/val.jsonl"),
      train: fx("boolq/train.jsonl"),
    });
    expect(docs[0]).toMatchObject({
      text: "The Sun is the star at the center of our solar system.\nQuestion: is the sun a star?\nAnswer:",
      target: " yes",
      gold: 0,
    });
    expect(docs[1]!.gold).toBe(1);
    expect(trainDocs![0]!.target).toBe(" yes");
  });

  it("WinoGrande: partial contexts around the blank, shared continuation", async () => {
    const docs = await readTaskFile("winogrande", fx("winogrande/dev.jsonl"));
    expect(docs[1]!.partial).toEqual({
      contexts: ["Ann lent Beth a pen because Ann", "Ann lent Beth a pen because Beth"],
      continuation: " had forgotten hers.",
    });
    expect(docs[1]!.text).toBe("Ann lent Beth a pen because Beth");
    expect(docs[1]!.gold).toBe(1);
  });

  it("bad records name the file, line and field", async () => {
    const dir = await mkdtemp(join(tmpdir(), "anllm-qa-"));
    await writeFile(
      join(dir, "bad.jsonl"),
      `${'{"goal":"g","sol1":"a","sol2":"b","label":0}'}\n{"goal":"g","sol1":"a"}\n`,
    );
    await expect(readTaskFile("piqa", join(dir, "bad.jsonl"))).rejects.toThrow(
      /bad\.jsonl:2 \(field "sol2"\)/,
    );
    await writeFile(
      join(dir, "b.jsonl"),
      '{"sentence":"no blank","option1":"a","option2":"b","answer":"1"}\n',
    );
    await expect(readTaskFile("winogrande", join(dir, "b.jsonl"))).rejects.toThrow(DataFormatError);
    await writeFile(join(dir, "c.jsonl"), '{"goal":"g","sol1":"a","sol2":"b"}\n');
    await writeFile(join(dir, "c-labels.lst"), "0\n1\n");
    await expect(readTaskFile("piqa", join(dir, "c.jsonl"))).rejects.toThrow(
      /2 labels for 1 records/,
    );
    await writeFile(join(dir, "d.jsonl"), '{"question":"q","passage":"p","label":"maybe"}\n');
    await expect(readTaskFile("boolq", join(dir, "d.jsonl"))).rejects.toThrow(
      /d\.jsonl:1 \(field "label"\)/,
    );
  });
});
