"""Find this machine's LAN address from its network interfaces.

Nothing here sends a packet: the address comes from the interface table, so
the lookup works on a network with no route to the internet.
"""

import fcntl
import ipaddress
import socket
import struct

_SIOCGIFADDR = 0x8915
_VIRTUAL_PREFIXES = ("lo", "docker", "br-", "veth", "virbr", "tun", "tap", "wg")


def interface_addresses() -> dict[str, str]:
    """Return the IPv4 address of each interface that has one (Linux only)."""
    addresses: dict[str, str] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, request)
            except OSError:
                continue
            addresses[name] = socket.inet_ntoa(answer[20:24])
    return addresses


def pick_lan_address(addresses: dict[str, str]) -> str:
    """Choose the address other devices on the LAN most likely reach.

    Private addresses on physical interfaces win over anything else; the
    loopback address is the last resort.
    """
    candidates: list[tuple[int, str]] = []
    for name, text in addresses.items():
        address = ipaddress.ip_address(text)
        if address.is_loopback or address.is_link_local:
            continue
        rank = 0 if address.is_private else 2
        if name.startswith(_VIRTUAL_PREFIXES):
            rank += 1
        candidates.append((rank, text))
    if not candidates:
        return "127.0.0.1"
    return min(candidates)[1]


def lan_address() -> str:
    """Return this machine's LAN address, or 127.0.0.1 when it has none."""
    try:
        return pick_lan_address(interface_addresses())
    except OSError:
        return "127.0.0.1"
