"""Recommendations over the database: build and keep each shop's model, rank products for a
case's buyer, record what was suggested and mentioned on a call, and count conversions.

The ranking itself is ``tracker.domain.recommend``; this module only feeds it rows. Builds
run in the scheduler (nightly, or when an admin asks); web workers load the stored model.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, defer, joinedload, selectinload

from tracker.domain import case_flow
from tracker.domain import recommend as rec
from tracker.domain.wording import variant_of
from tracker.models import (
    Case,
    CaseSuggestion,
    ContactAttempt,
    Order,
    OrderLine,
    Product,
    RecommenderModel,
    Shop,
)
from tracker.models.enums import Reason, SuggestionKind
from tracker.services.errors import FieldError
from tracker.services.transaction import transaction

CONVERSION_DAYS = 30
LATE_ORDERS_DAYS = 30  # orders imported late still count if paid inside the window
MAX_SUGGESTIONS = 20


@dataclass(frozen=True)
class Shown:
    """One line of the list an agent sees on a call."""

    product_id: int
    rank: int
    kind: SuggestionKind
    reason: str


@dataclass(frozen=True)
class ShownProduct:
    shown: Shown
    product: Product


# -- building --------------------------------------------------------------------------------
def _purchases(session: Session, shop_id: int, before: datetime) -> Iterator[rec.Purchase]:
    rows = session.execute(
        sa.select(Order.buyer_id, OrderLine.product_id, Order.paid_at)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            OrderLine.shop_id == shop_id,
            OrderLine.product_id.is_not(None),
            Order.paid_at < before,
        )
        .execution_options(yield_per=20_000)
    )
    for buyer_id, product_id, paid_at in rows:
        yield rec.Purchase(str(buyer_id), str(product_id), paid_at)


def build_model(session: Session, shop: Shop, *, now: datetime) -> RecommenderModel:
    """Build from every order line before ``now`` and replace the stored model."""
    with transaction(session):
        started = time.perf_counter()
        lines = 0

        def counted() -> Iterator[rec.Purchase]:
            nonlocal lines
            for purchase in _purchases(session, shop.id, now):
                lines += 1
                yield purchase

        model = rec.build(counted(), now=now)
        stored = session.scalar(
            sa.select(RecommenderModel).where(RecommenderModel.shop_id == shop.id)
        )
        if stored is None:
            stored = RecommenderModel(shop_id=shop.id)
            session.add(stored)
        stored.build_id = uuid.uuid4().hex
        stored.built_at = now
        stored.order_lines = lines
        stored.products = len(model.products())
        stored.data = model.to_dict()
        stored.build_seconds = round(time.perf_counter() - started, 2)
        shop.recommender_requested_at = None
        return stored


def request_build(session: Session, shop: Shop, *, now: datetime) -> None:
    """An admin's "rebuild now": the scheduler picks it up within a minute."""
    with transaction(session):
        shop.recommender_requested_at = now


def requested_shops(session: Session) -> list[Shop]:
    return list(
        session.scalars(
            sa.select(Shop)
            .where(Shop.recommender_requested_at.is_not(None))
            .order_by(Shop.recommender_requested_at)
        )
    )


def model_status(session: Session, shop_id: int) -> RecommenderModel | None:
    """The stored model's figures, without loading its (large) data."""
    return session.scalar(
        sa.select(RecommenderModel)
        .where(RecommenderModel.shop_id == shop_id)
        .options(defer(RecommenderModel.data))
    )


def set_suggestions_per_call(session: Session, shop: Shop, count: int) -> None:
    with transaction(session):
        if not 1 <= count <= MAX_SUGGESTIONS:
            raise FieldError("suggestions_per_call", f"应在 1 到 {MAX_SUGGESTIONS} 之间。")
        shop.suggestions_per_call = count


# -- loading (cached per process, refreshed when a newer build is stored) --------------------
_cache: dict[int, tuple[str, rec.Model]] = {}


def load_model(session: Session, shop_id: int) -> rec.Model | None:
    build_id = session.scalar(
        sa.select(RecommenderModel.build_id).where(RecommenderModel.shop_id == shop_id)
    )
    if build_id is None:
        _cache.pop(shop_id, None)
        return None
    cached = _cache.get(shop_id)
    if cached is None or cached[0] != build_id:
        data = session.scalar(
            sa.select(RecommenderModel.data).where(RecommenderModel.shop_id == shop_id)
        )
        cached = _cache[shop_id] = (build_id, rec.Model.from_dict(data))
    return cached[1]


# -- ranking for one case --------------------------------------------------------------------
def family_of(sku: str | None) -> str | None:
    """Close variants share the seller's code up to its last dash (FR-ORANGE-05 → FR-ORANGE)."""
    if sku and "-" in sku:
        return sku.rsplit("-", 1)[0]
    return None


# A product edit reaches the ranking within this many seconds. Reading and converting a
# shop's few hundred product rows was the case page's largest cost; the products finally
# shown are read fresh, so one made inactive meanwhile is never suggested.
CATALOGUE_SECONDS = 60
_catalogues: dict[int, tuple[float, dict[str, rec.ProductInfo]]] = {}


def forget_cached() -> None:
    """Drop this process's models and catalogues (tests: each starts from its own data)."""
    _cache.clear()
    _catalogues.clear()


def shop_catalogue(session: Session, shop_id: int) -> dict[str, rec.ProductInfo]:
    """Every product of the shop as ranking reads it, kept per process for
    :data:`CATALOGUE_SECONDS`."""
    cached = _catalogues.get(shop_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    rows = session.execute(
        sa.select(
            Product.id,
            Product.title,
            Product.category,
            Product.is_active,
            Product.is_consumable,
            Product.repurchase_days,
            Product.launched_at,
            Product.sku,
            Product.price,
        ).where(Product.shop_id == shop_id)
    )
    catalogue = {
        str(r.id): rec.ProductInfo(
            title=r.title,
            category=r.category,
            is_active=r.is_active,
            is_consumable=r.is_consumable,
            repurchase_days=r.repurchase_days,
            launched_at=r.launched_at,
            family=family_of(r.sku),
            price=float(r.price),
        )
        for r in rows
    }
    _catalogues[shop_id] = (time.monotonic() + CATALOGUE_SECONDS, catalogue)
    return catalogue


def buyer_history(session: Session, buyer_id: int, *, now: datetime) -> list[rec.Purchase]:
    rows = session.execute(
        sa.select(OrderLine.product_id, Order.paid_at, OrderLine.unit_price)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.buyer_id == buyer_id,
            OrderLine.product_id.is_not(None),
            Order.paid_at < now,
        )
    )
    return [
        rec.Purchase(str(buyer_id), str(product_id), paid_at, float(price))
        for product_id, paid_at, price in rows
    ]


def suggestions_for(
    session: Session, case: Case, *, now: datetime, k: int | None = None
) -> list[ShownProduct]:
    """What to suggest on this case's call. Never the product complained about; for a
    quality complaint, none of its variants either; for a 尺码不合 one, its size is not
    taken for the buyer's. The same for the buyer's other open cases: one call settles
    them all (一次联系一并处理), so it does not offer what they complain of elsewhere.
    Without a built model the list still holds what the catalogue alone knows (new
    arrivals in the buyer's categories)."""
    shop = session.get(Shop, case.shop_id)
    assert shop is not None
    model = load_model(session, case.shop_id) or rec.Model(built_at=now)
    history = buyer_history(session, case.buyer_id, now=now) if case.buyer_id else []
    exclude: list[str] = []
    families: list[str] = []
    wrong_size: list[str] = []
    for complained in [case, *_other_open_cases(session, case)]:
        if complained.product_id is None:
            continue
        exclude.append(str(complained.product_id))
        product = complained.product
        family = family_of(product.sku) if product else None
        reasons = {r.reason for r in complained.reasons}
        if family and Reason.QUALITY in reasons:
            families.append(family)
        if Reason.SIZE_FIT in reasons:  # the size they bought is the one that did not fit
            wrong_size.append(str(complained.product_id))
    ranked = rec.recommend(
        replace(model, catalogue=shop_catalogue(session, case.shop_id)),
        history,
        now=now,
        k=k or shop.suggestions_per_call,
        exclude=exclude,
        exclude_families=families,
        wrong_size=wrong_size,
    )
    shown = {int(s.product) for s in ranked}
    products = {
        p.id: p
        for p in session.scalars(
            sa.select(Product).where(Product.id.in_(shown), Product.is_active.is_(True))
        )
    }
    return [
        ShownProduct(
            Shown(int(s.product), rank, SuggestionKind(s.kind), s.reason),
            products[int(s.product)],
        )
        for rank, s in enumerate(ranked, start=1)
        if int(s.product) in products  # deleted or made inactive since: skipped
    ]


def _other_open_cases(session: Session, case: Case) -> list[Case]:
    """The buyer's other open cases in the shop, with what they are about."""
    if case.buyer_id is None:
        return []
    return list(
        session.scalars(
            sa.select(Case)
            .where(
                Case.shop_id == case.shop_id,
                Case.buyer_id == case.buyer_id,
                Case.id != case.id,
                Case.status.in_(case_flow.OPEN),
            )
            .options(joinedload(Case.product), selectinload(Case.reasons))
        )
    )


# -- what happened on the call ---------------------------------------------------------------
def record_call(
    session: Session,
    case: Case,
    attempt: ContactAttempt,
    shown: Sequence[Shown],
    mentioned: set[int],
) -> None:
    """Keep what the agent saw on this call and ticked as mentioned. A product already
    recorded on this case keeps its first call; a first mention is added to it."""
    if not mentioned <= {s.product_id for s in shown}:
        raise FieldError("mentioned", "只能勾选本次显示的推荐商品。")
    known = {
        s.product_id: s
        for s in session.scalars(sa.select(CaseSuggestion).where(CaseSuggestion.case_id == case.id))
    }
    valid = set(
        session.scalars(
            sa.select(Product.id).where(
                Product.shop_id == case.shop_id, Product.id.in_([s.product_id for s in shown])
            )
        )
    )
    for line in shown:
        if line.product_id not in valid:
            continue
        row = known.get(line.product_id)
        if row is None:
            row = CaseSuggestion(
                case_id=case.id,
                product_id=line.product_id,
                rank=line.rank,
                kind=line.kind,
                reason=line.reason[:200],
                attempt_id=attempt.id,
                suggested_at=attempt.attempted_at,
            )
            session.add(row)
        if line.product_id in mentioned and row.mentioned_at is None:
            row.mentioned_at = attempt.attempted_at
            row.mentioned_attempt_id = attempt.id


def case_suggestions(session: Session, case_id: int) -> list[CaseSuggestion]:
    return list(
        session.scalars(
            sa.select(CaseSuggestion)
            .where(CaseSuggestion.case_id == case_id)
            .options(joinedload(CaseSuggestion.product))
            .order_by(CaseSuggestion.suggested_at, CaseSuggestion.rank)
        )
    )


def bought_instead(session: Session, rows: Sequence[CaseSuggestion]) -> dict[int, str]:
    """For each converted suggestion whose order holds another size or colour of it, not
    the product itself, what sets the one the buyer chose apart (39 白色), by suggestion id:
    the log then says what was bought, not only that the suggestion counted."""
    converted = [r for r in rows if r.converted_order_id is not None]
    if not converted:
        return {}
    lines: dict[int, list[tuple[int, str, str | None]]] = defaultdict(list)
    for order_id, product_id, title, sku in session.execute(
        sa.select(OrderLine.order_id, OrderLine.product_id, OrderLine.title, Product.sku)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id.in_({r.converted_order_id for r in converted}))
        .order_by(OrderLine.id)
    ):
        lines[order_id].append((product_id, title, sku))
    chosen = {}
    for row in converted:
        bought = lines[row.converted_order_id]  # type: ignore[index]
        if any(product_id == row.product_id for product_id, _, _ in bought):
            continue
        key = _family_key(row.product_id, row.product.sku)
        title = next((t for p, t, sku in bought if _family_key(p, sku) == key), None)
        if title:
            chosen[row.id] = variant_of(title, row.product.title)
    return chosen


def _family_key(product_id: int, sku: str | None) -> str:
    """What a suggestion and an order line are compared by: the product's family (its
    seller code up to the last dash), else the product itself. The list shows one size or
    colour of a product; the buyer orders theirs."""
    family = family_of(sku)
    return f"family:{family}" if family else f"product:{product_id}"


def record_conversions(session: Session, *, now: datetime, shop_id: int | None = None) -> int:
    """Mark suggestions the buyer ordered within 30 days after the call (the mentioning call
    if there was one): the product suggested, or another size or colour of it (its family,
    :func:`family_of`), since the list shows one of them. Each suggestion converts at most
    once, on its first such order, and each family of an order converts at most one
    suggestion: when a buyer with several cases heard of it on more than one call, the last
    call before the order is credited (the others stay open for a later order), so the
    reports never count one sale twice."""
    with transaction(session):
        since = now - timedelta(days=CONVERSION_DAYS + LATE_ORDERS_DAYS)
        suggested, bought = aliased(Product), aliased(Product)
        query = (
            sa.select(
                CaseSuggestion,
                Order.id,
                Order.paid_at,
                OrderLine.product_id,
                bought.sku,
                suggested.sku,
            )
            .join(Case, Case.id == CaseSuggestion.case_id)
            .join(suggested, suggested.id == CaseSuggestion.product_id)
            .join(Order, Order.buyer_id == Case.buyer_id)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(bought, bought.id == OrderLine.product_id)
            .where(
                CaseSuggestion.converted_at.is_(None),
                CaseSuggestion.suggested_at >= since,
                Order.paid_at > CaseSuggestion.suggested_at,
                Order.paid_at <= now,
            )
            .order_by(Order.paid_at, Order.id)
        )
        if shop_id is not None:
            query = query.where(Case.shop_id == shop_id)
        # Candidates per (order, family), orders in the order they were paid. The buyer's
        # order lines are read and compared here: a family is not a column.
        candidates: dict[tuple[int, str], dict[int, CaseSuggestion]] = {}
        paid: dict[int, datetime] = {}
        for suggestion, order_id, paid_at, line_product, line_sku, sku in session.execute(query):
            key = _family_key(suggestion.product_id, sku)
            if key != _family_key(line_product, line_sku):
                continue
            candidates.setdefault((order_id, key), {})[suggestion.id] = suggestion
            paid[order_id] = paid_at
        # Orders' families already credited by an earlier run: any candidate order was paid
        # after ``since``, and so was the conversion that credited it.
        credited = {
            (order_id, _family_key(product_id, sku))
            for order_id, product_id, sku in session.execute(
                sa.select(CaseSuggestion.converted_order_id, CaseSuggestion.product_id, Product.sku)
                .join(Product, Product.id == CaseSuggestion.product_id)
                .where(CaseSuggestion.converted_at > since)
            )
        }
        converted = 0
        for (order_id, key), suggestions in candidates.items():
            if (order_id, key) in credited:
                continue
            paid_at = paid[order_id]
            eligible = [
                s
                for s in suggestions.values()
                if s.converted_at is None
                and s.counted_from < paid_at <= s.counted_from + timedelta(days=CONVERSION_DAYS)
            ]
            if not eligible:
                continue
            last = max(eligible, key=lambda s: (s.counted_from, s.id))
            last.converted_at, last.converted_order_id = paid_at, order_id
            credited.add((order_id, key))
            converted += 1
        return converted
