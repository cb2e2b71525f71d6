// A real OpenID provider (oidc-provider, MIT) on 127.0.0.1 for the single sign-on tests.
//
// It listens on a free port and prints {"port": N} on stdout, then reads one JSON command a
// line on stdin and answers each with one JSON line:
//   {"cmd": "configure", "issuer": ..., "client": {client_id, client_secret, redirect_uris},
//    "users": {login: {password, groups, amr, acr, email}}}   builds the provider
//   {"cmd": "user", "login": ..., ...fields}                   changes (or adds) a user
//   {"cmd": "misbehave", "mode": ...}                          the next token response's
//       ID token is altered: aud, iss, expired, nonce, tampered, alg-none, hs256,
//       foreign-key (signed by a key not in the JWKS, with a listed key id)
// Sign-in is a small login form at /interaction/:uid (no consent: the hub is first party).
import http from 'node:http';
import readline from 'node:readline';
import { createHash, createHmac, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';

const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
const signing = { ...(await exportJWK(privateKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
const foreign = (await generateKeyPair('RS256', { extractable: true })).privateKey;
const publicPem = await exportSPKI(publicKey);

// stdout carries the answers to the commands only: anything a library prints goes to stderr.
console.log = console.info = console.warn = (...args) => process.stderr.write(`${args.join(' ')}\n`);

let provider = null;
let users = {};
let mode = null;

const out = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function resign(idToken, change) {
  const header = decodeProtectedHeader(idToken);
  const claims = { ...decodeJwt(idToken) };
  const now = Math.floor(Date.now() / 1000);
  switch (change) {
    case 'aud': claims.aud = 'someone-else'; break;
    case 'iss': claims.iss = 'http://127.0.0.1:1/not-the-issuer'; break;
    case 'expired': claims.iat = now - 1200; claims.exp = now - 600; break;
    case 'nonce': claims.nonce = 'a-nonce-from-another-sign-in'; break;
    case 'tampered': {
      const [h, , s] = idToken.split('.');
      return `${h}.${b64({ ...claims, groups: ['marac-admins'] })}.${s}`;
    }
    case 'alg-none': return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    case 'hs256': {
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: header.kid })}.${b64(claims)}`;
      return `${input}.${createHmac('sha256', publicPem).update(input).digest('base64url')}`;
    }
    case 'foreign-key':
      return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: header.kid }).sign(foreign);
    default: throw new Error(`unknown mode ${change}`);
  }
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: header.kid }).sign(privateKey);
}

function build(command) {
  users = command.users;
  const made = new Provider(command.issuer, {
    clients: [{ ...command.client, grant_types: ['authorization_code'], response_types: ['code'] }],
    jwks: { keys: [signing] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    claims: { sid: null, openid: ['sub', 'acr', 'amr', 'auth_time'], email: ['email'], profile: ['preferred_username'], groups: ['groups'] },
    conformIdTokenClaims: false,
    acrValues: ['urn:example:loa:1', 'urn:example:loa:2'],
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, id) {
      if (!users[id]) return undefined;
      return {
        accountId: id,
        async claims() {
          const user = users[id];
          return { sub: createHash('sha256').update(id).digest('hex').slice(0, 24), email: user.email, preferred_username: id, groups: user.groups };
        },
      };
    },
  });
  made.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && ctx.status === 200 && mode && ctx.body?.id_token) {
      const change = mode;
      mode = null;
      ctx.body = { ...ctx.body, id_token: await resign(ctx.body.id_token, change) };
    }
  });
  return made;
}

function form(uid, message) {
  return `<!doctype html><html lang="en"><head><title>Test provider sign-in</title></head><body>
<h1>Test provider</h1>${message ? `<p role="alert">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Login <input name="login" autocomplete="username"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in to the test provider</button></form></body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params, session } = details;
  if (req.method === 'POST' && req.url.endsWith('/login')) {
    const submitted = await readForm(req);
    const login = submitted.get('login');
    const user = users[login];
    if (!user || user.password !== submitted.get('password')) {
      res.writeHead(200, { 'content-type': 'text/html' }).end(form(uid, 'Wrong login or password'));
      return;
    }
    await provider.interactionFinished(req, res, {
      login: { accountId: login, amr: user.amr, ...(user.acr ? { acr: user.acr } : {}) },
    }, { mergeWithLastSubmission: false });
    return;
  }
  if (prompt.name === 'login') {
    res.writeHead(200, { 'content-type': 'text/html' }).end(form(uid));
    return;
  }
  // consent: the hub is a first-party client, so grant what it asks for
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const server = http.createServer((req, res) => {
  if (!provider) {
    res.writeHead(503).end();
    return;
  }
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => {
      process.stderr.write(`${error.stack}\n`);
      if (!res.headersSent) res.writeHead(500).end(String(error.message));
    });
    return;
  }
  provider.callback()(req, res);
});

server.listen(0, '127.0.0.1', () => out({ port: server.address().port }));

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  try {
    const command = JSON.parse(line);
    if (command.cmd === 'configure') provider = build(command);
    else if (command.cmd === 'user') users[command.login] = { ...users[command.login], ...command.fields };
    else if (command.cmd === 'misbehave') mode = command.mode;
    else throw new Error(`unknown command ${command.cmd}`);
    out({ ok: command.cmd });
  } catch (error) {
    out({ error: String(error.message) });
  }
});
lines.on('close', () => server.close(() => process.exit(0)));
