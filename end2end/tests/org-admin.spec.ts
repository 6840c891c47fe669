import { test, expect, type Page } from "@playwright/test";

const OWNER = { email: "olive@acme.test", password: "plum-orbit-cascade-42" };

async function signIn(page: Page) {
  await page.goto("/login");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Email").fill(OWNER.email);
  await page.getByLabel("Password").fill(OWNER.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/keys$/);
}

test.beforeAll(async ({ request }) => {
  // Runs after identity.spec.ts normally; stands on its own otherwise.
  const res = await request.post("/auth/setup", {
    data: { ...OWNER, name: "Olive Owner", organization_name: "Acme Research" },
  });
  expect([201, 409]).toContain(res.status());
});

test("organisation settings, invitations, roles, groups and profile", async ({ page, request }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });
  await signIn(page);

  // Organisation settings persist.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Organisation" }).click();
  await page.getByLabel("Name").fill("Acme Labs");
  await page.getByLabel("Allowed knowledge domains").fill("legal, hr");
  await page.getByLabel("Who can join").selectOption("waitlist");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status")).toHaveText("Saved.");
  await page.reload();
  await expect(page.getByLabel("Name")).toHaveValue("Acme Labs");
  await expect(page.getByLabel("Allowed knowledge domains")).toHaveValue("legal, hr");
  await expect(page.getByLabel("Who can join")).toHaveValue("waitlist");

  // Invite someone; they join with the token.
  await page.goto("/users");
  await page.getByLabel("Email").fill("mia@acme.test");
  await page.getByRole("button", { name: "Create invitation" }).click();
  const token = ((await page.getByTestId("invite-token").textContent()) ?? "").trim();
  expect(token).toMatch(/^inv_/);
  const joined = await request.post("/auth/signup", {
    data: { email: "mia@acme.test", password: "quiet-maple-river-77", invite_token: token },
  });
  expect(joined.status()).toBe(201);

  // Promote, then disable her.
  await page.reload();
  const mia = page.locator('tr[data-user="mia@acme.test"]');
  const updated = page.waitForResponse((r) => r.url().includes("/_server/users_update"));
  await mia.getByLabel("Role").selectOption("admin");
  expect((await updated).status()).toBe(200);
  await page.reload();
  await expect(mia.getByLabel("Role")).toHaveValue("admin");
  await mia.getByRole("button", { name: "Disable" }).click();
  await expect(mia.locator(".state")).toHaveText("disabled");
  const login = await request.post("/auth/jwt/create/", {
    data: { email: "mia@acme.test", password: "quiet-maple-river-77" },
  });
  expect(login.status()).toBe(401);
  await page.screenshot({ path: "screenshots/users.png", fullPage: true });

  // Groups: create, add a member, remove, delete.
  await page.goto("/groups");
  await page.getByLabel("Group name").fill("Legal");
  await page.getByRole("button", { name: "Create group" }).click();
  const legal = page.locator('section[data-group="Legal"]');
  await expect(legal).toBeVisible();
  await legal.getByLabel("Add member").selectOption({ label: "Olive Owner" });
  await legal.getByRole("button", { name: "Add", exact: true }).click();
  await expect(legal.locator("ul.members")).toContainText("Olive Owner");
  await page.screenshot({ path: "screenshots/groups.png", fullPage: true });
  await legal.getByRole("button", { name: "Remove" }).click();
  await expect(legal.locator("ul.members li")).toHaveCount(0);
  await legal.getByRole("button", { name: "Delete group" }).click();
  await expect(legal).toHaveCount(0);

  // Profile: the new name shows in the header.
  await page.getByTestId("user-name").click();
  await expect(page).toHaveURL(/\/profile$/);
  await page.getByLabel("Name").fill("Olive O.");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("user-name")).toHaveText("Olive O.");
  expect(errors).toEqual([]);
});
