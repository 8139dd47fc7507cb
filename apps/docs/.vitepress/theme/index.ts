// Site theme: VitePress's default theme plus the components the pages use (mask figures, the
// interactive anchor-mask playground, the result plots, and the browser model page's inference and
// training; their model code is loaded on demand, so other pages do not carry it).
import type { Theme } from "vitepress";
import DefaultTheme from "vitepress/theme";
import "./controls.css";
import AnchorMaskPlayground from "./components/anchor-mask-playground.vue";
import BrowserInference from "./components/browser-inference.vue";
import CacheTimeline from "./components/cache-timeline.vue";
import MaskFigure from "./components/mask-figure.vue";
import MaskMatrix from "./components/mask-matrix.vue";
import PolicyResults from "./components/policy-results.vue";
import ResultsPlots from "./components/results-plots.vue";
import TrainInTab from "./components/train-in-tab.vue";

export default {
  extends: DefaultTheme,
  enhanceApp({ app }) {
    app.component("AnchorMaskPlayground", AnchorMaskPlayground);
    app.component("BrowserInference", BrowserInference);
    app.component("CacheTimeline", CacheTimeline);
    app.component("MaskFigure", MaskFigure);
    app.component("MaskMatrix", MaskMatrix);
    app.component("PolicyResults", PolicyResults);
    app.component("ResultsPlots", ResultsPlots);
    app.component("TrainInTab", TrainInTab);
  },
} satisfies Theme;
