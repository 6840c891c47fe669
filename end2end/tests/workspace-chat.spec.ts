// Runs after identity.spec.ts (files run in name order), which sets the instance up in its wizard.
import { test, expect, type Page } from "@playwright/test";
import { OWNER, signInAsOwner } from "./owner";
// The fake OpenAI-compatible upstream started by playwright.config.ts.
const UPSTREAM = `http://127.0.0.1:${process.env.AERIE_E2E_UPSTREAM_PORT ?? 3911}/v1`;

test.beforeAll(async ({ request }) => {
  // Stands on its own when no other spec has set the instance up.
  const status = await request.get("/auth/setup-status");
  if (!(await status.json()).bootstrapped) {
    const res = await request.post("/auth/setup", {
      data: { ...OWNER, name: "Olive Owner", organization_name: "Acme Research" },
    });
    expect(res.status()).toBe(201);
  }
});

test("provider → agent → streamed chat, stop, feedback and branch", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // A Rust panic in the wasm bundle is reported on the console (failed requests are
  // logged there too; those are expected where the test provokes them).
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });
  await signInAsOwner(page);
  const nav = page.getByRole("navigation", { name: "Main" });

  // Providers: connect the fake upstream; its models are discovered; the connection test passes.
  await nav.getByRole("link", { name: "Providers" }).click();
  await expect(page).toHaveURL(/\/providers$/);
  await page.getByLabel("Name", { exact: true }).fill("Fake upstream");
  await page.getByLabel("Base URL").fill(UPSTREAM);
  await page.getByLabel("API key").fill("sk-test");
  await page.getByRole("button", { name: "Add provider" }).click();
  const provider = page.locator('tr[data-provider="Fake upstream"]');
  await expect(provider.locator("td.models")).toContainText("fake-model");
  // Only the key's last characters are shown.
  await expect(provider.locator("td").nth(3)).toContainText("test");
  await expect(provider).not.toContainText("sk-test");
  await provider.getByRole("button", { name: "Test" }).click();
  const check = page.getByTestId("provider-check");
  await expect(check).toContainText("Connected");
  await expect(check).toHaveClass(/ok/);
  await expect(check).toContainText(/\d+ ms/);
  await page.screenshot({ path: "screenshots/providers.png", fullPage: true });

  // Agents: create one on the discovered model.
  await nav.getByRole("link", { name: "Agents" }).click();
  await expect(page).toHaveURL(/\/agents$/);
  await page.getByRole("button", { name: "New agent" }).click();
  const editor = page.getByRole("region", { name: "Agent editor" });
  await editor.getByLabel("Name", { exact: true }).fill("E2E Agent");
  await editor.getByLabel("Description").fill("Echoes what you say");
  await editor.getByLabel("System prompt").fill("You repeat the user's words.");
  await editor.getByRole("combobox", { name: "Provider", exact: true }).selectOption({ label: "Fake upstream" });
  await editor.getByRole("combobox", { name: "Model", exact: true }).selectOption("fake-model");
  await editor.getByLabel("Temperature").fill("0.2");
  await editor.getByLabel("Calculator").check();
  await editor.getByRole("button", { name: "Create agent" }).click();
  await expect(editor).toHaveCount(0);
  const agent = page.locator('tr[data-agent="E2E Agent"]');
  await expect(agent).toContainText("fake-model");
  await expect(agent).toContainText("calculator");
  await page.screenshot({ path: "screenshots/agents.png", fullPage: true });

  // Chat with it: the answer streams in.
  await agent.getByRole("link", { name: "Chat" }).click();
  await expect(page).toHaveURL(/\/chat\?agent=/);
  await expect(page.locator('select[name="agent"] option:checked')).toHaveText("E2E Agent");
  const composer = page.getByLabel("Message");
  await composer.fill("hello world");
  await composer.press("Enter");
  const answers = page.locator("article.msg-assistant");
  const first = answers.nth(0);
  // Streaming: the Stop button shows while the answer arrives piece by piece.
  await expect(page.getByRole("button", { name: "Stop" })).toBeVisible();
  await expect(first).toHaveAttribute("data-status", "complete");
  await expect(first.locator(".answer")).toHaveText("echo: hello world");
  await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
  const conversationUrl = page.url();
  await expect(page.getByTestId("chat-title")).toHaveText("hello world");
  await expect(page.locator("ul.conversations li.active")).toContainText("hello world");
  await first.getByRole("button", { name: "Good answer" }).click();
  await expect(first.getByRole("button", { name: "Good answer" })).toHaveAttribute("aria-pressed", "true");

  // A long question; stop the answer while it streams: the partial answer stays, cancelled.
  const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ");
  await composer.fill(`${words} omega-end`);
  await page.getByRole("button", { name: "Send" }).click();
  const second = answers.nth(1);
  await expect(second.locator(".answer")).toContainText("echo:");
  await page.getByRole("button", { name: "Stop" }).click();
  await expect(second).toHaveAttribute("data-status", "cancelled");
  await expect(second.locator(".msg-status")).toContainText("cancelled");
  await expect(second.locator(".answer")).toContainText("echo: word0");
  await expect(second.locator(".answer")).not.toContainText("omega-end");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await page.screenshot({ path: "screenshots/chat.png", fullPage: true });

  // The conversation as stored: server-rendered page, then loaded after hydration.
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(page.locator("article.msg")).toHaveCount(4);
  await expect(answers.nth(1)).toHaveAttribute("data-status", "cancelled");
  await expect(answers.nth(0).getByRole("button", { name: "Good answer" })).toHaveAttribute("aria-pressed", "true");

  // Branch from the first answer: a new conversation with the first question and answer.
  await answers.nth(0).getByRole("button", { name: "Branch from here" }).click();
  await expect(page).not.toHaveURL(conversationUrl);
  await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId("chat-title")).toHaveText("hello world (branch)");
  const messages = page.locator("article.msg");
  await expect(messages).toHaveCount(2);
  await expect(messages.nth(0)).toHaveText(/hello world/);
  await expect(messages.nth(1).locator(".answer")).toHaveText("echo: hello world");

  // Rename it inline; the list shows the new title.
  const active = page.locator("ul.conversations li.active");
  await active.getByRole("button", { name: "Rename" }).click();
  const title = active.getByLabel("Conversation title");
  await title.fill("Branched greeting");
  await title.press("Enter");
  await expect(page.locator("ul.conversations li.active .conversation-link")).toHaveText("Branched greeting");
  await expect(page.getByTestId("chat-title")).toHaveText("Branched greeting");

  // Answers are Markdown, sanitized: markup renders, raw HTML shows as text and never runs.
  await composer.fill("**bold** <img src=x onerror=\"window.pwned=1\"> [go](javascript:alert(1))");
  await composer.press("Enter");
  const echoed = messages.nth(3);
  await expect(echoed).toHaveAttribute("data-status", "complete");
  await expect(echoed.locator(".answer strong")).toHaveText("bold");
  await expect(echoed.locator(".answer")).toContainText("<img src=x");
  await expect(echoed.locator(".answer img")).toHaveCount(0);
  await expect(echoed.locator(".answer a")).toHaveText("go");
  await expect(echoed.locator(".answer a")).not.toHaveAttribute("href", /.*/);
  expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();

  // The provider cannot be deleted while an agent uses it: the page says which.
  await nav.getByRole("link", { name: "Providers" }).click();
  await provider.getByRole("button", { name: "Delete" }).click();
  await expect(page.getByRole("alert")).toContainText("used by 1 agent(s) (E2E Agent)");
  await expect(provider).toBeVisible();
  expect(errors).toEqual([]);
});
