// A WebGPU device's memory budget: an allocation beyond it is an OutOfMemoryError naming the
// tensor, its size, what is allocated and the limit (not a kill by the OS on a software adapter);
// pooled buffers are released before giving up; parseBytes reads ANLLM_DEVICE_MEMORY sizes.
import { describe, expect, it } from "vitest";
import { OutOfMemoryError } from "../errors";
import * as T from "../index";
import { nodeGpu, parseBytes } from "../node";
import type { WebGPUDevice } from "./webgpu-device";

const MiB = 2 ** 20;

describe("device memory budget [webgpu]", () => {
  it("refuses an allocation beyond the budget with what, size, allocated and limit", async () => {
    const dev = (await T.createWebGPUDevice(nodeGpu(), {
      memoryLimitBytes: 10 * MiB,
    })) as WebGPUDevice;
    expect(dev.name).toMatch(/^webgpu /);
    const a = T.zeros([1024, 1024], { device: dev }); // 4 MiB
    // 4 MiB, plus the 256-byte buffer of fill's unused input, now pooled
    expect(dev.allocatedBytes).toBe(4 * MiB + 256);
    let err: unknown;
    try {
      T.tensor(new Float32Array(1024 * 1280), [1024, 1280], {
        device: dev,
        name: "lm_head.weight",
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutOfMemoryError);
    const oom = err as OutOfMemoryError;
    expect(oom.what).toBe("lm_head.weight");
    expect(oom.bytes).toBe(5 * MiB); // served as an 8 MiB buffer: 4 + 8 > 10
    expect(oom.allocatedBytes).toBe(4 * MiB); // the pool was released before giving up
    expect(oom.limitBytes).toBe(10 * MiB);
    expect(oom.message).toBe(
      "out of device memory: cannot allocate lm_head.weight (5.00 MiB) with 4.00 MiB already allocated (limit 10.00 MiB)",
    );
    // activations are named by dtype and shape
    const c = T.add(a, a);
    expect(() => T.add(a, c)).toThrow(
      "cannot allocate f32 [1024, 1024] (4.00 MiB) with 8.00 MiB already allocated (limit 10.00 MiB)",
    );
    a.dispose();
    c.dispose();
    // 8 MiB of freed buffers sit in the pool: a 6 MiB tensor (an 8 MiB buffer) releases them and fits
    const b = T.zeros([1536, 1024], { device: dev });
    expect(dev.allocatedBytes).toBeLessThanOrEqual(10 * MiB);
    b.dispose();
    dev.destroy();
  });
});

describe("parseBytes", () => {
  it("reads sizes with units and refuses garbage, naming the variable", () => {
    expect(parseBytes("512MiB", "X")).toBe(512 * MiB);
    expect(parseBytes("1.5GiB", "X")).toBe(1.5 * 2 ** 30);
    expect(parseBytes("2GB", "X")).toBe(2e9);
    expect(parseBytes("4096", "X")).toBe(4096);
    expect(parseBytes(undefined, "X")).toBeUndefined();
    expect(() => parseBytes("lots", "ANLLM_DEVICE_MEMORY")).toThrow(
      /ANLLM_DEVICE_MEMORY must be a size like 512MiB, 8GiB or a byte count, got "lots"/,
    );
  });
});
