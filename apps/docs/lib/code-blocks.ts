// Extracts the runnable examples of the package guides: every fenced ```ts block of a page is a
// complete program (non-runnable fragments use ```text), run by test/examples.test.ts.

/** One ```ts block: where it is and its code. */
export interface CodeBlock {
  readonly page: string;
  /** 1-based line of the opening fence */
  readonly line: number;
  readonly code: string;
}

/** The ```ts blocks of a Markdown page (fences of 3+ backticks; info string exactly "ts"). */
export function tsBlocks(page: string, markdown: string): CodeBlock[] {
  const out: CodeBlock[] = [];
  const lines = markdown.split("\n");
  for (let k = 0; k < lines.length; k++) {
    const open = lines[k]!.match(/^(`{3,})ts\s*$/);
    if (!open) continue;
    const fence = open[1]!;
    const body: string[] = [];
    let end = k + 1;
    while (end < lines.length && lines[end]!.trim() !== fence) body.push(lines[end++]!);
    if (end === lines.length) throw new Error(`${page}:${k + 1}: unclosed code fence`);
    out.push({ page, line: k + 1, code: `${body.join("\n")}\n` });
    k = end;
  }
  return out;
}
