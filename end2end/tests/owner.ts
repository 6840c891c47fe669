// Shared by the specs: the instance's owner (created by identity.spec.ts, or by a spec's own
// setup when it runs alone) and a password sign-in that waits out the login rate limit.
import { expect, type APIRequestContext, type Page } from "@playwright/test";

export const OWNER = { email: "olive@acme.test", password: "plum-orbit-cascade-42" };

/** Signs the owner in on the login page and waits for the keys page. Password sign-ins are
 * rate-limited per account (5 a minute, one more every 12 s) and every spec signs the owner in:
 * a refused attempt (429) is retried after the limit lets one through again. */
export async function signInAsOwner(page: Page) {
  await page.goto("/login");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Email").fill(OWNER.email);
  await page.getByLabel("Password").fill(OWNER.password);
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

/** Sets the instance up with the owner unless a spec already did (identity.spec.ts does it in
 * the wizard; specs that run alone do it here). */
export async function ensureOwner(request: APIRequestContext) {
  const status = await request.get("/auth/setup-status");
  if (!(await status.json()).bootstrapped) {
    const res = await request.post("/auth/setup", {
      data: { ...OWNER, name: "Olive Owner", organization_name: "Acme Research" },
    });
    expect(res.status()).toBe(201);
  }
}

/** Collects what would show a broken page: uncaught errors and console errors (a Rust panic in
 * the wasm is logged there). Failed requests are logged too; those are left out, since tests
 * provoke some on purpose. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });
  return errors;
}

/** An agent on the fake upstream and an API key of the owner, made through the API (names
 * unique to the calling spec): the owner's JWT headers, the key and the agent's id. */
export async function agentWithKey(
  request: APIRequestContext,
  names: { provider: string; agent: string; key: string },
) {
  const upstream = `http://127.0.0.1:${process.env.AERIE_E2E_UPSTREAM_PORT ?? 3911}/v1`;
  const login = await request.post("/auth/jwt/create/", { data: OWNER });
  expect(login.status()).toBe(200);
  const auth = { Authorization: `Bearer ${(await login.json()).access}` };
  const provider = await request.post("/api/providers", {
    headers: auth, data: { name: names.provider, base_url: upstream, api_key: "sk-e2e" },
  });
  expect(provider.status()).toBe(201);
  const agent = await request.post("/api/agents", {
    headers: auth,
    data: { name: names.agent, model: "fake-model", provider_id: (await provider.json()).id, visibility: "organization" },
  });
  expect(agent.status()).toBe(201);
  const created = await request.post("/v1/billings/api-keys/", { headers: auth, data: { name: names.key } });
  expect(created.status()).toBe(201);
  return { auth, key: (await created.json()).key as string, agentId: (await agent.json()).id as string };
}
