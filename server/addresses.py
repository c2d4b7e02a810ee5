"""IP addresses and networks: parsing, and grouping for per-address limits."""

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# One IPv6 customer usually gets a whole /64, so its addresses count as one.
IPV6_LIMIT_PREFIX = 64


def parse_address(text: str) -> IPAddress | None:
    """Return an address, IPv4-mapped IPv6 as IPv4, or None if it is not one."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """Parse a comma-separated list of addresses and CIDR networks.

    Raises ValueError naming the entry that is neither.
    """
    networks: list[IPNetwork] = []
    for part in (item.strip() for item in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(
                f"{part!r} is not an IP address or network; write entries such "
                "as 172.30.0.10 or 172.30.0.0/24, separated by commas"
            ) from None
    return tuple(networks)


def limit_key(address: str) -> str:
    """Return the key under which per-address limits count an address.

    IPv6 addresses are grouped by /64, or one client could rotate through
    the 2^64 addresses of its own network to reset every limit.
    """
    parsed = parse_address(address)
    if parsed is None:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((parsed, IPV6_LIMIT_PREFIX), strict=False)
        return str(network)
    return str(parsed)
