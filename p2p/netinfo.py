"""The addresses people on the same network can use to reach this machine."""

from __future__ import annotations

import socket
import subprocess
from ipaddress import ip_address


def _usable(address: str) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return ip.version == 4 and not (ip.is_loopback or ip.is_link_local or ip.is_unspecified)


def lan_addresses() -> tuple[str, ...]:
    """IPv4 addresses of this machine's network interfaces, read locally: no packet is sent anywhere."""
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
