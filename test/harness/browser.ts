// Headless Chromium (Debian's package) driven by playwright-core, for the browser view's tests
// and benchmark. Playwright gives it a fresh profile; it starts with Chromium's own background traffic off
// (this machine has no internet; Chromium would otherwise keep trying Google's hosts).
import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";

export const chromiumPath = process.env.STAGESET_CHROMIUM ?? "/usr/bin/chromium";

/** Where screenshots go: test-output/ui in the repository (ignored by git). */
export const screenshotDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../test-output/ui");

export async function launchBrowser(): Promise<{ browser: Browser; close(): Promise<void> }> {
  if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: run scripts/install-browser.sh (Debian's chromium package)`);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  mkdirSync(screenshotDir, { recursive: true });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
    },
  };
}
