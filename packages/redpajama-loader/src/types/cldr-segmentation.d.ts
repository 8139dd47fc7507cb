// Type declarations for cldr-segmentation 2.2.1 (the package ships none): the parts we use.
declare module "cldr-segmentation" {
  /** Abbreviation suppressions of one locale. */
  export interface Suppressions {
    shouldBreak(cursor: unknown): boolean;
  }
  export const suppressions: Record<string, Suppressions>;
  export function sentenceSplit(text: string, suppressions?: Suppressions): string[];
  export function customSuppressions(list: string[]): Suppressions;
}
