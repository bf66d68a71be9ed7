"""Lists people work through (queues, files, audit trail, users): one way to search, sort,
count and page them. The view reads the request once (`read_args`), hands its query to
`paginate`, and the template renders the result with the macros of `_listing.html` (search
field, sortable column headers, counts, numbered DSFR pagination).

Query parameters, the same on every list: `q` (text searched, case-insensitive, in the
columns the view names), `tri` (a sort key the view declares), `sens` (`asc`/`desc`), `page`.
An unknown sort key or direction falls back to the view's default (a link typed by hand is no
error); a `page` that is not a number answers 400 (`portal.inputs.int_arg`); a page past the
end shows the last one. No row cap: the count is exact and every row can be reached.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import request, url_for
from sqlalchemy import func, or_, select

from .extensions import db
from .inputs import int_arg

MAX_QUERY_LENGTH = 100


@dataclass(frozen=True)
class SortKey:
    label: str
    columns: tuple  # SQL expressions, most significant first
    default_direction: str = "asc"


@dataclass
class ListArgs:
    q: str
    sort: str
    direction: str
    page: int


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int
    args: ListArgs
    sorts: dict[str, SortKey] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.per_page)

    def numbers(self, around: int = 2) -> list[int | None]:
        """Page numbers to show: the first, the last and `around` on each side of the current
        page; None where numbers are left out (an ellipsis)."""
        shown = {1, self.pages, *range(self.page - around, self.page + around + 1)}
        result: list[int | None] = []
        for n in sorted(x for x in shown if 1 <= x <= self.pages):
            if result and result[-1] is not None and n - result[-1] > 1:
                result.append(None)
            result.append(n)
        return result

    def url(self, **changes) -> str:
        """This list's address with `changes` to its parameters (others kept: the filters)."""
        args = request.args.to_dict()
        args.update({k: v for k, v in changes.items() if v is not None})
        for k, v in changes.items():
            if v is None:
                args.pop(k, None)
        if args.get("page") in ("1", 1):
            args.pop("page")
        return url_for(request.endpoint, **(request.view_args or {}), **args)

    def sort_url(self, key: str) -> str:
        """Sorting by `key`: its default direction first, then the other one."""
        if self.args.sort == key:
            direction = "asc" if self.args.direction == "desc" else "desc"
        else:
            direction = self.sorts[key].default_direction
        return self.url(tri=key, sens=direction, page=None)

    def aria_sort(self, key: str) -> str:
        if self.args.sort != key:
            return "none"
        return "ascending" if self.args.direction == "asc" else "descending"


def page_of(items: list, total: int, page: int, per_page: int) -> Page:
    """A page cut elsewhere (a query of its own), for the same count and pagination macros."""
    pages = max(1, -(-total // per_page))
    return Page(items=list(items), total=total, page=min(page, pages), per_page=per_page,
                args=ListArgs(q="", sort="", direction="asc", page=page))


def read_args(sorts: dict[str, SortKey], default: str) -> ListArgs:
    q = " ".join((request.args.get("q") or "").split())[:MAX_QUERY_LENGTH]
    sort = request.args.get("tri") if request.args.get("tri") in sorts else default
    direction = request.args.get("sens")
    if direction not in ("asc", "desc"):
        direction = sorts[sort].default_direction
    return ListArgs(q=q, sort=sort, direction=direction, page=int_arg("page", 1, maximum=1_000_000))


def like_pattern(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(query, text: str, columns):
    """Rows where every word of `text` is in one of `columns` (case-insensitive)."""
    for word in text.split():
        pattern = like_pattern(word.lower())
        query = query.where(or_(*(func.lower(c).like(pattern, escape="\\") for c in columns)))
    return query


def paginate(query, args: ListArgs, sorts: dict[str, SortKey], *, search_columns=(),
             per_page: int = 25, tiebreak=()) -> Page:
    """Search, count, sort and cut `query` (a select of one entity) for the page asked."""
    if args.q and search_columns:
        query = search(query, args.q, search_columns)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(args.page, pages)
    order = [c.desc().nulls_last() if args.direction == "desc" else c.asc().nulls_last()
             for c in sorts[args.sort].columns]
    query = query.order_by(None).order_by(*order, *tiebreak)
    items = db.session.scalars(query.offset((page - 1) * per_page).limit(per_page)).unique().all()
    return Page(items=list(items), total=total, page=page, per_page=per_page, args=args, sorts=sorts)
