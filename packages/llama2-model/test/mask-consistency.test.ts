// The anchor rule exists twice: as anchor-mask's dense reference mask and as the per-token arrays
// this package hands to tensor's attention op. With q = 0 (uniform attention) and one-hot values,
// the attention output reveals exactly which keys each query saw: it must equal buildAnchorMask.
import { buildAnchorMask } from "@anllm/anchor-mask";
import { attention, makeAttentionMask, tensor, zeros } from "@anllm/tensor";
import { describeDevices } from "@anllm/tensor/testing";
import { expect, it } from "vitest";
import { batchArrays, type ModelBatch } from "../src/index";
import { rng } from "./helpers";

describeDevices("attention arrays == anchor-mask dense rule", (getDevice) => {
  it("random anchors, padding, packing, bosVisible", async () => {
    const r = rng(99);
    const L = 24;
    for (let trial = 0; trial < 12; trial++) {
      const isAnchor = Uint8Array.from({ length: L }, () => +(r() < 0.25));
      const length = trial % 3 === 0 ? 10 + Math.floor(r() * (L - 10)) : L;
      const cut = 5 + Math.floor(r() * 10);
      const documentIds =
        trial % 2 ? Int32Array.from({ length: L }, (_, i) => +(i >= cut)) : undefined;
      const bosVisible = trial % 4 === 1;
      const b: ModelBatch = {
        inputIds: new Int32Array(L),
        isAnchor,
        batch: 1,
        seqLen: L,
        attention: "anchor",
        lengths: Int32Array.of(length),
        documentIds,
        bosVisible,
      };
      const mask = makeAttentionMask({ ...batchArrays(b).mask, device: getDevice() });
      const eye = tensor(
        Float32Array.from({ length: L * L }, (_, i) => +(i % (L + 1) === 0)),
        [1, 1, L, L],
      );
      const out = attention(zeros([1, 1, L, L]), zeros([1, 1, L, L]), eye, mask);
      const seen = (await out.data()) as Float32Array;
      out.dispose();
      eye.dispose();
      mask.dispose();
      const want = buildAnchorMask(isAnchor, { length, documentIds, bosVisible });
      for (let i = 0; i < length; i++) {
        const got = Array.from(seen.subarray(i * L, (i + 1) * L), (v) => +(v > 0));
        expect(got, `trial ${trial} row ${i}`).toEqual([...want.subarray(i * L, (i + 1) * L)]);
      }
    }
  });
});
