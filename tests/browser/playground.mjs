// Drives Debian's Chromium (playwright-core, no downloaded browser) against a gateway on
// loopback, with every request to another host refused. Two scenarios, each printing one JSON
// report as the last line of stdout (the Rust tests assert on it; diagnostics go to stderr):
//
//   node playground.mjs playground --gateway-url URL --screenshot FILE
//       [--query TEXT] [--header NAME:VALUE]
//     Opens the playground at URL, reads the example operation from the editor, opens the
//     docs explorer and lists the Query fields (screenshot FILE-opened.png), types --query in
//     place of the example, runs it with Ctrl-Enter and reads the result pane (screenshot
//     FILE), types --header into the headers editor, runs again with the run button and
//     reports the requests GraphiQL sent.
//
//   node playground.mjs subscription --gateway-url URL --screenshot FILE --query TEXT
//       --mutation JSON [--expect TEXT]
//     Opens the playground, types the subscription --query and runs it, then POSTs the
//     --mutation body to the gateway (from node) every 300 ms until the result pane shows an
//     event (with --expect: until the pane holds TEXT, e.g. for a live query, whose first
//     result shows at once); reports the pane's text, the pane's text before the first
//     mutation (`before`) and the request GraphiQL sent (screenshot FILE).
//
//   node playground.mjs fetch --page-url URL --gateway-url URL [--body JSON]
//       [--header NAME:VALUE]... [--credentials include|same-origin|omit] [--method POST]
//     Opens the page at --page-url (another origin) and, from it, fetches --gateway-url as a
//     frontend app would; reports the response or the error the browser raised (a CORS
//     refusal is a TypeError "Failed to fetch").
//
// Both report `blocked`: requests to a host other than loopback, which fail (see `launch`);
// any such request fails the tests.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const TIMEOUT_MS = 30_000;

function parseArgs(argv) {
  const [scenario, ...rest] = argv;
  const options = { scenario, header: [] };
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i].replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase());
    if (rest[i + 1] === undefined) throw new Error(`${rest[i]} needs a value`);
    if (key === 'header') options.header.push(rest[i + 1]);
    else options[key] = rest[i + 1];
  }
  return options;
}

function headerPair(text) {
  const at = text.indexOf(':');
  if (at < 1) throw new Error(`--header ${text}: expected NAME:VALUE`);
  return [text.slice(0, at).trim(), text.slice(at + 1).trim()];
}

/// A fresh profile; the console and CSP violations recorded; every request to a host other
/// than loopback recorded and failed. Failed twice over: Chromium sends such requests to a
/// proxy that is not there and resolves no host name but localhost, and with `intercept`
/// playwright also aborts them (`context.route`). The `fetch` scenario does not intercept: with
/// interception on, playwright answers CORS preflights itself (with every origin allowed)
/// instead of letting them reach the server.
async function launch(report, { intercept }) {
  const profile = mkdtempSync(join(tmpdir(), 'gateway-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: TIMEOUT_MS,
    viewport: { width: 1600, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--proxy-server=http://127.0.0.1:9',
      '--proxy-bypass-list=127.0.0.1;localhost;[::1]',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]',
    ],
  });
  context.setDefaultTimeout(TIMEOUT_MS);
  const beyondLoopback = (url) => {
    const { protocol, hostname } = new URL(url);
    return !(protocol === 'data:' || protocol === 'blob:' || LOOPBACK.has(hostname));
  };
  context.on('request', (request) => {
    if (beyondLoopback(request.url()) && !report.blocked.includes(request.url())) {
      report.blocked.push(request.url());
    }
  });
  if (intercept) {
    await context.route('**', (route) => {
      if (!beyondLoopback(route.request().url())) return route.continue();
      if (!report.blocked.includes(route.request().url())) report.blocked.push(route.request().url());
      return route.abort('blockedbyclient');
    });
  }
  // Init scripts come in through the DevTools protocol: the page's CSP does not apply to them.
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
    });
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => report.console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => report.console.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) =>
    report.console.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`),
  );
  const close = async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  };
  return { page, close };
}

// GraphiQL's editors (CodeMirror 5): the operation, the headers (the visible one of the
// variables and headers tools) and the response.
const QUERY = '.graphiql-query-editor .CodeMirror';
const HEADERS = '.graphiql-editor-tool .CodeMirror:visible';
const RESPONSE = '.graphiql-response .CodeMirror';

/// The text of the editor `selector`.
async function editorText(page, selector) {
  return page.$eval(selector, (element) => element.CodeMirror.getValue());
}

/// Types `text` into the editor `selector`, replacing what it held, as a user would (keyboard
/// events, with GraphiQL's bracket closing and completion at work), then reads it back.
async function typeInto(page, selector, text) {
  await page.click(selector);
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type(text, { delay: 5 });
  await page.keyboard.press('Escape'); // closes an open completion list
  await page.keyboard.press('ControlOrMeta+Home'); // scrolls back to the start
  // GraphiQL takes the operation name from the editor after a short debounce: a run sooner
  // than that sends the previous document's name.
  await page.waitForTimeout(500);
  return editorText(page, selector);
}

/// The result pane's text once it holds a response different from `previous`.
async function awaitResponse(page, previous) {
  await page.waitForFunction(
    ({ previous, selector }) => {
      const element = document.querySelector(selector);
      const text = element && element.CodeMirror.getValue();
      return text && text !== previous && /"(data|errors)"/.test(text);
    },
    { previous, selector: RESPONSE },
    { timeout: TIMEOUT_MS },
  );
  return editorText(page, RESPONSE);
}

async function playground(options, report) {
  const { page, close } = await launch(report, { intercept: true });
  report.requests = [];
  page.on('request', async (request) => {
    if (request.url().split('?')[0] === options.gatewayUrl && request.method() !== 'GET') {
      report.requests.push({
        method: request.method(),
        headers: await request.allHeaders(),
        body: request.postData(),
      });
    }
  });
  try {
    report.step = 'open the playground';
    const response = await page.goto(options.gatewayUrl, { waitUntil: 'load' });
    report.status = response.status();
    report.csp = response.headers()['content-security-policy'] || null;
    await page.waitForSelector(QUERY);

    report.step = 'read the example operation';
    report.example = await editorText(page, QUERY);

    report.step = 'wait for the schema (introspection)';
    // The docs button turns usable once the schema is in; the explorer lists its root types.
    await page.click('[aria-label="Show Documentation Explorer"]');
    await page.waitForSelector('.graphiql-doc-explorer a.graphiql-doc-explorer-type-name');

    report.step = 'list the Query fields in the docs explorer';
    await page.click('.graphiql-doc-explorer a.graphiql-doc-explorer-type-name >> text=Query');
    await page.waitForSelector('.graphiql-doc-explorer-field-name');
    report.docsTitle = await page.textContent('.graphiql-doc-explorer-title');
    report.docsFields = await page.$$eval('.graphiql-doc-explorer-field-name', (names) =>
      names.map((n) => n.textContent),
    );

    report.step = 'screenshot the example';
    report.openedScreenshot = options.screenshot.replace(/(\.png)?$/, '-opened.png');
    await page.screenshot({ path: report.openedScreenshot });

    report.step = 'type the query';
    const query = options.query || '{ __typename }';
    report.typed = await typeInto(page, QUERY, query);

    report.step = 'run it with Ctrl-Enter';
    const before = await editorText(page, RESPONSE);
    await page.click(QUERY);
    await page.keyboard.press('ControlOrMeta+Enter');
    report.result = await awaitResponse(page, before);

    report.step = 'screenshot';
    await page.screenshot({ path: options.screenshot });
    report.screenshot = options.screenshot;

    if (options.header.length) {
      report.step = 'type the headers';
      const headers = Object.fromEntries(options.header.map(headerPair));
      await page.click('.graphiql-editor-tools button >> text=Headers');
      report.headersTyped = await typeInto(page, HEADERS, JSON.stringify(headers));

      report.step = 'run it with the run button';
      report.requests = [];
      await Promise.all([
        page.waitForResponse(
          (r) => r.url() === options.gatewayUrl && r.request().method() === 'POST',
        ),
        page.click('.graphiql-execute-button'),
      ]);
      await page.waitForTimeout(300); // the response reaches the pane a moment later
      report.resultWithHeaders = await editorText(page, RESPONSE);
    }
    report.step = 'done';
    report.ok = true;
  } catch (error) {
    report.ok = false;
    report.error = String(error && error.stack ? error.stack : error);
    report.pageText = await page.evaluate(() => document.body.innerText).catch((e) => String(e));
    const failure = options.screenshot.replace(/(\.png)?$/, '-failure.png');
    await page.screenshot({ path: failure }).then(() => (report.screenshot = failure)).catch(() => {});
  } finally {
    report.cspViolations = await page.evaluate(() => window.__cspViolations).catch(() => null);
    await close();
  }
}

async function subscription(options, report) {
  const { page, close } = await launch(report, { intercept: true });
  report.requests = [];
  page.on('request', async (request) => {
    if (request.url() === options.gatewayUrl && request.method() === 'POST') {
      report.requests.push({ headers: await request.allHeaders(), body: request.postData() });
    }
  });
  try {
    report.step = 'open the playground';
    await page.goto(options.gatewayUrl, { waitUntil: 'load' });
    await page.waitForSelector(QUERY);
    report.step = 'type the subscription';
    report.typed = await typeInto(page, QUERY, options.query);
    report.step = 'run it';
    const before = await editorText(page, RESPONSE);
    await page.click(QUERY);
    await page.keyboard.press('ControlOrMeta+Enter');
    const deadline = Date.now() + TIMEOUT_MS;
    if (options.expect) {
      // A live query: its first result shows before anything is published.
      report.step = 'wait for the first result';
      while (Date.now() < deadline && !/"data"/.test(await editorText(page, RESPONSE))) {
        await page.waitForTimeout(100);
      }
      report.before = await editorText(page, RESPONSE);
    }
    report.step = 'publish events until one shows';
    let text = before;
    report.published = 0;
    while (Date.now() < deadline) {
      const answer = await fetch(options.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: options.mutation,
      });
      report.published += 1;
      report.mutationStatus = answer.status;
      await page.waitForTimeout(300);
      text = await editorText(page, RESPONSE);
      if (options.expect ? text.includes(options.expect) : text !== before && /"data"/.test(text)) break;
    }
    report.result = text;
    report.step = 'screenshot';
    await page.screenshot({ path: options.screenshot });
    report.screenshot = options.screenshot;
    report.step = 'done';
    report.ok = true;
  } catch (error) {
    report.ok = false;
    report.error = String(error && error.stack ? error.stack : error);
  } finally {
    report.cspViolations = await page.evaluate(() => window.__cspViolations).catch(() => null);
    await close();
  }
}

async function crossOriginFetch(options, report) {
  const { page, close } = await launch(report, { intercept: false });
  try {
    report.step = 'open the page';
    const response = await page.goto(options.pageUrl, { waitUntil: 'load' });
    report.pageStatus = response.status();
    report.step = 'fetch the gateway from the page';
    report.fetch = await page.evaluate(
      async ({ url, method, body, headers, credentials }) => {
        try {
          const response = await fetch(url, {
            method,
            headers: { 'content-type': 'application/json', ...headers },
            body: method === 'GET' ? undefined : body,
            credentials,
          });
          return {
            ok: true,
            status: response.status,
            headers: Object.fromEntries(response.headers.entries()),
            body: await response.text(),
          };
        } catch (error) {
          return { ok: false, error: { name: error.name, message: error.message } };
        }
      },
      {
        url: options.gatewayUrl,
        method: options.method || 'POST',
        body: options.body || JSON.stringify({ query: '{ __typename }' }),
        headers: Object.fromEntries(options.header.map(headerPair)),
        credentials: options.credentials || 'same-origin',
      },
    );
    report.step = 'done';
    report.ok = true;
  } catch (error) {
    report.ok = false;
    report.error = String(error && error.stack ? error.stack : error);
  } finally {
    await close();
  }
}

const options = parseArgs(process.argv.slice(2));
const report = { scenario: options.scenario, blocked: [], console: [] };
const started = Date.now();
try {
  if (options.scenario === 'playground') {
    if (!options.gatewayUrl || !options.screenshot) throw new Error('needs --gateway-url and --screenshot');
    await playground(options, report);
  } else if (options.scenario === 'subscription') {
    if (!options.gatewayUrl || !options.screenshot || !options.query || !options.mutation) {
      throw new Error('needs --gateway-url, --screenshot, --query and --mutation');
    }
    await subscription(options, report);
  } else if (options.scenario === 'fetch') {
    if (!options.gatewayUrl || !options.pageUrl) throw new Error('needs --page-url and --gateway-url');
    await crossOriginFetch(options, report);
  } else {
    throw new Error(`unknown scenario "${options.scenario}": playground, subscription or fetch`);
  }
} catch (error) {
  report.ok = false;
  report.error = String(error && error.stack ? error.stack : error);
}
report.ms = Date.now() - started;
console.log(JSON.stringify(report));
process.exit(report.ok ? 0 : 1);
