import { defineConfig } from "@playwright/test";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// The server under test: the real `aerie` binary on a fresh data folder (SQLite), started by
// Playwright. scripts/test sets AERIE_BIN and AERIE_SITE_ROOT after `cargo leptos build`.
const port = Number(process.env.AERIE_E2E_PORT ?? 3901);
const bin = process.env.AERIE_BIN ?? "aerie";
// Workers load this file again: they reuse the folder the main process made (the operator's
// shell commands in the specs, `aerie plans …`, act on the server's folder).
const dataDir = process.env.AERIE_E2E_DATA_DIR || mkdtempSync(join(tmpdir(), "aerie-e2e-"));
process.env.AERIE_E2E_DATA_DIR = dataDir;
// The test-only fake OpenAI-compatible upstream (bench/src/bin/fake-upstream.rs) the chat test
// connects a provider to: it answers "echo: <last user message>" in slow chunks.
const upstreamPort = Number(process.env.AERIE_E2E_UPSTREAM_PORT ?? 3911);
const targetDir = process.env.CARGO_TARGET_DIR ?? `${process.env.HOME}/.cache/aerie/target`;
const upstreamBin = process.env.FAKE_UPSTREAM_BIN ?? `${targetDir}/debug/fake-upstream`;
// Not built yet (`cargo leptos build` builds only the server): cargo builds and runs it.
const upstreamCmd = existsSync(upstreamBin)
  ? upstreamBin
  : "cargo run --quiet -p aerie-bench --bin fake-upstream --";
// The test identity providers (server/tests/idp) the single sign-on test signs in with.
const python = process.env.AERIE_TEST_PYTHON ?? `${process.env.HOME}/.cache/aerie/venv/bin/python`;
const oidcPort = Number(process.env.AERIE_E2E_OIDC_PORT ?? 3921);
const samlPort = Number(process.env.AERIE_E2E_SAML_PORT ?? 3922);
const idpDir = join(__dirname, "..", "server", "tests", "idp");

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [
    {
      command: `${bin} serve --listen 127.0.0.1:${port}`,
      url: `http://127.0.0.1:${port}/api/health`,
      timeout: 60_000,
      reuseExistingServer: false,
      stdout: "pipe",
      stderr: "pipe",
      env: {
        AERIE_DATA_DIR: dataDir,
        AERIE_LOG_LEVEL: process.env.AERIE_LOG_LEVEL ?? "warn",
        AERIE_SITE_ROOT: process.env.AERIE_SITE_ROOT ?? "../target/site",
        // The fake upstream listens on loopback.
        AERIE_ALLOW_PRIVATE_PROVIDER_URLS: "true",
        // So are the test identity providers.
        AERIE_ALLOW_PRIVATE_SSO_URLS: "true",
        // Newcomers may create an organisation of their own (operator.spec.ts).
        AERIE_ORG_SIGNUP: "true",
        // The tests' own licensor key (usage-license.spec.ts signs with its private half).
        AERIE_LICENSE_PUBLIC_KEY:
          "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA9q86Y5TEyIWUWhid7QOZkadCwTqq7GJYtsz+f7AgecU=\n-----END PUBLIC KEY-----\n",
      },
    },
    {
      command: `${upstreamCmd} --listen 127.0.0.1:${upstreamPort} --chunk-interval-ms 150 --stream-chunks 12`,
      url: `http://127.0.0.1:${upstreamPort}/v1/models`,
      timeout: existsSync(upstreamBin) ? 30_000 : 600_000,
      reuseExistingServer: false,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      command: `${python} ${idpDir}/oidc_idp.py --port ${oidcPort}`,
      url: `http://127.0.0.1:${oidcPort}/.well-known/openid-configuration`,
      timeout: 30_000,
      reuseExistingServer: false,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      // Reads Aerie's SP metadata at each login (Aerie need not be up yet).
      command: `${python} ${idpDir}/saml_idp.py --port ${samlPort} --sp-metadata-url http://127.0.0.1:${port}/auth/saml/metadata`,
      url: `http://127.0.0.1:${samlPort}/metadata`,
      timeout: 30_000,
      reuseExistingServer: false,
      stdout: "pipe",
      stderr: "pipe",
    },
  ],
});
