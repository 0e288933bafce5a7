"""The addresses people on the same network can use to reach this machine."""

from __future__ import annotations

import socket
import subprocess
import time
from ipaddress import ip_address


def _usable(address: str) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return ip.version == 4 and not (ip.is_loopback or ip.is_link_local or ip.is_unspecified)


# The projector's join address asks at each change the room's screen is sent, and each asking starts a process
# (a fork of the whole server): the addresses found are kept a little while (a new network is seen within it).
KEEP_SECONDS = 30.0
_kept: tuple[float, tuple[str, ...]] | None = None


def lan_addresses() -> tuple[str, ...]:
    """IPv4 addresses of this machine's network interfaces, read locally: no packet is sent anywhere."""
    global _kept
    if _kept is not None and time.monotonic() - _kept[0] < KEEP_SECONDS:
        return _kept[1]
    found = _read_addresses()
    _kept = (time.monotonic(), found)
    return found


def _read_addresses() -> tuple[str, ...]:
    found: list[str] = []
    try:
        # `hostname -I` lists every interface address on Debian and Raspberry Pi OS.
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=2).stdout
        found = out.split()
    except (OSError, subprocess.SubprocessError):
        pass
    if not found:
        try:
            found = [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
        except OSError:
            pass
    return tuple(dict.fromkeys(a for a in found if _usable(a)))
