"""Writers at the same moment, in real threads on their own connections, against the test
database (SQLite or PostgreSQL): overlapping pushes, one file imported twice at once, one
review corrected by several people at once. Nothing fails, nothing is stored twice."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from tests.databases import fresh_database
from tracker import create_app
from tracker.clock import utcnow
from tracker.extensions import db
from tracker.models import Buyer, Order, Product, Review, SentimentCorrection, Shop
from tracker.models.enums import Platform
from tracker.services import import_jobs
from tracker.services.corrections import correct_sentiment
from tracker.services.pushes import receive_push
from tracker.services.shop_settings import intake_settings

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], int]]:
    with fresh_database(tmp_path) as url:
        app = create_app(
            {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url}, instance_path=str(tmp_path)
        )
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            shop = Shop(code="peak", name="大促店", platform=Platform.TMALL, created_at=utcnow())
            db.session.add(shop)
            db.session.commit()
            shop_id = shop.id
            db.session.remove()  # (reading shop.id began a transaction: SQLite's write lock)
            yield sessionmaker(bind=db.engine), shop_id
            db.engine.dispose()


def at_once(count: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(i)`` in ``count`` threads released together; the errors they raised."""
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        start.wait()
        try:
            work(i)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_overlapping_pushes_store_each_review_and_buyer_once(sessions) -> None:  # type: ignore[no-untyped-def]
    make, shop_id = sessions
    posted = (utcnow() - timedelta(hours=2)).isoformat()
    pool = [f"买家{n}" for n in range(30)]  # few buyers: every batch meets the others'

    def push(i: int) -> None:
        rng = random.Random(i)
        with make() as session:
            shop = session.get(Shop, shop_id)
            for batch in range(3):
                reviews = [
                    {
                        "oid": f"{rng.randrange(120)}",  # keys overlap across pushers
                        "buyer_nick": rng.choice(pool),
                        "rating": rng.choice(["good", "bad", "neutral"]),
                        "text": "快递慢" if batch % 2 else "很好",
                        "posted_at": posted,
                        "item_id": f"{rng.randrange(10)}",
                    }
                    for _ in range(40)
                ]
                outcome = receive_push(
                    session,
                    shop,
                    {"reviews": reviews},
                    tz=SH,
                    now=utcnow(),
                    settings=intake_settings(shop, timezone="Asia/Shanghai"),
                )
                assert outcome.result is not None, outcome.problems

    assert at_once(4, push) == []
    with make() as session:
        keys = session.scalars(sa.select(Review.platform_key)).all()
        nicks = session.scalars(sa.select(Buyer.platform_nick)).all()
        items = session.scalars(sa.select(Product.platform_item_id)).all()
    assert len(keys) == len(set(keys)) and len(keys) > 50
    assert len(nicks) == len(set(nicks)) and len(items) == len(set(items)) <= 10


def test_one_file_imported_twice_at_once_is_stored_once(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make, shop_id = sessions
    folder = tmp_path / "uploads"
    rows = "\n".join(
        f"T{n},T{n}-1,买家{n % 7},99.00,2026-11-{1 + n % 20:02d} 10:00:00,{n % 4},宝贝{n % 4},1,99.00"
        for n in range(200)
    )
    data = f"订单编号,子订单编号,买家会员名,实付金额,订单付款时间,宝贝ID,宝贝名称,购买数量,价格\n{rows}\n".encode()

    def upload(i: int) -> None:
        with make() as session:
            shop = session.get(Shop, shop_id)
            job = import_jobs.queue(
                session,
                shop,
                kind="orders",
                filename="订单.csv",
                save=lambda path: path.write_bytes(data),
                folder=folder / str(i),
                mapping={},
                skip_bad_rows=False,
                actor_id=None,
                now=utcnow(),
            )
            done = import_jobs.run(
                session,
                job.id,
                now=utcnow(),
                clock=utcnow,
                tz=SH,
                scorer=None,
                settings=intake_settings(shop, timezone="Asia/Shanghai"),
            )
            assert done.status == "done", (done.error, done.problems[:3])

    assert at_once(3, upload) == []
    with make() as session:
        assert session.scalar(sa.select(sa.func.count(Order.id))) == 200
        assert session.scalar(sa.select(sa.func.count(Buyer.id))) == 7


def _one_good_review(session: Session, shop: Shop, text: str) -> int:
    """A good rating pushed an hour after it was posted; its id."""
    receive_push(
        session,
        shop,
        {
            "reviews": [
                {
                    "oid": "1",
                    "buyer_nick": "甲",
                    "rating": "good",
                    "text": text,
                    "posted_at": (utcnow() - timedelta(hours=1)).isoformat(),
                }
            ]
        },
        tz=SH,
        now=utcnow(),
        settings=intake_settings(shop, timezone="Asia/Shanghai"),
    )
    return session.scalar(sa.select(Review.id))  # type: ignore[return-value]


def test_one_review_corrected_by_several_at_once(sessions) -> None:  # type: ignore[no-untyped-def]
    make, shop_id = sessions
    with make() as session:
        review_id = _one_good_review(session, session.get(Shop, shop_id), "还行")

    def correct(i: int) -> None:
        with make() as session:
            review = session.get(Review, review_id)
            correct_sentiment(session, review, is_positive=bool(i % 2), user_id=None, now=utcnow())  # type: ignore[arg-type]

    assert at_once(4, correct) == []
    with make() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SentimentCorrection)) == 1


def test_two_people_setting_one_agents_day_at_once_both_succeed_and_the_last_stands(
    sessions,
) -> None:  # type: ignore[no-untyped-def]
    make, shop_id = sessions
    from datetime import date

    from tracker.models import ShiftDay, User
    from tracker.models.enums import Role
    from tracker.services import shifts

    with make() as session:
        shop = session.get(Shop, shop_id)
        for name, role in (("boss", Role.SUPERVISOR), ("agent", Role.AGENT)):
            user = User(username=name, display_name=name, role=role, created_at=utcnow())
            user.set_password("x-1234567")
            user.shops.append(shop)
            session.add(user)
        session.commit()
    now, day = utcnow(), utcnow().astimezone(SH).date() + timedelta(days=2)
    stale = sessionmaker(bind=make.kw["bind"], expire_on_commit=False)()
    agent = stale.scalars(sa.select(User).where(User.username == "agent")).one()
    boss = stale.scalars(sa.select(User).where(User.username == "boss")).one()
    assert agent.shift_days == [] and agent.shop_ids and boss.shop_ids
    stale.commit()  # read, and the page is on screen: no transaction held
    with make() as other:  # meanwhile a colleague makes the day a day off
        shifts.set_day(
            other,
            other.get(User, agent.id),
            day,
            [],
            actor=other.get(User, boss.id),
            now=now,
            tz=SH,
        )
    shifts.set_day(stale, agent, day, [["09:00", "18:00"]], actor=boss, now=now, tz=SH)
    stale.close()
    with make() as session:
        rows = session.execute(sa.select(ShiftDay.day, ShiftDay.periods)).all()
        assert [(d, p) for d, p in rows] == [(day, [["09:00", "18:00"]])]
        assert isinstance(rows[0][0], date)


def test_two_supervisors_deciding_one_request_at_once_decide_it_once(sessions) -> None:  # type: ignore[no-untyped-def]
    make, shop_id = sessions
    from tracker.models import Notification, ShiftDay, ShiftRequest, User
    from tracker.models.enums import Role, ShiftRequestState
    from tracker.services import shift_requests
    from tracker.services.errors import FieldError

    with make() as session:
        shop = session.get(Shop, shop_id)
        for name, role in (
            ("boss1", Role.SUPERVISOR),
            ("boss2", Role.SUPERVISOR),
            ("agent", Role.AGENT),
        ):
            user = User(username=name, display_name=name, role=role, created_at=utcnow())
            user.set_password("x-1234567")
            user.shops.append(shop)
            session.add(user)
        session.commit()
        agent = session.scalars(sa.select(User).where(User.username == "agent")).one()
        now, day = utcnow(), utcnow().astimezone(SH).date() + timedelta(days=2)
        request_id = shift_requests.ask(
            session, agent, shop, day, periods=[], swap_with=None, note="", now=now, tz=SH
        ).id
    bosses = ("boss1", "boss2")
    refused: list[str] = []

    def decide(i: int) -> None:
        with make() as session:
            boss = session.scalars(sa.select(User).where(User.username == bosses[i])).one()
            try:
                shift_requests.decide(
                    session, request_id, boss, approve=i == 0, answer="", now=now, tz=SH
                )
            except FieldError as exc:
                refused.append(exc.message)

    assert at_once(2, decide) == []
    assert len(refused) == 1 and "页面已刷新" in refused[0]  # the second saw it decided
    with make() as session:
        request = session.get(ShiftRequest, request_id)
        days = session.scalars(sa.select(ShiftDay)).all()
        if request.state is ShiftRequestState.APPROVED:
            assert [(d.day, d.periods) for d in days] == [(day, [])]
        else:
            assert request.state is ShiftRequestState.DECLINED and days == []
        told = session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == request.user_id)
        )
        assert told == 1  # one answer, not two


@pytest.mark.parametrize("crossing", [False, True], ids=["double-click", "crossing-swap"])
def test_two_asks_for_one_agents_day_at_once_store_one(sessions, crossing: bool) -> None:  # type: ignore[no-untyped-def]
    """A double click (or two tabs) sends one agent's ask twice; a colleague asks to swap the
    very day the agent asks off. Each ask looks for an open request on the day first: at
    once, without a lock, both find none and both are stored, to be decided blind."""
    make, shop_id = sessions
    from tracker.models import ShiftRequest, User
    from tracker.models.enums import Role
    from tracker.services import shift_requests
    from tracker.services.errors import FieldError

    with make() as session:
        shop = session.get(Shop, shop_id)
        for name in ("agent", "colleague"):
            user = User(username=name, display_name=name, role=Role.AGENT, created_at=utcnow())
            if name == "colleague":  # the late shift: a swap changes both days
                user.shift = {"periods": [["13:30", "22:00"]], "weekdays": list(range(7))}
            user.set_password("x-1234567")
            user.shops.append(shop)
            session.add(user)
        session.commit()
    now, day = utcnow(), utcnow().astimezone(SH).date() + timedelta(days=3)
    refused: list[str] = []

    def ask(i: int) -> None:
        with make() as session:
            shop = session.get(Shop, shop_id)
            people = {u.username: u for u in session.scalars(sa.select(User))}
            asker = people["colleague"] if crossing and i == 1 else people["agent"]
            try:
                shift_requests.ask(
                    session,
                    asker,
                    shop,
                    day,
                    periods=[],
                    swap_with=people["agent"] if asker is people["colleague"] else None,
                    note="",
                    now=now,
                    tz=SH,
                )
            except FieldError as exc:
                refused.append(exc.message)

    assert at_once(2, ask) == []
    assert len(refused) == 1 and "已有一份" in refused[0]
    with make() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ShiftRequest)) == 1


def test_several_people_opening_a_case_for_one_review_at_once_open_one(sessions) -> None:  # type: ignore[no-untyped-def]
    make, shop_id = sessions
    from tracker.models import Case, User
    from tracker.models.enums import Role
    from tracker.services import confirmations

    with make() as session:
        shop = session.get(Shop, shop_id)
        settings = intake_settings(shop, timezone="Asia/Shanghai")
        review_id = _one_good_review(session, shop, "很好")
        agent = User(username="agent", display_name="agent", role=Role.AGENT, created_at=utcnow())
        agent.set_password("x-1234567")
        agent.shops.append(shop)
        session.add(agent)
        session.commit()
        assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
    refused: list[str] = []

    def open_case(i: int) -> None:
        with make() as session:
            agent = session.scalars(sa.select(User)).one()
            try:
                confirmations.open_for_review(
                    session, shop_id, review_id, actor=agent, now=utcnow(), settings=settings
                )
            except confirmations.CannotOpen as exc:
                refused.append(exc.message)

    assert at_once(4, open_case) == []
    assert len(refused) == 3 and all("案件" in words for words in refused)
    with make() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1
