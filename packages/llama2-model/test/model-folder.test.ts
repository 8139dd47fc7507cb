// Model folders that are not on disk (browser-safe): the same model loads from Blobs/buffers
// (memoryModelFolder), from Files of a picked folder (filesModelFolder) and over HTTP
// (urlModelFolder) as from the folder on disk; bad folders get the same errors, naming the file.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { initDevice } from "@anllm/tensor";
import { beforeAll, describe, expect, it } from "vitest";
import {
  filesModelFolder,
  Llama2,
  memoryModelFolder,
  readConfigFrom,
  urlModelFolder,
  WeightsError,
} from "../src/index";
import { loadModel } from "../src/node";
import { FIXTURES } from "./helpers";

const DIR = join(FIXTURES, "tiny-gqa");
const files = () =>
  Object.fromEntries(
    readdirSync(DIR).map((f) => [f, new Blob([readFileSync(join(DIR, f))])] as const),
  );

async function sameParams(a: Llama2, b: Llama2): Promise<void> {
  expect([...a.parameters().keys()]).toEqual([...b.parameters().keys()]);
  for (const [name, t] of a.parameters()) {
    expect(Array.from(await t.data()), name).toEqual(Array.from(await b.param(name).data()));
  }
}

beforeAll(async () => {
  await initDevice({ prefer: "cpu" });
});

describe("model folders from memory, Files and URLs", () => {
  it("loads the sharded fixture from Blobs exactly as from disk", async () => {
    const disk = await loadModel(DIR);
    const mem = await Llama2.load(memoryModelFolder(files(), "tiny-gqa"));
    expect(mem.config).toEqual(disk.config);
    await sameParams(mem, disk);
    mem.dispose();
    disk.dispose();
  });

  it("takes the Files of a picked folder, named relative to its top folder", async () => {
    const picked = readdirSync(DIR).map((f) => {
      const file = new File([readFileSync(join(DIR, f))], f);
      Object.defineProperty(file, "webkitRelativePath", { value: `tiny-gqa/${f}` });
      return file;
    });
    const folder = filesModelFolder(picked);
    expect(folder.label).toBe("tiny-gqa");
    expect(await folder.list()).toEqual(readdirSync(DIR).sort());
    const m = await Llama2.load(folder);
    expect(m.config.nLayers).toBeGreaterThan(0);
    m.dispose();
  });

  it("fetches a URL folder file by file; a missing file is a WeightsError naming the URL", async () => {
    const served = files();
    const fetched: string[] = [];
    const fakeFetch = (async (url: string | URL | Request) => {
      const u = String(url);
      fetched.push(u);
      const blob = served[u.slice("https://models.example/tiny/".length)];
      return blob ? new Response(blob) : new Response("not found", { status: 404 });
    }) as typeof fetch;
    const names = readdirSync(DIR);
    const m = await Llama2.load(urlModelFolder("https://models.example/tiny/", names, fakeFetch));
    expect(fetched).toContain("https://models.example/tiny/config.json");
    m.dispose();
    delete served["model-00002-of-00002.safetensors"];
    const err = await Llama2.load(urlModelFolder("https://models.example/tiny", names, fakeFetch))
      .then(() => null)
      .catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(WeightsError);
    expect(err?.message).toBe(
      "cannot fetch https://models.example/tiny/model-00002-of-00002.safetensors: HTTP 404",
    );
  });

  it("refuses index entries outside the folder and PyTorch files, and names a bad config", async () => {
    const f = files();
    const index = JSON.parse(await (f["model.safetensors.index.json"] as Blob).text());
    const first = Object.keys(index.weight_map)[0] as string;
    for (const shard of ["../x.safetensors", "a/../../b", "/etc/passwd", "C:\\x"]) {
      index.weight_map[first] = shard;
      const folder = memoryModelFolder(
        { ...f, "model.safetensors.index.json": new TextEncoder().encode(JSON.stringify(index)) },
        "m",
      );
      await expect(Llama2.load(folder), shard).rejects.toThrow(
        /^m\/model\.safetensors\.index\.json: weight_map entry ".*" points outside the model folder/,
      );
    }
    const torch = memoryModelFolder({
      "config.json": f["config.json"] as Blob,
      "pytorch_model.bin": new Uint8Array(8),
    });
    await expect(Llama2.load(torch)).rejects.toThrow(/PyTorch \.bin weights are read in Node only/);
    const bad = memoryModelFolder({ "config.json": new TextEncoder().encode("{") }, "m");
    await expect(readConfigFrom(bad)).rejects.toThrow(/^m\/config\.json: invalid JSON/);
  });
});
