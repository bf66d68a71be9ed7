"""Browser tests: the app served on 127.0.0.1 with the demo data, Debian's Chromium driven by
Playwright (sync API), and helpers to sign in (with MFA), check accessibility with axe-core,
check the 375 px layout and take the README screenshots.

Imported by tests/support/plugin.py, so the fixtures are available to every test:

- ``live_server`` (session): a fresh migrated database (SQLite file, or the secondary PostgreSQL
  database ``<TEST_DATABASE_URL>_browser``), seeded with ``seed_demo``, served by a werkzeug
  server in a subprocess on a free port. ``live_server.url``.
- ``live_worker`` (module): a real Celery worker (and beat) on the live server's database and
  broker, for journeys that need background processing (EDI). Stopped at the end of the module so
  it never consumes another test's messages.
- ``browser`` (session): Chromium at /usr/bin/chromium, headless, its own UI in French (needs the
  chromium-l10n package). Nothing downloads a browser.
- ``new_page`` (function): ``new_page(width=1280, height=900)`` -> a Page in a fresh context
  (own cookies). Every console CSP violation or uncaught page error fails the test.

Mark browser tests ``@pytest.mark.browser`` (the rolled-back transaction fixture skips them).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import pytest

from tests.support.plugin import TMP, app_overrides, ensure_postgres_database, test_broker_url, test_database_url

ROOT = Path(__file__).resolve().parents[2]  # the repository (tests/support/<this file>)
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--lang=fr-FR"]
# The browser's own UI in French (file inputs' "Choisir un fichier", validation bubbles): on Linux
# Chromium takes its UI language from LANGUAGE/LANG rather than --lang, and needs the French
# resource pack (Debian package chromium-l10n, installed by .ci/run). The page-level language
# (navigator.language, Accept-Language) is the context's locale="fr-FR" (new_page).
CHROMIUM_ENV = {"LANGUAGE": "fr_FR:fr"}
BROWSER_LOCALE = "fr-FR"
AXE_URL = "/static/vendor/axe.min.js"
SCREENSHOTS_DIR = ROOT / "docs" / "screenshots"
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"
NAME = "browser"
# CSP hash of an empty string: the DSFR script sometimes resets an element's style attribute to ""
# (depending on timing); blocking an empty style changes nothing, so that report is not a defect.
EMPTY_CONTENT_HASH = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def is_blocked_dsfr_style(text: str) -> bool:
    """The DSFR script sets style attributes (collapse heights, timing-dependent values); the strict
    CSP blocks them, which only skips an animation. Blocked *scripts* still fail the test."""
    return EMPTY_CONTENT_HASH in text or text.startswith("Applying inline style violates")

DEMO_PASSWORD = "Demo-Partenaires-2026"
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@dataclass
class LiveServer:
    url: str
    overrides: dict
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    def env(self) -> dict:
        """Environment for another process (worker, CLI) on the same database and broker."""
        env = {**os.environ, **{k: v for k, v in self.overrides.items() if k != "JOB_DISPATCH"}}
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        return env

    def cli(self, *args: str) -> str:
        """Run a `portal` CLI command against the live database; returns its stdout."""
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "portal", *args],
                              env=self.env(), cwd=ROOT, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise AssertionError(f"portal {' '.join(args)} a échoué :\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def live_server():
    database_url = test_database_url(NAME)
    ensure_postgres_database(database_url)
    overrides = app_overrides(NAME, JOB_DISPATCH="broker")
    overrides["DATABASE_URL"] = database_url
    overrides["CELERY_BROKER_URL"] = test_broker_url(NAME)
    log_path = TMP / f"{NAME}-server.log"
    env = {**os.environ, "BROWSER_APP_OVERRIDES": json.dumps(overrides),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "tests.support.browser_server"], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=log, text=True)
    first_line = process.stdout.readline()  # blocks until migrated, seeded and listening
    process.stdout.close()
    if not first_line.strip():
        _stop(process)
        raise RuntimeError("Le serveur des tests navigateur n'a pas démarré :\n"
                           + log_path.read_text(errors="replace")[-4000:])
    port = int(first_line.split()[0])
    server = LiveServer(url=f"http://127.0.0.1:{port}", overrides=overrides, log_path=log_path,
                        process=process)
    yield server
    _stop(process)


@pytest.fixture(scope="module")
def live_worker(live_server):
    """A real Celery worker with its beat on the live server's database and broker."""
    log_path = TMP / f"{NAME}-worker.log"
    celery = Path(sys.executable).with_name("celery")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(celery), "-A", "portal.worker", "worker", "--beat", "-Q", "default,edi,afas,cdap",
             "--concurrency", "1", "--pool", "solo", "--loglevel", "INFO",
             "--schedule", str(TMP / f"{NAME}-beat-schedule")],
            cwd=ROOT, env=live_server.env(), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("Le worker s'est arrêté :\n" + log_path.read_text(errors="replace")[-4000:])
        if b"ready." in log_path.read_bytes():
            break
        time.sleep(0.2)
    else:
        _stop(process)
        raise RuntimeError("Le worker n'est pas prêt après 60 s :\n" + log_path.read_text(errors="replace")[-4000:])
    yield process
    _stop(process)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium introuvable ({CHROMIUM}) : apt-get install chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                              env={**os.environ, **CHROMIUM_ENV})
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, live_server):
    """new_page(width=1280, height=900) -> a Page on a fresh context (own cookies), base URL set.
    Every CSP violation reported in the console and every uncaught script error fails the test."""
    contexts, problems = [], []

    def _new_page(width: int = 1280, height: int = 900, **context_options):
        context = browser.new_context(base_url=live_server.url, locale=BROWSER_LOCALE,
                                      viewport={"width": width, "height": height},
                                      accept_downloads=True, **context_options)
        context.set_default_timeout(30_000)  # generous: CI machines may be busy (2 cores)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
                if msg.type == "error" and ("Content Security Policy" in msg.text or "Refused" in msg.text)
                and not is_blocked_dsfr_style(msg.text) else None)
        page.on("pageerror", lambda error: problems.append(f"erreur JavaScript : {error}"))
        return page

    yield _new_page
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


# --- Signing in ----------------------------------------------------------------------------

_last_counter: dict[str, int] = {}


def totp_code(email: str, secret: str = DEMO_TOTP_SECRET) -> str:
    """A TOTP code not used yet for this user: codes are single-use per 30 s step, and the server
    accepts the current step or the next one, so each user gets two codes per step; beyond that,
    wait for the next step."""
    totp = pyotp.TOTP(secret)
    while True:
        now = totp.timecode(_now())
        for counter in (now, now + 1):
            if counter > _last_counter.get(email, -1):
                _last_counter[email] = counter
                return totp.generate_otp(counter)
        time.sleep(30 - (time.time() % 30) + 0.2)


def _now():
    from datetime import datetime, timezone
    return datetime.now(timezone.utc)


def sign_in(page, email: str, password: str = DEMO_PASSWORD, expect_home: bool = True) -> None:
    """Sign in through the real form, entering a TOTP code when the account requires one."""
    page.goto("/connexion")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()
    if "/connexion/code" in page.url:
        page.fill("#code", totp_code(email))
        page.get_by_role("button", name="Valider").click()
        page.wait_for_load_state()
    if expect_home:
        assert "/connexion" not in page.url, f"connexion refusée pour {email} : {page.inner_text('main')}"


def text(locator) -> str:
    """The text of an element as written in the page (`inner_text` applies CSS text-transform,
    and DSFR badges are upper-cased), whitespace collapsed."""
    return " ".join((locator.text_content() or "").split())


def sign_out(page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url("**/connexion")


# --- Accessibility and layout --------------------------------------------------------------

def check_a11y(page, *, impacts=("serious", "critical"), exclude: list[str] | None = None) -> list:
    """Run axe-core (WCAG 2.1 A/AA rules) on the page; fail on serious or critical violations.
    axe is loaded from the app's own static files, which the strict CSP allows."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_URL)
    results = page.evaluate(
        """async (exclude) => {
            const context = exclude && exclude.length ? {exclude: exclude.map(s => [s])} : document;
            const r = await axe.run(context, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
                resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — ' + n.failureSummary)}));
        }""", exclude or [])
    bad = [v for v in results if v["impact"] in impacts]
    assert not bad, f"axe-core sur {page.url} :\n" + "\n".join(
        f"- [{v['impact']}] {v['id']} : {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in bad)
    return results


def assert_page_basics(page) -> None:
    """French language declared, and axe-core clean."""
    assert page.get_attribute("html", "lang") == "fr"
    check_a11y(page)


def assert_fits_width(page, width: int = 375, tolerance: int = 2) -> None:
    """No horizontal scrolling at a phone width (the page must be opened at that viewport).
    On failure, names the elements sticking out (those not inside a scrolling container)."""
    page.wait_for_load_state()
    scroll_width = page.evaluate("() => document.scrollingElement.scrollWidth")
    if scroll_width <= width + tolerance:
        return
    culprits = page.evaluate(
        """(w) => [...document.querySelectorAll('body *')].filter(e => {
                if (e.getBoundingClientRect().right <= w + 2) return false;
                for (let p = e.parentElement; p; p = p.parentElement) {
                    if (getComputedStyle(p).overflowX !== 'visible') return false;
                }
                return true;
            }).slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                + (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
                + ' (' + Math.round(e.getBoundingClientRect().right) + ' px)')""", width)
    raise AssertionError(f"{page.url} déborde horizontalement à {width} px : largeur {scroll_width} px ; "
                         f"éléments : {', '.join(culprits)}")


def screenshot(page, name: str, full_page: bool = False, element=None) -> None:
    """Save docs/screenshots/<name>.png, only with UPDATE_SCREENSHOTS=1 (CI keeps the tree clean):
    the top of the page (viewport), the whole page, or one element (e.g. a dashboard panel)."""
    if not UPDATE_SCREENSHOTS:
        return
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    path = str(SCREENSHOTS_DIR / f"{name}.png")
    if element is not None:
        element.screenshot(path=path, animations="disabled")
    else:
        page.screenshot(path=path, full_page=full_page, animations="disabled")


def confirm_modal(page, expect: str | None = None) -> str:
    """Confirm an irreversible action in the DSFR confirmation modal (portal/templates/
    _confirm_modal.html) opened by the button just clicked; returns the modal's text (checked to
    contain `expect` when given) and waits for the page the form leads to."""
    modal = page.get_by_test_id("confirm-modal")
    modal.wait_for(state="visible")
    said = text(modal)
    if expect is not None:
        assert expect in said, said
    with page.expect_navigation():
        modal.get_by_test_id("confirm-modal-submit").click()
    return said
