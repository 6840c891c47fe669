// Every page is a lazy route: its code is a wasm file of its own, fetched when the page is first
// shown (docs/ARCHITECTURE.md, "The browser bundle"). Each page loaded directly must fetch its
// file, hydrate and show no error; navigating between pages must fetch the next one's file.
// Runs after identity.spec.ts (files run in name order); stands on its own otherwise.
import { test, expect, type Browser, type BrowserContextOptions } from "@playwright/test";
import { ensureOwner, signInAsOwner, watchErrors } from "./owner";

const UPSTREAM = `http://127.0.0.1:${process.env.AERIE_E2E_UPSTREAM_PORT ?? 3911}/v1`;

let owner: BrowserContextOptions["storageState"];
let conversation = "";

test.beforeAll(async ({ browser, request, baseURL }) => {
  await ensureOwner(request);
  // One password sign-in (they are rate-limited); the tests reuse its cookie.
  const context = await browser.newContext();
  const page = await context.newPage();
  await signInAsOwner(page);
  // A conversation to load directly: provider, agent and conversation over the REST API, with
  // the session cookie (unsafe methods must come from the same origin).
  const api = { headers: { Origin: baseURL! } };
  const provider = await page.request.post("/api/providers", {
    ...api,
    data: { name: "Pages upstream", base_url: UPSTREAM, api_key: "sk-test", models: [{ id: "fake-model" }] },
  });
  expect(provider.status()).toBe(201);
  const agent = await page.request.post("/api/agents", {
    ...api,
    data: { name: "Pages agent", model: "fake-model", provider_id: (await provider.json()).id, system_prompt: "Echo." },
  });
  expect(agent.status()).toBe(201);
  const created = await page.request.post("/api/conversations", {
    ...api,
    data: { agent_id: (await agent.json()).id, title: "Pages conversation" },
  });
  expect(created.status()).toBe(201);
  conversation = (await created.json()).id;
  owner = await context.storageState();
  await context.close();
});

async function signedIn(browser: Browser) {
  const context = await browser.newContext({ storageState: owner });
  return { context, page: await context.newPage() };
}

test("every page loads directly, fetches its own code and hydrates without errors", async ({ browser }) => {
  const { context, page } = await signedIn(browser);
  const errors = watchErrors(page);
  // Path, the document's title once the page's view has rendered.
  const pages: [string, string][] = [
    ["/", "Aerie"],
    ["/api-reference", "API reference · Aerie"],
    ["/keys", "API keys · Aerie"],
    ["/billing", "Billing · Aerie"],
    ["/organization", "Organisation · Aerie"],
    ["/operator", "Operator · Aerie"],
    ["/users", "Users · Aerie"],
    ["/groups", "Groups · Aerie"],
    ["/profile", "Profile · Aerie"],
    ["/chat", "Chat · Aerie"],
    [`/chat/${conversation}`, "Chat · Aerie"],
    ["/agents", "Agents · Aerie"],
    ["/knowledge", "Knowledge bases · Aerie"],
    ["/providers", "Providers · Aerie"],
    ["/approvals", "Approvals · Aerie"],
    ["/routes", "Routes · Aerie"],
    ["/admin/sso", "Single sign-on · Aerie"],
    ["/setup", "Set up Aerie · Aerie"],
    ["/signup", "Sign up · Aerie"],
    ["/invite/inv_nosuchinvitation", "Invitation · Aerie"],
    ["/link-account", "Link your sign-in · Aerie"],
    ["/login", "Sign in · Aerie"],
  ];
  for (const [path, title] of pages) {
    const splits: string[] = [];
    const listener = (r: { url(): string }) => {
      if (/\/pkg\/split_[^/]*\.wasm$/.test(r.url())) splits.push(r.url());
    };
    page.on("request", listener);
    await page.goto(path);
    await expect(page.locator("html"), path).toHaveAttribute("data-hydrated", "true");
    await expect(page, path).toHaveTitle(title);
    page.off("request", listener);
    // The page's own code came as a split file: it is not in the main module.
    expect(splits.length, `${path} fetched no split_*.wasm`).toBeGreaterThan(0);
  }
  // The conversation loaded directly shows its title (read after hydration).
  await page.goto(`/chat/${conversation}`);
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByTestId("chat-title")).toHaveText("Pages conversation");
  expect(errors).toEqual([]);
  await context.close();
});

test("navigating between lazy routes, back and forward", async ({ browser }) => {
  const { context, page } = await signedIn(browser);
  const errors = watchErrors(page);
  const nav = page.getByRole("navigation", { name: "Main" });

  await page.goto(`/chat/${conversation}`);
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByTestId("chat-title")).toHaveText("Pages conversation");

  // Client-side navigation to a page whose code is not loaded yet.
  await nav.getByRole("link", { name: "Agents" }).click();
  await expect(page).toHaveURL(/\/agents$/);
  await expect(page).toHaveTitle("Agents · Aerie");
  await expect(page.locator('tr[data-agent="Pages agent"]')).toContainText("fake-model");

  await nav.getByRole("link", { name: "Knowledge" }).click();
  await expect(page).toHaveURL(/\/knowledge$/);
  await expect(page).toHaveTitle("Knowledge bases · Aerie");
  // The freshly loaded page is interactive: its editor opens.
  await page.getByRole("button", { name: "New knowledge base" }).click();
  await expect(page.getByRole("region", { name: "Knowledge base editor" })).toBeVisible();

  await nav.getByRole("link", { name: "API reference" }).click();
  await expect(page).toHaveURL(/\/api-reference$/);
  const rows = page.locator("table.ops tbody tr");
  await expect(rows.first()).toBeVisible();
  // The freshly loaded page is interactive.
  await page.locator("#api-filter").fill("metrics");
  await expect(rows).toHaveCount(1);

  await nav.getByRole("link", { name: "Chat" }).click();
  await expect(page).toHaveURL(/\/chat$/);
  await expect(page).toHaveTitle("Chat · Aerie");
  await page.locator("ul.conversations").getByRole("link", { name: "Pages conversation" }).click();
  await expect(page).toHaveURL(new RegExp(`/chat/${conversation}$`));
  await expect(page.getByTestId("chat-title")).toHaveText("Pages conversation");

  // History: back through the pages already loaded, then forward again.
  await page.goBack();
  await expect(page).toHaveURL(/\/chat$/);
  await page.goBack();
  await expect(page).toHaveURL(/\/api-reference$/);
  await expect(page).toHaveTitle("API reference · Aerie");
  await page.goBack();
  await expect(page).toHaveURL(/\/knowledge$/);
  await expect(page).toHaveTitle("Knowledge bases · Aerie");
  await page.goBack();
  await expect(page).toHaveURL(/\/agents$/);
  await expect(page.locator('tr[data-agent="Pages agent"]')).toBeVisible();
  await page.goBack();
  await expect(page).toHaveURL(new RegExp(`/chat/${conversation}$`));
  await expect(page.getByTestId("chat-title")).toHaveText("Pages conversation");
  await page.goForward();
  await expect(page).toHaveURL(/\/agents$/);
  await expect(page).toHaveTitle("Agents · Aerie");

  // Signing out from a lazy page lands on another one (the login page's code loads then).
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByLabel("Email")).toBeVisible();
  expect(errors).toEqual([]);
  await context.close();
});
