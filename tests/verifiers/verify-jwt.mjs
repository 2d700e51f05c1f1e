// Verifies one VC-JWT with `jose`, offline, and prints a JSON verdict.
//
//   node verify-jwt.mjs [--embedded-jwk] < credential.jwt
//
// By default the key comes from the issuer's DID, as a verifier that binds the key to the issuer does: the
// header's `kid` must be a DID URL `did:key:z6Mk…#z6Mk…` of the credential's issuer (payload `iss` and
// `issuer.id`); the Ed25519 key is decoded from that did:key (multibase base58btc, multicodec 0xed01). Any
// key the header carries (`jwk`) is ignored. `--embedded-jwk` instead trusts the header's `jwk` (jose's
// EmbeddedJWK), as a careless verifier would: the tests use it to show what a look-alike could fool.
import { readFileSync } from 'node:fs';
import { EmbeddedJWK, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function base58btcDecode(text) {
  let number = 0n;
  for (const char of text) {
    const digit = BASE58.indexOf(char);
    if (digit < 0) throw new Error(`not base58btc: ${char}`);
    number = number * 58n + BigInt(digit);
  }
  const bytes = [];
  while (number > 0n) {
    bytes.unshift(Number(number % 256n));
    number /= 256n;
  }
  for (const char of text) {
    if (char !== '1') break;
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
}

function ed25519JwkFromDidUrl(kid) {
  const match = /^did:key:(z[1-9A-HJ-NP-Za-km-z]+)#(z[1-9A-HJ-NP-Za-km-z]+)$/.exec(kid ?? '');
  if (!match || match[1] !== match[2]) throw new Error(`kid is not a did:key verification method: ${kid}`);
  const data = base58btcDecode(match[1].slice(1));
  if (data.length !== 34 || data[0] !== 0xed || data[1] !== 0x01) throw new Error('not an Ed25519 did:key');
  return { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(data.slice(2)).toString('base64url') };
}

const token = readFileSync(0, 'utf8').trim();
const embedded = process.argv.includes('--embedded-jwk');
const output = { ok: false, mode: embedded ? 'embedded-jwk' : 'issuer-did' };
try {
  const header = decodeProtectedHeader(token);
  output.header = header;
  let result;
  if (embedded) {
    result = await jwtVerify(token, EmbeddedJWK, { typ: 'JWT' });
  } else {
    const key = await importJWK(ed25519JwkFromDidUrl(header.kid), 'EdDSA');
    result = await jwtVerify(token, key, { algorithms: ['EdDSA'], typ: 'JWT' });
    const did = header.kid.split('#')[0];
    const issuer = typeof result.payload.issuer === 'string' ? result.payload.issuer : result.payload.issuer?.id;
    if (result.payload.iss !== did || issuer !== did) {
      throw new Error(`the key's DID ${did} is not the issuer (iss ${result.payload.iss}, issuer ${issuer})`);
    }
  }
  output.ok = true;
  output.payload = result.payload;
} catch (error) {
  output.error = `${error.code ?? error.name}: ${error.message}`;
}
process.stdout.write(JSON.stringify(output) + '\n');
