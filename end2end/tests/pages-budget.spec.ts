// The first-screen budget: a fresh load of /login, or of /chat signed in, should transfer at
// most 250 kB (250,000 bytes) of wasm and JS with brotli. Release build only (scripts/test sets
// AERIE_E2E_RELEASE=1 for it): debug builds are neither optimised nor precompressed.
//
// Not met yet: with every page a lazy route the main module alone is ~253 kB, since the split
// build moves code, not data, out of it (docs/ARCHITECTURE.md, "The browser bundle";
// docs/plans/wasm-split.md §4). So each page has two tests: one holds today's figures as a
// ceiling, so that they do not grow unnoticed; the other states the 250 kB budget and is marked
// as failing until it is met (Playwright then reports it as passing unexpectedly: drop the mark
// and the ceilings).
//
// The browser decides which files a page loads; their brotli size is read separately, because
// Chromium asks for `br` only over HTTPS and the test server is plain HTTP. bench/startup.sh
// prints the same figures from the files the page's HTML preloads; the first test keeps the two
// methods in agreement.
import { test, expect, type Browser, type BrowserContextOptions } from "@playwright/test";
import http from "node:http";
import { ensureOwner, signInAsOwner, watchErrors } from "./owner";

const BUDGET = 250_000;
// Today's figures (bytes) with a little room (bench/split_sizes.py: 363,970 and 526,392 on
// docs/plans/wasm-split.md §4.3's build); lower them as the pages shrink. Raised on 2026-12-04
// to 375,283 and 556,205 measured + room, after the knowledge documents page and cited answers
// (issue 13: document and citation types in the shared contract, the chat page's Sources).
// Raised on 2026-12-05 to 382,206 and 567,823 measured + room, after issue 14's billing and
// tenants (the shared contract's billing, operator and key-limit types, the menu's Billing and
// Operator links, the signed-in gate's memo); issue 12's budget work should bring them down.
// Raised on 2026-12-05 (evening) to 386,896 and 575,471 measured + room, after issue 14's
// licences, usage views and plan editors (the error table's licence code, the usage and licence
// kinds of the shared contract, the charts' and editors' styles).
// Raised on 2026-12-05 (night) to 396,503 and 605,578 measured + room, after issue 15's
// guardrails, routes and runs: the chat page's DLP prompt (its server function and the finding
// types), the shared contract's run and route types, the error table's GUARD and RUN codes and
// the menu's Approvals and Routes links. Not investigated yet which of these weighs most.
const CEILING: Record<string, number> = { "/login": 398_000, "/chat": 608_000 };

test.skip(!process.env.AERIE_E2E_RELEASE, "the budget applies to the release build (AERIE_E2E_RELEASE=1)");

let owner: BrowserContextOptions["storageState"];

test.beforeAll(async ({ browser, request }) => {
  await ensureOwner(request);
  // One password sign-in (they are rate-limited) for the signed-in pages.
  const context = await browser.newContext();
  await signInAsOwner(await context.newPage());
  owner = await context.storageState();
  await context.close();
});

/** Bytes of the answer to `url` with `Accept-Encoding: br`, as sent (node does not decompress). */
function brBytes(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { "Accept-Encoding": "br" } }, (res) => {
        const encoding = res.headers["content-encoding"];
        let n = 0;
        res.on("data", (chunk: Buffer) => (n += chunk.length));
        res.on("end", () =>
          res.statusCode === 200 && encoding === "br"
            ? resolve(n)
            : reject(new Error(`${url}: status ${res.statusCode}, content-encoding ${encoding}`)),
        );
      })
      .on("error", reject);
  });
}

/** Loads `path` in a fresh context (empty cache) and returns the /pkg wasm and JS files the
 * browser requested until the page was hydrated and the network idle, their brotli sizes, those
 * the page's HTML preloads, and the errors the page logged. */
async function measure(browser: Browser, baseURL: string, path: string, signedIn: boolean) {
  const context = await browser.newContext({ storageState: signedIn ? owner : undefined });
  const page = await context.newPage();
  const errors = watchErrors(page);
  const requested = new Set<string>();
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (/^\/pkg\/.*\.(wasm|js)$/.test(url.pathname)) requested.add(url.pathname);
  });
  const response = await page.goto(path);
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  if (signedIn) await expect(page.getByTestId("user-name")).toBeVisible();
  await page.waitForLoadState("networkidle");
  const html = (await response?.text()) ?? "";
  await context.close();
  const preloaded = [
    ...new Set([...html.matchAll(/<link\b[^>]*\bhref="(\/pkg\/[^"]+\.(?:wasm|js))"/g)].map((m) => m[1])),
  ].sort();
  const fetched = [...requested].sort();
  const sizes = await Promise.all(fetched.map((p) => brBytes(new URL(p, baseURL).href)));
  const total = sizes.reduce((a, b) => a + b, 0);
  const table = fetched.map((p, i) => `${String(sizes[i]).padStart(8)}  ${p}`).join("\n");
  console.log(`${path}: ${total} bytes of wasm + JS (brotli) in ${fetched.length} files\n${table}`);
  test.info().annotations.push({ type: "transfer", description: `${path}: ${total} bytes in ${fetched.length} files` });
  return { fetched, preloaded, total, errors };
}

for (const [path, signedIn] of [
  ["/login", false],
  ["/chat", true],
] as const) {
  test(`a fresh load of ${path}: its own code, announced in the HTML, within today's ceiling`, async ({ browser, baseURL }) => {
    const { fetched, preloaded, total, errors } = await measure(browser, baseURL!, path, signedIn);
    // The main module and the page's own split file at least.
    expect(fetched).toContain("/pkg/aerie.js");
    expect(fetched).toContain("/pkg/aerie.wasm");
    expect(fetched.some((p) => /\/split_[^/]*\.wasm$/.test(p))).toBe(true);
    // Nothing is fetched late that the HTML did not announce.
    expect(fetched).toEqual(preloaded);
    expect(total).toBeLessThanOrEqual(CEILING[path]);
    expect(errors).toEqual([]);
  });

  test(`a fresh load of ${path} transfers at most 250 kB of wasm and JS (brotli)`, async ({ browser, baseURL }) => {
    test.fail(true, "not met yet: see the comment at the top of this file");
    const { total } = await measure(browser, baseURL!, path, signedIn);
    expect(total).toBeLessThanOrEqual(BUDGET);
  });
}
