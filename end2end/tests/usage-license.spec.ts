// Usage charts and the licence (docs/BILLING.md, docs/LICENSING.md): calls made through the API
// show on the billing page's chart and table, by day and by API key; the CSV export is locked on
// Community; the operator applies a Pro licence on the Operator page, the export then downloads
// the calls, and removing the licence returns to Community. Stands on its own.
import { test, expect, type Locator } from "@playwright/test";
import { createPrivateKey, sign } from "node:crypto";
import { agentWithKey, ensureOwner, signInAsOwner, watchErrors } from "./owner";

// The tests' own licensor key (its public half is AERIE_LICENSE_PUBLIC_KEY in
// playwright.config.ts; server/tests/api/support/license.rs holds the same pair).
const LICENSOR = createPrivateKey(
  "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIDvxOjp/opjUnhaEdmaxzcJ1Dm4D+8iWBcZqKJWVOnFM\n-----END PRIVATE KEY-----\n",
);

/** A licence of `tier` signed with EdDSA, valid for an hour. */
function licence(tier: string): string {
  const part = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const signed = `${part({ alg: "EdDSA", typ: "JWT" })}.${part({
    iss: "aerie-licensing", aud: "aerie", sub: "Playwright Ltd", jti: "lic-e2e",
    iat: now, exp: now + 3600, tier,
  })}`;
  return `${signed}.${sign(null, Buffer.from(signed), LICENSOR).toString("base64url")}`;
}

test("usage charts, the locked export, and a Pro licence that unlocks it", async ({ page, request }) => {
  test.setTimeout(120_000);
  const errors = watchErrors(page);
  await ensureOwner(request);
  const { key } = await agentWithKey(request, { provider: "Usage upstream", agent: "Usage agent", key: "usage-e2e" });
  for (const text of ["hello", "hello again"]) {
    const res = await request.post("/v1/chat/completions", {
      headers: { Authorization: `Bearer ${key}` },
      data: { model: "Usage agent", messages: [{ role: "user", content: text }] },
    });
    expect(res.status()).toBe(200);
  }

  await signInAsOwner(page);
  await page.goto("/billing");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  const usage = page.getByTestId("usage");
  await expect(usage.getByTestId("usage-summary")).toContainText("Your organisation's model calls");
  await expect(usage.locator("svg.chart-columns")).toBeVisible();
  await expect(usage.locator("svg.chart-columns rect.chart-mark").first()).toBeAttached();
  await usage.getByTestId("usage-by-key").click();
  await expect(usage.getByTestId("usage-by-key")).toHaveAttribute("aria-selected", "true");
  await expect(usage.getByTestId("usage-table").getByRole("row", { name: /usage-e2e/ })).toContainText("2");
  await expect(usage.locator("svg.chart-bars")).toBeVisible();
  await usage.getByTestId("usage-period").selectOption("last_7_days");
  await expect(usage.getByTestId("usage-table").getByRole("row", { name: /usage-e2e/ })).toBeVisible();
  await expect(usage.getByTestId("usage-export-locked")).toContainText("needs the Pro licence tier");
  await page.screenshot({ path: "screenshots/usage.png", fullPage: true });

  // The operator applies a Pro licence.
  await page.goto("/operator");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByTestId("license-tier")).toHaveText("Community");
  await page.getByTestId("license-key").fill("not a licence");
  await page.getByRole("button", { name: "Apply licence" }).click();
  await expect(page.getByRole("alert")).toContainText("not a licence key");
  await page.getByTestId("license-key").fill(licence("pro"));
  await page.getByRole("button", { name: "Apply licence" }).click();
  await expect(page.getByTestId("license-tier")).toHaveText("Pro");
  expect((await (await request.get("/api/health")).json()).tier).toBe("pro");

  // The export is unlocked: the link downloads the calls as CSV.
  await page.goto("/billing");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  const link = page.getByTestId("usage-export");
  await expect(link).toHaveAttribute("href", /^\/api\/usage\.csv\?from=\d{4}-\d{2}-\d{2}&to=/);
  const csv = await page.request.get((await link.getAttribute("href")) ?? "");
  expect(csv.status()).toBe(200);
  expect(csv.headers()["content-type"]).toBe("text/csv; charset=utf-8");
  const body = await csv.text();
  expect(body.split("\n")[0]).toContain("id,created_at,user_id,user_email");
  expect(body.split("\n").filter((l) => l.includes(",usage-e2e,")).length).toBe(2);

  // Back to Community.
  await page.goto("/operator");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await page.getByTestId("license-remove").click();
  await expect(page.getByTestId("license-tier")).toHaveText("Community");
  expect(errors).toEqual([]);
});

/** Opens a folded plan form (a refetch after saving folds it again). */
async function open(details: Locator) {
  await details.evaluate((d) => ((d as HTMLDetailsElement).open = true));
}

test("the operator's plans and prices editor", async ({ page, request }) => {
  const errors = watchErrors(page);
  await ensureOwner(request);
  await signInAsOwner(page);
  await page.goto("/operator");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");

  // A new plan.
  const fresh = page.locator("details.plan-editor").filter({ hasText: "New plan" });
  await open(fresh);
  await fresh.getByLabel("Slug").fill("team-e2e");
  await fresh.getByLabel("Name").fill("Team");
  await fresh.getByLabel("Price label").fill("$10 per person");
  await fresh.getByLabel("Credits / month").fill("50,000");
  await fresh.getByRole("button", { name: "Create plan" }).click();
  const team = page.locator('details.plan-editor[data-plan="team-e2e"]');
  await expect(team.locator("summary")).toContainText("Team (team-e2e): $10 per person, 50000 credits a month");
  const offered = async () =>
    ((await (await request.get("/v1/billings/plans/")).json()) as { slug: string; requests_per_minute: number | null; monthly_credits: number | null }[])
      .find((p) => p.slug === "team-e2e");
  expect((await offered())?.monthly_credits).toBe(50000);

  // Changed: a requests limit; bad input is a clear error and changes nothing.
  await open(team);
  await team.getByLabel("Requests / min").fill("lots");
  await team.getByRole("button", { name: "Save plan" }).click();
  await expect(page.getByRole("alert")).toContainText("requests_per_minute must be a whole number");
  await open(team);
  await team.getByLabel("Requests / min").fill("120");
  await team.getByRole("button", { name: "Save plan" }).click();
  await expect.poll(async () => (await offered())?.requests_per_minute).toBe(120);

  // A price.
  const price = page.getByTestId("price-form");
  await price.getByLabel("Model").fill("gpt-e2e");
  await price.getByLabel("Input credits / M tokens").fill("2500");
  await price.getByLabel("Output credits / M tokens").fill("10000");
  await price.getByRole("button", { name: "Save price" }).click();
  await expect(page.locator('tr[data-model="gpt-e2e"]')).toContainText("2500");

  // The organisation moves to the plan and back.
  const move = page.getByTestId("move-plan");
  await move.getByLabel("Plan").selectOption("team-e2e");
  await move.getByRole("button", { name: "Move" }).click();
  const acme = page.locator("tr[data-org]").first();
  await expect(acme.locator("td").nth(2)).toHaveText("team-e2e");
  await move.getByLabel("Plan").selectOption("community");
  await move.getByRole("button", { name: "Move" }).click();
  await expect(acme.locator("td").nth(2)).toHaveText("community");
  expect(errors).toEqual([]);
});
