"""Print a hash-pinned requirements file for every wheel in a folder.

    python scripts/offline/requirements_from_wheels.py WHEELHOUSE > requirements.txt

Each line is ``name==version --hash=sha256:...``, so ``pip install --require-hashes
--no-index --find-links WHEELHOUSE -r requirements.txt`` installs exactly these files.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path


def requirement_line(wheel: Path) -> str:
    """Return the pinned, hashed requirement for one wheel file."""
    # Wheel names are {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl.
    name, version = wheel.name.split("-")[:2]
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    return f"{name}=={version} --hash=sha256:{digest}"


def main(folder: str) -> None:
    """Print the requirement of every wheel in ``folder``, sorted by name."""
    for wheel in sorted(Path(folder).glob("*.whl"), key=lambda p: p.name.lower()):
        print(requirement_line(wheel))


if __name__ == "__main__":
    main(sys.argv[1])
