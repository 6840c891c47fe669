// Runs last (files run in name order): it uses up the organisation's credits.
// Plans and credits (docs/BILLING.md): the operator makes the quota small with `aerie plans`
// and `aerie prices`, the API uses it up, the billing page shows zero credits left, and chat
// refuses with seed 001's sentence.
import { test, expect, type APIRequestContext } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { agentWithKey, ensureOwner, signInAsOwner, watchErrors } from "./owner";

const SENTENCE = "Credit quota exhausted. Upgrade your plan or wait for your quota to reset.";
// Plans, prices and the terms of an organisation are cached by the server for 10 s.
const CACHE_MS = 11_000;

/** Runs the operator's `aerie …` command on the server's data folder. */
function operator(...args: string[]) {
  execFileSync(process.env.AERIE_BIN ?? "aerie", args, {
    env: { ...process.env, AERIE_DATA_DIR: process.env.AERIE_E2E_DATA_DIR ?? "" },
    stdio: "pipe",
  });
}

async function subscription(request: APIRequestContext, key: string) {
  const res = await request.get("/v1/billings/subscription/", { headers: { Authorization: `Bearer ${key}` } });
  expect(res.status()).toBe(200);
  return res.json();
}

test("a used-up quota: the billing page shows zero and chat answers the 402 sentence", async ({ page, request }) => {
  test.setTimeout(120_000);
  const errors = watchErrors(page);
  await ensureOwner(request);
  const { key, agentId } = await agentWithKey(request, {
    provider: "Billing upstream", agent: "Billing agent", key: "billing-e2e",
  });

  // Every call costs one credit (the cheapest price rounds up), and the plan leaves three.
  operator("prices", "set", "*", "--input", "1", "--output", "1");
  operator("plans", "set", "community", "--credits", "unlimited");
  await page.waitForTimeout(CACHE_MS);
  const used = (await subscription(request, key)).current_quota.credits_used as number;
  operator("plans", "set", "community", "--credits", String(used + 3));
  await page.waitForTimeout(CACHE_MS);

  const ask = { model: "Billing agent", messages: [{ role: "user", content: "hi" }] };
  for (let i = 0; i < 3; i++) {
    const res = await request.post("/v1/chat/completions", { headers: { Authorization: `Bearer ${key}` }, data: ask });
    expect(res.status()).toBe(200);
  }
  const refused = await request.post("/v1/chat/completions", { headers: { Authorization: `Bearer ${key}` }, data: ask });
  expect(refused.status()).toBe(402);
  expect((await refused.json()).error.message).toBe(SENTENCE);
  const s = await subscription(request, key);
  expect(s.current_quota.credits_remaining).toBe(0);

  // The billing page agrees.
  await signInAsOwner(page);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Billing" }).click();
  await expect(page).toHaveURL(/\/billing$/);
  await expect(page.getByTestId("plan-name")).toHaveText("Community");
  await expect(page.getByTestId("credits-remaining")).toHaveText("0");
  await expect(page.getByTestId("credits-used")).toHaveText(String(used + 3).replace(/\B(?=(\d{3})+(?!\d))/g, ","));
  await expect(page.getByRole("meter")).toBeVisible();
  await expect(page.getByRole("row", { name: /Enterprise/ })).toContainText("Unlimited");
  await page.screenshot({ path: "screenshots/billing.png", fullPage: true });

  // Chat refuses with the sentence.
  await page.goto(`/chat?agent=${agentId}`);
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  const composer = page.getByLabel("Message");
  await composer.fill("one more, please");
  await composer.press("Enter");
  await expect(page.getByRole("alert").filter({ hasText: SENTENCE })).toBeVisible();
  expect(errors).toEqual([]);
});
