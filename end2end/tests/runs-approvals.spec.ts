// Routes and approvals in the dashboard (app/src/ui/pages/{approvals,run_routes}.rs,
// docs/RUNS.md): a run on a route that always needs approval waits in its approver's inbox on
// /approvals, is approved there and completes; the owner creates, changes and deletes a route
// with the form on /routes. Runs after identity.spec.ts (files run in name order: a name
// before "identity" would set the instance up before its wizard does); stands on its own
// otherwise.
import { test, expect, type Page } from "@playwright/test";
import { OWNER, ensureOwner, signInAsOwner, watchErrors } from "./owner";

// The fake OpenAI-compatible upstream started by playwright.config.ts ("echo: <last user message>").
const UPSTREAM = `http://127.0.0.1:${process.env.AERIE_E2E_UPSTREAM_PORT ?? 3911}/v1`;
const APPROVER = { email: "ada.approver@acme.test", password: "tidal-lantern-copper-58", name: "Ada Approver" };
const QUESTION = "Summarise the quarterly numbers for the board.";

let auth: Record<string, string> = {};
let agentId = "";
let runId = "";

/** Signs `who` in on the login page (retrying once the per-account rate limit allows). */
async function signIn(page: Page, who: { email: string; password: string }) {
  await page.goto("/login");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  for (let attempt = 1; ; attempt++) {
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().includes("/_server/login")),
      page.getByRole("button", { name: "Sign in", exact: true }).click(),
    ]);
    if (response.status() !== 429 || attempt === 4) break;
    await page.waitForTimeout(13_000);
  }
  await expect(page).toHaveURL(/\/keys$/);
}

test.beforeAll(async ({ request }) => {
  await ensureOwner(request);
  const login = await request.post("/auth/jwt/create/", { data: OWNER });
  expect(login.status()).toBe(200);
  auth = { Authorization: `Bearer ${(await login.json()).access}` };

  // A provider on the fake upstream and an agent on it.
  const provider = await request.post("/api/providers", {
    headers: auth,
    data: { name: "Approvals upstream", base_url: UPSTREAM, api_key: "sk-e2e", models: [{ id: "fake-model" }] },
  });
  expect(provider.status(), await provider.text()).toBe(201);
  const agent = await request.post("/api/agents", {
    headers: auth,
    data: { name: "Approvals agent", model: "fake-model", provider_id: (await provider.json()).id, system_prompt: "Echo." },
  });
  expect(agent.status(), await agent.text()).toBe(201);
  agentId = (await agent.json()).id;

  // The approver: invited by the owner, joins with the invitation.
  const invite = await request.post("/api/users", { headers: auth, data: { email: APPROVER.email, role: "member" } });
  expect(invite.status(), await invite.text()).toBe(201);
  const joined = await request.post("/auth/signup", {
    data: { email: APPROVER.email, password: APPROVER.password, name: APPROVER.name, invite_token: (await invite.json()).token },
  });
  expect(joined.status(), await joined.text()).toBe(201);
  const approverId: string = (await joined.json()).user.id;

  // A route whose every run waits for the approver.
  const route = await request.post("/api/routes", {
    headers: auth,
    data: { name: "reviewed", agent_id: agentId, approval: "always", approver_user_ids: [approverId] },
  });
  expect(route.status(), await route.text()).toBe(201);

  // The owner's run on it pauses.
  const run = await request.post("/v1/runs", {
    headers: auth,
    data: { messages: [{ role: "user", content: QUESTION }], route: "reviewed" },
  });
  expect(run.status(), await run.text()).toBe(201);
  const body = await run.json();
  expect(body.status).toBe("paused");
  runId = body.run_id;
});

test("the approver approves a paused run on /approvals and it completes", async ({ browser, request }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchErrors(page);
  await signIn(page, APPROVER);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Approvals" }).click();
  await expect(page).toHaveURL(/\/approvals$/);
  await expect(page).toHaveTitle("Approvals · Aerie");
  const inbox = page.getByRole("region", { name: "Waiting for you" });
  const request_ = inbox.locator(`article[data-run="${runId}"]`);
  await expect(request_).toBeVisible();
  await expect(request_.locator("h3")).toHaveText("reviewed");
  await expect(request_.locator(".run-message.role-user .content")).toHaveText(QUESTION);
  await expect(request_).toContainText("credits (worst case)");
  await expect(request_).toContainText(APPROVER.email);
  await expect(request_).toContainText(OWNER.email); // who asked
  await expect(request_).toContainText("The guardrails found nothing in this input.");
  // The run is also listed below, paused.
  const row = page.getByRole("region", { name: "Runs", exact: true }).locator(`tr[data-run="${runId}"]`);
  await expect(row.locator(".state")).toHaveText("paused");
  await page.screenshot({ path: "screenshots/approvals.png", fullPage: true });

  await request_.getByLabel("Comment").fill("Fine to send.");
  await request_.getByRole("button", { name: "Approve" }).click();
  await expect(page.getByTestId("decision-outcome")).toContainText(
    /Approved\. The run on route “reviewed” is now (pending|running|completed)/,
  );
  await expect(request_).toHaveCount(0);
  await expect(inbox).toContainText("Nothing is waiting for you.");
  // The list follows the run while it is queued and executing.
  await expect(row.locator(".state")).toHaveText("completed", { timeout: 30_000 });
  await expect(row.locator("td.result")).toHaveText(`echo: ${QUESTION}`);

  // It executes as a job: the owner sees it complete with the fake upstream's answer.
  await expect
    .poll(async () => (await (await request.get(`/v1/runs/${runId}`, { headers: auth })).json()).status, {
      timeout: 30_000,
    })
    .toBe("completed");
  const done = await (await request.get(`/v1/runs/${runId}`, { headers: auth })).json();
  expect(done.response).toBe(`echo: ${QUESTION}`);
  expect(done.approval.decision).toBe("approved");
  expect(done.approval.comment).toBe("Fine to send.");

  // The page says so when loaded again (rendered on the server).
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(row.locator(".state")).toHaveText("completed");
  await expect(row.locator("td.result")).toHaveText(`echo: ${QUESTION}`);

  // A member sees the routes, read-only.
  await page.goto("/routes");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(page.locator('tr[data-route="reviewed"] td.approval')).toHaveText("always");
  await expect(page.getByText("Only organisation admins can add or change routes.")).toBeVisible();
  await expect(page.getByRole("button", { name: "Edit" })).toHaveCount(0);
  expect(errors).toEqual([]);
  await context.close();
});

test("the owner creates, changes and deletes a route on /routes", async ({ page, request }) => {
  const errors = watchErrors(page);
  await signInAsOwner(page);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Routes" }).click();
  await expect(page).toHaveURL(/\/routes$/);
  await expect(page).toHaveTitle("Routes · Aerie");

  const form = page.getByRole("form", { name: "New route" });
  await form.getByRole("textbox", { name: /^Name/ }).fill("escalated");
  await form.getByLabel("Description").fill("Costly runs need a second pair of eyes");
  await form.getByLabel("Answered by").selectOption({ label: "Agent: Approvals agent" });
  await form.getByRole("combobox", { name: "Approval", exact: true }).selectOption("above_cost");
  await form.getByLabel("Cost threshold (credits)").fill("500");
  await form.getByRole("group", { name: "Approving people" }).getByLabel(APPROVER.name).check();
  await form.getByLabel("Approval timeout (minutes)").fill("90");
  await form.getByRole("button", { name: "Create route" }).click();

  const row = page.locator('tr[data-route="escalated"]');
  await expect(row.locator("td.target")).toHaveText("agent Approvals agent");
  await expect(row.locator("td.approval")).toHaveText("above 500 credits");
  await expect(row.locator("td.approvers")).toHaveText(APPROVER.name);
  await expect(row.locator("td").nth(4)).toHaveText("90 min");
  // The form starts again empty.
  await expect(form.getByRole("textbox", { name: /^Name/ })).toHaveValue("");
  const listed = await (await request.get("/api/routes", { headers: auth })).json();
  const created = listed.find((r: { name: string }) => r.name === "escalated");
  expect(created.agent_id).toBe(agentId);
  expect(created.approval_cost_above).toBe(500);
  expect(created.approval_timeout_minutes).toBe(90);
  expect(created.approver_user_ids).toHaveLength(1);

  // Change its approval mode and approvers: always, the organisation's admins.
  await row.getByRole("button", { name: "Edit" }).click();
  const editor = page.getByRole("form", { name: "Edit route escalated" });
  await editor.getByRole("combobox", { name: "Approval", exact: true }).selectOption("always");
  await editor.getByRole("group", { name: "Approving people" }).getByLabel(APPROVER.name).uncheck();
  await editor.getByRole("button", { name: "Save route" }).click();
  await expect(editor).toHaveCount(0);
  await expect(row.locator("td.approval")).toHaveText("always");
  await expect(row.locator("td.approvers")).toHaveText("the organisation's admins");
  await page.screenshot({ path: "screenshots/routes.png", fullPage: true });

  // The default route cannot be deleted (no button); this one can, after a confirmation.
  await expect(page.locator('tr[data-route="default"]').getByRole("button", { name: "Delete" })).toHaveCount(0);
  await row.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("button", { name: "Yes, delete" }).click();
  await expect(row).toHaveCount(0);
  expect(errors).toEqual([]);
});
