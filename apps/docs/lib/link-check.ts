// Dead-link checker over a built static site: every internal href/src in every HTML file must
// point at an existing file, and a #fragment must name an id on the target page.
import { readdirSync, readFileSync } from "node:fs";
import { join, posix, relative } from "node:path";

/** One broken link: the page it is on, the link as written, and why it is broken. */
export interface DeadLink {
  readonly page: string;
  readonly link: string;
  readonly reason: string;
}

/** Result of a check: how many pages and internal links were looked at, and the dead ones. */
export interface LinkReport {
  readonly pages: number;
  readonly links: number;
  readonly dead: DeadLink[];
}

const ATTR = /\s(?:href|src)="([^"]*)"/g;
const ID = /\sid="([^"]+)"/g;
const EXTERNAL = /^(?:[a-z][a-z0-9+.-]*:|\/\/)/i;

function htmlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".html"))
    .map((e) => join(e.parentPath, e.name));
}

function decodeEntities(s: string): string {
  return s
    .replace(/&amp;/g, "&")
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"');
}

/** Site-relative file for an absolute URL path, as a static host resolves it. */
function targetFile(urlPath: string, files: Set<string>): string | null {
  const p = decodeURIComponent(urlPath).replace(/^\//, "");
  for (const c of p === "" || p.endsWith("/")
    ? [`${p}index.html`]
    : [p, `${p}.html`, `${p}/index.html`]) {
    if (files.has(c)) return c;
  }
  return null;
}

/** Checks every internal link of the site built into `dist`. */
export function checkLinks(dist: string): LinkReport {
  const pages = htmlFiles(dist);
  const files = new Set(
    readdirSync(dist, { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile())
      .map((e) => relative(dist, join(e.parentPath, e.name)).split("\\").join("/")),
  );
  const ids = new Map<string, Set<string>>();
  const idsOf = (rel: string): Set<string> => {
    let set = ids.get(rel);
    if (!set) {
      const html = readFileSync(join(dist, rel), "utf8");
      set = new Set([...html.matchAll(ID)].map((m) => decodeEntities(m[1]!)));
      ids.set(rel, set);
    }
    return set;
  };
  const dead: DeadLink[] = [];
  let links = 0;
  for (const page of pages) {
    const rel = relative(dist, page).split("\\").join("/");
    const html = readFileSync(page, "utf8");
    for (const m of html.matchAll(ATTR)) {
      const link = decodeEntities(m[1]!);
      if (link === "" || EXTERNAL.test(link)) continue;
      links++;
      const [pathAndQuery = "", fragment = ""] = link.split("#", 2);
      const path = pathAndQuery.split("?")[0]!;
      const abs = path === "" ? `/${rel}` : posix.resolve(posix.dirname(`/${rel}`), path);
      const withSlash = path.endsWith("/") && !abs.endsWith("/") ? `${abs}/` : abs;
      const target = targetFile(withSlash, files);
      if (!target) {
        dead.push({ page: rel, link, reason: "no such file" });
      } else if (fragment !== "" && target.endsWith(".html")) {
        if (!idsOf(target).has(decodeURIComponent(fragment))) {
          dead.push({ page: rel, link, reason: `no id "${fragment}" on ${target}` });
        }
      }
    }
  }
  return { pages: pages.length, links, dead };
}
