// Single sign-on in the browser, against the real test identity providers started by
// playwright.config.ts (server/tests/idp: an OpenID Connect provider and a SAML IdP).
// Runs last (file name order) on the shared instance; stands on its own otherwise.
import { test, expect, type Page } from "@playwright/test";
import { OWNER, signInAsOwner } from "./owner";
const OIDC = `http://127.0.0.1:${process.env.AERIE_E2E_OIDC_PORT ?? 3921}`;
const SAML = `http://127.0.0.1:${process.env.AERIE_E2E_SAML_PORT ?? 3922}`;
const DOMAIN = "acme.test";
// New people each run, so the test also passes on an instance it ran against before.
const run = Date.now().toString(36);
const SAM = { sub: `sam-${run}`, email: `sam.${run}@${DOMAIN}`, name: `Sam Single ${run}` };
const OIDC_NAME = "E2E OIDC";
const SAML_NAME = "E2E SAML";
const SPARE_NAME = "E2E Spare";

async function hydrated(page: Page) {
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
}

async function signOut(page: Page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await hydrated(page);
}

// Cookie-authenticated API calls that change something must show they come from this site.
function sameOrigin(page: Page) {
  return { Origin: new URL(page.url()).origin };
}

// Types an email on the login page: the buttons of the organisation claiming its domain appear.
async function routeByEmail(page: Page, email: string) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Email").press("Tab");
  await expect(page.getByTestId("sso-options")).toContainText("signs in with:");
}

// Signs in at the OpenID Connect test provider's form (the browser is on it).
async function authorizeAtOidc(page: Page, who: { sub: string; email: string; name: string }) {
  await expect(page).toHaveURL(new RegExp(`^${OIDC}/oauth2/authorize`));
  await page.locator("#sub").fill(who.sub);
  await page.locator("#email").fill(who.email);
  await page.locator("#name").fill(who.name);
  await page.locator("#email_verified").selectOption("true");
  await page.getByRole("button", { name: "Authorize" }).click();
}

test.beforeAll(async ({ request }) => {
  const status = await request.get("/auth/setup-status");
  if (!(await status.json()).bootstrapped) {
    const res = await request.post("/auth/setup", {
      data: { ...OWNER, name: "Olive Owner", organization_name: "Acme Research" },
    });
    expect(res.status()).toBe(201);
  }
});

test("SSO settings → sign in with OpenID Connect and SAML → linked identities; refusals", async ({ browser, page }) => {
  test.setTimeout(120_000);
  // The owner's browser (signed in throughout: password sign-ins are rate-limited) and the
  // visitor's (`page`), who signs in with single sign-on.
  const ownerContext = await browser.newContext();
  const admin = await ownerContext.newPage();
  const errors: string[] = [];
  for (const p of [admin, page]) {
    p.on("pageerror", (e) => errors.push(String(e)));
    // Failed requests are logged on the console too; expected where the test provokes them.
    p.on("console", (m) => {
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
    });
  }

  // The owner configures single sign-on. Providers left by an earlier run go first.
  await signInAsOwner(admin);
  const existing = await admin.request.get("/api/sso/providers");
  expect(existing.status()).toBe(200);
  for (const p of await existing.json()) {
    if ([OIDC_NAME, SAML_NAME, SPARE_NAME, `${SPARE_NAME} 2`].includes(p.name)) {
      const gone = await admin.request.delete(`/api/sso/providers/${p.id}`, { headers: sameOrigin(admin) });
      expect(gone.status()).toBe(204);
    }
  }
  await admin.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "SSO" }).click();
  await expect(admin).toHaveURL(/\/admin\/sso$/);
  await expect(admin.getByRole("heading", { name: "Single sign-on", level: 1 })).toBeVisible();

  // An OpenID Connect provider: discovery and the redirect URI are checked when it is saved.
  const add = admin.getByTestId("sso-add");
  await add.getByLabel("Kind").selectOption("oidc");
  await add.getByLabel("Name", { exact: true }).fill(OIDC_NAME);
  await add.getByLabel("Client ID").fill("aerie-e2e");
  await add.getByLabel("Client secret").fill("e2e-client-secret");
  await add.getByLabel("Issuer URL").fill(OIDC);
  await add.getByLabel("Groups attribute").fill("groups");
  await add.getByRole("button", { name: "Add provider" }).click();
  await expect(add.getByRole("status")).toHaveText(`Added “${OIDC_NAME}”.`);
  const oidcCard = admin.locator(`article[data-provider="${OIDC_NAME}"]`);
  await expect(oidcCard).toBeVisible();
  await expect(oidcCard.getByTestId("sso-state")).toHaveText("enabled");
  await expect(oidcCard).toContainText("/auth/oidc/callback");
  await expect(oidcCard).toContainText("Client secret");
  await oidcCard.getByRole("button", { name: "Test connection" }).click();
  await expect(oidcCard.getByTestId("sso-test")).toContainText("✓ Reached");

  // Edit (rename, add a secret), then delete after confirming.
  await add.getByLabel("Name", { exact: true }).fill(SPARE_NAME);
  await add.getByLabel("Client ID").fill("spare");
  await add.getByLabel("Issuer URL").fill(OIDC);
  await add.getByRole("button", { name: "Add provider" }).click();
  await expect(add.getByRole("status")).toHaveText(`Added “${SPARE_NAME}”.`);
  const spare = admin.locator(`article[data-provider="${SPARE_NAME}"]`);
  await expect(spare.getByTestId("sso-secret")).toHaveText("none");
  await spare.getByRole("button", { name: "Edit" }).click();
  const edit = spare.getByRole("form", { name: "Edit provider" });
  await edit.getByLabel("Name", { exact: true }).fill(`${SPARE_NAME} 2`);
  await edit.getByLabel("New client secret").fill("spare-secret");
  await edit.getByRole("button", { name: "Save" }).click();
  const spare2 = admin.locator(`article[data-provider="${SPARE_NAME} 2"]`);
  await expect(spare2.getByTestId("sso-secret")).toHaveText("stored");
  await expect(spare).toHaveCount(0);
  await spare2.getByRole("button", { name: "Delete" }).click();
  const confirm = spare2.getByRole("group", { name: "Confirm deletion" });
  await expect(confirm).toContainText(`Delete “${SPARE_NAME} 2”?`);
  await confirm.getByRole("button", { name: "Cancel" }).click();
  await expect(confirm).toHaveCount(0);
  await spare2.getByRole("button", { name: "Delete" }).click();
  await confirm.getByRole("button", { name: "Yes, delete" }).click();
  await expect(spare2).toHaveCount(0);

  // A wrong issuer is refused with what to fix, next to the form.
  await add.getByLabel("Name", { exact: true }).fill("Broken");
  await add.getByLabel("Client ID").fill("x");
  await add.getByLabel("Issuer URL").fill(`${OIDC}/no-such-issuer`);
  await add.getByRole("button", { name: "Add provider" }).click();
  await expect(add.getByRole("alert")).toContainText("issuer");
  await expect(admin.locator('article[data-provider="Broken"]')).toHaveCount(0);

  // The policy: the test users' domain is routed here and provisioned at first sign-in.
  const policy = admin.getByTestId("sso-policy");
  await policy.getByLabel("Email domains").fill(DOMAIN);
  await policy.getByLabel("just-in-time").check();
  await policy.getByRole("button", { name: "Save policy" }).click();
  await expect(policy.getByRole("status")).toHaveText("Policy saved.");
  await expect(policy.getByLabel("Email domains")).toHaveValue(DOMAIN);
  await expect(policy.getByLabel("just-in-time")).toBeChecked();

  // A SAML provider from the IdP's metadata URL.
  await add.getByLabel("Kind").selectOption("saml");
  await expect(add.getByLabel("Client ID")).toHaveCount(0);
  await add.getByLabel("Name", { exact: true }).fill(SAML_NAME);
  await add.getByLabel("Metadata URL").fill(`${SAML}/metadata`);
  await add.getByRole("button", { name: "Add provider" }).click();
  await expect(add.getByRole("status")).toHaveText(`Added “${SAML_NAME}”.`);
  const samlCard = admin.locator(`article[data-provider="${SAML_NAME}"]`);
  await expect(samlCard).toContainText("/auth/saml/acs");
  await expect(samlCard).toContainText(`${SAML}/metadata`);
  await expect(samlCard.locator("code.fingerprint")).toHaveCount(1);
  await expect(samlCard.getByTestId("sso-idp-initiated")).toHaveText("refused");
  await samlCard.getByRole("button", { name: "Edit" }).click();
  const samlEdit = samlCard.getByRole("form", { name: "Edit provider" });
  await samlEdit.getByLabel("IdP-initiated sign-in").selectOption("true");
  await samlEdit.getByRole("button", { name: "Save" }).click();
  await expect(samlCard.getByTestId("sso-idp-initiated")).toHaveText("allowed");

  // Our SP metadata, to give the identity provider.
  const metadataLink = admin.getByTestId("sp-metadata");
  await expect(metadataLink).toHaveAttribute("download", "aerie-sp-metadata.xml");
  const [download] = await Promise.all([admin.waitForEvent("download"), metadataLink.click()]);
  expect(download.suggestedFilename()).toBe("aerie-sp-metadata.xml");
  const metadata = await admin.request.get((await metadataLink.getAttribute("href")) ?? "");
  expect(metadata.status()).toBe(200);
  expect(await metadata.text()).toContain("AssertionConsumerService");
  await admin.screenshot({ path: "screenshots/sso-settings.png", fullPage: true });

  // A newcomer of the domain: the email leads to the organisation's buttons; the OpenID
  // Connect provider signs them in and Aerie creates their account.
  await page.goto("/login");
  await hydrated(page);
  await routeByEmail(page, SAM.email);
  const options = page.getByTestId("sso-options");
  await expect(options).toContainText("signs in with:");
  await expect(options.getByRole("link", { name: `Sign in with ${SAML_NAME}` })).toBeVisible();
  await page.screenshot({ path: "screenshots/sso-login.png", fullPage: true });
  await options.getByRole("link", { name: `Sign in with ${OIDC_NAME}` }).click();
  await authorizeAtOidc(page, SAM);
  await expect(page).toHaveURL(/\/keys$/);
  await hydrated(page);
  await expect(page.getByTestId("user-name")).toHaveText(SAM.name);
  let me = await page.request.get("/auth/user");
  expect(me.status()).toBe(200);
  expect((await me.json()).email).toBe(SAM.email);

  // The same person through SAML. The SAML IdP is not authoritative for the domain, so an
  // account with the same email is linked only with proof: Sam, still signed in through OpenID
  // Connect in this browser, confirms on the link page.
  await page.goto("/login");
  await hydrated(page);
  await routeByEmail(page, SAM.email);
  await page.getByRole("link", { name: `Sign in with ${SAML_NAME}` }).click();
  await expect(page).toHaveURL(new RegExp(`^${SAML}/sso/redirect`));
  await page.getByLabel("Email").fill(SAM.email);
  await page.getByLabel("Name", { exact: true }).fill(SAM.name);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/link-account\?code=/);
  await hydrated(page);
  const linkPage = page.getByTestId("link-account");
  await expect(linkPage).toContainText(`You signed in with ${SAML_NAME} as ${SAM.email}`);
  await expect(linkPage).toContainText("You are signed in to this account in this browser.");
  await page.screenshot({ path: "screenshots/sso-link-account.png", fullPage: true });
  await linkPage.getByRole("button", { name: `Link ${SAML_NAME} to my account` }).click();
  await expect(page).toHaveURL(/\/keys$/);
  await hydrated(page);
  await expect(page.getByTestId("user-name")).toHaveText(SAM.name);
  me = await page.request.get("/auth/user");
  expect((await me.json()).email).toBe(SAM.email);

  // The profile lists both identities; the last way in cannot be unlinked (no password).
  await page.getByTestId("user-name").click();
  await expect(page).toHaveURL(/\/profile$/);
  await hydrated(page);
  const linked = page.getByTestId("linked-identities");
  await expect(linked.locator("li")).toHaveCount(2);
  await expect(linked.locator(`li[data-identity="${OIDC_NAME}"]`)).toContainText(SAM.email);
  await page.screenshot({ path: "screenshots/sso-profile.png", fullPage: true });
  await linked.locator(`li[data-identity="${SAML_NAME}"]`).getByRole("button", { name: "Unlink" }).click();
  await expect(linked.locator("li")).toHaveCount(1);
  await linked.locator(`li[data-identity="${OIDC_NAME}"]`).getByRole("button", { name: "Unlink" }).click();
  await expect(linked.getByRole("alert")).toContainText("only way to sign in");
  await expect(linked.locator("li")).toHaveCount(1);

  // An account of another domain is refused: back on the login page with the reason.
  await signOut(page);
  await routeByEmail(page, SAM.email);
  await page.getByRole("link", { name: `Sign in with ${OIDC_NAME}` }).click();
  await authorizeAtOidc(page, { sub: `eve-${run}`, email: `eve.${run}@elsewhere.test`, name: "Eve" });
  await expect(page).toHaveURL(/\/login\?sso_error=/);
  await hydrated(page);
  await expect(page.getByRole("alert")).toContainText("Accounts of elsewhere.test cannot sign in");
  me = await page.request.get("/auth/user");
  expect(me.status()).toBe(401);

  // With the SAML provider disabled, the domain's only provider is offered as "Continue with".
  await admin.reload();
  await hydrated(admin);
  await samlCard.getByRole("button", { name: "Disable" }).click();
  await expect(samlCard.getByTestId("sso-state")).toHaveText("disabled");
  await page.goto("/login");
  await hydrated(page);
  await routeByEmail(page, SAM.email);
  await expect(page.getByRole("link", { name: `Continue with ${OIDC_NAME}` })).toBeVisible();
  await expect(page.getByRole("link", { name: `Sign in with ${SAML_NAME}` })).toHaveCount(0);
  await expect(page.getByTestId("sso-only-note")).toHaveCount(0);

  // SSO-only: the login page says so; the owner still signs in with a password (break-glass).
  await policy.getByLabel("only with single sign-on").check();
  await policy.getByRole("button", { name: "Save policy" }).click();
  await expect(policy.getByRole("status")).toHaveText("Policy saved.");
  await page.goto("/login");
  await hydrated(page);
  await routeByEmail(page, OWNER.email);
  await expect(page.getByTestId("sso-only-note")).toContainText("owners may still use a password");
  await page.screenshot({ path: "screenshots/sso-login-sso-only.png", fullPage: true });
  await signInAsOwner(page);
  await expect(page.getByTestId("user-name")).toBeVisible();
  // Leave the instance as other specs expect it: password sign-in for everyone.
  const reset = await admin.request.put("/api/sso/policy", {
    data: { sso_only: false, email_domains: [DOMAIN], jit_provisioning: true },
    headers: sameOrigin(admin),
  });
  expect(reset.status()).toBe(200);

  await ownerContext.close();
  expect(errors).toEqual([]);
});
