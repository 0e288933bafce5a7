"""`make update` (deploy/update.sh), run for real against git repositories made here: a bare "origin" and a
clone of it acting as the install, with stand-ins that log their calls for systemctl, sudo, pip and the
install's own `.venv/bin/p2p`. Whatever would stop an update must stop it before anything changes; once the
code has moved, a failed step puts it back and starts the service again. Edits made here stop an update only
when it would overwrite them, and a host's own copy of a programme file gets the shipped file's changes."""

from __future__ import annotations

import os
import re
import site
import subprocess
import venv
from pathlib import Path

import pytest

from p2p.config import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "deploy" / "update.sh"
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
                "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.invalid"}

# The install's Makefile, as each version ships it: saying which Makefile ran, and when it would run pip.
MAKEFILE = """\
.venv/.installed: pyproject.toml | makefile-version
\t@echo "make: pip install -e . (Makefile {version})" >> "$$LOG"
\t@touch $@
makefile-version:
\t@echo "make: Makefile {version}" >> "$$LOG"
\t@[ -z "$$MAKE_FAILS" ] || {{ echo "pip: no network" >&2; exit 1; }}
.PHONY: makefile-version
"""


def pyproject(*dependencies: str, version: str = "1") -> str:
    listed = ", ".join(f'"{d}"' for d in dependencies)
    return f'[project]\nname = "synthetic"\nversion = "{version}"\ndependencies = [{listed}]\n'


# Installed in the test's own environment, so the install's .venv (which sees it) has it.
DEPENDENCY = "pytest>=7"

FAKES = {
    # Records each call; the unit's state lives in a file (absent: no such unit).
    "systemctl": r"""#!/bin/bash
echo "systemctl $*" >> "$LOG"
state=$(cat "$UNIT_STATE")
case $1 in
  is-enabled) [ "$state" != absent ] && [ "$UNIT_ENABLED" = yes ] ;;
  is-active) if [ "$state" = absent ]; then echo inactive; exit 3; fi; echo "$state"; [ "$state" = active ] ;;
  show) [ "$state" != absent ] && echo "${UNIT_ENVIRONMENT:-}" ;;
  stop) echo inactive > "$UNIT_STATE" ;;
  start) echo "${UNIT_STATE_AFTER_START:-active}" > "$UNIT_STATE" ;;
  reset-failed) ;;
esac
""",
    "sudo": '#!/bin/bash\necho "sudo $*" >> "$LOG"\nexec "$@"\n',
    # The install's owner is not root here (the suite may run as root): sudo is what stops the service.
    "id": '#!/bin/bash\nif [ "$1" = -u ]; then echo 1000; else exec /usr/bin/id "$@"; fi\n',
}

PIP = r"""#!/bin/bash
echo "pip $*" >> "$LOG"
for arg; do if [ -f "$arg" ]; then sed 's/^/  requirement: /' "$arg" >> "$LOG"; fi; done
exit "${PIP_EXIT:-0}"
"""

P2P = r"""#!/bin/bash
echo "p2p $* at $(cat version.txt) database=${P2P_DATABASE_URL:-sqlite}" >> "$LOG"
if [ "$1" = check-content ] && [ -n "${CHECK_CONTENT_FAILS:-}" ]; then
  echo "instance/content/p2p/10-mod.toml: sessions[0].blocks[0].prompt: is missing" >&2
  exit 1
fi
if [ "$1" = check-content ] && [ -n "${CHECK_CONTENT_REFUSES:-}" ] \
    && grep -rqs --include='*.toml' -- "$CHECK_CONTENT_REFUSES" instance/content; then
  echo "instance/content/p2p/10-mod.toml: sessions[0]: unknown key" >&2
  exit 1
fi
if [ "$1" = upgrade ]; then
  if [ -n "${UPGRADE_FAILS:-}" ]; then
    echo "The app is still running with the database open: stop it first." >&2
    exit 1
  fi
  echo "The database was at schema 3 and is now at 7. A backup from before: instance/backups/before-7.sqlite3"
fi
"""

# A programme file, long enough that an edit to its title and a new line in its session do not touch.
MODULE = """\
id = "mod"
order = 1
title = "A module"
status = "ready"

[[sessions]]
id = "session-1"
title = "Session 1"
"""
WITH_ACTIVITY = MODULE + 'activities = ["code-board"]\n'


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_IDENTITY})
    return done.stdout.strip()


def commit(work: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)
    git(work, "push", "-q", "origin", "HEAD:main")
    return git(work, "rev-parse", "HEAD")


class Install:
    """An install made at version 1 with `make run` (a .venv), and its origin, where version 2 can arrive."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.origin, self.work, self.path = tmp_path / "origin.git", tmp_path / "work", tmp_path / "install"
        git(tmp_path, "init", "-q", "--bare", "-b", "main", str(self.origin))
        git(tmp_path, "clone", "-q", str(self.origin), str(self.work))
        self.v1 = commit(self.work, {
            ".gitignore": "/instance/\n/.venv/\n", "version.txt": "v1\n", "Makefile": MAKEFILE.format(version="v1"),
            "pyproject.toml": pyproject(DEPENDENCY), "content/p2p/programme.toml": 'title = "T"\n',
            "content/p2p/10-mod.toml": MODULE, "deploy/p2p.service": "[Service]\nUser=pi\n",
        }, "Version 1")
        git(tmp_path, "clone", "-q", str(self.origin), str(self.path))
        self.make_venv()
        fakes = tmp_path / "fakes"
        fakes.mkdir()
        for name, text in FAKES.items():
            write_executable(fakes / name, text)
        self.log, self.unit_state = tmp_path / "calls.log", tmp_path / "unit-state"
        self.log.touch()
        self.unit_state.write_text("active\n")
        self.env = {**os.environ, "PATH": f"{fakes}:{os.environ['PATH']}", "LOG": str(self.log),
                    "UNIT_STATE": str(self.unit_state), "UNIT_ENABLED": "yes", "SETTLE_SECONDS": "0",
                    "HOME": str(tmp_path)}

    def make_venv(self):
        """A real (tiny) venv, so deploy/unmet_dependencies.py sees what is installed: this suite's packages."""
        venv.create(self.path / ".venv", with_pip=False, symlinks=True)
        site_packages = next((self.path / ".venv" / "lib").glob("python3*/site-packages"))
        (site_packages / "suite.pth").write_text("\n".join(site.getsitepackages()) + "\n")
        write_executable(self.path / ".venv" / "bin" / "pip", PIP)
        write_executable(self.path / ".venv" / "bin" / "p2p", P2P)
        (self.path / ".venv" / ".installed").touch()

    def release_v2(self, **files: str) -> str:
        self.v2 = commit(self.work, {"version.txt": "v2\n", "Makefile": MAKEFILE.format(version="v2"),
                                     "pyproject.toml": pyproject(DEPENDENCY, version="2"), **files}, "Version 2")
        return self.v2

    def update(self, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(SCRIPT)], cwd=self.path, env={**self.env, **env}, capture_output=True,
                              text=True, timeout=60)

    @property
    def head(self) -> str:
        return git(self.path, "rev-parse", "HEAD")

    @property
    def calls(self) -> list[str]:
        return self.log.read_text().splitlines()

    def called(self, prefix: str) -> int:
        """The position of the first call starting with prefix (ValueError if none)."""
        return next(i for i, call in enumerate(self.calls) if call.startswith(prefix))


def write_executable(path: Path, text: str):
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture
def install(tmp_path) -> Install:
    return Install(tmp_path)


def assert_changed_nothing(install: Install, result: subprocess.CompletedProcess, *words: str):
    assert result.returncode == 1, result.stdout + result.stderr
    assert "make update changed nothing" in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    assert install.head == install.v1 and (install.path / "version.txt").read_text() == "v1\n"
    assert not [c for c in install.calls if c.startswith(("sudo", "pip", "p2p", "make", "systemctl stop"))]


# ---------------------------------------------------------------------------------------------------------------
# An update that can happen.


def test_an_update_stops_moves_refreshes_upgrades_and_starts_in_that_order(install):
    install.release_v2()
    result = install.update()
    assert result.returncode == 0, result.stdout + result.stderr
    assert install.head == install.v2
    order = [install.called(c) for c in ("sudo systemctl stop p2p", "make: Makefile v2", "p2p check-content at v2",
                                         "p2p upgrade at v2", "sudo systemctl start p2p")]
    assert order == sorted(order)
    assert not [c for c in install.calls if c.startswith(("pip", "make: pip"))]   # no new dependency: no pip
    assert f"Peer 2 Peer is updated: {install.v1[:7]}" in result.stdout
    assert "dependencies: nothing new to install" in result.stdout
    assert "database:     The database was at schema 3 and is now at 7." in result.stdout
    assert "service:      p2p is running" in result.stdout


def test_new_dependencies_are_installed_before_anything_changes(install):
    install.release_v2(**{"pyproject.toml": pyproject(DEPENDENCY, "p2p-test-absent-package>=1", version="2")})
    result = install.update()
    assert result.returncode == 0, result.stdout + result.stderr
    assert install.called("pip install") < install.called("sudo systemctl stop p2p")
    assert "  requirement: p2p-test-absent-package>=1" in install.calls
    assert "make: pip install -e . (Makefile v2)" in install.calls   # the network is there: make refreshes it all
    assert "dependencies: installed p2p-test-absent-package>=1" in result.stdout


def test_no_network_to_pypi_changes_nothing(install):
    install.release_v2(**{"pyproject.toml": pyproject(DEPENDENCY, "p2p-test-absent-package>=1", version="2")})
    result = install.update(PIP_EXIT="1")
    assert result.returncode == 1 and "can reach PyPI" in result.stderr
    assert install.head == install.v1
    assert not [c for c in install.calls if c.startswith(("sudo", "p2p", "make"))]


@pytest.mark.parametrize("state, enabled", [("failed", "yes"), ("activating", "no")])
def test_a_failing_or_crash_looping_service_is_started_again(install, state, enabled):
    install.unit_state.write_text(state)
    install.release_v2()
    result = install.update(UNIT_ENABLED=enabled)
    assert result.returncode == 0, result.stdout + result.stderr
    assert install.called("sudo systemctl stop p2p") < install.called("sudo systemctl start p2p")


def test_without_a_service_nothing_is_stopped_or_started(install):
    install.unit_state.write_text("absent")
    install.release_v2()
    result = install.update()
    assert result.returncode == 0, result.stdout + result.stderr
    assert not [c for c in install.calls if c.startswith("sudo")]
    assert "no systemd service called p2p here" in result.stdout


def test_another_service_name_and_its_settings_are_used(install):
    install.release_v2()
    result = install.update(SERVICE="peer2peer", UNIT_ENVIRONMENT="P2P_DATABASE_URL=postgresql:///p2p P2P_HOST=x")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sudo systemctl stop peer2peer" in install.calls
    assert "p2p upgrade at v2 database=postgresql:///p2p" in install.calls


def test_a_service_that_does_not_stay_up_is_said_plainly(install):
    install.release_v2()
    result = install.update(UNIT_STATE_AFTER_START="activating")
    assert result.returncode == 1 and install.head == install.v2
    assert "p2p is NOT running: sudo journalctl -u p2p" in result.stdout


def test_after_a_plain_git_pull_make_update_finishes_the_update(install):
    install.release_v2(**{"pyproject.toml": pyproject(DEPENDENCY, "p2p-test-absent-package>=1", version="2")})
    one_time_pull(install)
    result = install.update()
    assert result.returncode == 0, result.stdout + result.stderr
    order = [install.called(c) for c in ("pip install", "sudo systemctl stop", "p2p upgrade at v2",
                                         "sudo systemctl start")]
    assert order == sorted(order)
    # From where the code ran before the pull (HEAD's reflog: make update had never finished here).
    assert f"Peer 2 Peer is updated: {install.v1[:7]} → {install.v2[:7]} (1 new commit)" in result.stdout
    assert "git pull had moved the code already" in result.stdout
    install.log.write_text("")
    again = install.update()
    assert again.returncode == 0 and "Nothing to do" in again.stdout
    assert not [c for c in install.calls if c.startswith(("sudo", "pip", "p2p", "make"))]


def one_time_pull(install: Install):
    """The one-time form for installs from before make update, up to its `make update`: read from docs/hosting.md,
    so that what it tells hosts is what is tested."""
    hosting = (PROJECT_ROOT / "docs" / "hosting.md").read_text()
    form = re.search(r"Update it once with\s+`([^`]+)`", hosting).group(1)
    *commands, last = form.split(" && ")
    assert last == "make update" and commands == ["git checkout main", "git pull --ff-only"]
    for command in commands:
        git(install.path, *command.split()[1:], "--quiet")


def test_after_a_git_pull_the_summary_says_from_where_make_update_last_finished(install):
    install.release_v2(**{"content/p2p/10-mod.toml": MODULE.replace("Session 1", "First session")})
    assert install.update().returncode == 0
    v3 = commit(install.work, {"version.txt": "v3\n"}, "Version 3")
    git(install.path, "pull", "-q", "--ff-only")
    v4 = commit(install.work, {"version.txt": "v4\n"}, "Version 4")
    result = install.update()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Peer 2 Peer is updated: {install.v2[:7]} → {v4[:7]} (2 new commits)" in result.stdout
    assert f"git pull had moved the code from {install.v2[:7]} to {v3[:7]}" in result.stdout


def test_code_moved_by_hand_is_named_by_the_command_that_moved_it(install):
    assert install.update().returncode == 0   # finished at v1
    install.release_v2()
    git(install.path, "fetch", "-q")
    git(install.path, "reset", "-q", "--hard", "origin/main")
    result = install.update()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Peer 2 Peer is updated: {install.v1[:7]} → {install.v2[:7]}" in result.stdout
    assert "(git reset had moved the code already" in result.stdout


def test_a_failed_step_after_git_pull_puts_the_code_back_where_the_app_ran_before_the_pull(install):
    install.release_v2()
    one_time_pull(install)
    result = install.update(UPGRADE_FAILS="1")
    assert result.returncode == 1 and install.head == install.v1   # the pulled code lacks what just failed
    assert install.called("p2p upgrade at v2") < install.called("sudo systemctl start p2p")
    assert (f"the code is back at {install.v1[:7]}, where the app ran before git pull moved it to "
            f"{install.v2[:7]}") in " ".join(result.stderr.split())
    again = install.update()
    assert again.returncode == 0 and install.head == install.v2
    assert f"Peer 2 Peer is updated: {install.v1[:7]} → {install.v2[:7]}" in again.stdout


def test_a_refusal_after_git_pull_says_the_code_has_moved_and_not_to_restart(install):
    install.release_v2(**{"pyproject.toml": pyproject(DEPENDENCY, "p2p-test-absent-package>=1", version="2")})
    one_time_pull(install)
    result = install.update(PIP_EXIT="1")
    assert result.returncode == 1 and "changed nothing" not in result.stderr
    assert "make update could not finish the update that git pull started: pip could not" in result.stderr
    assert f"git pull moved the code from {install.v1[:7]} to {install.v2[:7]}" in result.stderr
    assert "do not restart it" in result.stderr
    assert not [c for c in install.calls if c.startswith(("sudo", "p2p", "make"))]


@pytest.mark.parametrize("failing, step, words", [
    ("UPGRADE_FAILS", "p2p upgrade at v2", "The app is still running with the database open"),
    ("CHECK_CONTENT_FAILS", "p2p check-content at v2", "instance/content/p2p/10-mod.toml: sessions[0]"),
    ("MAKE_FAILS", "make: Makefile v2", "pip: no network"),
])
def test_a_failed_step_after_the_switch_puts_the_code_back_and_starts_the_service(install, failing, step, words):
    install.release_v2()
    (install.path / "instance" / "backups").mkdir(parents=True)
    (install.path / "instance" / "backups" / "p2p-20260301-daily.sqlite3").touch()
    result = install.update(**{failing: "1"})
    assert result.returncode == 1
    assert install.head == install.v1 and (install.path / "version.txt").read_text() == "v1\n"
    assert install.called(step) < install.called("sudo systemctl start p2p")
    assert words in result.stderr
    assert not (install.path / ".venv" / ".p2p-updated-to").exists()   # the next make update tries again
    assert f"the code is back at {install.v1[:7]}, where it was" in result.stderr
    assert "newest backup: instance/backups/p2p-20260301-daily.sqlite3" in result.stderr
    assert "service:       p2p is running" in result.stderr


# ---------------------------------------------------------------------------------------------------------------
# Edits made here to files the update does not change do not stop it; the summary names them.


@pytest.mark.parametrize("pulled_first", [False, True], ids=["make update", "the one-time form"])
def test_edits_to_files_the_update_leaves_alone_are_kept_and_named(install, pulled_first):
    install.release_v2(**{"pyproject.toml": pyproject(DEPENDENCY, "p2p-test-absent-package>=1", version="2")})
    edited = MODULE.replace("A module", "Our module")
    (install.path / "content" / "p2p" / "10-mod.toml").write_text(edited)
    (install.path / "deploy" / "p2p.service").write_text("[Service]\nUser=fran\n")
    if pulled_first:
        one_time_pull(install)   # git pull succeeds: v2 does not change those files
    result = install.update()
    assert result.returncode == 0, result.stdout + result.stderr
    assert install.head == install.v2 and "changed nothing" not in result.stdout + result.stderr
    order = [install.called(c) for c in ("pip install", "sudo systemctl stop", "p2p check-content at v2",
                                         "p2p upgrade at v2", "sudo systemctl start")]
    assert order == sorted(order)
    assert f"Peer 2 Peer is updated: {install.v1[:7]} → {install.v2[:7]}" in result.stdout
    assert (install.path / "content" / "p2p" / "10-mod.toml").read_text() == edited
    assert "Programme files edited here, in content/, are as you left them" in result.stdout
    assert "Other files of the app edited here" in result.stdout and "    deploy/p2p.service" in result.stdout
    commands = commands_in(result.stdout)
    assert commands == ["mkdir -p instance/content/p2p",
                        "cp content/p2p/10-mod.toml instance/content/p2p/10-mod.toml",
                        "git checkout HEAD -- content/p2p/10-mod.toml"]

    subprocess.run(["bash", "-ec", "\n".join(commands)], cwd=install.path, check=True)
    again = install.update()
    assert again.returncode == 0 and "Nothing to do" in again.stdout
    assert "Programme files edited here" not in again.stdout and "deploy/p2p.service" in again.stdout
    assert own_copy(install).read_text() == edited
    assert git(install.path, "status", "--porcelain", "--", "content") == ""


def test_a_failed_step_puts_the_code_back_and_keeps_edits_to_files_it_left_alone(install):
    install.release_v2()
    edited = MODULE.replace("A module", "Our module")
    (install.path / "content" / "p2p" / "10-mod.toml").write_text(edited)
    result = install.update(UPGRADE_FAILS="1")
    assert result.returncode == 1 and install.head == install.v1
    assert (install.path / "version.txt").read_text() == "v1\n"
    assert (install.path / "content" / "p2p" / "10-mod.toml").read_text() == edited


# ---------------------------------------------------------------------------------------------------------------
# The host's own copies in instance/content/ get the changes of the shipped files they are used in place of.


def keep_own_copy(install: Install, text: str, name: str = "10-mod.toml") -> Path:
    own_copy(install, name).parent.mkdir(parents=True, exist_ok=True)
    own_copy(install, name).write_text(text)
    own_copy(install, name).chmod(0o600)
    return own_copy(install, name)


def test_the_shipped_changes_are_brought_into_the_hosts_copy_keeping_the_hosts_edits(install):
    own = keep_own_copy(install, MODULE.replace("A module", "Our module"))
    install.release_v2(**{"content/p2p/10-mod.toml": WITH_ACTIVITY})
    result = install.update()
    assert result.returncode == 0, result.stdout + result.stderr
    assert own.read_text() == WITH_ACTIVITY.replace("A module", "Our module")
    assert own.stat().st_mode & 0o777 == 0o600
    kept = own.with_name(f"10-mod.toml.before-{install.v2[:7]}")
    assert kept.read_text() == MODULE.replace("A module", "Our module")
    assert install.called("p2p check-content at v2") < install.called("p2p upgrade at v2")
    assert "Your own programme files in instance/content/" in result.stdout
    assert "  instance/content/p2p/10-mod.toml:" in result.stdout
    assert "The new version's changes are in it now, and your edits are kept." in result.stdout
    assert f"git diff {install.v1[:7]} {install.v2[:7]} -- content/p2p/10-mod.toml" in result.stdout


def test_a_copy_whose_lines_the_update_changes_too_stays_as_it_was_and_is_named(install):
    ours = MODULE.replace('title = "Session 1"', 'title = "Our first session"')
    own = keep_own_copy(install, ours)
    install.release_v2(**{"content/p2p/10-mod.toml": MODULE.replace('title = "Session 1"', 'title = "Session one"')})
    result = install.update()
    assert result.returncode == 0, result.stdout + result.stderr
    assert own.read_text() == ours
    assert "NOT brought up to date: the new version changed lines you changed too" in result.stdout
    assert f"git diff {install.v1[:7]} {install.v2[:7]} -- content/p2p/10-mod.toml" in result.stdout
    marked = own.with_name(f"10-mod.toml.merge-{install.v2[:7]}")
    assert "<<<<<<< yours" in marked.read_text() and 'title = "Session one"' in marked.read_text()
    assert f"mv {marked.relative_to(install.path)} {own.relative_to(install.path)}" in result.stdout
    assert marked.stat().st_mode & 0o777 == 0o600


def test_a_copy_of_a_file_the_update_leaves_alone_is_not_mentioned(install):
    own = keep_own_copy(install, MODULE.replace("A module", "Our module"))
    install.release_v2()
    result = install.update()
    assert result.returncode == 0 and own.read_text() == MODULE.replace("A module", "Our module")
    assert "instance/content" not in result.stdout
    assert [p.name for p in own.parent.iterdir()] == ["10-mod.toml"]


def test_a_copy_that_would_not_be_valid_with_the_changes_is_used_as_it_was(install):
    own = keep_own_copy(install, MODULE.replace("A module", "Our module"))
    install.release_v2(**{"content/p2p/10-mod.toml": WITH_ACTIVITY})
    result = install.update(CHECK_CONTENT_REFUSES="activities")   # as if the merged copy broke a rule
    assert result.returncode == 0 and install.head == install.v2, result.stdout + result.stderr
    assert own.read_text() == MODULE.replace("A module", "Our module")
    assert not own.with_name(f"10-mod.toml.before-{install.v2[:7]}").exists()
    assert "NOT brought up to date: with the new version's changes added, the programme files" in result.stdout
    assert "instance/content/p2p/10-mod.toml: sessions[0]: unknown key" in result.stdout


def test_a_failed_step_after_the_switch_puts_the_hosts_copy_back(install):
    own = keep_own_copy(install, MODULE.replace("A module", "Our module"))
    install.release_v2(**{"content/p2p/10-mod.toml": WITH_ACTIVITY})
    result = install.update(UPGRADE_FAILS="1")
    assert result.returncode == 1 and install.head == install.v1
    assert own.read_text() == MODULE.replace("A module", "Our module")
    assert [p.name for p in own.parent.iterdir()] == ["10-mod.toml"]


def test_after_a_git_pull_the_copy_gets_the_changes_since_make_update_last_finished(install):
    own = keep_own_copy(install, MODULE.replace("A module", "Our module"))
    assert install.update().returncode == 0   # finished at v1
    install.release_v2(**{"content/p2p/10-mod.toml": WITH_ACTIVITY})
    git(install.path, "pull", "-q", "--ff-only")
    result = install.update()
    assert result.returncode == 0, result.stdout + result.stderr
    assert own.read_text() == WITH_ACTIVITY.replace("A module", "Our module")


@pytest.mark.parametrize("shipped_before, shipped_now, words", [
    (MODULE, None, "The new version no longer has content/p2p/10-mod.toml"),
    (None, MODULE, "The new version brings a file of the same name, content/p2p/20-new.toml"),
])
def test_a_copy_whose_shipped_file_comes_or_goes_is_named(install, shipped_before, shipped_now, words):
    name = "10-mod.toml" if shipped_before else "20-new.toml"
    own = keep_own_copy(install, MODULE.replace("A module", "Our module"), name)
    if shipped_now:
        install.release_v2(**{f"content/p2p/{name}": shipped_now})
    else:
        git(install.work, "rm", "-q", f"content/p2p/{name}")
        install.release_v2(**{"content/p2p/20-other.toml": MODULE})
    result = install.update()
    assert result.returncode == 0, result.stdout + result.stderr
    assert words in result.stdout and own.read_text() == MODULE.replace("A module", "Our module")


# ---------------------------------------------------------------------------------------------------------------
# An update that cannot happen changes nothing, and says why and what to do.


def test_edits_to_files_the_update_changes_are_refused_with_the_commands_that_move_them(install):
    install.release_v2(**{"content/p2p/10-mod.toml": WITH_ACTIVITY, "deploy/p2p.service": "[Service]\nUser=p2p\n"})
    edited = MODULE.replace("A module", "Our module")
    (install.path / "content" / "p2p" / "10-mod.toml").write_text(edited)
    (install.path / "deploy" / "p2p.service").write_text("[Service]\nUser=fran\n")
    (install.path / "content" / "p2p" / "programme.toml").write_text('title = "Ours"\n')   # v2 leaves it alone
    result = install.update()
    assert_changed_nothing(install, result, "content/p2p/10-mod.toml", "deploy/p2p.service", "instance/content/")
    assert "programme.toml" not in result.stderr   # it does not stand in the way
    assert (install.path / "content" / "p2p" / "10-mod.toml").read_text() == edited
    commands = commands_in(result.stderr)
    assert commands == ["mkdir -p instance/content/p2p",
                        "cp content/p2p/10-mod.toml instance/content/p2p/10-mod.toml",
                        "git checkout HEAD -- content/p2p/10-mod.toml",
                        "git checkout HEAD -- deploy/p2p.service"]

    subprocess.run(["bash", "-ec", "\n".join(commands)], cwd=install.path, check=True)
    result = install.update()
    assert result.returncode == 0 and install.head == install.v2, result.stdout + result.stderr
    # The copy is not frozen at the old version: the new one's change is in it, under the host's own edit.
    assert own_copy(install).read_text() == WITH_ACTIVITY.replace("A module", "Our module")
    assert (install.path / "content" / "p2p" / "programme.toml").read_text() == 'title = "Ours"\n'


def own_copy(install: Install, name: str = "10-mod.toml") -> Path:
    return install.path / "instance" / "content" / "p2p" / name


def commands_in(output: str) -> list[str]:
    return re.findall(r"^    ((?:mkdir|cp|mv|git|make) .*)$", output, re.M)


def test_programme_edits_committed_here_are_refused_with_the_commands_that_move_them(install):
    install.release_v2()
    edited = MODULE.replace("A module", "Our module")
    (install.path / "content" / "p2p" / "10-mod.toml").write_text(edited)
    git(install.path, "commit", "-q", "-am", "Our wording")
    install.v1 = install.head
    result = install.update()
    assert_changed_nothing(install, result)
    commands = commands_in(result.stderr)
    assert commands == ["git branch my-changes && git reset --hard origin/main",
                        "mkdir -p instance/content/p2p && git show my-changes:content/p2p/10-mod.toml > "
                        "instance/content/p2p/10-mod.toml",
                        "make update"]
    subprocess.run(["bash", "-ec", "\n".join(commands[:-1])], cwd=install.path, check=True,
                   env={**install.env, **GIT_IDENTITY})
    assert install.update().returncode == 0 and install.head == install.v2
    assert (install.path / "instance" / "content" / "p2p" / "10-mod.toml").read_text() == edited


def test_a_programme_file_kept_in_instance_already_is_never_overwritten_by_the_commands(install):
    install.release_v2(**{"content/p2p/10-mod.toml": WITH_ACTIVITY})
    (install.path / "content" / "p2p" / "10-mod.toml").write_text("edited in content")
    (install.path / "instance" / "content" / "p2p").mkdir(parents=True)
    (install.path / "instance" / "content" / "p2p" / "10-mod.toml").write_text("kept in instance")
    result = install.update()
    assert "cp content/p2p/10-mod.toml instance/content/p2p/10-mod.toml.edited-in-content" in result.stderr


def diverge(install):
    git(install.path, "commit", "-q", "--allow-empty", "-m", "A change of our own")
    install.v1 = install.head


def unreachable(install):
    git(install.path, "remote", "set-url", "origin", str(install.tmp / "nowhere.git"))


def no_upstream(install):
    git(install.path, "branch", "-q", "--unset-upstream")


def detached(install):
    git(install.path, "checkout", "-q", "--detach")


def own_file_where_v2_adds_one(install):
    install.release_v2(**{"content/p2p/20-new.toml": MODULE})
    (install.path / "content" / "p2p" / "20-new.toml").write_text("ours")


@pytest.mark.parametrize("make_it_so, words", [
    (diverge, ["commits of its own", "A change of our own", "git branch my-changes && git reset --hard origin/main"]),
    (unreachable, ["could not fetch", "Check the network"]),
    (no_upstream, ["no upstream branch", "git branch --set-upstream-to=origin/main main"]),
    (detached, ["not on a branch", "git checkout main && make update"]),
    (own_file_where_v2_adds_one, ["content/p2p/20-new.toml",
                                  "mkdir -p instance/content/p2p && mv content/p2p/20-new.toml"]),
])
def test_an_update_that_cannot_happen_changes_nothing(install, make_it_so, words):
    if make_it_so is not own_file_where_v2_adds_one:
        install.release_v2()
    make_it_so(install)
    assert_changed_nothing(install, install.update(), *words)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can be refused for being root")
def test_root_is_refused_in_the_owners_checkout(install):
    os.chown(install.path, 1000, 1000)
    without_fakes = {**install.env, "PATH": os.environ["PATH"]}   # the real id: root
    result = subprocess.run(["bash", str(SCRIPT)], cwd=install.path, env=without_fakes, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1 and "it was run as root. Run it as" in result.stderr


def test_make_update_runs_the_script_with_the_service_name():
    dry = subprocess.run(["make", "--no-print-directory", "-n", "update", "SERVICE=peer2peer"], cwd=PROJECT_ROOT,
                         capture_output=True, text=True, check=True)   # (run inside `make test`, make says where it is)
    assert dry.stdout.strip() == 'SERVICE="peer2peer" bash deploy/update.sh'
