"""One rule for transactions (CONTRIBUTING.md, « Transactions ») : a service flushes, its caller
(view, API handler, task, CLI) commits. A `.commit()` in a `services.py` module is allowed only
as one of the named exceptions below; and state changes live in `services.py`, never
`service.py`."""
from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("portal", "afas", "cdap", "edi")

# (module, function) -> number of commits it may make, each with a comment saying why.
ALLOWED_COMMITS = {
    # The refused attempt stays in the audit trail although the action fails.
    ("portal/accounts/services.py", "authenticate"): 3,  # and the failure count / lock
    ("portal/accounts/services.py", "change_password"): 1,
    ("portal/admin/services.py", "grant_habilitation"): 1,
    ("portal/admin/services.py", "create_api_token"): 1,
    # The single-use reset link is burnt by a conditional UPDATE in a transaction of its own.
    ("portal/accounts/services.py", "reset_password"): 1,
    # Queuing the job is the whole action; its message leaves after the outermost commit.
    ("portal/admin/services.py", "start_audit_chain_verification"): 1,
}


def _services_modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("services.py"))


def _commits(path: Path) -> Counter:
    found: Counter = Counter()

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                    and child.func.attr == "commit"):
                found[(path.relative_to(ROOT).as_posix(), function)] += 1
            visit(child, name)

    visit(ast.parse(path.read_text(encoding="utf-8")), "<module>")
    return found


def test_services_flush_and_only_the_named_exceptions_commit():
    modules = _services_modules()
    assert {"portal/admin/services.py", "portal/accounts/services.py", "edi/services.py",
            "afas/services.py", "cdap/services.py"} <= {p.relative_to(ROOT).as_posix() for p in modules}
    found: Counter = Counter()
    for path in modules:
        found.update(_commits(path))
    unexpected = {key: n for key, n in found.items() if n > ALLOWED_COMMITS.get(key, 0)}
    assert not unexpected, (
        f"commit() in a service: {unexpected}. A service flushes, its caller commits "
        "(CONTRIBUTING.md, « Transactions ») ; a genuine exception is named in ALLOWED_COMMITS.")
    stale = {key: n for key, n in ALLOWED_COMMITS.items() if found.get(key, 0) != n}
    assert not stale, f"named exceptions that no longer commit as listed: {stale}"


def test_state_changes_live_in_services_py_never_service_py():
    singular = [p.relative_to(ROOT).as_posix() for pkg in PACKAGES
                for p in (ROOT / pkg).rglob("service.py")]
    assert singular == []


def test_the_guard_sees_a_commit(tmp_path, monkeypatch):
    module = tmp_path / "portal" / "x" / "services.py"
    module.parent.mkdir(parents=True)
    module.write_text("def act():\n    def inner():\n        db.session.commit()\n    inner()\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _commits(module) == Counter({("portal/x/services.py", "inner"): 1})
