// Verifies one credential with @digitalcredentials/verifier-core, offline, and prints a JSON verdict.
//
//   node verify.mjs [STATUS_LIST_CREDENTIAL.json ...] < credential.json
//
// Each status-list file is a BitstringStatusListCredential, served at its own `id` URL. The official Open
// Badges 3.0 JSON schema (vendored in schema/) is served at the URL verifier-core fetches it from, so its
// schema check runs offline; a credential the schema refuses is not ok. Every other network request is
// refused (and listed in the output): contexts come from the package's own loader, did:key is resolved
// locally, no issuer registry is consulted.
import { readFileSync } from 'node:fs';

const OB3_SCHEMA_URL = 'https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json';
const ob3Schema = readFileSync(new URL('./schema/ob_v3p0_achievementcredential_schema.json', import.meta.url), 'utf8');
const served = new Map();
for (const file of process.argv.slice(2)) {
  const statusList = JSON.parse(readFileSync(file, 'utf8'));
  served.set(statusList.id, JSON.stringify(statusList));
}

const refusedFetches = [];
const servedFetches = [];
globalThis.fetch = async (input) => {
  const url = typeof input === 'string' ? input : (input.url ?? String(input));
  if (url === OB3_SCHEMA_URL) {
    return new Response(ob3Schema, { status: 200, headers: { 'content-type': 'application/json' } });
  }
  if (served.has(url)) {
    servedFetches.push(url);
    return new Response(served.get(url), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  }
  refusedFetches.push(url);
  throw new TypeError(`offline verifier: no network (refused ${url})`);
};

// The library logs to stdout (for example when the schema cannot be fetched); keep stdout for the verdict.
for (const name of ['log', 'info', 'warn', 'debug']) {
  console[name] = (...args) => console.error(...args);
}

const { verifyCredential } = await import('@digitalcredentials/verifier-core');

const credential = JSON.parse(readFileSync(0, 'utf8'));
const started = performance.now();
const result = await verifyCredential({ credential, knownDIDRegistries: [] });
const elapsedMs = Math.round(performance.now() - started);

const log = result.log ?? [];
const step = (id) => log.find((entry) => entry.id === id);
const signature = step('valid_signature');
const expiration = step('expiration');
const status = step('revocation_status');
const errors = (result.errors ?? []).map(({ name, message }) => ({ name, message }));

let revoked = null;
if (status && typeof status.valid === 'boolean') {
  revoked = !status.valid;
}
// The schema check: an array of results (each valid or not), 'NO_SCHEMA', or a string saying it could not run.
const schemaEntry = (result.additionalInformation ?? []).find((entry) => entry.id === 'schema_check');
const schemaResults = schemaEntry?.results;
const schema = Array.isArray(schemaResults)
  ? {
    valid: schemaResults.every((entry) => entry.result?.valid === true),
    errors: schemaResults.flatMap((entry) => (entry.result?.errors ?? [])
      .map(({ instancePath, message }) => `${instancePath} ${message}`)),
  }
  : { valid: false, errors: [String(schemaResults)] };

const ok = errors.length === 0
  && schema.valid
  && signature?.valid === true
  && (expiration === undefined || expiration.valid === true)
  && (status === undefined || status.valid === true);

const { credential: _echo, ...details } = result;
process.stdout.write(JSON.stringify({
  ok,
  revoked,
  errors,
  schema,
  log: log.map(({ matchingIssuers: _m, ...entry }) => entry),
  additionalInformation: details.additionalInformation ?? [],
  servedFetches,
  refusedFetches,
  elapsedMs,
}) + '\n');
