"""Keys for PostgreSQL advisory locks, one per name.

crc32 is stable across processes and Python versions (``hash()`` is salted) and fits the
signed 64-bit key ``pg_advisory_*lock`` takes; a collision only makes two names share a lock.
"""
import zlib


def advisory_key(name):
    return zlib.crc32(name.encode())
