// A knowledge base's documents in the dashboard (app/src/ui/pages/knowledge/documents.rs and
// search.rs): upload a PDF and a Markdown file (each its own request), follow them to "ready"
// (the list reads itself again while they are in progress), upload the PDF again (a duplicate),
// search, delete one; a file the server cannot read shows the server's sentence next to it and
// adds no document. Then an agent given the knowledge base in its form answers in the chat page
// with the passages it was given listed as its sources, still there when the conversation is
// read again. The fixtures are the extractor's (extract/tests/fixtures). Stands on its own.
import { test, expect } from "@playwright/test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ensureOwner, signInAsOwner, watchErrors } from "./owner";

const FIXTURES = join(__dirname, "..", "..", "extract", "tests", "fixtures");
// The fake OpenAI-compatible upstream started by playwright.config.ts: it answers
// "echo: <last user message>".
const UPSTREAM = `http://127.0.0.1:${process.env.AERIE_E2E_UPSTREAM_PORT ?? 3911}/v1`;
// Says "heron migrates along the northern coast".
const PDF = "heron.pdf";
// A 1×1 PNG: a format the server does not read.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

/** The Markdown fixture, whatever its name. */
function markdownFixture(): string {
  const name = readdirSync(FIXTURES)
    .sort()
    .find((f) => /\.(md|markdown)$/.test(f));
  if (!name) throw new Error(`no Markdown file in ${FIXTURES}`);
  return name;
}

test.beforeAll(async ({ request }) => {
  await ensureOwner(request);
});

test("knowledge documents: upload, ingestion status, duplicate, search, delete, refusal, cited chat", async ({ page, baseURL }) => {
  // Ingestion embeds with the built-in model, on a debug build.
  test.setTimeout(360_000);
  const errors = watchErrors(page);
  await signInAsOwner(page);
  const api = { headers: { Origin: baseURL! } };
  const created = await page.request.post("/api/knowledge", {
    ...api,
    data: { name: "Field notes", description: "Birds of the coast" },
  });
  expect(created.status(), await created.text()).toBe(201);
  const kbId: string = (await created.json()).id;
  const md = markdownFixture();

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Knowledge" }).click();
  await expect(page).toHaveURL(/\/knowledge$/);
  const kbRow = page.locator('tr[data-kb="Field notes"]');
  await kbRow.getByRole("button", { name: "Open Field notes" }).click();
  const editor = page.getByRole("region", { name: "Knowledge base editor" });
  const documents = editor.getByRole("region", { name: "Documents" });
  await expect(documents).toContainText("No documents yet.");
  await expect(documents.getByLabel("Category for new documents")).toHaveValue("");

  // Both files in one choice: each is its own upload with its own row.
  const picker = documents.getByLabel("Upload files");
  await picker.setInputFiles([join(FIXTURES, PDF), join(FIXTURES, md)]);
  const uploads = documents.getByRole("list", { name: "Uploads" });
  await expect(uploads.getByRole("listitem")).toHaveCount(2);
  const pdfUpload = uploads.locator(`li[data-upload="${PDF}"]`);
  const mdUpload = uploads.locator(`li[data-upload="${md}"]`);
  await expect(pdfUpload).toBeVisible();
  await expect(mdUpload).toBeVisible();

  // The list follows ingestion by itself until both are ready.
  const pdfRow = documents.locator(`tr[data-document="${PDF}"]`);
  const mdRow = documents.locator(`tr[data-document="${md}"]`);
  await expect(pdfRow.locator(".state")).toHaveText("ready", { timeout: 240_000 });
  await expect(mdRow.locator(".state")).toHaveText("ready", { timeout: 240_000 });
  await expect(pdfRow.locator("td").nth(1)).toHaveText("PDF");
  await expect(mdRow.locator("td").nth(1)).toHaveText("Markdown");
  await expect(pdfRow.locator("td").nth(3)).toContainText(/\d+ passages?/);
  // The uploads' rows show the same status; the knowledge bases' list counts both.
  await expect(pdfUpload.locator(".state")).toHaveText("ready");
  await expect(mdUpload.locator(".state")).toHaveText("ready");
  await expect(kbRow.locator("td").nth(3)).toHaveText("2");
  await expect(kbRow.locator("td").nth(4)).not.toHaveText("0");
  await page.screenshot({ path: "screenshots/knowledge-documents.png", fullPage: true });

  // The same bytes again: nothing new, the row says which document holds them.
  await documents.getByRole("button", { name: "Clear finished uploads" }).click();
  await expect(uploads).toHaveCount(0);
  await picker.setInputFiles(join(FIXTURES, PDF));
  await expect(pdfUpload).toContainText(`Already in this knowledge base as “${PDF}”.`);
  await expect(pdfRow).toHaveCount(1);

  // Search: an empty query gets the server's sentence.
  const search = editor.getByRole("region", { name: "Search" });
  const searchButton = search.getByRole("button", { name: "Search", exact: true });
  const empty = await page.request.post(`/api/knowledge/${kbId}/search`, { ...api, data: { query: "" } });
  expect(empty.status()).toBe(400);
  await searchButton.click();
  await expect(search.getByRole("alert")).toHaveText((await empty.json()).detail);

  // Ranked passages, the best one from the PDF.
  await expect(search.getByLabel("Mode")).toHaveValue("hybrid");
  await search.getByLabel("Query").fill("heron migration");
  await searchButton.click();
  const passages = search.getByRole("list", { name: "Passages" }).getByRole("listitem");
  await expect(passages.first()).toBeVisible();
  const best = passages.first();
  await expect(best.locator(".rank")).toHaveText("#1");
  await expect(best.locator(".score")).toHaveText(/^score -?\d+\.\d{3}$/);
  await expect(best.locator(".source")).toHaveText(/^heron\.pdf · passage \d+$/);
  await expect(best.locator(".passage-text")).not.toBeEmpty();
  await expect(search.getByRole("alert")).toHaveCount(0);

  // Nothing matches a word no document has, in full-text mode.
  await search.getByLabel("Mode").selectOption("full_text");
  await search.getByLabel("Query").fill("xylophonequartzzz");
  await searchButton.click();
  await expect(search).toContainText("No passages match this query.");
  await expect(search.getByRole("list", { name: "Passages" })).toHaveCount(0);

  // Deleted after a confirmation: gone from the list; the focus goes to the section's heading.
  await mdRow.getByRole("button", { name: `Delete ${md}` }).click();
  await documents.getByRole("group", { name: "Confirm deletion" }).getByRole("button", { name: "Yes, delete" }).click();
  await expect(mdRow).toHaveCount(0);
  await expect(pdfRow).toHaveCount(1);
  await expect(documents.getByRole("heading", { name: "Documents" })).toBeFocused();
  await expect(kbRow.locator("td").nth(3)).toHaveText("1");
  const listed = await page.request.get(`/api/knowledge/${kbId}/documents`);
  expect(listed.status()).toBe(200);
  expect((await listed.json()).map((d: { filename: string }) => d.filename)).toEqual([PDF]);

  // A format the server does not read: its sentence next to the file, and no document.
  const direct = await page.request.post(`/api/knowledge/${kbId}/documents`, {
    ...api,
    multipart: { file: { name: "pixel.png", mimeType: "image/png", buffer: PNG } },
  });
  expect(direct.status(), await direct.text()).toBe(400);
  const refusal: string = (await direct.json()).detail;
  await picker.setInputFiles({ name: "pixel.png", mimeType: "image/png", buffer: PNG });
  const refused = uploads.locator('li[data-upload="pixel.png"]');
  await expect(refused.getByRole("alert")).toHaveText(refusal);
  await expect(documents.locator('tr[data-document="pixel.png"]')).toHaveCount(0);
  const after = await page.request.get(`/api/knowledge/${kbId}/documents`);
  expect((await after.json()).map((d: { filename: string }) => d.filename)).toEqual([PDF]);

  // An agent answering from the knowledge base: a provider over the REST API, the agent in its
  // form with the knowledge base ticked.
  const provider = await page.request.post("/api/providers", {
    ...api,
    data: { name: "Documents upstream", base_url: UPSTREAM, api_key: "sk-test", models: [{ id: "fake-model" }] },
  });
  expect(provider.status(), await provider.text()).toBe(201);
  const providerId: string = (await provider.json()).id;
  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Agents" }).click();
  await expect(page).toHaveURL(/\/agents$/);
  await page.getByRole("button", { name: "New agent" }).click();
  const agentEditor = page.getByRole("region", { name: "Agent editor" });
  await agentEditor.getByLabel("Name", { exact: true }).fill("Heron guide");
  await agentEditor.getByLabel("System prompt").fill("Answer from the passages and cite them as [n].");
  await agentEditor.getByRole("combobox", { name: "Provider", exact: true }).selectOption({ label: "Documents upstream" });
  await agentEditor.getByRole("combobox", { name: "Model", exact: true }).selectOption("fake-model");
  await agentEditor.getByRole("group", { name: "Knowledge bases" }).getByLabel("Field notes").check();
  await agentEditor.getByRole("button", { name: "Create agent" }).click();
  await expect(agentEditor).toHaveCount(0);
  const agentRow = page.locator('tr[data-agent="Heron guide"]');
  await expect(agentRow).toContainText("fake-model");

  // Chat with it: the answer streams in, its sources listed under it; a `[1]` in the text (the
  // fake upstream echoes the question) is marked as a reference.
  await agentRow.getByRole("link", { name: "Chat" }).click();
  await expect(page).toHaveURL(/\/chat\?agent=/);
  const agentId = new URL(page.url()).searchParams.get("agent")!;
  const agent = await page.request.get(`/api/agents/${agentId}`);
  expect((await agent.json()).knowledge_base_ids).toEqual([kbId]);
  await expect(page.locator('select[name="agent"] option:checked')).toHaveText("Heron guide");
  const question = "Where does the heron migrate? [1]";
  await page.getByLabel("Message").fill(question);
  await page.getByLabel("Message").press("Enter");
  const answer = page.locator("article.msg-assistant").first();
  await expect(answer).toHaveAttribute("data-status", "complete");
  await expect(answer.locator(".answer")).toContainText("echo:");
  await expect(answer.locator(".answer")).toContainText(question);
  await expect(answer.locator(".answer .chat-cite").first()).toHaveText("[1]");
  await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
  const conversationId = page.url().split("/").pop()!;
  const checkSources = async () => {
    const sources = answer.locator(".chat-sources");
    await expect(sources.getByRole("heading", { name: "Sources" })).toBeVisible();
    const items = sources.getByRole("list", { name: "Sources" }).getByRole("listitem");
    await expect(items.first()).toBeVisible();
    await expect(sources.locator("li.chat-source").first()).toHaveAttribute("data-citation", "1");
    await expect(items.first().locator("summary")).toHaveText(/^\[1\] .+ · passage \d+$/);
    const heron = sources.locator("li.chat-source").filter({ hasText: PDF });
    await expect(heron.first()).toBeVisible();
    // Folded: the passage shows once its summary is opened.
    const text = heron.first().locator(".chat-source-text");
    await expect(text).toBeHidden();
    await heron.first().locator("summary").click();
    await expect(text).toBeVisible();
    await expect(text).not.toBeEmpty();
  };
  await checkSources();
  await page.screenshot({ path: "screenshots/chat-sources.png", fullPage: true });

  // The conversation as stored keeps them.
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(page.locator("article.msg")).toHaveCount(2);
  await expect(answer).toHaveAttribute("data-status", "complete");
  await expect(answer.locator(".answer")).toContainText(question);
  await checkSources();
  const stored = await page.request.get(`/api/conversations/${conversationId}/messages`);
  expect(stored.status(), await stored.text()).toBe(200);
  const messages: { role: string; citations?: { filename: string }[] }[] = (await stored.json()).data;
  const cited = messages.find((m) => m.role === "assistant")?.citations ?? [];
  expect(cited.map((c) => c.filename)).toContain(PDF);

  // Cleaned up for the specs that follow: the conversation, the agent, its provider.
  for (const path of [`/api/conversations/${conversationId}`, `/api/agents/${agentId}`, `/api/providers/${providerId}`]) {
    const gone = await page.request.delete(path, api);
    expect(gone.status(), `${path}: ${await gone.text()}`).toBe(204);
  }

  const removed = await page.request.delete(`/api/knowledge/${kbId}`, api);
  expect(removed.status()).toBe(204);
  expect(errors).toEqual([]);
});
