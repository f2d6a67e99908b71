'use strict'
// Express + cookie-session: the whole session lives in the browser, in cookie `session` (base64 JSON)
// signed by a second cookie `session.sig` (keygrip HMAC).
//
// Run from the repository root: FIXTURE_PASSWORD=... node tests/apps/express/cookie_session.js --port 8006
// (after `npm ci --prefix tests/apps/express`).
//
// Default mode: cookie-session's defaults (HttpOnly, Path=/, no Expires, no SameSite). There is no id to
// rotate; the value changes at login because the payload does. Logout is `req.session = null`, which
// only tells the browser to delete the cookies: a captured pair still works if replayed after logout.
//
// Hardened mode (FIXTURE_MODE=hardened), with cookie-session's own options:
// - cookies `__Host-session` / `__Host-session.sig`: Secure, HttpOnly, SameSite=Strict, Path=/, no
//   Expires. Secure needs the request to look like HTTPS: see behindTlsProxy in common.js.
// - at login the session object is replaced (`req.session = {...}`), dropping all pre-login data and
//   the pre-login CSRF token, which is as close to regeneration as a client-side store gets.
// - FIXTURE_IDLE_TIMEOUT=N: cookie-session CANNOT enforce an idle timeout. Its maxAge only sets the
//   cookie's Expires (the payload carries no time the server checks), so the browser forgets the
//   cookie after N idle seconds, but a captured cookie keeps working for ever. The app does what the
//   cookie-session README suggests to keep an active session's Expires rolling: touch the session on
//   every request.
// - logout is still `req.session = null`; the server cannot end a client-side session.

const crypto = require('node:crypto')
const cookieSession = require('cookie-session')
const { USERNAME, HOST_PREFIX, buildApp, newToken, parsePort, readSettings, serve } = require('./common')

const port = parsePort()
const settings = readSettings()

const options = {
  name: settings.hardened ? `${HOST_PREFIX}session` : 'session',
  keys: [crypto.randomBytes(32).toString('base64url')] // fresh per process, never printed
}
if (settings.hardened) Object.assign(options, { path: '/', httpOnly: true, secure: true, sameSite: 'strict' })
if (settings.idleTimeout) options.maxAge = settings.idleTimeout * 1000

const middleware = cookieSession(options)
const sessionMiddleware = !settings.idleTimeout
  ? middleware
  : (req, res, next) => middleware(req, res, () => {
      // README, "Extending the session expiration": change the session so the cookie is re-sent with a
      // new Expires. Only for sessions that exist, so anonymous pages still set no cookie.
      if (req.session.isPopulated) req.session.touched = Math.floor(Date.now() / 1000)
      next()
    })

function login (req, res, next, target) {
  if (settings.hardened) {
    req.session = { user: USERNAME, csrf: newToken() }
  } else {
    req.session.user = USERNAME
  }
  res.redirect(target)
}

function logout (req, res) {
  req.session = null
  res.redirect('/')
}

const app = buildApp({
  settings,
  title: 'Express cookie-session',
  blurb: 'A small Express app using cookie-session (a signed cookie).',
  sessionMiddleware,
  login,
  logout
})
serve(app, port)
