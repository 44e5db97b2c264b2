// Drives one Chromium page (the system's chromium, through playwright-core)
// for the Go tests: what an official client does in a browser.
//
// Usage: node node/browser.mjs
//
// Chromium is $CHROME, else chromium, chromium-browser or google-chrome on the
// PATH (scripts/setup.sh installs Debian's chromium).
//
// Commands (see lib/jsonl.mjs for the framing):
//   {"cmd":"goto","url":"http://..."}  opens url in the page
//   {"cmd":"run","code":"<body of an async function>"}  runs code in the
//       page and answers done with {"value": <its JSON result>}
//
// Events: {"type":"console","text":"..."} for what the page logs, and
// {"type":"pageerror","message":"..."}.

import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { chromium } from "playwright-core";
import { out, serve } from "./lib/jsonl.mjs";

function findChromium() {
  if (process.env.CHROME) return process.env.CHROME;
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    for (const dir of (process.env.PATH || "").split(delimiter)) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {}
    }
  }
  throw new Error("no Chromium found: run scripts/setup.sh or set CHROME");
}

const browser = await chromium.launch({ executablePath: findChromium(), args: ["--no-sandbox"] });
const page = await browser.newPage();
page.on("console", (m) => out({ type: "console", text: m.text() }));
page.on("pageerror", (err) => out({ type: "pageerror", message: err.message }));

serve({
  goto: async (c) => {
    await page.goto(c.url);
  },
  run: async (c) => {
    const value = await page.evaluate((code) => {
      const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
      return new AsyncFunction(code)();
    }, c.code);
    return { value };
  },
  exit: async () => {
    await browser.close();
    process.exit(0);
  },
});
