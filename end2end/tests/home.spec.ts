import { test, expect } from "@playwright/test";

test("home page renders on the server and hydrates", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // A Rust panic in the wasm bundle is reported on the console (failed requests are
  // logged there too; those are expected where the test provokes them).
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });

  await page.goto("/");
  await expect(page).toHaveTitle("Aerie");
  await expect(page.getByRole("heading", { level: 1 })).toContainText("on your own server");
  // The wasm bundle loaded and took over the server-rendered page.
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");

  // A client-side interaction: the button calls a server function and the page changes.
  await expect(page.locator("#status-result")).toBeEmpty();
  await page.getByRole("button", { name: "Check server status" }).click();
  const result = page.locator("#status-result");
  await expect(result).toContainText("sqlite (reachable)");
  await expect(result).toContainText("Version");

  await page.screenshot({ path: "screenshots/home.png", fullPage: true });
  expect(errors).toEqual([]);
});

test("API reference lists operations and filters them in the browser", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API reference" }).click();
  await expect(page).toHaveURL(/\/api-reference$/);
  await expect(page.getByRole("heading", { name: "API reference" })).toBeVisible();
  const rows = page.locator("table.ops tbody tr");
  // After client-side navigation the catalogue arrives from a server function: wait for it.
  await expect(rows.first()).toBeVisible();
  const total = await rows.count();
  expect(total).toBeGreaterThanOrEqual(4);

  await page.locator("#api-filter").fill("metrics");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("/metrics");
  await expect(page.locator("#api-count")).toContainText(`1 of ${total} operations`);
  await page.screenshot({ path: "screenshots/api-reference.png", fullPage: true });
});

test("unknown pages show the not-found page with status 404", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await page.getByRole("link", { name: "Go to the home page" }).click();
  await expect(page).toHaveURL(/\/$/);
});
