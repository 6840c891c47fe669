// A key's own rate limits on the API keys page (docs/BILLING.md): set when the key is created,
// shown in the list, changed, and cleared back to the plan's. Runs after identity.spec.ts;
// stands on its own otherwise.
import { test, expect, type Locator } from "@playwright/test";
import { ensureOwner, signInAsOwner, watchErrors } from "./owner";

test.beforeAll(async ({ request }) => {
  await ensureOwner(request);
});

/** Opens the row's "Change" panel (it may already be open). */
async function openLimits(row: Locator) {
  await row.locator("details.limits").evaluate((d) => ((d as HTMLDetailsElement).open = true));
}

test("API keys: a key's own requests and tokens per minute", async ({ page }) => {
  const errors = watchErrors(page);
  await signInAsOwner(page);
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  const create = page.locator("form.inline-form").first();
  await create.getByLabel("Name").fill("throttled");
  await create.getByLabel("Requests per minute").fill("5");
  await create.getByLabel("Tokens per minute").fill("20000");
  await create.getByRole("button", { name: "Create key" }).click();
  await expect(page.getByTestId("new-key")).toContainText("aerie_");
  const row = page.locator('tr[data-key-name="throttled"]');
  await expect(row.getByTestId("key-limits")).toHaveText("5 req/min · 20000 tok/min");

  await openLimits(row);
  await row.getByLabel("Requests per minute").fill("");
  await row.getByLabel("Tokens per minute").fill("");
  await row.getByRole("button", { name: "Save limits" }).click();
  await expect(row.getByTestId("key-limits")).toHaveText("Plan's");

  // Bad input is a clear error, and nothing changes.
  await openLimits(row);
  await row.getByLabel("Requests per minute").fill("many");
  await row.getByRole("button", { name: "Save limits" }).click();
  await expect(page.getByRole("alert")).toContainText("whole number");
  await expect(row.getByTestId("key-limits")).toHaveText("Plan's");
  expect(errors).toEqual([]);
});
