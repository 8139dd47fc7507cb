// The eight multiple-choice tasks of the paper with pre-0.4 lm-eval-harness templates: each raw or
// HF-flattened record becomes a QaDoc (doc_to_text, doc_to_target, choices, gold, scoring kind).

/** Task names as the harness spells them. */
export const TASK_NAMES = [
  "openbookqa",
  "winogrande",
  "arc_easy",
  "arc_challenge",
  "piqa",
  "hellaswag",
  "sciq",
  "boolq",
] as const;

/** One of the paper's eight QA tasks. */
export type TaskName = (typeof TASK_NAMES)[number];

/** How the choices of a document are turned into requests and a prediction. */
export type ScoringKind = "multiple-choice" | "boolq" | "winogrande";

/** A task document normalised to what the harness needs. */
export interface QaDoc {
  id: string;
  /** doc_to_text */
  text: string;
  /** doc_to_target (few-shot target, with its leading space) */
  target: string;
  /** Alternatives (without the leading space): choice texts; BoolQ ["yes","no"]; WinoGrande options. */
  choices: string[];
  gold: number;
  kind: ScoringKind;
  /** WinoGrande partial evaluation: one context per option, one shared continuation. */
  partial?: { contexts: string[]; continuation: string };
}

/** Metrics a task reports (WinoGrande and BoolQ report acc only). */
export function taskMetrics(task: TaskName): ("acc" | "acc_norm")[] {
  return task === "winogrande" || task === "boolq" ? ["acc"] : ["acc", "acc_norm"];
}

/** Thrown by parsers; the reader adds file and line. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "FieldError";
  }
}

type Rec = Record<string, unknown>;

function str(rec: Rec, field: string): string {
  const v = rec[field];
  if (typeof v !== "string")
    throw new FieldError(field, `expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function strList(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new FieldError(field, "expected an array of strings");
  }
  return v as string[];
}

/** `question.stem` + `question.choices[]` (raw AI2 files) or `question_stem`/`question` + `choices{text}` (HF). */
function ai2Question(rec: Rec, hfStemField: string): { stem: string; choices: string[] } {
  const q = rec["question"];
  if (q && typeof q === "object") {
    const qr = q as Rec;
    const choices = qr["choices"];
    if (!Array.isArray(choices)) throw new FieldError("question.choices", "expected an array");
    return {
      stem: str(qr, "stem"),
      choices: choices.map((c, i) => {
        const t = (c as Rec | null)?.["text"];
        if (typeof t !== "string")
          throw new FieldError(`question.choices[${i}].text`, "expected a string");
        return t;
      }),
    };
  }
  const ch = rec["choices"] as Rec | undefined;
  return { stem: str(rec, hfStemField), choices: strList(ch?.["text"], "choices.text") };
}

function letterGold(key: string, letters: string, field = "answerKey"): number {
  const g = letters.indexOf(key);
  if (key.length !== 1 || g < 0)
    throw new FieldError(field, `answer key "${key}" is not one of ${letters}`);
  return g;
}

function mc(id: string, text: string, choices: string[], gold: number): QaDoc {
  if (gold >= choices.length)
    throw new FieldError("answerKey", `gold ${gold} but ${choices.length} choices`);
  return { id, text, target: ` ${choices[gold]}`, choices, gold, kind: "multiple-choice" };
}

/** Python str.capitalize(): first code point upper-cased, the rest lower-cased. */
export function pyCapitalize(s: string): string {
  const [first = "", ...rest] = [...s];
  return first.toUpperCase() + rest.join("").toLowerCase();
}

/** HellaSwag `preprocess`: strip, " [title]" -> ". ", drop `[...]`, collapse double spaces once. */
export function hellaswagPreprocess(text: string): string {
  return text
    .trim()
    .replaceAll(" [title]", ". ")
    .replace(/\[.*?\]/g, "")
    .replaceAll("  ", " ");
}

function intLabel(v: unknown, field: string): number {
  const n = typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n)) {
    throw new FieldError(field, `expected an integer label, got ${JSON.stringify(v)}`);
  }
  return n;
}

const PARSERS: Record<TaskName, (rec: Rec, index: number, label?: string) => QaDoc> = {
  openbookqa: (rec, i) => {
    const { stem, choices } = ai2Question(rec, "question_stem");
    return mc(
      String(rec["id"] ?? i),
      stem,
      choices,
      letterGold(str(rec, "answerKey").trim(), "ABCD"),
    );
  },
  arc_easy: (rec, i) => arc(rec, i),
  arc_challenge: (rec, i) => arc(rec, i),
  piqa: (rec, i, label) => {
    const text = `Question: ${str(rec, "goal")}\nAnswer:`;
    const choices = [str(rec, "sol1"), str(rec, "sol2")];
    return mc(String(rec["id"] ?? i), text, choices, intLabel(label ?? rec["label"], "label"));
  },
  sciq: (rec, i) => {
    const choices = ["distractor1", "distractor2", "distractor3", "correct_answer"].map((f) =>
      str(rec, f),
    );
    const support = typeof rec["support"] === "string" ? rec["support"] : "";
    return mc(
      String(rec["id"] ?? i),
      `${support}\nQuestion: ${str(rec, "question")}\nAnswer:`.trim(),
      choices,
      3,
    );
  },
  hellaswag: (rec, i) => {
    const ctx = `${str(rec, "ctx_a")} ${pyCapitalize(str(rec, "ctx_b"))}`;
    const text = hellaswagPreprocess(`${str(rec, "activity_label")}: ${ctx}`);
    const endings = strList(rec["endings"], "endings").map(hellaswagPreprocess);
    return mc(String(rec["ind"] ?? i), text, endings, intLabel(rec["label"], "label"));
  },
  boolq: (rec, i) => {
    const v = rec["label"] ?? rec["answer"];
    if (typeof v !== "boolean" && v !== 0 && v !== 1) {
      throw new FieldError(
        "label",
        `expected a boolean label (or "answer"), got ${JSON.stringify(v)}`,
      );
    }
    const yes = v === true || v === 1;
    const text = `${str(rec, "passage")}\nQuestion: ${str(rec, "question")}?\nAnswer:`;
    return {
      id: String(rec["idx"] ?? i),
      text,
      target: yes ? " yes" : " no",
      choices: ["yes", "no"],
      gold: yes ? 0 : 1,
      kind: "boolq",
    };
  },
  winogrande: (rec, i, label) => {
    const sentence = str(rec, "sentence");
    const cut = sentence.indexOf("_");
    if (cut < 0) throw new FieldError("sentence", 'has no "_" blank');
    const options = [str(rec, "option1"), str(rec, "option2")];
    const answer = label ?? rec["answer"];
    if (answer !== "1" && answer !== "2")
      throw new FieldError("answer", `expected "1" or "2", got ${JSON.stringify(answer)}`);
    const gold = answer === "1" ? 0 : 1;
    const contexts = options.map((o) => sentence.slice(0, cut) + o);
    const continuation = ` ${sentence.slice(cut + 1).trim()}`;
    return {
      id: String(rec["qID"] ?? i),
      text: contexts[gold]!,
      target: continuation,
      choices: options,
      gold,
      kind: "winogrande",
      partial: { contexts, continuation },
    };
  },
};

function arc(rec: Rec, i: number): QaDoc {
  const { stem, choices } = ai2Question(rec, "question");
  const raw = str(rec, "answerKey").trim();
  const key = ({ "1": "A", "2": "B", "3": "C", "4": "D", "5": "E" } as Rec)[raw] ?? raw;
  return mc(
    String(rec["id"] ?? i),
    `Question: ${stem}\nAnswer:`,
    choices,
    letterGold(key as string, "ABCDE"),
  );
}

/** Parses one record of `task` (raw file format or HF-flattened); `label` comes from a labels file. */
export function parseDoc(task: TaskName, rec: unknown, index: number, label?: string): QaDoc {
  if (!rec || typeof rec !== "object" || Array.isArray(rec))
    throw new FieldError("(record)", "expected a JSON object");
  return PARSERS[task](rec as Rec, index, label);
}
