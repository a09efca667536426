"""The schema comes from Alembic alone, and the models agree with it."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy.orm import Session

from tests.databases import fresh_database
from tracker import create_app
from tracker.extensions import db
from tracker.text_index import in_models


@pytest.fixture
def empty_app(tmp_path: Path):  # type: ignore[no-untyped-def]
    with fresh_database(tmp_path) as url:
        app = create_app(
            {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url}, instance_path=str(tmp_path)
        )
        with app.app_context():
            yield app
            db.engine.dispose()


def _one_shop(conn: sa.Connection, now: str, id_: int = 1) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO shops (id, code, name, platform, is_active, created_at) "
            "VALUES (:id, :code, '店', 'tmall', true, :now)"
        ),
        {"id": id_, "code": f"s{id_}", "now": now},
    )


def _review(
    conn: sa.Connection, id_: int, text: str, now: str, follow_up: str | None = None
) -> None:
    """A good review of shop 1, written as the schema of the moment takes it."""
    conn.execute(
        sa.text(
            "INSERT INTO reviews (id, shop_id, platform_key, rating, text, follow_up_text,"
            " posted_at, first_posted_at, is_deleted, is_system_default, received_at,"
            " updated_at) VALUES (:id, 1, :id, 'good', :text, :follow_up, :now, :now, false,"
            " false, :now, :now)"
        ),
        {"id": id_, "text": text, "follow_up": follow_up, "now": now},
    )


def _diff() -> list[object]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": in_models})
        return compare_metadata(context, db.metadata)


def test_upgrade_from_empty_to_head_matches_the_models(empty_app) -> None:  # type: ignore[no-untyped-def]
    assert sa.inspect(db.engine).get_table_names() == []
    upgrade()
    tables = set(sa.inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert _diff() == [], "models and migrations disagree: run flask db migrate"


def test_downgrade_to_base_and_up_again(empty_app) -> None:  # type: ignore[no-untyped-def]
    upgrade()
    downgrade(revision="base")
    assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert _diff() == []


def test_the_check_notices_a_model_change(empty_app) -> None:  # type: ignore[no-untyped-def]
    """The guard above can fail: a column the migrations lack is reported."""
    upgrade()
    table = db.metadata.tables["shops"]
    extra = sa.Column("not_in_migrations", sa.Integer)
    table.append_column(extra)
    try:
        diff = _diff()
    finally:
        table._columns.remove(extra)
    assert any("not_in_migrations" in repr(item) for item in diff)


def test_the_setup_commands_upgrade_really_commits(tmp_path: Path) -> None:
    """`flask db upgrade` as dev.py runs it, in its own process: the schema must stick."""
    import os
    import subprocess
    import sys

    from alembic.script import ScriptDirectory

    from tracker import PROJECT_ROOT

    with fresh_database(tmp_path) as url:
        env = os.environ | {"DATABASE_URL": url}
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "tracker", "db", "upgrade"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            version = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
            scripts = conn.scalar(sa.text("SELECT count(*) FROM scripts"))
        engine.dispose()
    head = ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_current_head()
    assert version == head and scripts > 0


def test_upgrading_keeps_existing_data(empty_app) -> None:  # type: ignore[no-untyped-def]
    """Batch migrations on SQLite recreate tables: child rows must survive (a cascade on the
    old table's drop once deleted every case's reason tags)."""
    upgrade(revision="0002")
    now = "2026-11-20 10:00:00"
    statements = [
        f"INSERT INTO shops (id, code, name, platform, is_active, created_at, pull_interval_minutes) VALUES (1, 's', 'S', 'taobao', true, '{now}', 10)",
        f"INSERT INTO users (id, username, display_name, password_hash, role, is_active, created_at) VALUES (1, 'u', 'U', 'x', 'agent', true, '{now}')",
        "INSERT INTO user_shops (user_id, shop_id) VALUES (1, 1)",  # the owner still works there
        f"INSERT INTO reviews (id, shop_id, platform_key, rating, text, posted_at, first_posted_at, is_deleted, is_system_default, received_at, updated_at) VALUES (1, 1, 'k', 'bad', 't', '{now}', '{now}', false, false, '{now}', '{now}')",
        f"INSERT INTO cases (id, shop_id, review_id, owner_id, status, priority, is_hidden_negative, opened_at, first_contact_due_at, revision_window_ends_at, updated_at, version, kind) VALUES (1, 1, 1, 1, 'new', 2, false, '{now}', '{now}', '{now}', '{now}', 1, 'bad')",
        "INSERT INTO case_reasons (case_id, reason, is_confirmed) VALUES (1, 'quality', false)",
        f"INSERT INTO contact_attempts (id, case_id, agent_id, channel, attempted_at, outcome, notes, created_at) VALUES (1, 1, 1, 'phone', '{now}', 'no_answer', '', '{now}')",
        f"INSERT INTO audit_events (id, occurred_at, entity_type, entity_id, case_id, field) VALUES (1, '{now}', 'case', 1, 1, 'status')",
    ]
    with db.engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    upgrade()
    with db.engine.connect() as conn:
        counts = [
            conn.scalar(sa.text(f"SELECT count(*) FROM {t}"))
            for t in ("case_reasons", "contact_attempts", "audit_events", "cases")
        ]
    assert counts == [1, 1, 1, 1]


def test_numbers_already_stored_are_sealed_in_place_and_opened_again_on_downgrade(
    empty_app,
) -> None:  # type: ignore[no-untyped-def]
    from tracker.vault import personal_vault

    upgrade(revision="0016")
    now = "2026-11-29 10:00:00"
    with db.engine.begin() as conn:
        _one_shop(conn, now)
        for i, phone in enumerate(("13812345678", "18400913965-7576", "138****0000"), start=1):
            conn.execute(
                sa.text(
                    "INSERT INTO buyers (id, shop_id, platform_nick, phone, tags, preferences, "
                    "membership_level, created_at) VALUES (:id, 1, :nick, :phone, '[]', '', "
                    "'none', :now)"
                ),
                {"id": i, "nick": f"b{i}", "phone": phone, "now": now},
            )
    upgrade()
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT buyer_id, kind, sealed, hint FROM contact_handles ORDER BY buyer_id")
        ).all()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("buyers")}
    assert "phone" not in columns
    assert [(r.buyer_id, r.kind, r.hint) for r in rows] == [
        (1, "own", "138****5678"),
        (2, "virtual", "184****3965 转 7576"),
        (3, "own", "***0000"),  # unreadable: sealed as it was, nothing lost
    ]
    assert all("12345678" not in r.sealed and "00913965" not in r.sealed for r in rows)
    assert personal_vault().open(rows[1].sealed) == {"number": "18400913965", "extension": "7576"}
    downgrade(revision="0016")
    with db.engine.connect() as conn:
        phones = conn.execute(sa.text("SELECT phone FROM buyers ORDER BY id")).scalars().all()
    assert phones == ["13812345678", "18400913965-7576", "138****0000"]


def test_names_addresses_and_birthdays_are_sealed_in_place_and_opened_on_downgrade(
    empty_app,
) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from tracker.services.buyer_profiles import Profile, from_token

    upgrade(revision="0027")
    now = "2026-11-29 10:00:00"
    with db.engine.begin() as conn:
        _one_shop(conn, now)
        for i, (name, region, born) in enumerate(
            [
                ("郑俊杰", "浙江省杭州市西湖区文三路 100 号", date(1990, 5, 1)),
                (None, None, None),  # its region comes from its order
                (None, None, None),  # nothing known: nothing sealed
            ],
            start=1,
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO buyers (id, shop_id, platform_nick, name, region, birthday, "
                    "tags, preferences, membership_level, created_at) VALUES (:id, 1, :nick, "
                    ":name, :region, :born, '[]', '', 'none', :now)"
                ),
                {
                    "id": i,
                    "nick": f"b{i}",
                    "name": name,
                    "region": region,
                    "born": born,
                    "now": now,
                },
            )
        conn.execute(
            sa.text(
                "INSERT INTO orders (id, shop_id, tid, buyer_id, payment, paid_at, "
                "receiver_region) VALUES (1, 1, 'T1', 2, 10, :now, '北京市朝阳区建国路 1 号')"
            ),
            {"now": now},
        )
    upgrade()
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT id, profile_sealed, name_hint, area, birthday_md FROM buyers ORDER BY id"
            )
        ).all()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("buyers")}
        order_columns = {c["name"] for c in sa.inspect(conn).get_columns("orders")}
    assert not {"name", "region", "birthday"} & columns and "receiver_region" not in order_columns
    assert [(r.name_hint, r.area, r.birthday_md) for r in rows] == [
        ("郑**", "浙江省", 501),
        (None, "北京市", None),
        (None, None, None),
    ]
    assert "俊杰" not in rows[0].profile_sealed and rows[2].profile_sealed is None
    assert from_token(rows[0].profile_sealed) == Profile(
        "郑俊杰", "浙江省杭州市西湖区文三路 100 号", date(1990, 5, 1)
    )
    downgrade(revision="0027")
    with db.engine.connect() as conn:
        back = conn.execute(sa.text("SELECT name, region FROM buyers ORDER BY id")).all()
    assert [tuple(r) for r in back] == [
        ("郑俊杰", "浙江省杭州市西湖区文三路 100 号"),
        (None, "北京市朝阳区建国路 1 号"),
        (None, None),
    ]


def test_past_erasures_are_read_from_the_access_log(empty_app) -> None:  # type: ignore[no-untyped-def]
    """A buyer erased before 0030 stays erased: when, from the 删除个人信息 line."""
    upgrade(revision="0029")
    now = "2026-11-29 10:00:00"
    with db.engine.begin() as conn:
        _one_shop(conn, now)
        for i in (1, 2):
            conn.execute(
                sa.text(
                    "INSERT INTO buyers (id, shop_id, platform_nick, tags, preferences, "
                    "membership_level, created_at) VALUES (:id, 1, :nick, '[]', '', 'none', :now)"
                ),
                {"id": i, "nick": f"b{i}", "now": now},
            )
        for at, field in (("2026-11-30 08:00:00", "personal_data_erased"), (now, "phone_revealed")):
            conn.execute(
                sa.text(
                    "INSERT INTO audit_events (occurred_at, entity_type, entity_id, field, "
                    "new_value) VALUES (:at, 'buyer', :id, :field, '客户档案 · 删除')"
                ),
                {"at": at, "id": 1 if field == "personal_data_erased" else 2, "field": field},
            )
    upgrade()
    with db.engine.connect() as conn:
        erased = (
            conn.execute(sa.text("SELECT personal_data_erased_at FROM buyers ORDER BY id"))
            .scalars()
            .all()
        )
    assert [str(e)[:19] if e else None for e in erased] == ["2026-11-30 08:00:00", None]
    downgrade(revision="0029")


def test_existing_orders_get_their_number_backwards(empty_app) -> None:  # type: ignore[no-untyped-def]
    """0033 fills ``tid_reversed`` for the orders already there (the 尾号 search's index)."""
    upgrade(revision="0032")
    now = "2026-11-29 10:00:00"
    with db.engine.begin() as conn:
        _one_shop(conn, now)
        conn.execute(
            sa.text(
                "INSERT INTO buyers (id, shop_id, platform_nick, tags, preferences, "
                "membership_level, created_at) VALUES (1, 1, 'b', '[]', '', 'none', :now)"
            ),
            {"now": now},
        )
        for i, tid in enumerate(("3901234567890123456", "T20261129"), start=1):
            conn.execute(
                sa.text(
                    "INSERT INTO orders (id, shop_id, tid, buyer_id, payment, paid_at) "
                    "VALUES (:id, 1, :tid, 1, 10, :now)"
                ),
                {"id": i, "tid": tid, "now": now},
            )
    upgrade()
    with db.engine.connect() as conn:
        backwards = conn.execute(sa.text("SELECT tid_reversed FROM orders ORDER BY id")).all()
    assert [b for (b,) in backwards] == ["6543210987654321093", "92116202T"]
    downgrade(revision="0032")


def test_existing_reviews_are_indexed_by_what_they_say(empty_app) -> None:  # type: ignore[no-untyped-def]
    """0034 indexes the reviews already there (the review search's index)."""
    from tracker.text_index import review_ids_containing

    upgrade(revision="0033")
    now = "2026-11-29 10:00:00"
    with db.engine.begin() as conn:
        _one_shop(conn, now)
        for i, text in enumerate(("电池漏液了", "很好"), start=1):
            _review(conn, i, text, now)
    upgrade()
    with db.engine.connect() as conn:
        probe = review_ids_containing(conn.dialect.name, "漏液")
        assert conn.scalars(probe).all() == [1]
    downgrade(revision="0033")
    with db.engine.begin() as conn:  # no trigger is left calling for the index
        conn.execute(sa.text("UPDATE reviews SET text = '改了' WHERE id = 1"))
        conn.execute(sa.text("DELETE FROM reviews WHERE id = 2"))


def test_existing_follow_ups_are_indexed(empty_app) -> None:  # type: ignore[no-untyped-def]
    """0037 adds 追评 to the review search's index, and leaves the index whole both ways."""
    from tracker.text_index import SQLITE_TABLE, review_ids_containing

    upgrade(revision="0036")
    now = "2026-11-29 10:00:00"
    with db.engine.begin() as conn:
        _one_shop(conn, now)
        _review(conn, 1, "先给好评", now, follow_up="用了一周就漏液了")
        _review(conn, 2, "电池漏液了", now)
        _review(conn, 3, "很好", now)
    upgrade()
    with db.engine.begin() as conn:
        probe = review_ids_containing(conn.dialect.name, "漏液")
        assert sorted(conn.scalars(probe)) == [1, 2]
        conn.execute(sa.text("UPDATE reviews SET follow_up_text = '又漏液了' WHERE id = 3"))
        assert sorted(conn.scalars(probe)) == [1, 2, 3]
    downgrade(revision="0036")
    with db.engine.begin() as conn:
        probe = review_ids_containing(conn.dialect.name, "漏液")
        if conn.dialect.name == "sqlite":  # 0034's rows again: the text alone
            assert conn.scalars(probe).all() == [2]
            conn.execute(
                sa.text(f"INSERT INTO {SQLITE_TABLE} ({SQLITE_TABLE}) VALUES ('integrity-check')")
            )
        conn.execute(sa.text("UPDATE reviews SET text = '改了' WHERE id = 2"))
        conn.execute(sa.text("DELETE FROM reviews WHERE id = 1"))


def test_cases_stranded_with_a_leaver_go_back_to_unassigned(empty_app) -> None:  # type: ignore[no-untyped-def]
    """0040: an open case owned by a deactivated account, or by someone (not an admin) no
    longer in its shop, loses its owner, audited; a closed one and a working owner's stay."""
    upgrade(revision="0039")
    now = "2026-11-29 10:00:00"
    with db.engine.begin() as conn:
        _one_shop(conn, now)
        for id_, name, role, active, in_shop in (
            (1, "在岗", "agent", True, True),
            (2, "离职", "agent", False, True),
            (3, "调走", "agent", True, False),
            (4, "管理员", "admin", True, False),
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO users (id, username, display_name, password_hash, role,"
                    " is_active, created_at) VALUES (:id, :u, :name, 'x', :role, :active, :now)"
                ),
                {
                    "id": id_,
                    "u": f"u{id_}",
                    "name": name,
                    "role": role,
                    "active": active,
                    "now": now,
                },
            )
            if in_shop:
                conn.execute(sa.text(f"INSERT INTO user_shops VALUES ({id_}, 1)"))
        for case_id, owner, status in (
            (1, 1, "new"), (2, 2, "contacting"), (3, 3, "waiting"), (4, 4, "new"),
            (5, 2, "recovered"),
        ):  # fmt: skip
            _review(conn, case_id, "差", now)
            conn.execute(
                sa.text(
                    "INSERT INTO cases (id, shop_id, review_id, owner_id, status, kind, priority,"
                    " is_hidden_negative, opened_at, first_contact_due_at,"
                    " revision_window_ends_at, attempt_count, updated_at, version) VALUES"
                    " (:id, 1, :id, :owner, :status, 'bad', 2, false, :now, :now, :now, 0,"
                    " :now, 1)"
                ),
                {"id": case_id, "owner": owner, "status": status, "now": now},
            )
    upgrade()
    with db.engine.connect() as conn:
        owners = conn.execute(sa.text("SELECT owner_id, version FROM cases ORDER BY id")).all()
        audits = conn.execute(
            sa.text(
                "SELECT case_id, actor_id, old_value, new_value FROM audit_events"
                " WHERE field = 'owner' ORDER BY case_id"
            )
        ).all()
    assert [tuple(o) for o in owners] == [(1, 1), (None, 2), (None, 2), (4, 1), (2, 1)]
    assert [tuple(a) for a in audits] == [
        (2, None, "离职", "未分配（账号已停用）"),
        (3, None, "调走", "未分配（不再负责该店铺）"),
    ]
    downgrade(revision="0039")


def test_existing_reviews_are_counted_for_their_words(empty_app) -> None:  # type: ignore[no-untyped-def]
    """0051 counts the words of the reviews already there (评价's 只看有文字), keeps
    counting them as reviews change, and leaves 0032's counting whole on the way down."""
    from tracker.services import review_counts

    upgrade(revision="0050")
    now = "2026-11-29 10:00:00"
    with db.engine.begin() as conn:
        _one_shop(conn, now)
        for i, text in enumerate(("电池漏液了", "很好", "还行"), start=1):
            _review(conn, i, text, now)
        conn.execute(sa.text("UPDATE reviews SET is_system_default = true WHERE id = 2"))
    upgrade()
    with Session(db.engine) as session:
        assert review_counts.total(session, 1) == 3
        assert review_counts.total(session, 1, worded=True) == 2
        session.execute(sa.text("UPDATE reviews SET is_system_default = true WHERE id = 3"))
        _review(session.connection(), 4, "系统默认好评", now)
        session.execute(sa.text("UPDATE reviews SET is_system_default = true WHERE id = 4"))
        session.commit()
        assert review_counts.total(session, 1, worded=True) == 1
        assert review_counts.compact(session) > 0
        assert (review_counts.total(session, 1), review_counts.total(session, 1, worded=True)) == (
            4,
            1,
        )
    downgrade(revision="0050")
    with db.engine.begin() as conn:  # 0032's triggers count again, without the column
        _review(conn, 5, "很好", now)
        conn.execute(sa.text("DELETE FROM reviews WHERE id = 1"))
        assert conn.scalar(sa.text("SELECT sum(reviews) FROM review_hour_counts")) == 4


def test_a_retired_survey_template_is_no_longer_the_shops_choice(empty_app) -> None:  # type: ignore[no-untyped-def]
    """0054: a shop whose 满意度回访 template was retired stops sending surveys (the choice is
    cleared and audited); a shop whose template is active keeps it."""
    upgrade(revision="0053")
    now = "2026-11-29 10:00:00"
    with db.engine.begin() as conn:
        _one_shop(conn, now)
        _one_shop(conn, now, id_=2)
        for id_, shop, active in ((7, 1, False), (8, 2, True)):
            conn.execute(
                sa.text(
                    "INSERT INTO message_templates (id, shop_id, provider, name, sign_name,"
                    " template_code, body, purpose, is_active, created_at) VALUES (:id, :shop,"
                    " 'aliyun-sms', '回访', '好店', :code, '${name}您好：${link}', 'notice',"
                    " :active, :now)"
                ),
                {"id": id_, "shop": shop, "code": f"SMS_{id_}", "active": active, "now": now},
            )
            conn.execute(
                sa.text("UPDATE shops SET survey_template_id = :t WHERE id = :shop"),
                {"t": id_, "shop": shop},
            )
    upgrade()
    with db.engine.connect() as conn:
        chosen = conn.execute(sa.text("SELECT id, survey_template_id FROM shops ORDER BY id"))
        audits = conn.execute(
            sa.text(
                "SELECT entity_type, entity_id, actor_id, old_value, new_value FROM audit_events"
                " WHERE field = 'survey_template_id'"
            )
        ).all()
        assert [tuple(c) for c in chosen] == [(1, None), (2, 8)]
    assert [tuple(a) for a in audits] == [("shop", 1, None, "7", None)]
    downgrade(revision="0053")


def test_a_case_may_be_surveyed_again_and_the_downgrade_keeps_the_latest(empty_app) -> None:  # type: ignore[no-untyped-def]
    """0056: ``case_surveys.case_id`` is no longer unique (a buyer who said not solved is
    asked again once the case was worked again); the downgrade, back to one survey per
    case, keeps each case's latest."""
    upgrade(revision="0055")
    now = "2026-12-05 10:00:00"
    survey = (
        "INSERT INTO case_surveys (id, case_id, shop_id, state, out_id, created_at, resolved)"
        " VALUES (:id, 1, 1, 'sent', :out, :now, :resolved)"
    )
    with db.engine.begin() as conn:
        _one_shop(conn, now)
        _review(conn, 1, "差", now)
        conn.execute(
            sa.text(
                "INSERT INTO cases (id, shop_id, review_id, status, kind, priority,"
                " is_hidden_negative, opened_at, first_contact_due_at, revision_window_ends_at,"
                " attempt_count, updated_at, version) VALUES (1, 1, 1, 'unrecovered', 'bad', 2,"
                " false, :now, :now, :now, 0, :now, 1)"
            ),
            {"now": now},
        )
        conn.execute(sa.text(survey), {"id": 1, "out": "a", "now": now, "resolved": "no"})
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:  # one per case
        conn.execute(sa.text(survey), {"id": 2, "out": "b", "now": now, "resolved": "yes"})
    upgrade()
    with db.engine.begin() as conn:
        conn.execute(sa.text(survey), {"id": 2, "out": "b", "now": now, "resolved": "yes"})
    downgrade(revision="0055")
    with db.engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT id, resolved FROM case_surveys")).all()
    assert [tuple(k) for k in kept] == [(2, "yes")]
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(sa.text(survey), {"id": 3, "out": "c", "now": now, "resolved": "no"})
