"""One way in for every domain: what a domain brings to the shell, declared in one object.

A domain's ``register(app)`` builds one :class:`Domain` and hands it to :func:`contribute`;
the shell keeps the merged :class:`Contributions` at ``app.extensions["portal.registry"]`` and
reads them for its navigation, home page (next actions, panels), dashboards, beat schedule, demo data, command line,
services (contracts, habilitations, API scopes) with their profiles, label tables, migrations
and token checks. The shell never looks a domain up by name and never branches on one.

A contribution that contradicts another (a service, profile or beat entry declared twice) or
names nothing (a navigation entry without its route, charts on an unknown board) stops the
start-up with a :class:`RegistryError`: nothing a domain declares vanishes silently.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app

KEY = "portal.registry"


class RegistryError(RuntimeError):
    """A domain's declaration contradicts another one or names nothing (start-up fails)."""


@dataclass(frozen=True)
class Nav:
    """A navigation entry, shown to a user only when the endpoint's access declaration lets
    them in (``portal.access``) and ``shown_to(user)``, when given, is true; entries are sorted
    by ``order``."""
    label: str
    endpoint: str
    order: int = 50
    shown_to: Callable[[Any], bool] | None = None


@dataclass(frozen=True)
class Service:
    """A service the Caf contracts with an organisation. Its code names the contract, the
    habilitation and the API scope. ``profils``: the habilitation options of the service
    (code -> French label, in display order): a contract lists those the organisation may
    use, a habilitation or an API token of the service picks one; none: no option.
    ``mfa``: every user habilitated for the service signs in with a second factor.
    ``token_check(organisation)``: a French reason to refuse a new token of this scope, or None.
    ``token_state(token_id)``: a scalar SQL expression (given the ``api_tokens.id`` column) read
    with the token, in the same statement, on every API call of this scope; the view finds its
    value at ``g.api_token.scope_state`` (CDAP: the end of the token's suspension).
    """
    code: str
    label: str
    profils: Mapping[str, str] = field(default_factory=dict)
    mfa: bool = False
    token_check: Callable[[Any], str | None] | None = None
    token_state: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Board:
    """A dashboard of the home page: shown when ``shown_to(user)`` and one of its sections has
    something for the user. Boards are sorted by ``order``."""
    id: str
    title: str
    shown_to: Callable[[Any], bool]
    order: int = 50


@dataclass(frozen=True)
class Charts:
    """A section of charts on a board: ``build(user, today)`` returns a
    ``portal.dashboards.Section`` (or None: nothing for this user). Sorted by ``order``."""
    board: str
    id: str
    title: str
    build: Callable[[Any, Any], Any]
    order: int = 50


@dataclass(frozen=True)
class DemoAccess:
    """A service's demo contracts and habilitations on the shell's demo organisations and users:
    ``contrats`` {organisation name: profils}, ``habilitations`` {email: profil or None}."""
    service: str
    contrats: Mapping[str, Sequence[str]] = field(default_factory=dict)
    habilitations: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class NotificationKind:
    """A kind of notification a domain publishes (``portal.notifications.publish``): its code,
    the French label of the preferences page, the channel used until the user picks one
    (``immediat``, ``quotidien`` or ``portail``, see ``portal.notifications.CHANNELS``) and who
    may receive it (``audience(user)``: the kind is offered on the user's preferences page)."""
    code: str
    label: str
    default_channel: str = "immediat"
    audience: Callable[[Any], bool] = lambda user: True
    order: int = 50


@dataclass(frozen=True)
class Domain:
    """Everything a domain brings to the shell.

    - ``services``: contracts / habilitations / API scopes it serves, with their profiles.
    - ``configure(app)``: validates and derives the domain's settings, installs its own hooks.
    - ``migrations``: its Alembic versions directory (one branch per domain).
    - ``blueprints``, ``cli`` (click commands or groups), ``nav``, ``home_panels``
      (``fn(user) -> (template, context) | None``), ``boards`` and ``charts`` (dashboards),
      ``beat`` (Celery beat entries by name), ``demo_access`` and ``seed`` (demo data steps,
      ``fn() -> objects created``), ``labels`` (named tables of French labels the shell shows,
      e.g. ``{"audit_categories": {"afas": "AFAS"}}``), ``notifications`` (the kinds of
      notification it publishes, ``NotificationKind``), ``next_actions`` (``fn(user) ->
      (template, context) | None``: what the user should do next, first on the home page).
    """
    name: str
    services: Sequence[Service] = ()
    configure: Callable[[Flask], None] | None = None
    migrations: Path | str | None = None
    blueprints: Sequence[Blueprint] = ()
    cli: Sequence[Any] = ()
    nav: Sequence[Nav] = ()
    home_panels: Sequence[Callable] = ()
    boards: Sequence[Board] = ()
    charts: Sequence[Charts] = ()
    beat: Mapping[str, dict] = field(default_factory=dict)
    demo_access: Sequence[DemoAccess] = ()
    seed: Sequence[Callable[[], int]] = ()
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    notifications: Sequence[NotificationKind] = ()
    next_actions: Sequence[Callable] = ()


class Contributions:
    """The merged declarations of the shell and the domains, in registration order."""

    def __init__(self) -> None:
        self.domains: list[str] = []
        self.services: dict[str, Service] = {}
        self.migration_dirs: list[str] = []
        self.nav: list[Nav] = []
        self.home_panels: list[Callable] = []
        self.boards: dict[str, Board] = {}
        self.charts: list[Charts] = []
        self.beat: dict[str, dict] = {}
        self.demo_access: list[DemoAccess] = []
        self.seed: list[Callable[[], int]] = []
        self.labels: dict[str, dict[str, str]] = {}
        self.notification_kinds: dict[str, NotificationKind] = {}
        self.next_actions: list[Callable] = []

    # --- recording -------------------------------------------------------------------------

    def add(self, domain: Domain) -> None:
        if domain.name in self.domains:
            raise RegistryError(f"domaine déclaré deux fois : {domain.name}")
        profils = {p: s.code for s in self.services.values() for p in s.profils}
        for service in domain.services:
            if service.code in self.services:
                raise RegistryError(f"service déclaré deux fois : {service.code} ({domain.name})")
            for profil in service.profils:
                if profil in profils:
                    raise RegistryError(f"profil {profil} déclaré par {profils[profil]} et {service.code}")
                profils[profil] = service.code
            self.services[service.code] = service
        for board in domain.boards:
            if board.id in self.boards:
                raise RegistryError(f"tableau de bord déclaré deux fois : {board.id} ({domain.name})")
            self.boards[board.id] = board
        for name in domain.beat:
            if name in self.beat:
                raise RegistryError(f"tâche périodique déclarée deux fois : {name} ({domain.name})")
        for kind in domain.notifications:
            if kind.code in self.notification_kinds:
                raise RegistryError(f"notification déclarée deux fois : {kind.code} ({domain.name})")
            if kind.default_channel not in ("immediat", "quotidien", "portail"):
                raise RegistryError(f"notification {kind.code} : canal inconnu {kind.default_channel}")
        for table, labels in domain.labels.items():
            merged = self.labels.setdefault(table, {})
            for code, label in labels.items():
                if merged.get(code, label) != label:
                    raise RegistryError(f"libellé {table}[{code}] déclaré deux fois ({domain.name})")
                merged[code] = label
        self.domains.append(domain.name)
        if domain.migrations is not None:
            self.migration_dirs.append(str(domain.migrations))
        self.nav.extend(domain.nav)
        self.home_panels.extend(domain.home_panels)
        self.charts.extend(domain.charts)
        self.beat.update(domain.beat)
        self.demo_access.extend(domain.demo_access)
        self.seed.extend(domain.seed)
        self.notification_kinds.update({k.code: k for k in domain.notifications})
        self.next_actions.extend(domain.next_actions)

    def check(self, app: Flask) -> None:
        """After every domain registered: what the declarations name exists."""
        for entry in self.nav:
            if entry.endpoint not in app.view_functions:
                raise RegistryError(f"entrée de navigation « {entry.label} » : route inconnue {entry.endpoint}")
        for charts in self.charts:
            if charts.board not in self.boards:
                raise RegistryError(f"graphiques {charts.id} : tableau de bord inconnu {charts.board}")
        for access in self.demo_access:
            service = self.services.get(access.service)
            if service is None:
                raise RegistryError(f"données de démonstration : service inconnu {access.service}")
            wanted = {p for ps in access.contrats.values() for p in ps}
            wanted |= {p for p in access.habilitations.values() if p}
            if wanted - set(service.profils):
                raise RegistryError(f"données de démonstration {service.code} : profils inconnus "
                                    f"{sorted(wanted - set(service.profils))}")

    # --- reading ---------------------------------------------------------------------------

    def service(self, code: str) -> Service | None:
        return self.services.get(code)

    def profils(self, code: str) -> Mapping[str, str]:
        """The service's habilitation profiles (empty for an unknown service or one without)."""
        service = self.services.get(code)
        return service.profils if service else {}

    def all_profils(self) -> dict[str, str]:
        """Every profile of every service (codes are unique across services)."""
        return {p: label for s in self.services.values() for p, label in s.profils.items()}

    def profiled_services(self) -> list[str]:
        return [s.code for s in self.services.values() if s.profils]

    def label(self, table: str, code: str) -> str:
        """The French label of ``code`` in the named table, or the code itself."""
        return self.labels.get(table, {}).get(code, code)


def init_app(app: Flask) -> Contributions:
    contributions = app.extensions[KEY] = Contributions()
    app.add_template_global(lambda table, code: contributions.label(table, code), "libelle")

    def audit_details(details):
        from .labels import audit_details as build
        return build(details, contributions.label)
    app.add_template_global(audit_details, "audit_details")

    def audit_target(target):
        from .labels import audit_target as build
        return build(target, contributions.label)
    app.add_template_global(audit_target, "audit_target")
    # A habilitation profile code (``quotient_familial``) as people read it.
    app.add_template_global(lambda code: contributions.all_profils().get(code, code) if code else "—",
                            "profil_libelle")
    return contributions


def of(app: Flask) -> Contributions:
    return app.extensions[KEY]


def current() -> Contributions:
    """The running app's contributions (request, CLI or job context)."""
    return current_app.extensions[KEY]


def contribute(app: Flask, domain: Domain) -> None:
    """Record ``domain`` and apply what must reach the app at start-up: its settings, its
    blueprints and its commands. The rest is read from the registry when needed."""
    of(app).add(domain)
    if domain.configure is not None:
        domain.configure(app)
    for blueprint in domain.blueprints:
        app.register_blueprint(blueprint)
    for command in domain.cli:
        app.cli.add_command(command)
