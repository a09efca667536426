"""What to suggest to a buyer on a follow-up call, and why. Pure: no database, no Flask.

One ranking serves both lists the agent needs. A buyer's own staples are the strongest
single signal (recency-weighted, boosted when a consumable is due again); products bought
by the same customers (co-occurrence) and what many different buyers bought in the last
week (recent bestsellers) add what the buyer has not bought yet; new arrivals in the
buyer's categories get a nudge. Measured with ``bench/recommend_eval.py``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tracker.domain.sizes import Size, fits, size_of

RECENCY_DAYS = 90.0  # weight exp(-age / 90 days): halves about every two months
BESTSELLER_DAYS = 7
NEW_ARRIVAL_DAYS = 30
NEIGHBOURS = 30
POPULAR_KEPT = 200  # only the head of the bestseller list can reach anyone's top k
RECENT_ITEMS = 30
W_COOCCURRENCE = 0.1
W_POPULAR = 1.0
W_NEW = 0.3
DUE_BOOST = 1.5
PRICE_CEILING = 2.0  # a product dearer than twice the most the buyer ever paid per unit...
PRICE_PENALTY = 0.5  # ...is worth half as much: it is outside the buyer's price range
# A bestseller in none of the categories the buyer buys is worth this much of one that
# fits (a fruit buyer's call is no place for nappies); products without a category fit.
# Such a product, when selling is all there is to say of it, is listed after every one
# that fits, however well it sells.
OFF_CATEGORY = 0.5


@dataclass(frozen=True)
class Purchase:
    customer: str
    product: str
    at: datetime
    unit_price: float | None = None


@dataclass(frozen=True)
class ProductInfo:
    """What the catalogue knows; products missing from it count as active consumables."""

    title: str = ""
    category: str = ""
    is_active: bool = True
    is_consumable: bool = True
    repurchase_days: int | None = None
    launched_at: datetime | None = None
    family: str | None = None  # close variants share one (e.g. the SKU's prefix)
    price: float | None = None


# A product in the running: (bestseller outside the buyer's categories, -score, product,
# kind, reason), so that sorting ranks them.
_Candidate = tuple[bool, float, str, str, str]


@dataclass(frozen=True)
class Suggestion:
    product: str
    score: float
    kind: str  # staple_due, staple, together, new_arrival, bestseller
    reason: str


@dataclass
class Model:
    built_at: datetime
    neighbours: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    popular: dict[str, float] = field(default_factory=dict)  # 0..1, distinct recent buyers
    catalogue: dict[str, ProductInfo] = field(default_factory=dict)

    def info(self, product: str) -> ProductInfo:
        return self.catalogue.get(product) or ProductInfo()

    def products(self) -> set[str]:
        """Every product the model knows."""
        found = set(self.popular)
        for source, near in self.neighbours.items():
            found.add(source)
            found.update(product for product, _ in near)
        return found

    def to_dict(self) -> dict[str, object]:
        """The learned part, for storage as JSON; the catalogue is read at query time
        so a product delisted after the build is never suggested."""
        return {
            "built_at": self.built_at.isoformat(),
            "neighbours": {
                p: [[q, round(v, 4)] for q, v in near] for p, near in self.neighbours.items()
            },
            "popular": {p: round(v, 4) for p, v in self.popular.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        return cls(
            built_at=datetime.fromisoformat(data["built_at"]),
            neighbours={
                p: [(q, float(v)) for q, v in near] for p, near in data["neighbours"].items()
            },
            popular={p: float(v) for p, v in data["popular"].items()},
        )


def build(
    purchases: Iterable[Purchase], *, now: datetime, catalogue: dict[str, ProductInfo] | None = None
) -> Model:
    """Item neighbours (cosine over the sets of customers who bought each product) and
    recent popularity. Sparse matrix products keep a million order lines well under a
    minute. numpy/scipy are imported here: web workers only rank, they never build."""
    import numpy as np
    from scipy import sparse

    customers: dict[str, int] = {}
    products: dict[str, int] = {}
    pairs: set[tuple[int, int]] = set()
    recent: dict[str, set[str]] = defaultdict(set)
    since = now - timedelta(days=BESTSELLER_DAYS)
    for p in purchases:
        if p.at >= now:
            continue
        c = customers.setdefault(p.customer, len(customers))
        i = products.setdefault(p.product, len(products))
        pairs.add((c, i))
        if p.at >= since:
            recent[p.product].add(p.customer)
    model = Model(built_at=now, catalogue=dict(catalogue or {}))
    if not pairs:
        return model
    rows, cols = zip(*pairs, strict=True)
    matrix = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(customers), len(products))
    )
    counts = np.asarray(matrix.sum(axis=0)).ravel()
    co = (matrix.T @ matrix).tocsr()
    names = list(products)
    norms = np.sqrt(counts)
    for i in range(co.shape[0]):
        start, end = co.indptr[i], co.indptr[i + 1]
        js, values = co.indices[start:end], co.data[start:end]
        keep = js != i
        js, values = js[keep], values[keep] / (norms[i] * norms[js[keep]])
        if len(js) > NEIGHBOURS:
            top = np.argpartition(-values, NEIGHBOURS)[:NEIGHBOURS]
            js, values = js[top], values[top]
        order = np.argsort(-values)
        model.neighbours[names[i]] = [
            (names[j], float(v)) for j, v in zip(js[order], values[order], strict=True)
        ]
    if recent:
        most = max(len(v) for v in recent.values())
        head = sorted(recent, key=lambda p: (-len(recent[p]), p))[:POPULAR_KEPT]
        model.popular = {p: len(recent[p]) / most for p in head}
    return model


def recommend(
    model: Model,
    history: Sequence[Purchase],
    *,
    now: datetime,
    k: int = 5,
    exclude: Iterable[str] = (),
    exclude_families: Iterable[str] = (),
    only_new: bool = False,
    wrong_size: Iterable[str] = (),
) -> list[Suggestion]:
    """The top ``k`` products for one buyer with the reason an agent can say out loud.

    ``exclude``: never suggest these (the product the case is about). ``exclude_families``:
    nor their close variants (for quality complaints). ``only_new``: leave out everything
    the buyer bought before. Inactive products and durable products the buyer already owns
    (in any size or colour) are never suggested, and each product family at most once:
    in the size the buyer bought in its category when the family has it (:mod:`sizes`),
    leaving out the sizes of ``wrong_size`` (what a 尺码不合 complaint is about).
    Bestsellers outside the buyer's categories come after everything that fits.
    """
    owned: dict[str, list[datetime]] = defaultdict(list)
    for p in history:
        if p.at < now:
            owned[p.product].append(p.at)
    scores: dict[str, float] = defaultdict(float)
    parts: dict[str, dict[str, tuple[float, str]]] = defaultdict(dict)

    def add(product: str, kind: str, value: float, reason: str) -> None:
        scores[product] += value
        best = parts[product].get(kind)
        if best is None or value > best[0]:
            parts[product][kind] = (value, reason)

    for product, times in owned.items():
        info = model.info(product)
        value = sum(math.exp(-(now - t).days / RECENCY_DAYS) for t in times)
        last = max(times)
        if info.repurchase_days and (now - last).days >= 0.8 * info.repurchase_days:
            add(product, "staple_due", value * DUE_BOOST, f"您常买的{_name(info, product)}该补货了")
        else:
            add(product, "staple", value, f"您买过的{_name(info, product)}")
    recent = sorted(owned, key=lambda p: max(owned[p]), reverse=True)[:RECENT_ITEMS]
    for source in recent:
        source_name = _name(model.info(source), source)
        for product, similarity in model.neighbours.get(source, []):
            add(
                product, "together", W_COOCCURRENCE * similarity, f"买过{source_name}的顾客常一起买"
            )
    categories = {model.info(p).category for p in owned} - {""}
    for product, share in model.popular.items():
        category = model.info(product).category
        fit = 1.0 if not categories or not category or category in categories else OFF_CATEGORY
        reason = f"本店近 {BESTSELLER_DAYS} 天热销"
        if category in categories:
            reason += f"，与您买过的{category}同类"
        add(product, "bestseller", W_POPULAR * share * fit, reason)
    for product, info in model.catalogue.items():
        if (
            info.launched_at is not None
            and info.category in categories
            and now - timedelta(days=NEW_ARRIVAL_DAYS) <= info.launched_at <= now
        ):
            add(product, "new_arrival", W_NEW, f"新品 · 与您买过的{info.category}同类")
    paid = [p.unit_price for p in history if p.unit_price]
    ceiling = PRICE_CEILING * max(paid) if paid else None
    if ceiling is not None:
        for product in scores:
            price = model.info(product).price
            if product not in owned and price is not None and price > ceiling:
                scores[product] *= PRICE_PENALTY
    banned, families = set(exclude), set(exclude_families)
    # Another size or colour of a durable the buyer owns is the same product to them.
    families |= {
        info.family for info in map(model.info, owned) if info.family and not info.is_consumable
    }
    candidates: list[_Candidate] = []
    for product, score in scores.items():
        info = model.info(product)
        if product in banned or not info.is_active or (info.family and info.family in families):
            continue
        if product in owned and (only_new or not info.is_consumable):
            continue
        kind, (_, reason) = max(parts[product].items(), key=lambda kv: kv[1][0])
        # What the agent would say of it is only "it sells": said after everything that
        # fits the buyer, however well it sells (wipes are no news to a hoodie buyer).
        misfit = (
            kind == "bestseller"
            and bool(categories)
            and bool(info.category)
            and info.category not in categories
        )
        candidates.append((misfit, -score, product, kind, reason))
    ordered = sorted(candidates)
    did_not_fit = set(wrong_size)
    worn = _sizes_worn(model, {p: t for p, t in owned.items() if p not in did_not_fit})
    listings = _family_listings(model, ordered, banned | set(owned)) if worn else {}
    ranked: list[Suggestion] = []
    listed: set[str] = set()
    for candidate in ordered:
        family = model.info(candidate[2]).family
        if family in listed:
            continue  # one size or colour of a product is enough to bring it up on a call
        if family:
            listed.add(family)
            sized = _in_their_size(model, candidate, listings.get(family, {}), worn)
            if sized is None:
                continue  # none in their size: a 38 is no news to a buyer who wears 41
            candidate = sized
        _, negative, product, kind, reason = candidate
        ranked.append(Suggestion(product, -negative, kind, reason))
        if len(ranked) == k:
            break
    return ranked


def _sizes_worn(model: Model, owned: dict[str, list[datetime]]) -> dict[str, list[Size]]:
    """The sizes the buyer bought in each category, the latest bought first."""
    worn: dict[str, list[Size]] = defaultdict(list)
    for product in sorted(owned, key=lambda p: max(owned[p]), reverse=True):
        info = model.info(product)
        size = size_of(info.title)
        if size is not None and info.category and size not in worn[info.category]:
            worn[info.category].append(size)
    return worn


def _family_listings(
    model: Model, ordered: list[_Candidate], left_out: set[str]
) -> dict[str, dict[str, _Candidate | None]]:
    """Each family's listings that may be suggested: its ranked candidates best first, then
    the active ones nothing put in the running (a size nobody bought this week sells as its
    family does); None for those."""
    found: dict[str, dict[str, _Candidate | None]] = defaultdict(dict)
    for candidate in ordered:
        if family := model.info(candidate[2]).family:
            found[family][candidate[2]] = candidate
    unranked: dict[str, list[str]] = defaultdict(list)
    for product, info in model.catalogue.items() if found else ():
        if info.family in found and info.is_active and product not in left_out:
            unranked[info.family].append(product)
    for family, products in unranked.items():
        for product in sorted(products):  # the same listing each time
            found[family].setdefault(product, None)
    return found


def _in_their_size(
    model: Model,
    best: _Candidate,
    listings: dict[str, _Candidate | None],
    worn: dict[str, list[Size]],
) -> _Candidate | None:
    """In a family's place (``best``, its best-ranked listing), the listing in a size the
    buyer bought in its category, the latest such size first: a ranked one with its own
    reason, else another size of ``best`` said as it is. None when the family comes in
    sizes of a kind the buyer bought (shoe sizes, a phone) but not in theirs: on the demo a
    buyer of 41 running shoes heard of 帆布鞋 38 and 马丁靴 39, families that stop at 40.
    ``best`` when no size of the buyer's kind is known, and for the buyer's own staple
    (what they buy is what they are reminded of)."""
    _, _, product, kind, _ = best
    if kind in ("staple", "staple_due"):
        return best
    sizes = worn.get(model.info(product).category, ())
    offered = [(size_of(model.info(listing).title), listing) for listing in listings if sizes]
    for size in sizes:  # each listing's title read once, however many sizes the buyer has
        for listing_size, listing in offered:
            if listing_size is not None and fits(size, listing_size):
                return listings[listing] or (best[0], best[1], listing, best[3], best[4])
    systems = {size.system for size in sizes}
    if any(s is not None and s.system in systems for s, _ in offered):
        return None
    return best


def _name(info: ProductInfo, product: str) -> str:
    return info.title or product
