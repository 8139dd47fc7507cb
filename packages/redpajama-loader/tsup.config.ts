import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/text.ts", "src/tokenize-worker.ts"],
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "es2022",
  platform: "node",
});
