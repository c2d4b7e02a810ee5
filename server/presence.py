"""Presence: the devices that have a session open now, in this process.

A device counts as online in a session while at least one of its Socket.IO
connections is in the session's room, however many tabs that is. With
several server processes, server.shared_presence adds the other processes'
sockets.
"""

from collections import defaultdict
from collections.abc import Iterator


class Presence:
    """Socket ids per device per session, kept as connections come and go."""

    def __init__(self) -> None:
        self._sockets: dict[str, dict[str, set[str]]] = {}
        self._rooms_of: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)

    def is_online(self, session_id: str, device_id: str) -> bool:
        return bool(self._devices(session_id).get(device_id))

    def online_devices(self, session_id: str) -> set[str]:
        by_device = self._devices(session_id)
        return {device for device, sids in by_device.items() if sids}

    def entries(self) -> Iterator[tuple[str, str, str]]:
        """Yield (session, device, socket id) for every socket in a room."""
        for session_id, by_device in self._sockets.items():
            for device_id, sids in by_device.items():
                for sid in sids:
                    yield session_id, device_id, sid

    def _devices(self, session_id: str) -> dict[str, set[str]]:
        return self._sockets.get(session_id, {})

    def add(self, session_id: str, device_id: str, sid: str) -> bool:
        """Record a socket in a session; return True if the device came online."""
        sids = self._sockets.setdefault(session_id, {}).setdefault(device_id, set())
        came_online = not sids
        sids.add(sid)
        self._rooms_of[sid].add((session_id, device_id))
        return came_online

    def remove(self, session_id: str, sid: str) -> str | None:
        """Drop a socket from a session; return the device if it went offline."""
        for entry in list(self._rooms_of.get(sid, ())):
            if entry[0] == session_id:
                return self._discard(sid, entry)
        return None

    def drop_socket(self, sid: str) -> list[tuple[str, str]]:
        """Drop a closed socket everywhere; return (session, device) gone offline."""
        went_offline = []
        for entry in list(self._rooms_of.get(sid, ())):
            if self._discard(sid, entry) is not None:
                went_offline.append(entry)
        self._rooms_of.pop(sid, None)
        return went_offline

    def drop_device(self, session_id: str, device_id: str) -> set[str]:
        """Forget a device in one session; return the socket ids it had there."""
        sids = set(self._devices(session_id).get(device_id, set()))
        for sid in sids:
            self._discard(sid, (session_id, device_id))
        return sids

    def forget_session(self, session_id: str) -> None:
        for sids in self._sockets.pop(session_id, {}).values():
            for sid in sids:
                rooms = self._rooms_of.get(sid)
                if rooms is not None:
                    rooms.difference_update({e for e in rooms if e[0] == session_id})

    def _discard(self, sid: str, entry: tuple[str, str]) -> str | None:
        session_id, device_id = entry
        self._rooms_of[sid].discard(entry)
        if not self._rooms_of[sid]:
            del self._rooms_of[sid]
        by_device = self._sockets.get(session_id)
        if by_device is None:
            return None
        sids = by_device.get(device_id)
        if sids is None or sid not in sids:
            return None
        sids.discard(sid)
        if sids:
            return None
        del by_device[device_id]
        if not by_device:
            del self._sockets[session_id]
        return device_id
