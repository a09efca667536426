"""Segmenting a big shop, then a campaign to 100,000 buyers through a killed sender.

    python bench/campaigns.py [--database-url URL] [--buyers 200000] [--lines 1000000]
                              [--recipients 100000] [--rate 600]

1. Fills a fresh database with one shop (200,000 buyers, 1,000,000 order lines, as
   bench/segments.py) and times its segmentation (target: under 30 s).
2. Gives the first buyers a number and launches a campaign whose sent group is
   ``--recipients`` buyers (10% more are held back as control).
3. Sends it from a separate sender process through a local Aliyun SMS stand-in that checks
   every signature and refuses more than ``--rate`` messages a second; kills the sender
   with SIGKILL when about 40% are out, starts a new one, and waits until the campaign is
   done.
4. Counts, at the stand-in, every phone the campaign reached: ``duplicates`` (a buyer
   messaged twice) and ``lost`` (a buyer of the sent group never messaged) must be 0.

Prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.segments import fill  # noqa: E402
from bench.stack import migrated_app  # noqa: E402
from tests.aliyun_server import FakeAliyun  # noqa: E402
from tests.platform_servers import serve  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Beijing: within the day's hours
CREDS = {"access_key_id": "LTAIlocal", "access_key_secret": "aliyun-secret"}


class RateLimitedAliyun(FakeAliyun):
    """The stand-in, refusing more than ``rate`` sends within any second, as the provider
    does for an account."""

    def __init__(self, rate: int) -> None:
        super().__init__()
        self.rate = rate
        self.recent: deque[float] = deque()
        self.lock = threading.Lock()
        self.throttled = 0
        self.templates.add("SMS_M1")

    def handle(self, method, path, query, body, content_type):  # type: ignore[no-untyped-def]
        if b"Action=SendSms" in body:
            with self.lock:
                now = time.monotonic()
                while self.recent and now - self.recent[0] > 1.0:
                    self.recent.popleft()
                if len(self.recent) >= self.rate:
                    self.throttled += 1
                    self.faults.insert(0, "throttle")
                else:
                    self.recent.append(now)
                return super().handle(method, path, query, body, content_type)
        return super().handle(method, path, query, body, content_type)


def prepare(recipients: int) -> int:
    """Numbers for the first buyers, an account, a marketing template, a launched campaign."""
    from flask import current_app

    from tracker import runtime
    from tracker.domain.campaigns import Audience, Exclusions
    from tracker.domain.phone_numbers import PhoneNumber, masked
    from tracker.extensions import db
    from tracker.models import Buyer, ContactHandle, MessageTemplate, Shop, User
    from tracker.models.enums import HandleKind, MessagePurpose, Role
    from tracker.services import campaigns, messaging
    from tracker.vault import personal_vault

    shop = db.session.scalars(sa.select(Shop)).one()
    admin = User(
        username="bench-admin",
        display_name="管理员",
        password_hash="x",
        role=Role.ADMIN,
        created_at=NOW,
    )
    db.session.add(admin)
    chosen = round(recipients / 0.9) + 1
    ids = list(db.session.scalars(sa.select(Buyer.id).order_by(Buyer.id).limit(chosen)))
    vault = personal_vault()
    rows = []
    for i, buyer_id in enumerate(ids):
        number = PhoneNumber(f"13{i:09d}")
        rows.append(
            {
                "shop_id": shop.id,
                "buyer_id": buyer_id,
                "kind": HandleKind.OWN,
                "source": "import",
                "sealed": vault.seal({"number": number.number, "extension": None}),
                "fingerprint": vault.fingerprint(number.written()),
                "hint": masked(number),
                "created_at": NOW,
            }
        )
    for start in range(0, len(rows), 20_000):
        db.session.execute(sa.insert(ContactHandle), rows[start : start + 20_000])
    template = MessageTemplate(
        shop_id=shop.id,
        provider="aliyun-sms",
        name="老客回访",
        sign_name="好店",
        template_code="SMS_M1",
        body="${name}您好，新品上市老客专享九折，拒收请回复R",
        purpose=MessagePurpose.MARKETING,
        created_at=NOW,
    )
    db.session.add(template)
    db.session.commit()
    messaging.save_account(
        db.session,
        shop,
        messaging.SMS,
        CREDS,
        sealer=runtime.sealer(current_app),
        actor=admin,
        now=NOW,
    )
    draft = campaigns.CampaignDraft(
        name="全店老客回访",
        audience=Audience(),
        exclusions=Exclusions(
            open_case=False, unhappy_review_days=None, refund_days=None, contacted_days=None
        ),
        template_id=template.id,
        control_share=0.1,
    )
    campaign = campaigns.create(db.session, shop, draft, actor=admin, now=NOW)
    campaigns.launch(db.session, campaign, actor=admin, now=NOW)
    return campaign.id


def sender(rate: int) -> None:
    """The sender as the scheduler runs it, in its own process, until the campaign is done."""
    from tracker import create_app, runtime
    from tracker.extensions import db
    from tracker.models import Campaign
    from tracker.services import campaigns

    app = create_app()
    with app.app_context():
        while True:
            campaigns.send_due(
                db.session,
                now=NOW,
                clients=runtime.message_clients(app, db.session),
                tz=SH,
                per_minute=rate * 60,
                batch=200,
            )
            if (
                db.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Campaign)
                    .where(Campaign.state == "sending")
                )
                == 0
            ):
                return
            time.sleep(0.2)  # a rate limit stopped the run: the next one goes on


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--buyers", type=int, default=200_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=600, help="the provider's limit, a second")
    parser.add_argument("--sender", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sender:
        sender(args.rate)
        return
    import random

    from tracker.extensions import db
    from tracker.models import CampaignRecipient, Shop
    from tracker.services import segments

    with migrated_app(args.database_url) as app, serve(RateLimitedAliyun(args.rate)) as fake:
        shop = fill(db.session, args.buyers, args.lines, random.Random(7))
        t0 = time.perf_counter()
        segments.recompute(db.session, shop, now=NOW)
        segment_s = time.perf_counter() - t0
        db.session.remove()
        campaign_id = prepare(args.recipients)
        db.session.remove()  # hold no transaction while the senders write (SQLite locks)
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        env = os.environ | {
            "DATABASE_URL": url,
            "TRACKER_PROVIDER_URLS": json.dumps({"aliyun-sms": fake.url}),
        }
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--sender",
            "--rate",
            str(args.rate),
        ]
        started = time.perf_counter()
        first = subprocess.Popen(command, env=env, cwd=ROOT)
        while len(fake.sent) < args.recipients * 0.4 and first.poll() is None:
            time.sleep(0.05)
        killed_at = len(fake.sent)
        if first.poll() is None:
            os.kill(first.pid, signal.SIGKILL)
        first.wait()
        second = subprocess.Popen(command, env=env, cwd=ROOT)
        second.wait(timeout=3600)
        send_s = time.perf_counter() - started
        phones = [s["PhoneNumbers"] for s in fake.sent]
        states = dict(
            db.session.execute(
                sa.select(CampaignRecipient.state, sa.func.count())
                .where(CampaignRecipient.campaign_id == campaign_id)
                .group_by(CampaignRecipient.state)
            ).all()
        )
        meant = (
            states.get("sent", 0)
            + states.get("queued", 0)
            + states.get("sending", 0)
            + states.get("failed", 0)
        )
        backend = url.split(":", 1)[0]
        shop_share = db.session.scalars(sa.select(Shop.top_fifth_share)).one()
    print(
        json.dumps(
            {
                "database": backend,
                "buyers": args.buyers,
                "order_lines": args.lines,
                "segment_seconds": round(segment_s, 2),
                "top_fifth_share": round(shop_share, 3) if shop_share is not None else None,
                "recipients": meant,
                "control": states.get("control", 0),
                "sent": len(set(phones)),
                "duplicates": len(phones) - len(set(phones)),
                "lost": meant - len(set(phones)),
                "killed_after": killed_at,
                "throttled": fake.throttled,
                "rate_per_second": args.rate,
                "send_seconds": round(send_s, 1),
                "signature_problems": len(fake.problems),
                "sender_exit": second.returncode,  # 0: the restarted sender finished
            }
        )
    )


if __name__ == "__main__":
    main()
