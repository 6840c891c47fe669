// Knowledge bases in the dashboard (app/src/ui/pages/knowledge.rs): create one, see it listed
// with its slug, add and rename a category, open it to the organisation, attach it to an agent
// in the agent form (kept after saving), delete it. Runs after identity.spec.ts (files run in
// name order); stands on its own otherwise.
import { test, expect } from "@playwright/test";
import { ensureOwner, signInAsOwner, watchErrors } from "./owner";

// The fake OpenAI-compatible upstream started by playwright.config.ts.
const UPSTREAM = `http://127.0.0.1:${process.env.AERIE_E2E_UPSTREAM_PORT ?? 3911}/v1`;

test.beforeAll(async ({ request }) => {
  await ensureOwner(request);
});

test("knowledge bases: create, categories, visibility, attach to an agent, delete", async ({ page, baseURL }) => {
  const errors = watchErrors(page);
  await signInAsOwner(page);
  // An agent to attach the knowledge base to: provider and agent over the REST API, with the
  // session cookie (unsafe methods must come from the same origin).
  const api = { headers: { Origin: baseURL! } };
  const provider = await page.request.post("/api/providers", {
    ...api,
    data: { name: "Knowledge upstream", base_url: UPSTREAM, api_key: "sk-test", models: [{ id: "fake-model" }] },
  });
  expect(provider.status(), await provider.text()).toBe(201);
  const created = await page.request.post("/api/agents", {
    ...api,
    data: { name: "Librarian", model: "fake-model", provider_id: (await provider.json()).id, system_prompt: "Cite." },
  });
  expect(created.status(), await created.text()).toBe(201);
  const agentId: string = (await created.json()).id;

  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Knowledge" }).click();
  await expect(page).toHaveURL(/\/knowledge$/);
  await expect(page).toHaveTitle("Knowledge bases · Aerie");

  // Create one; without a slug, it is made from the name.
  await page.getByRole("button", { name: "New knowledge base" }).click();
  const editor = page.getByRole("region", { name: "Knowledge base editor" });
  // The editor takes the focus, so a keyboard user lands in it.
  await expect(editor.getByRole("heading", { name: "New knowledge base" })).toBeFocused();
  const settings = editor.getByRole("group", { name: "Settings" });
  await settings.getByLabel("Name", { exact: true }).fill("Employee Handbook");
  await settings.getByLabel("Description").fill("Policies and benefits");
  await settings.getByLabel("Chunk size").fill("1000");
  await settings.getByLabel("Chunk overlap").fill("120");
  await expect(settings.getByLabel("Embedding provider")).toHaveValue("");
  await editor.getByRole("button", { name: "Create knowledge base" }).click();
  const row = page.locator('tr[data-kb="Employee Handbook"]');
  await expect(row.locator("td").nth(1)).toHaveText("employee-handbook");
  await expect(row.locator("td").nth(2)).toHaveText("private");
  await expect(row.locator("td").nth(5)).toHaveText("0");
  // It stays open in the editor, for its categories.
  await expect(editor.getByRole("heading", { name: "Edit knowledge base" })).toBeFocused();
  await expect(settings.getByLabel("Slug")).toHaveValue("employee-handbook");
  await expect(settings.getByLabel("Chunk size")).toHaveValue("1000");

  // A category: added, listed with its slug, counted in the list.
  const categories = editor.getByRole("region", { name: "Categories" });
  await expect(categories).toContainText("No categories yet.");
  await categories.getByLabel("Category name").fill("Benefits");
  await categories.getByLabel("Category description").fill("Leave, health, pension");
  await categories.getByRole("button", { name: "Add category" }).click();
  const category = categories.locator('tr[data-category="benefits"]');
  await expect(category.locator("td").first()).toHaveText("Benefits");
  await expect(categories.getByLabel("Category name")).toHaveValue("");
  await expect(row.locator("td").nth(5)).toHaveText("1");

  // Renamed from the keyboard: the field takes the focus, Enter saves; the slug stays.
  await category.getByRole("button", { name: "Rename" }).click();
  const newName = categories.getByLabel("New name");
  await expect(newName).toBeFocused();
  await newName.fill("Perks and benefits");
  await newName.press("Enter");
  await expect(category.locator("td").first()).toHaveText("Perks and benefits");
  await expect(category.locator("td").nth(1)).toHaveText("benefits");
  await expect(categories.getByLabel("New name")).toHaveCount(0);

  // Open to the whole organisation.
  await settings.getByLabel("Visibility").selectOption("organization");
  await editor.getByRole("button", { name: "Save changes" }).click();
  await expect(editor.getByRole("status")).toHaveText("Saved.");
  await expect(row.locator("td").nth(2)).toHaveText("organization");
  const listed = await page.request.get("/api/knowledge");
  expect(listed.status()).toBe(200);
  const kb = (await listed.json()).find((k: { slug: string }) => k.slug === "employee-handbook");
  expect(kb.visibility).toBe("organization");
  expect(kb.chunking).toEqual({ chunk_size: 1000, chunk_overlap: 120 });
  expect(kb.categories.map((c: { name: string }) => c.name)).toEqual(["Perks and benefits"]);
  await page.screenshot({ path: "screenshots/knowledge.png", fullPage: true });

  // Attached to the agent in its form; still attached when the form opens again.
  await nav.getByRole("link", { name: "Agents" }).click();
  await expect(page).toHaveURL(/\/agents$/);
  const agent = page.locator('tr[data-agent="Librarian"]');
  const agentEditor = page.getByRole("region", { name: "Agent editor" });
  const picker = agentEditor.getByRole("group", { name: "Knowledge bases" });
  await agent.getByRole("button", { name: "Edit" }).click();
  await picker.getByLabel("Employee Handbook").check();
  await agentEditor.getByRole("button", { name: "Save agent" }).click();
  await expect(agentEditor).toHaveCount(0);
  await agent.getByRole("button", { name: "Edit" }).click();
  await expect(picker.getByLabel("Employee Handbook")).toBeChecked();
  await agentEditor.getByRole("button", { name: "Cancel" }).click();
  const attached = await page.request.get(`/api/agents/${agentId}`);
  expect((await attached.json()).knowledge_base_ids).toEqual([kb.id]);

  // Deleted after a confirmation: gone from the list and from the agent.
  await nav.getByRole("link", { name: "Knowledge" }).click();
  await expect(page).toHaveURL(/\/knowledge$/);
  await row.getByRole("button", { name: "Open Employee Handbook" }).click();
  await editor.getByRole("button", { name: "Delete knowledge base" }).click();
  await editor.getByRole("group", { name: "Confirm deletion" }).getByRole("button", { name: "Yes, delete" }).click();
  await expect(row).toHaveCount(0);
  await expect(editor).toHaveCount(0);
  const detached = await page.request.get(`/api/agents/${agentId}`);
  expect((await detached.json()).knowledge_base_ids).toEqual([]);
  expect(errors).toEqual([]);
});
