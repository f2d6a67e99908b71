"""Install and run the real third-party apps of the zoo, bound to 127.0.0.1.

    from tests.zoo_real.launch import install, running
    install("wagtail")                  # idempotent; cached under $ISP_ZOO_CACHE or /work/zoo-cache
    with running("wagtail") as base:    # starts on a free port, waits until ready, stops it after
        ...

Every app's admin user is ADMIN_USER / ADMIN_PASSWORD (password-only apps use the password alone).
Each run works on a fresh copy of the app's data, so runs never see each other's sessions.
Also a CLI: python tests/zoo_real/launch.py install APP | run APP (prints the URL, Ctrl-C stops).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ADMIN_USER = "admin"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "zoo-Pa55-word"
HERE = Path(__file__).resolve().parent


def cache() -> Path:
    p = Path(os.environ.get("ISP_ZOO_CACHE", "/work/zoo-cache"))
    p.mkdir(parents=True, exist_ok=True)
    return p


def sh(cmd: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 900) -> None:
    print(f"[zoo] $ {cmd}", file=sys.stderr)
    subprocess.run(["bash", "-ec", cmd], cwd=cwd, env={**os.environ, **(env or {})}, check=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    name = ""
    ready_path = "/"
    ready_timeout = 90.0
    work: Path | None = None  # the running instance's data directory (set by running(), else None)

    def installed(self) -> bool:
        return (cache() / f"{self.name}.installed").exists()

    def do_install(self) -> None:
        raise NotImplementedError

    def prepare(self, work: Path) -> None:
        """Per-run data under `work` (a fresh temporary directory)."""

    def command(self, work: Path, port: int) -> tuple[list[str], dict, Path]:
        raise NotImplementedError

    def after_start(self, base: str) -> None:
        """Runs once the app answers (e.g. to create the admin through the app's own API)."""

    def is_ready(self, base: str) -> bool:
        try:
            with urllib.request.urlopen(base + self.ready_path, timeout=5) as r:
                return r.status < 500
        except urllib.error.HTTPError as e:
            return e.code < 500
        except Exception:
            return False


APPS: dict[str, App] = {}


def register(cls):
    APPS[cls.name] = cls()
    return cls


def venv(name: str) -> Path:
    return cache() / f"venv-{name}"


def pip_install(name: str, *reqs: str) -> None:
    v = venv(name)
    if not (v / "bin" / "python").exists():
        sh(f"python3 -m venv {v}")
    sh(f"{v}/bin/pip install -q --disable-pip-version-check " + " ".join(f"'{r}'" for r in reqs))


# ---------------------------------------------------------------- apps


@register
class Wagtail(App):
    """Wagtail 8.0.1 (Django CMS): classic form login, server-side DB sessions, logout in the account menu."""

    name = "wagtail"
    ready_path = "/admin/login/"

    def do_install(self) -> None:
        pip_install("wagtail", "wagtail==8.0.1")
        proj = cache() / "wagtail"
        if proj.exists():
            shutil.rmtree(proj)
        proj.mkdir()
        py = venv("wagtail") / "bin"
        sh(f"{py}/wagtail start zoosite . >/dev/null", cwd=proj)
        sh(f"{py}/python manage.py migrate -v0", cwd=proj)
        sh(
            f"{py}/python manage.py createsuperuser --noinput --username {ADMIN_USER} --email {ADMIN_EMAIL}",
            cwd=proj,
            env={"DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD},
        )

    def prepare(self, work: Path) -> None:
        shutil.copytree(cache() / "wagtail", work / "site")

    def command(self, work, port):
        py = venv("wagtail") / "bin" / "python"
        return [str(py), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], {}, work / "site"


JUPYTER_HASH = (
    "argon2:$argon2id$v=19$m=10240,t=10,p=8$Jm8ibYN66BuNLGyOKXcQeA$"
    "cWAOUfTo9yeEdcyOK0LPq5RvsYoJCmSM/9T15eaeips"
)  # jupyter_server.auth.passwd(ADMIN_PASSWORD)


@register
class JupyterLab(App):
    """JupyterLab 4.6.6 on jupyter_server 2.21.1: password-only login, UI drawn by script, tornado signed cookie."""

    name = "jupyterlab"
    ready_path = "/login"

    def do_install(self) -> None:
        pip_install("jupyterlab", "jupyterlab==4.6.6")

    def prepare(self, work: Path) -> None:
        for d in ("root", "config", "data", "runtime"):
            (work / d).mkdir()

    def command(self, work, port):
        py = venv("jupyterlab") / "bin" / "python"
        env = {
            "JUPYTER_CONFIG_DIR": str(work / "config"),
            "JUPYTER_DATA_DIR": str(work / "data"),
            "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
            "JUPYTER_PLATFORM_DIRS": "1",
        }
        return (
            [
                str(py),
                "-m",
                "jupyterlab",
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={port}",
                "--port-retries=0",
                f"--ServerApp.root_dir={work / 'root'}",
                "--IdentityProvider.token=",
                f"--PasswordIdentityProvider.hashed_password={JUPYTER_HASH}",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--ServerApp.open_browser=False",
                "--allow-root",
                "--LabApp.extension_manager=readonly",
            ],
            env,
            work,
        )


@register
class Adminer(App):
    """Adminer 4.8.1 from Debian (PHP 8.2 built-in server), SQLite database opened with the zoo password."""

    name = "adminer"
    ready_path = "/"

    def installed(self) -> bool:
        return Path("/usr/share/adminer/adminer.php").exists() and shutil.which("php") is not None

    def do_install(self) -> None:
        cmd = (
            "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends adminer php-cli php-sqlite3"
        )
        sh(f"{cmd} || (apt-get update -qq && {cmd})")  # needs root, as on the project's machines

    def prepare(self, work: Path) -> None:
        (work / "www").mkdir()
        (work / "sessions").mkdir()
        (work / "tmp").mkdir()  # Adminer's brute-force counter (adminer.invalid) lives in upload_tmp_dir
        shutil.copy(HERE / "adminer" / "index.php", work / "www" / "index.php")
        sh(
            'php -r \'$d = new SQLite3("zoo.db"); $d->exec("create table notes(id integer primary key, body text)");\'',
            cwd=work,
        )

    def command(self, work, port):
        return (
            [
                "php",
                "-d",
                f"session.save_path={work / 'sessions'}",
                "-d",
                f"upload_tmp_dir={work / 'tmp'}",
                "-S",
                f"127.0.0.1:{port}",
                "-t",
                str(work / "www"),
            ],
            {"ZOO_PASSWORD": ADMIN_PASSWORD},
            work,
        )


@register
class PgAdmin4(App):
    """pgAdmin 4 9.18 in server mode: React SPA, Flask with a server-side file session store, Flask-Paranoid."""

    name = "pgadmin4"
    ready_path = "/login"
    ready_timeout = 150.0

    def _pkg(self) -> Path:
        return next((venv("pgadmin4") / "lib").glob("python3*/site-packages/pgadmin4"))

    def do_install(self) -> None:
        pip_install("pgadmin4", "pgadmin4==9.18")
        tpl = cache() / "pgadmin4-template"
        if tpl.exists():
            shutil.rmtree(tpl)
        tpl.mkdir()
        sh(
            f"{venv('pgadmin4')}/bin/python setup.py setup-db",
            cwd=self._pkg(),
            env={
                "ZOO_PGADMIN_DIR": str(tpl),
                "CONFIG_DISTRO_FILE_PATH": str(HERE / "pgadmin4" / "config_distro.py"),
                "PGADMIN_SETUP_EMAIL": ADMIN_EMAIL,
                "PGADMIN_SETUP_PASSWORD": ADMIN_PASSWORD,
            },
        )

    def prepare(self, work: Path) -> None:
        shutil.copytree(cache() / "pgadmin4-template", work / "data")

    def command(self, work, port):
        env = {
            "ZOO_PGADMIN_DIR": str(work / "data"),
            "ZOO_PORT": str(port),
            "CONFIG_DISTRO_FILE_PATH": str(HERE / "pgadmin4" / "config_distro.py"),
        }
        return [str(venv("pgadmin4") / "bin" / "python"), "pgAdmin4.py"], env, self._pkg()


@register
class Actual(App):
    """Actual Budget sync server 25.6.0 (npm) with its bundled web client: password-only, token in a header."""

    name = "actual"
    ready_path = "/account/needs-bootstrap"

    def _dir(self) -> Path:
        return cache() / "npm-actual"

    def installed(self) -> bool:
        return (self._dir() / "node_modules/better-sqlite3/build/Release/better_sqlite3.node").exists()

    def do_install(self) -> None:
        d = self._dir()
        d.mkdir(exist_ok=True)
        (d / "package.json").write_text('{"private": true}\n')
        # better-sqlite3 has no prebuilt binary reachable here: node-gyp builds it against Debian's node headers
        sh(
            "npm install --no-audit --no-fund --loglevel=error @actual-app/sync-server@25.6.0",
            cwd=d,
            env={"npm_config_nodedir": "/usr"},
        )

    def prepare(self, work: Path) -> None:
        (work / "data").mkdir()

    def command(self, work, port):
        env = {"ACTUAL_DATA_DIR": str(work / "data"), "ACTUAL_PORT": str(port), "ACTUAL_HOSTNAME": "127.0.0.1"}
        return ["node", "build/app.js"], env, self._dir() / "node_modules/@actual-app/sync-server"

    def after_start(self, base: str) -> None:
        import json as _json

        req = urllib.request.Request(
            base + "/account/bootstrap",
            data=_json.dumps({"password": ADMIN_PASSWORD}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=20) as r:
            assert _json.load(r)["status"] == "ok"


@register
class Verdaccio(App):
    """Verdaccio 6.8.0 (npm registry with a React web UI): JWT (HS256) in localStorage, sent as a Bearer header."""

    name = "verdaccio"
    ready_path = "/-/ping"

    def _dir(self) -> Path:
        return cache() / "npm-verdaccio"

    def installed(self) -> bool:
        return (self._dir() / "node_modules/.bin/verdaccio").exists()

    def do_install(self) -> None:
        d = self._dir()
        d.mkdir(exist_ok=True)
        # 6.10.x wants node >= 22; 6.8.0 runs on node 20 once node-fetch is pinned to 2.7.0
        (d / "package.json").write_text('{"private": true, "overrides": {"node-fetch": "2.7.0"}}\n')
        sh("npm install --no-audit --no-fund --loglevel=error verdaccio@6.8.0", cwd=d)

    def prepare(self, work: Path) -> None:
        shutil.copy(HERE / "verdaccio" / "config.yaml", work / "config.yaml")
        (work / "storage" / "zoo-secret").mkdir(parents=True)
        shutil.copy(HERE / "verdaccio" / "zoo-secret.package.json", work / "storage" / "zoo-secret" / "package.json")
        out = subprocess.run(
            ["node", "-e", "process.stdout.write(require('bcryptjs').hashSync(process.argv[1], 10))", ADMIN_PASSWORD],
            cwd=self._dir(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (work / "htpasswd").write_text(f"{ADMIN_USER}:{out}\n")

    def command(self, work, port):
        return (
            [
                str(self._dir() / "node_modules/.bin/verdaccio"),
                "--config",
                str(work / "config.yaml"),
                "--listen",
                f"127.0.0.1:{port}",
            ],
            {},
            work,
        )


@register
class Gradio(App):
    """Gradio 6.31.0 with its built-in password login (auth=(user, password)): SPA, in-memory tokens."""

    name = "gradio"
    ready_path = "/config"  # 401 until logged in, but only once the server is up

    def do_install(self) -> None:
        pip_install("gradio", "gradio==6.31.0")

    def command(self, work, port):
        env = {
            "PORT": str(port),
            "ZOO_USER": ADMIN_USER,
            "ZOO_PASSWORD": ADMIN_PASSWORD,
            "GRADIO_ANALYTICS_ENABLED": "False",
            "HF_HUB_OFFLINE": "1",
            "GRADIO_TEMP_DIR": str(work),
        }
        return [str(venv("gradio") / "bin" / "python"), str(HERE / "gradio" / "app.py")], env, work


# ---------------------------------------------------------------- API


def install(app: str) -> None:
    a = APPS[app]
    if a.installed():
        return
    t = time.monotonic()
    a.do_install()
    (cache() / f"{app}.installed").write_text(f"{time.monotonic() - t:.0f} s\n")


@contextlib.contextmanager
def running(app: str, port: int | None = None):
    """Start `app` on 127.0.0.1 (a free port), yield its base URL, stop it (whole process group)."""
    install(app)
    a = APPS[app]
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix=f"zoo-{app}-") as w:
        work = Path(w)
        a.work = work
        a.prepare(work)
        argv, env, cwd = a.command(work, port)
        log = open(work / "app.log", "wb")  # noqa: SIM115 (closed in the finally below)
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + a.ready_timeout
            while not a.is_ready(base):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    tail = (work / "app.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{app} did not become ready at {base}:\n{tail}")
                time.sleep(0.5)
            a.after_start(base)
            yield base
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
            log.close()
            a.work = None


if __name__ == "__main__":
    cmd, name = sys.argv[1], sys.argv[2]
    if cmd == "install":
        install(name)
    elif cmd == "run":
        with running(name) as url:
            print(url, flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
