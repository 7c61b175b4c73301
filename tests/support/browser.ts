import { existsSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sparticuzChromium, { inflate } from '@sparticuz/chromium';
import { type Browser, chromium } from 'playwright-core';

/** A headless Chromium for the browser tests and how to close it. */
export interface TestBrowser {
  browser: Browser;
  /** Closes the browser and removes every file it unpacked. */
  close: () => Promise<void>;
}

// Flags for a desktop Chrome or Chromium named by CHROMIUM_PATH (GitHub's runners ship Chrome).
const SYSTEM_CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Starts the Chromium the browser tests drive: the one `CHROMIUM_PATH` names when it is set, else the
 * Linux x64 build inside the `@sparticuz/chromium` npm package, so `npm install` is all a Linux machine
 * needs (no system browser, no apt-get). A machine-wide Chromium is never picked up by itself. The
 * package has no build for other systems; there the error says to set `CHROMIUM_PATH`. Fails, never
 * skips: a missing browser must not pass as a green run.
 */
export async function launchTestBrowser(): Promise<TestBrowser> {
  const systemPath = process.env.CHROMIUM_PATH;
  if (systemPath !== undefined && systemPath !== '') {
    if (!existsSync(systemPath)) {
      throw new Error(`CHROMIUM_PATH is ${systemPath}, which does not exist; point it at a Chrome or Chromium binary`);
    }
    const browser = await chromium.launch({ executablePath: systemPath, args: SYSTEM_CHROMIUM_ARGS, headless: true });
    return { browser, close: () => browser.close() };
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `The browser tests bring their own Chromium only on Linux x64 (this is ${process.platform} ${process.arch}): ` +
        'set CHROMIUM_PATH to an installed Chrome or Chromium, for example ' +
        '"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" on macOS or ' +
        '"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe" on Windows',
    );
  }
  return launchPackagedChromium();
}

/**
 * The packaged build unpacks (about 220 MB) into the temp folder, as in a Lambda. It gets a folder of
 * its own that closing removes, and so does everything the browser writes there (TMPDIR).
 */
const LAMBDA_ONLY_FLAGS = new Set(['--single-process', '--disable-web-security', '--allow-running-insecure-content']);

async function launchPackagedChromium(): Promise<TestBrowser> {
  const folder = mkdtempSync(join(tmpdir(), 'test-chromium-'));
  const removeFolder = () => rm(folder, { recursive: true, force: true, maxRetries: 3 });
  try {
    const { executablePath, libraryPath } = await unpackInto(folder);
    // The package's own flags, driven over the DevTools protocol as playwright-core does: its
    // command-line modes (--dump-dom, --screenshot) hang. Less three made for a Lambda, not a test:
    // --single-process ends the whole browser when a page closes (a second page then fails with
    // "Target page, context or browser has been closed"), and the two that turn off web security
    // would hide the cross-origin loads the docs test looks for.
    const browser = await chromium.launch({
      executablePath,
      args: sparticuzChromium.args.filter((arg) => !LAMBDA_ONLY_FLAGS.has(arg)),
      headless: true,
      env: { ...process.env, TMPDIR: folder, LD_LIBRARY_PATH: libraryPath },
    });
    return {
      browser,
      close: async () => {
        await browser.close();
        await removeFolder();
      },
    };
  } catch (error) {
    await removeFolder();
    throw error;
  }
}

/** Where the package keeps its compressed builds (it resolves the same folder itself). */
function packageBinFolder(): string {
  return fileURLToPath(new URL('../bin/', import.meta.resolve('@sparticuz/chromium')));
}

/**
 * Unpacks the browser and the shared libraries it links dynamically beyond glibc (NSS and expat: the
 * package ships them, built for Amazon Linux 2023 with glibc 2.34, so a machine without them runs it
 * too). `executablePath()` and `inflate()` unpack into `os.tmpdir()` and read it synchronously, as they are
 * called; TMPDIR is pointed at `folder` for exactly that synchronous part (nothing else can run in
 * between) and restored before anything is awaited. The path it answers is checked, so that a package
 * version that unpacks elsewhere fails here instead of leaving a browser in the temp folder.
 */
async function unpackInto(folder: string): Promise<{ executablePath: string; libraryPath: string }> {
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = folder;
  let executablePath: Promise<string>;
  let libraries: Promise<string>;
  try {
    executablePath = sparticuzChromium.executablePath();
    libraries = inflate(join(packageBinFolder(), 'al2023.tar.br'));
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
  // Both settle before anything is thrown, so that no unpacking still writes while the folder is removed.
  const [path, librariesPath] = (await Promise.allSettled([executablePath, libraries])).map((result) => {
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  }) as [string, string];
  for (const unpacked of [path, librariesPath]) {
    if (!unpacked.startsWith(`${folder}/`)) {
      throw new Error(`@sparticuz/chromium unpacked to ${unpacked}, outside ${folder}: the clean-up would miss it`);
    }
  }
  return { executablePath: path, libraryPath: join(librariesPath, 'lib') };
}
