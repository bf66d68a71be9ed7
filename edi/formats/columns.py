"""Records read column by column: a run of records with the same elements, read from the
parser's tree with one XPath call per chunk (`read_columns`), and the converters of the values
(positional reading of a record with every element of its sequence)."""
from __future__ import annotations

from collections.abc import Callable
from itertools import repeat
from operator import attrgetter

from lxml import etree

from .flows import RECORD_FIELDS

def _strip_then(fn: Callable[[str], object]) -> Callable[[str], object]:
    return lambda value: fn(value.strip())


def positional(conv: tuple[str, Callable[[str], object]] | None):
    """(key, converter) of the positional fast path, each converter taking the raw text: one
    call per value where the generic path makes two (strip, then convert). `int` accepts the
    surrounding whitespace that the XSD collapses; strings and dates are stripped first."""
    if conv is None:
        return None
    key, fn = conv
    if fn is str:
        return key, str.strip
    if fn is int:
        return key, int
    return key, _strip_then(fn)


def _column(conv: tuple[str, Callable[[str], object]]):
    """(key, converter of a column of raw texts): the positional converter mapped in C."""
    key, fn = conv
    if fn is str:
        return key, lambda texts: map(str.strip, texts)
    if fn is int:
        return key, lambda texts: map(int, texts)
    return key, lambda texts: map(fn, map(str.strip, texts))


# The first text of every child of the first $n elements under a node: one call into libxml2
# for a whole chunk of records, plain str, no Python proxy per child (a third of the cost of
# reading them one child at a time, callgrind).
_CHILD_TEXTS = etree.XPath("*[position() <= $n]/*/text()[1]", smart_strings=False)
_SOURCELINE = attrgetter("sourceline")


class RecordColumns:
    """A run of consecutive records with the same elements, column by column: `keys` (those of
    the record dicts, "identifiant" first) and one list of values per key (None for a field the
    records leave out). What a bulk consumer reads without building a dict per record;
    `records()` gives the dicts."""

    __slots__ = ("keys", "values")

    def __init__(self, keys: tuple[str, ...], values: list[list]):
        self.keys, self.values = keys, values

    def __len__(self) -> int:
        return len(self.values[0])

    def column(self, key: str) -> list:
        return self.values[self.keys.index(key)]

    def records(self) -> list[dict]:
        return list(map(dict, map(zip, repeat(self.keys), zip(*self.values))))

    def split(self, n: int) -> tuple["RecordColumns", "RecordColumns"]:
        """The first `n` records, and the rest."""
        return (RecordColumns(self.keys, [v[:n] for v in self.values]),
                RecordColumns(self.keys, [v[n:] for v in self.values]))


class _Layout:
    """How to read, column by column, a chunk of records that all have the same elements: their
    number (`size`), the converter of each column after the identifier, the record keys (those
    read, "ligne", then those left out), and (when an optional element is left out) one count
    per element that proves every record of the chunk has it."""

    def __init__(self, size: int, keys: tuple[str, ...], converters: list, counters: list):
        self.size, self.keys, self.converters, self.counters = size, keys, converters, counters


class Layouts:
    """The layouts met in a file, by the tags of a chunk's first record: the whole XSD sequence,
    or the sequence less some optional elements (a landlord without agencies never sends
    CodeAgence). The schema bounds them (at most one per subset of the optional elements)."""

    def __init__(self, flow: str, ns: str, sequence: tuple[str, ...]):
        self.flow, self.ns, self.sequence = flow, ns, sequence
        self.names = {f"{{{ns}}}{name}": name for name in sequence}
        self.cache: dict[tuple, _Layout | None] = {}

    def of(self, record) -> _Layout | None:
        tags = tuple(child.tag for child in record)
        if tags not in self.cache:
            self.cache[tags] = self._make(tags)
        return self.cache[tags]

    def _make(self, tags: tuple) -> _Layout | None:
        names = [self.names.get(tag) for tag in tags]
        if not names or names[0] != "Identifiant" or None in names:
            return None
        fields = RECORD_FIELDS[self.flow]
        if any(name not in fields for name in names[1:]):
            return None
        counters = [] if len(names) == len(self.sequence) else [
            etree.XPath(f"count(*[position() <= $n]/e:{name})", namespaces={"e": self.ns}) for name in names[1:]]
        read = ["identifiant"] + [fields[name][0] for name in names[1:]] + ["ligne"]
        left_out = [key for key, _conv in fields.values() if key not in read]
        return _Layout(len(names), tuple(read + left_out), [_column(fields[name]) for name in names[1:]],
                       counters)


def read_columns(batch: list, layout: _Layout | None) -> RecordColumns | None:
    """The records of `batch` (consecutive validated records under the root, those before it
    released), when they all have the elements of `layout`; else None, and the caller reads them
    one by one (and reports a faulty one with its line)."""
    if layout is None:
        return None
    n, size = len(batch), layout.size
    if list(map(len, batch)).count(size) != n:
        return None
    parent = batch[0].getparent()
    if parent is None or parent[n - 1] is not batch[-1]:  # not a run of siblings
        return None
    # Same number of elements as the first record, and each of its elements in every record:
    # the same elements everywhere (the schema allows each at most once, in its order).
    for counter in layout.counters:
        if counter(parent, n=n) != n:
            return None
    texts = _CHILD_TEXTS(parent, n=n)
    if len(texts) != n * size:  # an empty element (no text node) somewhere
        return None
    try:
        values = [texts[0::size]] + [list(conv(texts[i::size])) for i, (_key, conv) in enumerate(layout.converters, 1)]
    except (TypeError, ValueError):
        return None
    values.append(list(map(_SOURCELINE, batch)))
    values += [[None] * n for _key in layout.keys[len(values):]]  # the fields left out
    return RecordColumns(layout.keys, values)
