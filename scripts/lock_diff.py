"""Print the packages whose installed version differs from the lock (`make upgrade-check`).

The lock is universal (`uv pip compile --universal`): a package may appear once per Python
version or platform, under an environment marker. Only the entries whose marker holds for the
running interpreter are compared.
"""
import re
import subprocess
import sys

from packaging.markers import Marker

_ENTRY = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)(?:\s*;\s*([^\\\n]+?))?\s*\\?$", re.M)


def versions(text: str, environment: dict | None = None) -> dict[str, str]:
    """{normalised name: version} of a lock or of `pip freeze`, for `environment` (marker
    variables; default: the running interpreter's)."""
    found = {}
    for name, version, marker in _ENTRY.findall(text):
        if marker and not Marker(marker).evaluate(environment):
            continue
        found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def main(lock_path: str) -> None:
    with open(lock_path) as lock:
        locked = versions(lock.read())
    freeze = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
                            capture_output=True, text=True, check=True).stdout
    installed = versions(freeze)
    changes = [f"  {name} {locked[name]} -> {installed[name]}" for name in sorted(locked)
               if name in installed and installed[name] != locked[name]]
    print(f"Versions différentes du verrou ({lock_path}) :")
    print("\n".join(changes) or "  aucune")


if __name__ == "__main__":
    main(sys.argv[1])
