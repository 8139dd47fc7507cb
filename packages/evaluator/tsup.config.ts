import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/scoring.ts"],
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "es2022",
  platform: "node",
});
