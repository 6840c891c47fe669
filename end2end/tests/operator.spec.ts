// The instance operator's page: create an organisation whose owner joins by the invitation
// link, suspend it (its owner can no longer sign in, and their open session stops), resume it,
// then suspend and delete it; a newcomer creates an organisation of their own (docs/TENANTS.md). The owner of the first organisation is the
// operator. Runs after identity.spec.ts; stands on its own otherwise.
import { test, expect } from "@playwright/test";
import { ensureOwner, signInAsOwner, watchErrors } from "./owner";

const BEA = { email: "bea@beta-works.test", password: "copper-lantern-meadow-31" };

test.beforeAll(async ({ request }) => {
  await ensureOwner(request);
});

test("operator: create an organisation, its owner joins, suspend, resume, delete", async ({ page, browser }) => {
  const errors = watchErrors(page);
  await signInAsOwner(page);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Operator" }).click();
  await expect(page).toHaveURL(/\/operator$/);

  // A new organisation and its owner's invitation.
  await page.getByLabel("Organisation name").fill("Beta Works");
  await page.getByLabel("Owner's email").fill(BEA.email);
  await page.getByRole("button", { name: "Create organisation" }).click();
  const inviteUrl = ((await page.getByTestId("owner-invite-url").textContent()) ?? "").trim();
  expect(inviteUrl).toContain("/invite/inv_");
  const row = page.locator('tr[data-org="beta-works"]');
  await expect(row.locator(".state")).toHaveText("active");

  // Bea joins in her own browser and is the owner of Beta Works.
  const beaContext = await browser.newContext();
  const bea = await beaContext.newPage();
  await bea.goto(new URL(inviteUrl).pathname);
  await expect(bea.locator("html")).toHaveAttribute("data-hydrated", "true");
  await bea.getByLabel("Your name").fill("Bea");
  await bea.getByLabel("Password").fill(BEA.password);
  await bea.getByRole("button", { name: "Join" }).click();
  await expect(bea).toHaveURL(/\/keys$/);
  await expect(row.locator("td").nth(4)).toHaveText("0"); // the list was read before she joined
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(row.locator("td").nth(4)).toHaveText("1");

  // Suspended: her open session stops, and she cannot sign in again.
  await row.getByRole("button", { name: "Suspend" }).click();
  await expect(row.locator(".state")).toHaveText("suspended");
  const refused = await bea.request.get("/api/organisation");
  expect(refused.status()).toBe(403);
  expect((await refused.json()).error.code).toBe("AUTH-009");
  await bea.goto("/login");
  await expect(bea.locator("html")).toHaveAttribute("data-hydrated", "true");
  await bea.getByLabel("Email").fill(BEA.email);
  await bea.getByLabel("Password").fill(BEA.password);
  await bea.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(bea.getByRole("alert")).toContainText("suspended");

  // Resumed: she signs in.
  await row.getByRole("button", { name: "Resume" }).click();
  await expect(row.locator(".state")).toHaveText("active");
  await bea.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(bea).toHaveURL(/\/keys$/);
  await beaContext.close();

  // Deleted (suspended first): gone from the list.
  await row.getByRole("button", { name: "Suspend" }).click();
  await expect(row.locator(".state")).toHaveText("suspended");
  await row.getByRole("button", { name: "Delete" }).click();
  await row.getByRole("button", { name: "Yes, delete" }).click();
  await expect(row).toHaveCount(0);
  // The operator's own organisation is untouched.
  await expect(page.locator("tr[data-org]")).not.toHaveCount(0);

  // Self-service (AERIE_ORG_SIGNUP, set in playwright.config.ts): a newcomer creates an
  // organisation of their own on the sign-up page and lands in it as its owner.
  const newcomer = await browser.newContext();
  const nia = await newcomer.newPage();
  await nia.goto("/signup");
  await expect(nia.locator("html")).toHaveAttribute("data-hydrated", "true");
  await nia.getByLabel("Email").fill("nia@nimbus.test");
  await nia.getByLabel("Your name").fill("Nia");
  await nia.getByLabel("Password").fill("silver-harbour-lantern-58");
  await nia.getByLabel("New organisation").fill("Nimbus Labs");
  await nia.getByRole("button", { name: "Join" }).click();
  await expect(nia).toHaveURL(/\/keys$/);
  const org = await nia.request.get("/api/organisation");
  expect((await org.json()).name).toBe("Nimbus Labs");
  await newcomer.close();
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(page.locator('tr[data-org="nimbus-labs"] .state')).toHaveText("active");
  expect(errors).toEqual([]);
});
