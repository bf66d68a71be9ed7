"""How the records of a file are cut into batches: the configured size, the last batch the
envelope announces read by quarters, blocks of records (`formats.RecordColumns`) split where a
batch ends, and blocks expanded into one item per record when a batch must be looked at
record by record."""
from __future__ import annotations

from typing import Iterator

from flask import current_app

DEFAULT_BATCH = 5_000


def batch_size() -> int:
    return int(current_app.config.get("EDI_BATCH_SIZE") or DEFAULT_BATCH)


class Takes:
    """Exactly `n` records at a time from the stream of record dicts and blocks of records
    (`formats.RecordColumns`): a block that straddles two batches is split."""

    def __init__(self, records: Iterator):
        self.records, self.rest = records, None

    def take(self, n: int) -> tuple[list, int]:
        pieces, count = [], 0
        while count < n:
            piece = self.rest if self.rest is not None else next(self.records, None)
            self.rest = None
            if piece is None:
                break
            if type(piece) is not dict:
                if count + len(piece) > n:
                    piece, self.rest = piece.split(n - count)
                count += len(piece)
            else:
                count += 1
            pieces.append(piece)
        return pieces, count


def expand(rang: int, block) -> list[tuple[int, dict, list]]:
    """The items of a block of plausible records, one per record (no anomaly)."""
    return [(r, record, []) for r, record in enumerate(block.records(), rang)]


def one_per_record(items: list[tuple], expanded: dict | None = None) -> list[tuple]:
    """`items` with each block replaced by its records' items (`expanded`: those already made,
    by the block's first rank)."""
    expanded = expanded or {}
    return [e for item in items for e in ((item,) if type(item[1]) is dict
                                          else expanded.get(item[0]) or expand(item[0], item[1]))]


def tail_batch_size(size: int, read: int, announced: int | None) -> int:
    """Records to read for the next batch: `size`, except for the last `size` records that the
    envelope announces, read by quarters. The applier thread then ends the file a quarter of a
    batch after the reading does, instead of a whole batch (≈ 0.2 s of PostgreSQL per 5,000
    LOYERS). A wrong count only changes the batching: the file is refused for it anyway."""
    if announced is None or announced - read > size:
        return size
    return max(size // 4, 1)
