"""Chart specifications (plain data, no Flask): what Chart.js draws and what the text
alternative table shows. Every chart carries its own table (same figures) and a summary.
Domains build them in their own ``dashboard.py`` and hand them over in a ``Section``."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from portal.formatting import date_longue, entier, euros

# Default period of the day-by-day charts ("30 derniers jours").
WINDOW_DAYS = 30

# DSFR colours (bleu France, then illustrative colours of the design system).
PALETTE = ["#000091", "#009081", "#E4794A", "#E1000F", "#C8AA39", "#A558A0", "#465F9D", "#B7A73F"]


@dataclass
class Dataset:
    label: str
    data: list[float]
    kind: str | None = None        # "line" on a bar chart
    axis: str = "y"                # "y" or "y2" (right axis, e.g. a rate)
    color: str | None = None


@dataclass
class Chart:
    id: str
    title: str
    kind: str                      # "bar" or "line"
    labels: list[str]
    datasets: list[Dataset]
    unit: str = ""                 # "€", "%", "" (counts)
    unit2: str = ""                # unit of the right axis
    stacked: bool = False
    summary: str = ""
    label_header: str = ""         # header of the first column of the table
    empty_message: str = "Aucune donnée pour la période."
    notes: list[str] = field(default_factory=list)
    # A choice the person makes for this chart (a GET parameter of the page): {"name", "label",
    # "value", "options"}; the panel shows it as a small form above the chart.
    choice: dict | None = None

    @property
    def empty(self) -> bool:
        return not self.labels or not any(any(v for v in d.data) for d in self.datasets)

    def spec(self) -> dict:
        """JSON handed to the static script."""
        return {
            "type": self.kind, "labels": self.labels, "unit": self.unit, "unit2": self.unit2,
            "stacked": self.stacked,
            "datasets": [{"label": d.label, "data": d.data, "type": d.kind, "yAxisID": d.axis,
                          "color": color}
                         for d, color in zip(self.datasets, self.colors())],
        }

    def colors(self) -> list[str]:
        """One distinct colour per series: a series' own colour unless another series of the
        chart already has it, else the first palette colour no series uses."""
        wanted = [d.color.upper() if d.color else None for d in self.datasets]
        used: set[str] = set()
        out = []
        for i, color in enumerate(wanted):
            if color is None or color in used:
                taken = used | {c for c in wanted[i + 1:] if c}
                color = next((c for c in PALETTE if c not in taken), PALETTE[i % len(PALETTE)])
            used.add(color)
            out.append(color)
        return out

    def table(self) -> dict:
        """The same figures as a table: one row per label, one column per dataset."""
        def fmt(value, unit):
            if value is None:
                return "—"
            if unit == "€":
                return euros(value)
            if unit == "%":
                return f"{value:.1f} %".replace(".", ",")
            return entier(value)
        headers = [self.label_header] + [d.label for d in self.datasets]
        rows = [[label] + [fmt(d.data[i], self.unit2 if d.axis == "y2" else self.unit)
                           for d in self.datasets]
                for i, label in enumerate(self.labels)]
        return {"headers": headers, "rows": rows}


@dataclass
class Section:
    """What a domain's chart builder returns for one section of a board: its charts and, if
    the section shows more than charts (a table of codes, of alerts), the template including it
    (it reads ``section.context``; ``p.panel_id`` names the board)."""
    charts: list[Chart]
    template: str | None = None
    context: dict = field(default_factory=dict)


def days(since: date, until: date) -> list[date]:
    return [since + timedelta(days=n) for n in range((until - since).days + 1)]


def day_label(day: date) -> str:
    """« 12 décembre 2025 »: a day as people write it (axes and data tables), never « 2025-12 »."""
    return date_longue(day)


def pivot(rows: list[dict], key: str, series: str, value: str, keys: list, series_order: list) -> dict:
    """{series: [value for each key]} from rows of (key, series, value); missing -> 0."""
    table = {s: {k: 0 for k in keys} for s in series_order}
    for row in rows:
        if row[series] in table and row[key] in table[row[series]]:
            table[row[series]][row[key]] += row[value]
    return {s: [table[s][k] for k in keys] for s in series_order}
