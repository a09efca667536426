"""Simulated after-sales staff for ``bench/load.py`` (Locust): agents work the board and
their cases, a supervisor watches the dashboard. Run by bench/load.py, not by hand."""

from __future__ import annotations

import os
import random
import re
from datetime import datetime, timedelta, timezone

from locust import FastHttpUser, between, events, task

PASSWORD = os.environ.get("LOAD_PASSWORD", "demo1234")
AGENTS = os.environ.get("LOAD_AGENTS", "kefu1,kefu2,kefu3").split(",")
SUPERVISOR = os.environ.get("LOAD_SUPERVISOR", "zhuguan")
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CASE_IDS = re.compile(r'data-case-id="(\d+)"')
VERSION = re.compile(
    r'id="attempt-version"[^>]*value="(\d+)"|value="(\d+)"[^>]*id="attempt-version"'
)
SHANGHAI = timezone(timedelta(hours=8))
FILTERS = ("", "&reason=quality", "&priority=1", "&overdue=1", "&rating=bad", "&q=快递")
# What each channel's try can end in: a message has no line that rings, so 未接通 and 占线 on
# an SMS are refused (400) as the agent's form refuses them.
OUTCOMES = {
    "phone": ("no_answer", "busy", "considering"),
    "wangwang": ("no_answer", "considering"),
    "sms": ("message_left", "considering"),
}


# With LOAD_STEADY_STATE=1 the figures start once every user has logged in: the ramp,
# while they log in, is measured by the default run.
STEADY_STATE = os.environ.get("LOAD_STEADY_STATE") == "1"
_logged_in = 0


@events.init.add_listener
def _reset_counter(**_kwargs: object) -> None:
    global _logged_in
    _logged_in = 0


class Staff(FastHttpUser):
    # geventhttpclient rather than requests: Locust shares the app's two cores here, and
    # every millisecond it spends on a request is one the app does not get.
    abstract = True
    username = ""

    def on_start(self) -> None:
        global _logged_in
        page = self.client.get("/login", name="login page").text
        token = TOKEN.search(page).group(1)  # type: ignore[union-attr]
        self.post_then_follow(
            "/login",
            {"username": self.username, "password": PASSWORD, "csrf_token": token},
            name="login POST",
            then="home page",
        )
        _logged_in += 1
        if STEADY_STATE and _logged_in == self.environment.parsed_options.num_users:
            self.environment.stats.reset_all()

    def post_then_follow(self, url: str, data: dict[str, str], *, name: str, then: str) -> None:
        """A form POST and the page it redirects to, timed apart as a browser makes them:
        the POST has its own target, the page it leads to is counted with its kind."""
        with self.client.post(
            url, data=data, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 302:
                response.failure(f"expected a redirect, got {response.status_code}")
                return
        self.client.get(response.headers["Location"], name=then)


class Agent(Staff):
    weight = 9
    wait_time = between(1, 4)

    def on_start(self) -> None:
        self.username = random.choice(AGENTS)
        super().on_start()
        self.cases: list[str] = []

    @task(4)
    def board(self) -> None:
        view = random.choice(("columns", "list"))
        html = self.client.get(
            f"/cases?scope=all&view={view}{random.choice(FILTERS)}", name="board"
        ).text
        self.cases = CASE_IDS.findall(html) or self.cases

    @task(4)
    def case_page(self) -> None:
        if self.cases:
            self.client.get(f"/cases/{random.choice(self.cases)}", name="case page")

    @task(2)
    def log_attempt(self) -> None:
        if not self.cases:
            return
        case = random.choice(self.cases)
        html = self.client.get(f"/cases/{case}", name="case page").text
        token, version = TOKEN.search(html), VERSION.search(html)
        if not token or not version or 'id="attempt-form"' not in html:
            return  # someone else's case: nothing to log here
        now = datetime.now(SHANGHAI).strftime("%Y-%m-%dT%H:%M")
        channel = random.choice(tuple(OUTCOMES))
        self.post_then_follow(
            f"/cases/{case}/attempts",
            {
                "csrf_token": token.group(1),
                "attempt-version": version.group(1) or version.group(2),
                "attempt-channel": channel,
                "attempt-outcome": random.choice(OUTCOMES[channel]),
                "attempt-attempted_at": now,
                "attempt-notes": "压测记录",
            },
            name="attempt POST",
            then="case page",
        )

    @task(1)
    def claim(self) -> None:
        if not self.cases:
            return
        case = random.choice(self.cases)
        html = self.client.get(f"/cases/{case}", name="case page").text
        token = TOKEN.search(html)
        if token and 'id="claim"' in html:
            self.post_then_follow(
                f"/cases/{case}/claim",
                {"csrf_token": token.group(1)},
                name="claim POST",
                then="case page",
            )


class Supervisor(Staff):
    weight = 1
    wait_time = between(2, 6)
    username = SUPERVISOR

    @task
    def dashboard(self) -> None:
        by = random.choice(("agent", "product", "reason", "category"))
        self.client.get(f"/reports/?by={by}", name="dashboard")
