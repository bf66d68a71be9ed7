"""Print the packages whose installed version differs from the lock (`make upgrade-check`)."""
import re
import subprocess
import sys


def versions(text: str) -> dict[str, str]:
    return {re.sub(r"[-_.]+", "-", name).lower(): version
            for name, version in re.findall(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", text, re.M)}


with open(sys.argv[1]) as lock:
    locked = versions(lock.read())
installed = versions(subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
                                    capture_output=True, text=True, check=True).stdout)
changes = [f"  {name} {locked[name]} -> {installed[name]}" for name in sorted(locked)
           if name in installed and installed[name] != locked[name]]
print(f"Versions différentes du verrou ({sys.argv[1]}) :")
print("\n".join(changes) or "  aucune")
