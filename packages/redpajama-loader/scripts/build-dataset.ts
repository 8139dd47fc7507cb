// Builds the embedded demo corpus in data/{train,heldout} from public-domain texts in Debian
// packages (bible-kjv[-text], jargon-text, dict-devil, miscfiles), unpacked with dpkg-deb -x.
// Usage: tsx scripts/build-dataset.ts <dir with usr/ from the unpacked .debs>
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";

interface Doc {
  text: string;
  meta: Record<string, unknown>;
}

const root = process.argv[2];
if (!root) throw new Error("usage: build-dataset.ts <unpacked-deb-root>");
const out = join(dirname(dirname(fileURLToPath(import.meta.url))), "data");

/** Joins hard-wrapped lines of each paragraph; indented lines (verse) keep their line breaks. */
function unwrap(lines: string[]): string {
  const paras: string[] = [];
  let cur = "";
  for (const raw of lines) {
    const line = raw.replace(/\s+$/, "");
    if (line.trim() === "") {
      if (cur !== "") paras.push(cur);
      cur = "";
    } else if (cur === "") cur = line.trim();
    else cur += (/^\s{4,}/.test(line) ? "\n" : " ") + line.trim();
  }
  if (cur !== "") paras.push(cur);
  return paras.join("\n\n");
}

function kjv(): Doc[] {
  const text = execFileSync(
    join(root!, "usr/bin/bible"),
    ["-p", join(root!, "usr/lib"), "-f", "gen1:1-rev22:21"],
    {
      maxBuffer: 64 << 20,
    },
  ).toString("utf8");
  const docs: Doc[] = [];
  let key = "";
  let verses: string[] = [];
  const flush = () => {
    if (verses.length === 0) return;
    const [, book, chapter] = /^([1-3]?[A-Za-z]+)(\d+)$/.exec(key)!;
    docs.push({
      text: verses.join(" "),
      meta: {
        short_book_title: "The King James Bible",
        book,
        chapter: Number(chapter),
        publication_date: 1611,
      },
    });
    verses = [];
  };
  for (const line of text.split("\n")) {
    const m = /^([1-3]?[A-Za-z]+\d+):\d+ (.*)$/.exec(line);
    if (!m) continue;
    if (m[1] !== key) flush();
    key = m[1]!;
    verses.push(m[2]!.trim());
  }
  flush();
  return docs;
}

function jargon(): Doc[] {
  const lines = gunzipSync(readFileSync(join(root!, "usr/share/doc/jargon-text/jargon.txt.gz")))
    .toString("utf8")
    .split("\n");
  const docs: Doc[] = [];
  let title = "";
  let body: string[] = [];
  const flush = () => {
    const text = unwrap(body.filter((l) => !/[│├┌└┐┘┤┬┴┼─]/.test(l)));
    if (title !== "" && text.trim() !== "")
      docs.push({
        text: `${title}\n\n${text}`,
        meta: {
          title,
          language: "en",
          timestamp: "2003-12-29",
          source_text: "The Jargon File 4.4.7",
        },
      });
    body = [];
  };
  for (const line of lines) {
    const entry = /^ {3}:([^:]+):(.*)$/.exec(line);
    const chapter = /^(Chapter \d+\.|Appendix [A-Z]\.) (.+)$/.exec(line);
    if (entry || chapter) {
      flush();
      title = entry ? entry[1]!.trim() : `${chapter![1]} ${chapter![2]}`;
      if (entry && entry[2]!.trim() !== "") body.push(`   ${entry[2]!.trim()}`);
      continue;
    }
    if (/^Glossary$/.test(line)) {
      flush();
      title = "";
      continue;
    }
    body.push(line.startsWith("   ") ? line.slice(3) : line);
  }
  flush();
  return docs;
}

function devil(): Doc[] {
  const text = gunzipSync(readFileSync(join(root!, "usr/share/dictd/devil.dict.dz"))).toString(
    "utf8",
  );
  const lines = text.slice(text.indexOf("                              PREFACE")).split("\n");
  const docs: Doc[] = [];
  let title = "PREFACE";
  let body: string[] = [];
  let prevBlank = true;
  const flush = () => {
    const t = unwrap(body);
    if (t.trim() !== "")
      docs.push({
        text: t,
        meta: {
          title,
          language: "en",
          source_text: "The Devil's Dictionary (Ambrose Bierce, 1911)",
        },
      });
    body = [];
  };
  for (const line of lines) {
    const m = /^([A-Z][A-Z' -]+[A-Z])(,|\.)/.exec(line);
    if (prevBlank && m && m[1]!.length > 1) {
      flush();
      title = m[1]!;
    }
    body.push(line);
    prevBlank = line.trim() === "";
  }
  flush();
  return docs;
}

function statePapers(): Doc[] {
  return ["us-constitution", "us-declaration"].map((name) => ({
    text: unwrap(
      gunzipSync(readFileSync(join(root!, `usr/share/state/${name}.gz`)))
        .toString("utf8")
        .split("\n"),
    ),
    meta: {
      title: name,
      language: "en",
      source_text: "miscfiles: US state papers (public domain)",
    },
  }));
}

function write(name: string, docs: Doc[], compress: "gzip" | "zstd"): void {
  const splits: Record<string, Doc[]> = { train: [], heldout: [] };
  docs.forEach((d, i) => {
    (i % 20 === 19 ? splits.heldout! : splits.train!).push(d);
  });
  for (const [split, list] of Object.entries(splits)) {
    mkdirSync(join(out, split), { recursive: true });
    const jsonl = `${list.map((d) => JSON.stringify(d)).join("\n")}\n`;
    const base = join(out, split, `${name}_sample.jsonl`);
    if (compress === "gzip") writeFileSync(`${base}.gz`, gzipSync(jsonl, { level: 9 }));
    else {
      writeFileSync(base, jsonl);
      execFileSync("zstd", ["-q", "-f", "-19", "--rm", base, "-o", `${base}.zst`]);
    }
    console.log(`${split}/${name}: ${list.length} documents, ${jsonl.length} chars`);
  }
}

rmSync(join(out, "train"), { recursive: true, force: true });
rmSync(join(out, "heldout"), { recursive: true, force: true });
write("book", kjv(), "gzip");
write("wikipedia", jargon(), "zstd");
write("c4", [...devil(), ...statePapers()], "gzip");
