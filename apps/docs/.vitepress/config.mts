// VitePress configuration of the anllm docs site. Workspace packages are imported from source
// through the "@anllm/source" export condition, so the interactive pages run the real code.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { type DefaultTheme, defineConfig } from "vitepress";

const root = new URL("..", import.meta.url).pathname;
const conditions = ["@anllm/source"];

/** Sidebar entries for the typedoc output (api/<package>/index.md), whatever was generated. */
function apiSidebar(): DefaultTheme.SidebarItem[] {
  const dir = join(root, "api");
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, "index.md")))
    .map((e) => ({ text: `@anllm/${e.name}`, link: `/api/${e.name}/` }))
    .sort((a, b) => a.text.localeCompare(b.text));
}

const packagePages = [
  ["tensor", "@anllm/tensor"],
  ["anchor-mask", "@anllm/anchor-mask"],
  ["llama2-model", "@anllm/llama2-model"],
  ["redpajama-loader", "@anllm/redpajama-loader"],
  ["trainer", "@anllm/trainer"],
  ["evaluator", "@anllm/evaluator"],
  ["cli", "@anllm/cli (anllm)"],
] as const;

export default defineConfig({
  title: "anllm",
  description: "Anchor-based LLMs (AnLLM) on WebGPU, in TypeScript",
  srcExclude: ["README.md", "test/**", "scripts/**", "lib/**", "data/**"],
  lastUpdated: false,
  head: [["link", { rel: "icon", type: "image/svg+xml", href: "/favicon.svg" }]],
  cleanUrls: false,
  themeConfig: {
    nav: [
      { text: "Guide", link: "/guide/getting-started" },
      { text: "Method", link: "/guide/method" },
      { text: "Playground", link: "/playground" },
      { text: "In your browser", link: "/browser" },
      { text: "Results", link: "/results" },
      { text: "CLI", link: "/reference/cli" },
      { text: "API", link: "/api/" },
    ],
    sidebar: [
      {
        text: "Guide",
        items: [
          { text: "Getting started", link: "/guide/getting-started" },
          { text: "Training on a GPU", link: "/guide/training-on-a-gpu" },
          { text: "The method", link: "/guide/method" },
          { text: "Reproducing the paper", link: "/guide/reproducing-the-paper" },
          { text: "Cache policies", link: "/guide/cache-policies" },
          { text: "Interactive anchor mask", link: "/playground" },
          { text: "Anchor inference in your browser", link: "/browser" },
          { text: "Results", link: "/results" },
        ],
      },
      {
        text: "Packages",
        items: packagePages.map(([slug, text]) => ({ text, link: `/packages/${slug}` })),
      },
      {
        text: "Reference",
        items: [
          { text: "CLI reference", link: "/reference/cli" },
          { text: "API reference", link: "/api/", items: apiSidebar() },
        ],
      },
    ],
    search: { provider: "local" },
  },
  vite: {
    // Two large chunks are loaded only on demand: the local search index (~1.1 MB, when search
    // opens; it covers the API pages) and the playground's Llama-2 tokenizer (~0.7 MB).
    build: { chunkSizeWarningLimit: 1200 },
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: conditions } },
  },
});
