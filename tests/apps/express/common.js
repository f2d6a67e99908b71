'use strict'
// Shared by express_session.js and cookie_session.js: command line, settings from the environment,
// the four pages of the fixture contract, a session-stored CSRF token, and serving on 127.0.0.1.
//
// Environment (the same as the Python apps, see tests/apps/_common.py):
//   FIXTURE_PASSWORD      alice's password (required)
//   FIXTURE_MODE          "default" (the library as it comes) or "hardened" (configured carefully)
//   FIXTURE_IDLE_TIMEOUT  seconds of inactivity that end the session; hardened mode only

const crypto = require('node:crypto')
const { parseArgs } = require('node:util')
const express = require('express')

const USERNAME = 'alice'
const HOST = '127.0.0.1' // loopback only: these apps are deliberately weak in places
const HOST_PREFIX = '__Host-'
const CSRF_FIELD = '_csrf'

function fail (message) {
  console.error(`error: ${message}`)
  process.exit(2)
}

function parsePort () {
  let values
  try {
    ({ values } = parseArgs({ options: { port: { type: 'string' } } }))
  } catch (err) {
    fail(err.message)
  }
  const port = Number(values.port)
  if (!values.port || !Number.isInteger(port) || port <= 0 || port > 65535) {
    fail('--port N is required (TCP port to listen on, 127.0.0.1 only)')
  }
  return port
}

function readSettings () {
  const password = process.env.FIXTURE_PASSWORD
  if (!password) fail('the FIXTURE_PASSWORD environment variable is required')
  const mode = process.env.FIXTURE_MODE || 'default'
  if (mode !== 'default' && mode !== 'hardened') {
    fail(`FIXTURE_MODE must be one of default, hardened, not '${mode}'`)
  }
  let idleTimeout = null
  const raw = process.env.FIXTURE_IDLE_TIMEOUT || ''
  if (mode === 'hardened' && raw) {
    if (!/^[0-9]+$/.test(raw) || Number(raw) <= 0) {
      fail(`FIXTURE_IDLE_TIMEOUT must be a positive whole number of seconds, not '${raw}'`)
    }
    idleTimeout = Number(raw)
  }
  return { password, mode, hardened: mode === 'hardened', idleTimeout }
}

function escapeHtml (text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function landingPage (title, blurb) {
  return `<!doctype html>
<html><head><title>${escapeHtml(title)}</title></head>
<body>
<h1>Welcome</h1>
<p>${escapeHtml(blurb)}</p>
<p><a href="/login">Sign in</a></p>
</body></html>
`
}

function loginPage (csrf, error) {
  return `<!doctype html>
<html><head><title>Sign in</title></head>
<body>
<h1>Sign in</h1>
${error ? `<p class="error">${escapeHtml(error)}</p>\n` : ''}<form method="post" action="/login">
  <input type="hidden" name="${CSRF_FIELD}" value="${escapeHtml(csrf)}">
  <label>Username <input type="text" name="username" autocomplete="username"></label>
  <label>Password <input type="password" name="password" autocomplete="current-password"></label>
  <button type="submit">Sign in</button>
</form>
</body></html>
`
}

function accountPage (csrf, username) {
  return `<!doctype html>
<html><head><title>Account</title></head>
<body>
<h1>Account</h1>
<p>Signed in as ${escapeHtml(username)}</p>
<form method="post" action="/logout">
  <input type="hidden" name="${CSRF_FIELD}" value="${escapeHtml(csrf)}">
  <button type="submit">Log out</button>
</form>
</body></html>
`
}

function newToken () {
  return crypto.randomBytes(32).toString('base64url')
}

function sameSecret (a, b) {
  const x = Buffer.from(String(a))
  const y = Buffer.from(String(b))
  return x.length === y.length && crypto.timingSafeEqual(x, y)
}

// Only same-site absolute paths, so the stored `next` cannot become an open redirect.
function safeNext (target) {
  if (typeof target === 'string' && target.startsWith('/') && !target.startsWith('//') && !target.includes('\\')) {
    return target
  }
  return '/account'
}

// The session's CSRF token, created on first use (which is what makes GET /login start a session).
function csrfToken (req) {
  if (!req.session.csrf) req.session.csrf = newToken()
  return req.session.csrf
}

// Express has no CSRF protection built in: a synchronizer token kept in the session, checked on POST.
function checkCsrf (req, res, next) {
  const expected = req.session && req.session.csrf
  const supplied = req.body && req.body[CSRF_FIELD]
  if (!expected || !supplied || !sameSecret(expected, supplied)) {
    res.status(403).type('text').send('CSRF token missing or incorrect')
    return
  }
  next()
}

// Hardened mode: both session libraries refuse to send a Secure cookie on a connection they do not
// believe is HTTPS, silently (express-session skips Set-Cookie; cookie-session's `cookies` throws
// "Cannot send secure cookie over unencrypted connection" and cookie-session swallows it), so a
// secure:true app on plain HTTP just never logs anyone in. In production the app sits behind a
// TLS-terminating proxy and trusts its X-Forwarded-Proto: https; the fixture is served on plain
// http://127.0.0.1, so this stands in for that proxy. Nothing else is changed.
function behindTlsProxy (app) {
  app.set('trust proxy', 'loopback')
  app.use(function tlsTerminatingProxyStandIn (req, res, next) {
    req.headers['x-forwarded-proto'] = 'https'
    next()
  })
}

// Build the app around a session middleware. `login(req, res, next, target)` marks the session as
// alice's and redirects to `target`; `logout(req, res, next)` ends the session and redirects to /.
function buildApp ({ settings, title, blurb, sessionMiddleware, login, logout }) {
  const app = express()
  app.disable('x-powered-by')
  if (settings.hardened) behindTlsProxy(app)
  app.use(sessionMiddleware)
  app.use(express.urlencoded({ extended: false }))

  app.get('/', (req, res) => {
    res.type('html').send(landingPage(title, blurb))
  })

  app.get('/login', (req, res) => {
    // Remember where to go after login; with the CSRF token this creates the pre-login session.
    req.session.next = safeNext(req.query.next)
    res.type('html').send(loginPage(csrfToken(req)))
  })

  app.post('/login', checkCsrf, (req, res, next) => {
    const username = String(req.body.username || '')
    const supplied = String(req.body.password || '')
    if (username === USERNAME && sameSecret(supplied, settings.password)) {
      const target = safeNext(req.session.next)
      delete req.session.next
      login(req, res, next, target)
      return
    }
    res.type('html').send(loginPage(csrfToken(req), 'Invalid username or password'))
  })

  app.get('/account', (req, res) => {
    if (!req.session || req.session.user !== USERNAME) {
      res.redirect(`/login?next=${encodeURIComponent(req.originalUrl)}`)
      return
    }
    res.type('html').send(accountPage(csrfToken(req), req.session.user))
  })

  app.post('/logout', checkCsrf, (req, res, next) => {
    logout(req, res, next)
  })

  return app
}

function serve (app, port) {
  const server = app.listen(port, HOST, () => {
    console.log(`serving on http://${HOST}:${port}/`)
  })
  server.on('error', (err) => fail(err.message))
  const stop = () => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

module.exports = { USERNAME, HOST_PREFIX, buildApp, newToken, parsePort, readSettings, serve }
