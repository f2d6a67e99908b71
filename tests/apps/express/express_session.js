'use strict'
// Express + express-session with its default MemoryStore (the server-side store).
//
// Run from the repository root: FIXTURE_PASSWORD=... node tests/apps/express/express_session.js --port 8005
// (after `npm ci --prefix tests/apps/express`).
//
// Default mode: cookie `connect.sid` (express-session's default name and cookie options: HttpOnly,
// Path=/, no Expires), an opaque signed id into MemoryStore. Login does NOT call
// req.session.regenerate() (many apps don't), so the id from before login becomes the authenticated
// one. Logout calls req.session.destroy(), which deletes the store entry: a replayed cookie is
// rejected, although the browser is not told to drop the cookie.
//
// Hardened mode (FIXTURE_MODE=hardened), with express-session's own options:
// - cookie `__Host-sid`: Secure, HttpOnly, SameSite=Strict, Path=/; no Expires unless an idle timeout is
//   set. Secure needs the request to look like HTTPS: see behindTlsProxy in common.js.
// - req.session.regenerate() at login (new id, pre-login entry deleted) and a fresh CSRF token;
// - FIXTURE_IDLE_TIMEOUT=N: cookie.maxAge = N s with rolling: true. MemoryStore expires an entry when
//   its cookie expires, so this is enforced server side, but it makes the cookie persistent
//   (Expires = now + N): express-session has no server-side lifetime for a browser-session cookie.
// - logout: destroy() plus res.clearCookie() so the browser drops the cookie too.

const crypto = require('node:crypto')
const session = require('express-session')
const { USERNAME, HOST_PREFIX, buildApp, newToken, parsePort, readSettings, serve } = require('./common')

const port = parsePort()
const settings = readSettings()

const cookie = settings.hardened
  ? { path: '/', httpOnly: true, secure: true, sameSite: 'strict' }
  : {} // express-session's defaults
if (settings.idleTimeout) cookie.maxAge = settings.idleTimeout * 1000
const name = settings.hardened ? `${HOST_PREFIX}sid` : 'connect.sid'

function sessionMiddleware () {
  // express-session prints a "MemoryStore is not designed for a production environment" warning when
  // NODE_ENV=production. A throwaway single-process fixture is what MemoryStore is for: build the
  // middleware without that flag, then put it back.
  const env = process.env.NODE_ENV
  delete process.env.NODE_ENV
  try {
    return session({
      secret: crypto.randomBytes(32).toString('base64url'), // fresh per process, never printed
      name,
      cookie,
      resave: false,
      saveUninitialized: false,
      rolling: Boolean(settings.idleTimeout)
    })
  } finally {
    if (env !== undefined) process.env.NODE_ENV = env
  }
}

function login (req, res, next, target) {
  if (!settings.hardened) {
    req.session.user = USERNAME // same id as before login: the finding
    res.redirect(target)
    return
  }
  req.session.regenerate((err) => {
    if (err) return next(err)
    req.session.user = USERNAME
    req.session.csrf = newToken()
    req.session.save((err) => (err ? next(err) : res.redirect(target)))
  })
}

function logout (req, res, next) {
  req.session.destroy((err) => {
    if (err) return next(err)
    if (settings.hardened) res.clearCookie(name, cookie)
    res.redirect('/')
  })
}

const app = buildApp({
  settings,
  title: 'Express session',
  blurb: 'A small Express app using express-session with its memory store.',
  sessionMiddleware: sessionMiddleware(),
  login,
  logout
})
serve(app, port)
