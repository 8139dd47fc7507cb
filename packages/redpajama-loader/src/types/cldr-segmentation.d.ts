// Type declarations for cldr-segmentation 2.2.1 (the package ships none): the parts we use.
declare module "cldr-segmentation" {
  /** What the rule state machine and the suppressions read from a cursor. */
  export interface Cursor {
    readonly length: number;
    logicalPosition: number;
    actualPosition: number;
    advance(amount?: number): void;
    retreat(amount?: number): void;
    isEos(): boolean;
    getCodePoint(pos?: number): number | undefined;
  }
  /** Abbreviation suppressions of one locale. */
  export interface Suppressions {
    shouldBreak(cursor: Cursor): boolean;
  }
  export const suppressions: Record<string, Suppressions>;
  export function sentenceSplit(text: string, suppressions?: Suppressions): string[];
  export function customSuppressions(list: string[]): Suppressions;
  /** A boundary type's state machine plus suppressions. */
  export class RuleSet {
    static create(
      boundaryType: "sentence" | "word" | "grapheme" | "line",
      s?: Suppressions,
    ): RuleSet;
    readonly stateMachine: { handleNext(cursor: Cursor): number };
    readonly suppressions: Suppressions;
  }
}
