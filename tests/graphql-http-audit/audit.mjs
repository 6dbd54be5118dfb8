// Runs every GraphQL-over-HTTP server audit of graphql-http (`serverAudits`) against a running
// GraphQL endpoint and prints one line per audit, then `N passed, N failed`.
//
//   node audit.mjs http://127.0.0.1:4000/graphql [--header name:value]...
//
// `--header` adds a header to every request the audits send (e.g. the CSRF preflight header
// `apollo-require-preflight:true`, without which the gateway refuses GET requests).
//
// Every audit counts, whatever its level: an audit passes only with status `ok`. A failed MUST
// (`error`), SHOULD (`warn`) or MAY (`notice`) is counted as failed and printed with its reason
// and the response's status. Exit status: 0 when all passed; 1 when a MUST failed, an audit
// could not run (network error, timeout) or the URL is missing; 2 when only SHOULD/MAY audits
// failed. The end-to-end test (tests/graphql_http_audit.rs) wants every audit to pass.

import { serverAudits } from 'graphql-http';

const [url, ...options] = process.argv.slice(2);
const extraHeaders = [];
for (let i = 0; i < options.length; i += 2) {
  const [name, ...value] = (options[i] === '--header' ? options[i + 1] ?? '' : '').split(':');
  if (!name || value.length === 0) {
    console.error(`unknown option ${options[i]} ${options[i + 1] ?? ''}`);
    process.exit(1);
  }
  extraHeaders.push([name.trim(), value.join(':').trim()]);
}
if (!url) {
  console.error('usage: node audit.mjs <graphql url> [--header name:value]...');
  process.exit(1);
}

// One slow answer must fail its audit, not hang the run.
const TIMEOUT_MS = 10_000;
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  for (const [name, value] of extraHeaders) {
    headers.set(name, value);
  }
  return fetch(input, { ...init, headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
};

const audits = serverAudits({ url, fetchFn });
let passed = 0;
let failed = 0;
let mustFailed = false;

// One at a time, in the library's order: the output is the same from run to run.
for (const audit of audits) {
  let result;
  try {
    result = await audit.fn();
  } catch (error) {
    // Not an assertion: the request itself failed.
    result = { id: audit.id, name: audit.name, status: 'fatal', reason: String(error) };
  }
  if (result.status === 'ok') {
    passed += 1;
    console.log(`ok     [${result.id}] ${result.name}`);
    continue;
  }
  failed += 1;
  if (result.status === 'error' || result.status === 'fatal') {
    mustFailed = true;
  }
  console.log(`FAIL   [${result.id}] ${result.name} (${result.status}): ${result.reason}`);
  if (result.response) {
    const contentType = result.response.headers.get('content-type') ?? '(none)';
    let body = '';
    try {
      body = (await result.response.text()).slice(0, 300);
    } catch {
      body = '(body already read)';
    }
    console.log(`         HTTP ${result.response.status}, content-type ${contentType}: ${body}`);
  }
}

console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : mustFailed ? 1 : 2;
