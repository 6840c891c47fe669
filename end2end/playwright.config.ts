import { defineConfig } from "@playwright/test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// The server under test: the real `aerie` binary on a fresh data folder (SQLite), started by
// Playwright. scripts/test sets AERIE_BIN and AERIE_SITE_ROOT after `cargo leptos build`.
const port = Number(process.env.AERIE_E2E_PORT ?? 3901);
const bin = process.env.AERIE_BIN ?? "aerie";
const dataDir = mkdtempSync(join(tmpdir(), "aerie-e2e-"));

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
  webServer: {
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
    },
  },
});
