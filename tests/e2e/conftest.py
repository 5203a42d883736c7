"""Real-browser fixtures: the studio started as `mlops-studio ui` starts it, on a free loopback
port with an empty home, driven by a headless Debian Chromium that can reach nothing but
loopback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from core.serving.deployments import free_port
from tests.waiting import wait_until

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
VIEWPORT = {"width": 1400, "height": 1000}
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0
SETTLE_TIMEOUT_MS = 60_000
EXPECT_TIMEOUT_MS = 20_000
# A click reaches the server and starts a rerun within a few milliseconds on loopback; waiting
# this long first means "not running" is read after the rerun began, not before.
RERUN_GRACE_S = 0.15
RENDER_BUDGET_S = 2.0
# Every request that is not to loopback goes to a proxy on the discard port, where nothing
# listens: the browser cannot reach the internet even if the app asks it to.
NO_INTERNET = {"server": "http://127.0.0.1:9", "bypass": "127.0.0.1,localhost"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Watches every element the app adds, from the first paint on, for markup that could only come
# from user text rendered as HTML or Markdown: an <img src=x>, an onerror handler, a javascript:
# link, a link made from "[click](...)" (Markdown keeps the link and drops the target), a script.
INJECTION_WATCH = """
(() => {
  const found = (window.__injected = []);
  const suspicious = (el) =>
    el.matches('img[src="x"], [onerror], a[href^="javascript"]') ||
    (el.matches("a") && /^\\s*click\\s*$/.test(el.textContent)) ||
    (el.matches("script") && el.textContent.includes("alert("));
  const check = (node) => {
    if (!(node instanceof Element)) return;
    for (const el of [node, ...node.querySelectorAll("*")]) {
      if (suspicious(el)) found.push(el.outerHTML.slice(0, 200));
    }
  };
  new MutationObserver((changes) => changes.forEach((change) => change.addedNodes.forEach(check)))
    .observe(document, { childList: true, subtree: true });
})();
"""
# Settings a developer's shell may carry that would make the studio talk to other machines.
OUTWARD_ENV = ("MLOPS_STUDIO_ALERT_WEBHOOK", "MLOPS_STUDIO_DASK")


# -- the studio ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Studio:
    """A running studio UI: its address, its home and the file its server logs to."""

    url: str
    home: Path
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def studio_command() -> list[str]:
    """The `mlops-studio` console script of the running interpreter's environment."""
    script = Path(sys.executable).with_name("mlops-studio")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from app.cli import main; main()"]


def studio_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in OUTWARD_ENV}
    env.pop("MLOPS_STUDIO_HOME", None)  # the home is always given with --home
    loopback = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    return env | loopback | {"STREAMLIT_SERVER_HEADLESS": "true", "PYTHONUNBUFFERED": "1"}


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, no proxy
    try:
        with opener.open(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _wait_until_answering(process: subprocess.Popen, studio: Studio) -> None:
    def answering() -> bool:
        if process.poll() is not None:
            pytest.fail(f"The studio exited with {process.returncode}:\n{studio.log_tail()}")
        return _answers(studio.url)

    wait_until(
        answering,
        timeout=START_TIMEOUT_S,
        every=0.25,
        message=lambda: (
            f"The studio did not answer within {START_TIMEOUT_S:.0f} s:\n{studio.log_tail()}"
        ),
    )


@pytest.fixture
def studio(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Studio]:
    """`mlops-studio ui` on a free loopback port with a fresh, empty home (`ui --demo`, which
    seeds the sample project, for a test marked ``sample_project``); stopped afterwards with
    everything it started (services, scheduler, job workers)."""
    port = free_port()
    studio = Studio(f"http://127.0.0.1:{port}", tmp_path / "studio", tmp_path / "studio-ui.log")
    command = [
        *studio_command(),
        "ui",
        "--home",
        str(studio.home),
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
    ]
    if request.node.get_closest_marker("sample_project"):
        command.append("--demo")
    with studio.log.open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=studio_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one
        )
    try:
        _wait_until_answering(process, studio)
        yield studio
    finally:
        _stop_studio(process, studio.home)


def _stop_studio(process: subprocess.Popen, home: Path) -> None:
    """Stop the services and jobs the journey started, the scheduler `ui` started, then the UI.
    Each of them runs in its own session, so stopping the UI's process group alone would leave
    them running."""
    from core import scheduler
    from core.jobs import cancel_job
    from core.jobs.runner import list_recent_jobs
    from core.serving import deployments

    if home.exists():
        for deployment in deployments.list_deployments(home, include_stopped=False):
            deployments.undeploy(home, deployment.id)
        for job in list_recent_jobs(home):
            cancel_job(home, job.id, actor="e2e")
        if (pid := scheduler.running_pid(home)) is not None and pid > 0:
            _terminate(pid, group=False)
    _terminate(process.pid, group=True)
    process.wait(timeout=STOP_TIMEOUT_S)


def _terminate(pid: int, *, group: bool) -> None:
    kill: Callable[[int, int], None] = os.killpg if group else os.kill
    try:
        kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return

    def gone() -> bool:
        try:
            kill(pid, 0)
        except ProcessLookupError:
            return True
        return not group and _is_zombie(pid)

    with suppress(AssertionError):
        wait_until(gone, timeout=STOP_TIMEOUT_S)
        return
    with suppress(ProcessLookupError):
        kill(pid, signal.SIGKILL)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


# -- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, behind a proxy that goes nowhere."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium).")
    # a shared 2-core machine: what takes a moment in a quiet browser can take seconds here
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, proxy=NO_INTERNET
        )
        yield launched
        launched.close()


@dataclass
class StudioPage:
    """One person's browser tab on the studio, with what they saw: dialogs, requests that tried
    to leave the machine, how long each page took to show, and screenshots."""

    page: Page
    studio: Studio
    failures: Path
    images: Path | None
    dialogs: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    render_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def main(self) -> Locator:
        return self.page.get_by_test_id("stMain")

    def injected(self) -> list[str]:
        """Elements made from user text that the page ever showed (see INJECTION_WATCH)."""
        return list(self.page.evaluate("window.__injected || []"))

    def settle(self, *, grace: bool = True, timeout: float = SETTLE_TIMEOUT_MS) -> None:
        """Wait until the script run is over and every element has rendered (no running
        indicator, no skeleton placeholders)."""
        if grace:
            time.sleep(RERUN_GRACE_S)
        app = self.page.get_by_test_id("stApp")
        expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout)
        expect(self.page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=timeout)
        expect(self.page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=timeout)

    def first_visit(self, title: str) -> float:
        """Load the app (its default page) and time it like a page switch."""
        started = time.monotonic()
        self.page.goto(self.studio.url)
        return self._rendered(title, started)

    def open(self, title: str) -> float:
        """Switch page through the sidebar, as a person does; the first render of each page is
        timed from the click until the page's title shows and the run is over."""
        started = time.monotonic()
        nav = self.page.get_by_test_id("stSidebarNav")
        nav.get_by_role("link", name=title, exact=True).click()
        return self._rendered(title, started)

    def _rendered(self, title: str, started: float) -> float:
        # a CSS query, not get_by_role: a role query walks the accessibility tree on every poll,
        # which costs the browser's main thread tenths of a second on a chart-heavy page
        heading = self.main.locator("h1").filter(has_text=re.compile(rf"^{re.escape(title)}$"))
        expect(heading).to_be_visible(timeout=SETTLE_TIMEOUT_MS)
        self.settle(grace=False)
        seconds = time.monotonic() - started
        self.render_seconds.setdefault(title, round(seconds, 3))
        return seconds

    def choose(self, label: str, option: str, *, within: Locator | None = None) -> None:
        """Pick ``option`` in the select box labelled ``label``."""
        scope = within or self.main
        scope.get_by_label(label, exact=True).click()
        self.page.get_by_role("option", name=option, exact=True).click()
        self.settle()

    def type_into(
        self, label: str, text: str, *, within: Locator | None = None, area: bool = False
    ) -> None:
        """Type into a text box and commit it (Enter; Ctrl+Enter in a text area)."""
        box = (within or self.main).get_by_label(label, exact=True)
        box.fill(text)
        box.press("Control+Enter" if area else "Enter")
        self.settle()

    def section(self, name: str) -> None:
        """Pick a section of a horizontal radio (Explore's sections)."""
        self.main.get_by_role("radiogroup").get_by_text(name, exact=True).click()
        self.settle()

    def shot(self, name: str, *, at: Locator | None = None) -> None:
        """Save what the viewport shows as docs/images/NAME.png (scrolled to ``at`` if given)."""
        if self.images is None:
            return
        if at is not None:
            at.evaluate("element => element.scrollIntoView({block: 'start'})")
        # no focus ring or chart toolbar from where the test last clicked
        self.page.evaluate("document.activeElement && document.activeElement.blur()")
        self.page.mouse.move(0, VIEWPORT["height"] - 1)
        self.images.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.images / f"{name}.png"))

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """One step of the journey; on failure the screen is saved as failed-NAME.png."""
        started = time.monotonic()
        try:
            yield
            print(f"step {name}: {time.monotonic() - started:.1f} s")
        except BaseException as error:
            path = self.failures / f"failed-{name}.png"
            try:
                self.page.screenshot(path=str(path))
            except Exception as shot_error:  # the page itself may be gone
                error.add_note(f"(no screenshot of the failed step: {shot_error})")
            else:
                error.add_note(f"Screenshot of the failed step {name!r}: {path}")
            error.add_note(f"End of the studio's log:\n{self.studio.log_tail()}")
            raise


def _is_outside(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOOPBACK


@pytest.fixture
def studio_page(browser: Browser, studio: Studio, tmp_path: Path) -> Iterator[StudioPage]:
    """A fresh browser tab (1400×1000) on the studio that records every dialog it is shown."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(INJECTION_WATCH)
    page = context.new_page()
    failures = tmp_path / "screenshots"
    failures.mkdir()
    tab = StudioPage(page=page, studio=studio, failures=failures, images=None)

    def on_dialog(dialog) -> None:
        tab.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on(
        "request",
        lambda request: (
            tab.outside_requests.append(request.url) if _is_outside(request.url) else None
        ),
    )
    try:
        yield tab
    finally:
        context.close()


def number_in(text: str) -> int:
    """The first whole number in ``text`` (thousands separators allowed)."""
    found = re.search(r"\d[\d,]*", text)
    assert found, f"no number in {text!r}"
    return int(found.group().replace(",", ""))
