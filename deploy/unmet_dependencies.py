"""Which of a new commit's dependencies this Python environment (.venv) lacks. Used by deploy/update.sh, which
installs them before switching the code, and runs pip only when something is missing: a Pi in a room without
internet updates fine when no new dependency came, and an install that missed one (updated by `git pull`
alone) gets it now.

    .venv/bin/python deploy/unmet_dependencies.py CURRENT_PYPROJECT NEW_PYPROJECT

Prints the new commit's requirements in use here, one a line: "unmet<TAB>requirement" or "met<TAB>requirement".
In use: the dependencies, and each optional extra (postgres, gunicorn, test…) whose packages, as the current
pyproject names them, are all installed here — so a PostgreSQL install keeps its driver up to date and a Pi
never gets the test tools.
"""

from __future__ import annotations

import sys
import tomllib
from importlib import metadata

try:
    from packaging.requirements import Requirement
except ImportError:   # not installed on its own in a bare venv; pip carries a copy, and every venv has pip
    from pip._vendor.packaging.requirements import Requirement


def requirements(pyproject: str) -> tuple[list[str], dict[str, list[str]]]:
    with open(pyproject, "rb") as f:
        project = tomllib.load(f).get("project", {})
    return project.get("dependencies", []), project.get("optional-dependencies", {})


def installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def is_met(text: str) -> bool:
    requirement = Requirement(text)
    if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
        return True   # not for this platform or Python
    version = installed_version(requirement.name)
    if version is None or not requirement.specifier.contains(version, prereleases=True):
        return False
    # psycopg[binary] needs psycopg-binary too: what the package itself requires for the extras asked of it.
    for extra in requirement.extras:
        for needed in map(Requirement, metadata.requires(requirement.name) or []):
            if needed.marker and needed.marker.evaluate({"extra": extra}) and not is_met(
                    f"{needed.name}{needed.specifier}"):
                return False
    return True


def in_use(current_extra: list[str]) -> bool:
    return all(installed_version(Requirement(text).name) for text in current_extra)


def main(current_pyproject: str, new_pyproject: str) -> None:
    _, current_extras = requirements(current_pyproject)
    dependencies, new_extras = requirements(new_pyproject)
    wanted = list(dependencies)
    for extra, texts in new_extras.items():
        if extra in current_extras and in_use(current_extras[extra]):
            wanted += texts
    for text in dict.fromkeys(wanted):
        print(f"{'met' if is_met(text) else 'unmet'}\t{text}")


if __name__ == "__main__":
    main(*sys.argv[1:])
