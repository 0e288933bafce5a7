"""Configuration, in layers: defaults here → instance/config.py → P2P_* environment variables → test config.

The instance folder is created on first start with a generated secret key (mode 0600) and an example config,
so a host never has to invent a secret and no default secret exists to leak.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Config, Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "DATABASE": "p2p.sqlite3",            # relative to the instance folder
    # Empty: the SQLite file above. postgresql://user:password@host:5432/name: that PostgreSQL database instead
    # (needs the `postgres` extra: pip install -e '.[postgres]'). See docs/hosting.md (a VPS with PostgreSQL).
    "DATABASE_URL": "",
    "CONTENT_DIR": str(PROJECT_ROOT / "content"),
    "HOST": "0.0.0.0",
    "PORT": 5000,
    "THREADS": 8,
    # Live screens: each open page holds one stream (p2p/stream.py) and, while it is open, a thread of its own;
    # `p2p serve` runs THREADS + LIVE_STREAMS threads. Screens beyond it poll instead. Under gunicorn: per worker,
    # and its --threads must be more than this.
    "LIVE_STREAMS": 200,
    "SESSION_COOKIE_NAME": "p2p_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,        # True forces it; it is Secure anyway whenever a request came over HTTPS
    "TRUSTED_PROXIES": 0,                  # how many reverse proxies (Caddy: 1) may set X-Forwarded-* headers
    "TRUSTED_PROXY": "127.0.0.1",          # ...and the address the nearest one connects from (`p2p serve`)
    # `p2p serve` (waitress): connections held open at once, and seconds before an idle one is closed. Slow or
    # stalled clients each hold a connection, not a thread: 100 of them must not keep a room of 30 out.
    "CONNECTION_LIMIT": 500,
    "CHANNEL_TIMEOUT": 30,
    # Where people reach the app from outside (https://p2p.example.org behind a proxy): the address printed
    # in setup links. Empty: the addresses of this machine on the network, as `p2p serve` finds them.
    "PUBLIC_URL": "",
    "PERMANENT_SESSION_LIFETIME": timedelta(days=7),
    # A sign-in ends after this many minutes without a request (a live page's polls do not count): a tablet
    # passed round the room, or left on a table at the end, does not keep someone's workbook open.
    "IDLE_MINUTES": 30,
    # The longest answer (50,000 characters) can take 600 KB once form-encoded; bigger bodies get a calm 413.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "WTF_CSRF_TIME_LIMIT": None,           # token lives as long as the session: no "expired form" after lunch
    "WTF_CSRF_SSL_STRICT": False,          # Referer checks break behind plain-HTTP LANs; the token still guards
    "JOIN_CODE_DAYS": 14,                  # a join code expires this many days after it is made
    "SETUP_LINK_HOURS": 24,
    "RESET_CODE_HOURS": 72,
    # Throttles: (attempts that go at once, window seconds); after them each attempt waits twice as long as the one
    # before, up to a minute (models.Throttle.take): guessing slows to a crawl, nobody is locked out for long.
    # Counters live in the database, so every worker process sees them.
    "LOGIN_THROTTLE": (10, 15 * 60),       # per account name
    "LOGIN_THROTTLE_ADDRESS": (30, 15 * 60),  # per address, whatever the names: someone trying made-up names
    "JOIN_THROTTLE": (20, 15 * 60),        # join codes tried per address (a right one gives its attempt back)
    # Sign-up forms answering "that name is taken", per address: nobody lists who has an account here by trying
    # names (a name that is free gives its attempt back).
    "NAME_TAKEN_THROTTLE": (10, 15 * 60),
    # Wrong codes across the server: beyond these, each address that has tried a wrong code gets 3 at once, not
    # 20 (many addresses guessing together). An address that has not guessed is never held back by others.
    "JOIN_THROTTLE_GLOBAL": (200, 15 * 60),
    # Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): memory per login stays bounded on a Pi.
    # One derivation per sign-in or join (crypto.py's password records), so 12 joining at once are in within a
    # few seconds on 2 cores without going below it. OWASP's equal alternatives (12 MiB × 3, 9 MiB × 4…) take as
    # long: the time goes with memory × passes.
    "ARGON2_MEMORY_KIB": 19 * 1024,
    "ARGON2_TIME_COST": 2,
    "TIMEZONE": "Europe/London",          # how times are shown; they are stored in UTC
    "BACKUP_KEEP": 14,                     # backups kept in instance/backups/ (the oldest go first)
    "BACKUP_EVERY_HOURS": 24,              # `p2p serve` makes one this often (0: never)
    # The "Support" page (linked from every page): helplines and who to talk to, as the host writes them in
    # Markdown. The file (relative to the instance folder) is read each time the page opens, so editing it needs
    # no restart; if it is missing or empty, SUPPORT_TEXT (Markdown) is shown; if both are empty, a calm default.
    "SUPPORT_FILE": "support.md",
    "SUPPORT_TEXT": "",
}

EXAMPLE_CONFIG = '''\
# Local settings for this Peer 2 Peer server. Uncomment and edit; restart to apply.
# Environment variables P2P_<NAME> override these (for example P2P_PORT=8080).

# PORT = 5000
# HOST = "0.0.0.0"            # all network interfaces, so phones on the Wi-Fi can reach it
# SESSION_COOKIE_SECURE = True  # only when the app is served over HTTPS
# JOIN_CODE_DAYS = 14
# IDLE_MINUTES = 30            # a sign-in ends after this long without use
# TIMEZONE = "Europe/London"   # how dates and times are shown
# SUPPORT_TEXT = "Talk to Fran or Sam, your facilitators, at any session."   # or write instance/support.md
# DATABASE_URL = "postgresql://p2p:PASSWORD@localhost:5432/p2p"  # PostgreSQL instead of the SQLite file
'''

# A starting point for instance/support.md (copy it to that name, then edit): what everyone sees on "Support".
EXAMPLE_SUPPORT = '''\
## Who to talk to

- **Your facilitators**, [names]: at any session, or ask for a quiet word afterwards.
- **Between sessions**: [how to reach a facilitator, and when].

## Helplines

- **Samaritans**: call [116 123](tel:116123), free, any time, day or night.
- **Shout**: text SHOUT to [85258](sms:85258?body=SHOUT), free, any time.
- **NHS 111** (England): call [111](tel:111) and choose option 2 for mental health support, any time.

If you are in danger or cannot keep yourself safe, call [999](tel:999).
'''


SECRET_KEY_MIN = 32


class BadSecretKey(RuntimeError):
    """The server's secret is missing or too short to trust: start-up stops, saying what to do."""


def keep_private(instance_path: Path, database: Path | None = None) -> None:
    """instance/ holds the group's whole work (the database and its -wal, backups, logs, keys, settings): only the
    app's own user may read it. New files are made so by the umask (ensure_instance); what is there already, from
    an older version or another tool, is made so here: 0700 folders, 0600 files. The database may live elsewhere
    (DATABASE): its files too."""
    for folder, _, files in os.walk(instance_path):
        os.chmod(folder, 0o700)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o600)
    if database is not None:
        for path in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
            if path.exists() and not path.is_symlink():
                os.chmod(path, 0o600)


def ensure_instance(instance_path: Path) -> None:
    """Create instance/ on first start: the secret key (0600) and an example config to edit. From here on this
    process makes files for its own user only (umask 077): everything it writes in instance/ is private."""
    os.umask(0o077)
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        # Written aside, then linked into place: worker processes starting together (gunicorn) never read a
        # half-written key, and the first one to link wins, so they all sign cookies with the same key.
        draft = instance_path / f".secret_key-{os.getpid()}-{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    # Examples only, written once: a host's own config.py and support.md are never created or touched here.
    for name, text in (("config.example.py", EXAMPLE_CONFIG), ("support.example.md", EXAMPLE_SUPPORT)):
        example = instance_path / name
        if not example.exists():
            example.write_text(text)


def support_path(config: Config, instance_path: Path) -> Path:
    path = Path(config["SUPPORT_FILE"])
    return path if path.is_absolute() else instance_path / path


class BadConfig(RuntimeError):
    """A setting the app does not know, or one it cannot use: start-up stops, naming where it was set."""


# P2P_* environment variables that are not settings: where the instance folder is, and the test suite's and
# benchmark's own.
NOT_SETTINGS = {"INSTANCE_PATH", "TEST_DATABASE_URL", "BENCH_JSON"}

# The least each number may be (any other number setting: 0).
AT_LEAST = {"PORT": 1, "THREADS": 1, "LIVE_STREAMS": 0, "CONNECTION_LIMIT": 1, "CHANNEL_TIMEOUT": 1, "IDLE_MINUTES": 1,
            "MAX_CONTENT_LENGTH": 1, "JOIN_CODE_DAYS": 1, "SETUP_LINK_HOURS": 1, "RESET_CODE_HOURS": 1,
            "ARGON2_MEMORY_KIB": 8, "ARGON2_TIME_COST": 1, "BACKUP_KEEP": 1}
AT_MOST = {"PORT": 65535}


def _parse_env(name: str, value: str, default: object) -> object:
    if isinstance(default, bool):
        return value.strip().lower() in ("1", "true", "yes", "on")
    try:
        if isinstance(default, int):
            return int(value)
        if isinstance(default, (tuple, list)):
            return tuple(json.loads(value))
    except ValueError:
        raise BadConfig(f"The environment variable {name} is {value!r}: it must be "
                        f"{'a whole number' if isinstance(default, int) else 'a list such as [10, 900]'}.") from None
    return value


def _problem(key: str, value: object) -> str | None:
    """What is wrong with this value for this setting (by the kind of its default), or None."""
    default = DEFAULTS[key]
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "True or False"
    if isinstance(default, int):
        least, most = AT_LEAST.get(key, 0), AT_MOST.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < least or (most and value > most):
            return f"a whole number from {least}" + (f" to {most}" if most else "")
        return None
    if isinstance(default, tuple):
        good = (isinstance(value, (tuple, list)) and len(value) == 2
                and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in value))
        return None if good else "two whole numbers, (tries, seconds), such as (10, 900)"
    if isinstance(default, timedelta):
        return None if isinstance(value, (timedelta, int)) and not isinstance(value, bool) else "a timedelta"
    if isinstance(default, str):
        if not isinstance(value, str):
            return "text, in quotes"
        if key == "TIMEZONE":
            try:
                ZoneInfo(value)
            except (ValueError, KeyError, OSError):
                return 'a time zone name such as "Europe/London" or "Europe/Dublin"'
    return None


def _read_settings_file(file: Path) -> dict:
    """The settings instance/config.py sets (names in capitals), or a BadConfig saying what is wrong with it."""
    if not file.exists():
        return {}
    namespace: dict = {"__file__": str(file)}
    try:
        exec(compile(file.read_bytes(), str(file), "exec"), namespace)
    except Exception as error:
        raise BadConfig(f"The file {file} could not be read ({type(error).__name__}: {error}). Fix that line, or "
                        "compare it with instance/config.example.py. Nothing was started.") from None
    lower = [name for name in namespace if name.islower() and name.upper() in DEFAULTS]
    if lower:
        raise BadConfig(f"The file {file} sets {lower[0]}: settings are written in capitals, {lower[0].upper()}.")
    return {name: value for name, value in namespace.items() if name.isupper()}


def check_settings(config: Config, where: dict[str, str]) -> None:
    """Every setting the host gave (`where` says where each came from) is one the app knows, and every value is
    one it can use: a misspelt key silently ignored, or a bad time zone silently UTC, is a setting that does not
    do what its host believes. Raises BadConfig naming the file or variable and the key."""
    known = set(DEFAULTS) | set(Flask.default_config) | {"SECRET_KEY"}
    for key, source in where.items():
        if key == "TESTING":   # it turns off what only the test suite may do without (activity.init_app)
            raise BadConfig(f"{source} sets TESTING, which only the test suite may set. Remove it.")
        if key not in known:
            raise BadConfig(f"{source} sets {key}, which is not a setting of Peer 2 Peer. Check its spelling "
                            "against docs/configuration.md, or remove it.")
    for key in DEFAULTS:
        wanted = _problem(key, config.get(key))
        if wanted:
            raise BadConfig(f"{where.get(key, 'The default')} sets {key} to {config.get(key)!r}: it must be "
                            f"{wanted}. Nothing was started.")


def instance_folder(explicit: str | Path | None = None, test_config: dict | None = None) -> Path:
    return Path(explicit or (test_config or {}).get("INSTANCE_PATH") or os.environ.get("P2P_INSTANCE_PATH")
                or PROJECT_ROOT / "instance").resolve()


def load_config(config: Config, instance_path: Path, test_config: dict | None) -> None:
    """Fill `config` in layers. Also used without an app (p2p restore must not open a damaged database)."""
    config.from_mapping(DEFAULTS)
    where: dict[str, str] = {}
    if test_config is None:
        file = instance_path / "config.py"
        own = _read_settings_file(file)
        config.update(own)
        where.update(dict.fromkeys(own, f"The file {file}"))
        for name, value in os.environ.items():
            if name.startswith("P2P_") and name[4:] not in NOT_SETTINGS:
                key = name[4:]
                config[key] = _parse_env(name, value, config.get(key, ""))
                where[key] = f"The environment variable {name}"
    else:
        config.from_mapping(test_config)
        where.update(dict.fromkeys((key for key in test_config if key in DEFAULTS), "The test's config"))
    check_settings(config, where)
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = (instance_path / "secret_key").read_text().strip()
        where = f"The file {instance_path / 'secret_key'}"
    else:
        where = "The SECRET_KEY setting"
    if len(config["SECRET_KEY"]) < SECRET_KEY_MIN:
        raise BadSecretKey(
            f"{where} holds {len(config['SECRET_KEY'])} characters; the server's secret must be at least "
            f"{SECRET_KEY_MIN} (the one the app makes has 64). It signs every session and seals the workbook keys "
            "people carry while logged in, so a short one could be guessed, and an empty one works nowhere. If it "
            "was damaged, put back the file from a copy of instance/; or delete the file, and the app makes a new "
            "one at its next start (everyone is then logged out, and nothing else is lost).")
    database = Path(config["DATABASE"])
    config["DATABASE"] = str(database if database.is_absolute() else instance_path / database)


def standalone_config(instance_path: Path) -> Config:
    """The configuration for commands that run without the app (restore, new-database, upgrade's checks). They
    write in instance/ too: the same umask as the app's."""
    os.umask(0o077)
    config = Config(str(instance_path))
    load_config(config, instance_path, None)
    return config
