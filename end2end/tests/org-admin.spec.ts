import { test, expect, type Page } from "@playwright/test";
import { OWNER, signInAsOwner } from "./owner";

test.beforeAll(async ({ request }) => {
  // Runs after identity.spec.ts normally; stands on its own otherwise.
  const res = await request.post("/auth/setup", {
    data: { ...OWNER, name: "Olive Owner", organization_name: "Acme Research" },
  });
  expect([201, 409]).toContain(res.status());
});

test("organisation settings, invitations, waitlist, roles, groups and profile", async ({ page, request, browser }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });
  await signInAsOwner(page);

  // Organisation settings persist.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Organisation" }).click();
  await page.getByLabel("Name").fill("Acme Labs");
  await page.getByLabel("Allowed knowledge domains").fill("legal, hr");
  await page.getByLabel("Who can join").selectOption("waitlist");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status")).toHaveText("Saved.");
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByLabel("Name")).toHaveValue("Acme Labs");
  await expect(page.getByLabel("Allowed knowledge domains")).toHaveValue("legal, hr");
  await expect(page.getByLabel("Who can join")).toHaveValue("waitlist");

  // Invite someone; they follow the link in their own browser and are signed in.
  await page.goto("/users");
  await page.getByLabel("Email").fill("mia@acme.test");
  await page.getByRole("button", { name: "Create invitation" }).click();
  const inviteUrl = ((await page.getByTestId("invite-url").textContent()) ?? "").trim();
  expect(inviteUrl).toContain("/invite/inv_");
  const invitee = await browser.newContext();
  const miaPage = await invitee.newPage();
  await miaPage.goto(new URL(inviteUrl).pathname);
  await expect(miaPage.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(miaPage.getByLabel("Email")).toHaveValue("mia@acme.test");
  await miaPage.getByLabel("Your name").fill("Mia");
  await miaPage.getByLabel("Password").fill("quiet-maple-river-77");
  await miaPage.getByRole("button", { name: "Join" }).click();
  await expect(miaPage).toHaveURL(/\/keys$/);
  await expect(miaPage.getByTestId("user-name")).toHaveText("Mia");
  // The link works once.
  await miaPage.goto(new URL(inviteUrl).pathname);
  await expect(miaPage.getByText("invalid, already used or expired")).toBeVisible();
  await invitee.close();

  // Waitlist mode (set above): a stranger asks to join, an admin approves.
  const stranger = await browser.newContext();
  const wesPage = await stranger.newPage();
  await wesPage.goto("/signup");
  await expect(wesPage.locator("html")).toHaveAttribute("data-hydrated", "true");
  await wesPage.getByLabel("Email").fill("wes@acme.test");
  await wesPage.getByLabel("Your name").fill("Wes");
  await wesPage.getByLabel("Password").fill("amber-cloud-harbor-19");
  await wesPage.getByRole("button", { name: "Join" }).click();
  await expect(wesPage.getByRole("status")).toContainText("administrator will review");
  await stranger.close();
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  const wes = page.locator('tr[data-user="wes@acme.test"]');
  await expect(wes.locator(".state")).toHaveText("waitlisted");
  await wes.getByRole("button", { name: "Approve" }).click();
  await expect(wes.locator(".state")).toHaveText("active");
  const wesLogin = await request.post("/auth/jwt/create/", {
    data: { email: "wes@acme.test", password: "amber-cloud-harbor-19" },
  });
  expect(wesLogin.status()).toBe(200);

  // Promote, then disable her.
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  const mia = page.locator('tr[data-user="mia@acme.test"]');
  const updated = page.waitForResponse((r) => r.url().includes("/_server/users_update"));
  await mia.getByLabel("Role").selectOption("admin");
  expect((await updated).status()).toBe(200);
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
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
