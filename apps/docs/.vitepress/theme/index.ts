// Site theme: VitePress's default theme plus the components the pages use (mask figures, the
// interactive anchor-mask playground and the result plots).
import type { Theme } from "vitepress";
import DefaultTheme from "vitepress/theme";
import AnchorMaskPlayground from "./components/anchor-mask-playground.vue";
import CacheTimeline from "./components/cache-timeline.vue";
import MaskFigure from "./components/mask-figure.vue";
import MaskMatrix from "./components/mask-matrix.vue";
import PolicyResults from "./components/policy-results.vue";
import ResultsPlots from "./components/results-plots.vue";

export default {
  extends: DefaultTheme,
  enhanceApp({ app }) {
    app.component("AnchorMaskPlayground", AnchorMaskPlayground);
    app.component("CacheTimeline", CacheTimeline);
    app.component("MaskFigure", MaskFigure);
    app.component("MaskMatrix", MaskMatrix);
    app.component("PolicyResults", PolicyResults);
    app.component("ResultsPlots", ResultsPlots);
  },
} satisfies Theme;
