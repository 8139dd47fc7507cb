// Lets tsc type-check the theme's .ts files that import single-file components (.vue); the
// components themselves are compiled and checked by VitePress's Vue plugin at build time.
declare module "*.vue" {
  import type { DefineComponent } from "vue";

  const component: DefineComponent;
  export default component;
}
