"""File contents for uploads: offset-stamped patterns and seeded random bytes.

In the offset-stamped pattern every 8-byte word contains its own byte offset
as a big-endian unsigned 64-bit integer, and the last word is cut to fit. A
reordered, duplicated or missing chunk then shows up at a known position,
not only as a different SHA-256.
"""

import functools
import hashlib
import random
import sys
from array import array
from dataclasses import dataclass
from typing import Protocol

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

_WORD_BYTES = 8
_HASH_SLICE_BYTES = 8 * MIB


class Payload(Protocol):
    """Content of a test file that can be read in slices."""

    @property
    def size(self) -> int: ...

    def read(self, offset: int, length: int) -> bytes: ...

    def sha256(self) -> str: ...


def stamped_bytes(offset: int, length: int) -> bytes:
    """Return `length` bytes of the offset-stamped pattern from `offset`."""
    first_word = offset - offset % _WORD_BYTES
    words = array("Q", range(first_word, offset + length, _WORD_BYTES))
    if sys.byteorder == "little":
        words.byteswap()
    skip = offset - first_word
    return words.tobytes()[skip : skip + length]


@dataclass(frozen=True)
class Stamped:
    """An offset-stamped file of `size` bytes, generated on demand."""

    size: int

    def read(self, offset: int, length: int) -> bytes:
        end = min(self.size, offset + length)
        return stamped_bytes(offset, max(0, end - offset))

    def sha256(self) -> str:
        return _stamped_sha256(self.size)

    def whole(self) -> bytes:
        return self.read(0, self.size)


@dataclass(frozen=True)
class Blob:
    """A file whose bytes are all in memory."""

    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def read(self, offset: int, length: int) -> bytes:
        return self.data[offset : offset + length]

    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def whole(self) -> bytes:
        return self.data


@functools.lru_cache(maxsize=64)
def _stamped_sha256(size: int) -> str:
    digest = hashlib.sha256()
    for offset in range(0, size, _HASH_SLICE_BYTES):
        digest.update(stamped_bytes(offset, min(_HASH_SLICE_BYTES, size - offset)))
    return digest.hexdigest()


def random_blob(size: int, seed: int = 0) -> Blob:
    """Return `size` random bytes; the same seed gives the same bytes."""
    return Blob(random.Random(seed).randbytes(size))


def first_difference(expected: bytes, actual: bytes) -> int | None:
    """Return the first offset where two byte strings differ, or None."""
    if expected == actual:
        return None
    common = min(len(expected), len(actual))
    for offset in range(0, common, MIB):
        end = min(offset + MIB, common)
        left, right = expected[offset:end], actual[offset:end]
        if left != right:
            pairs = zip(left, right, strict=True)
            return offset + next(i for i, (a, b) in enumerate(pairs) if a != b)
    return common
