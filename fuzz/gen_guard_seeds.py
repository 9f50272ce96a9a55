#!/usr/bin/env python3
"""Writes the hand-made seed inputs of guard_fuzz into corpus/guard_fuzz/.

Each seed is a short scenario in guard_fuzz's input encoding (documented at
the top of guard_fuzz.cc): one per injected error, access width and kind of
block, so that the smoke tests (end- and start-aligned) start from every
path and campaigns mutate from there. Like gen_seeds.py, it rewrites the
seed-* and regress-* files and leaves campaign inputs alone.

    fuzz/gen_guard_seeds.py
"""
import struct

from gen_seeds import write

# --- sizes (guard_fuzz.cc: DecodeGuardSize) ----------------------------------


def small(n):
    """1..256 bytes."""
    assert 1 <= n <= 256
    return bytes([0, n - 1])


def size(n):
    """1..4096 bytes."""
    assert 1 <= n <= 4096
    return bytes([1]) + struct.pack("<H", n - 1)


def top(n):
    """The top of a page: 3969..4096 bytes."""
    assert 3969 <= n <= 4096
    return bytes([2, 4096 - n])


def edge(k, delta=0):
    """16 * k + delta bytes (a 16-byte edge), delta in -1..1."""
    assert 1 <= k <= 256 and -1 <= delta <= 1
    return bytes([3, k - 1, delta + 1])


def w(width, write=False):
    """The width/write byte: 1, 2, 4 or 8 bytes."""
    return bytes([{1: 0, 2: 1, 4: 2, 8: 3}[width] | (4 if write else 0)])


def u16(v):
    return struct.pack("<H", v)


# --- operations ----------------------------------------------------------------

FREE, SIZED, ALIGNED_SIZED, REALLOC0 = range(4)


def malloc(sz):
    return bytes([0]) + sz


def calloc(count, sz):
    return bytes([1, count]) + sz


def realloc(sel, sz):
    return bytes([2, sel]) + sz


def aligned(log2, sz):
    return bytes([3, log2]) + sz


def free(sel, api=FREE):
    return bytes([4, sel, api])


def access(sel, offset, width=1, write=False):
    return bytes([5, sel]) + u16(offset) + w(width, write)


def overflow(sel, distance, position=0, width=1, write=False):
    """A byte `distance` into the guard page after the block's page (past
    the end for an end-aligned block), the access covering it at
    `position`."""
    return bytes([6, sel]) + u16(distance) + bytes([position]) + \
        w(width, write)


def underflow(sel, distance, width=1, write=False):
    return bytes([7, sel]) + u16(distance) + w(width, write)


def use_after_free(sel, offset, width=1, write=False):
    """At `offset` in the freed block's page."""
    return bytes([8, sel]) + u16(offset) + w(width, write)


DF_FREE, DF_SIZED, DF_REALLOC0 = range(3)


def double_free(sel, api=DF_FREE):
    return bytes([9, sel, api])


INTERIOR, SLACK, GUARD_AFTER, GUARD_BEFORE = 0, 1, 2, 6
SIZED_FREE = 8


def invalid_free(sel, where, offset):
    return bytes([10, sel, where]) + u16(offset)


def stale(sel, realloc=False, sz=None):
    return bytes([11, sel, 1 if realloc else 0]) + (sz or small(10))


def wrong_size(sel, below=False):
    return bytes([12, sel, 1 if below else 0])


def verify(sel):
    return bytes([13, sel])


def burst(count, sz):
    assert 1 <= count <= 32
    return bytes([14, count - 1]) + sz


def free_burst(count):
    assert 1 <= count <= 32
    return bytes([15, count - 1])


def collect(force=1):
    return bytes([16, force])


# The quarantine reuses a freed slot once every never-used slot is taken
# and every slot freed before it was reused: cycle more than the pool's 256.
CYCLE = b"".join(burst(32, size(3000)) + free_burst(32) for _ in range(9))


def guard_seeds():
    s = {}
    s["overflow-read-one-past"] = malloc(small(24)) + overflow(0, 0)
    s["overflow-write-far"] = malloc(size(100)) + \
        overflow(0, 2047, 0, 1, True) + verify(0)
    s["overflow-every-width"] = malloc(edge(4)) + b"".join(
        overflow(0, 5 * k, 0, wd, wr)
        for k, wd in enumerate((1, 2, 4, 8)) for wr in (False, True)) + \
        verify(0)
    # From the block's last bytes into the guard page: one fault, one
    # report; the bytes inside are written.
    s["overflow-crossing"] = malloc(edge(4)) + overflow(0, 0, 7, 8) + \
        overflow(0, 0, 3, 8, True) + overflow(0, 1, 1, 2, True) + verify(0)
    s["overflow-sizes"] = b"".join(
        malloc(sz) + overflow(i, 100 * i, 0, 4) for i, sz in enumerate(
            (small(1), small(17), edge(8, -1), size(1000), size(2049),
             top(4000), top(4096))))
    s["overflow-after-free"] = malloc(size(700)) + free(0) + \
        overflow(0, 10) + overflow(0, 0, 5, 8)
    s["underflow"] = malloc(top(4096)) + malloc(small(64)) + \
        underflow(0, 0) + underflow(0, 2047, 8, True) + underflow(1, 3) + \
        underflow(1, 100, 4, True) + verify(0) + verify(1)
    s["underflow-crossing"] = malloc(top(4096)) + underflow(0, 2047, 8) + \
        underflow(0, 2045, 8, True) + verify(0)
    s["use-after-free"] = malloc(small(64)) + malloc(size(2000)) + \
        free(0) + use_after_free(0, 4095) + \
        use_after_free(0, 4050, 4, True) + free(0, SIZED) + \
        use_after_free(1, 0, 8) + use_after_free(1, 3000, 2, True)
    s["use-after-free-across-the-page-end"] = malloc(small(32)) + free(0) + \
        use_after_free(0, 4092, 8) + use_after_free(0, 4093, 8, True) + \
        use_after_free(0, 4092, 8)
    s["use-after-free-every-api"] = b"".join(
        malloc(size(300 + 50 * api)) + free(0, api) +
        use_after_free(0, 4000, 1) for api in range(4))
    s["double-free-quarantined"] = malloc(small(48)) + malloc(size(1500)) + \
        malloc(size(3000)) + free(2) + free(1) + free(0) + \
        double_free(0) + double_free(1, DF_SIZED) + \
        double_free(2, DF_REALLOC0)
    s["double-free-after-slot-reuse"] = malloc(small(100)) + free(0) + \
        CYCLE + burst(32, size(3000)) + double_free(0) + stale(0) + \
        stale(0, True) + use_after_free(0, 10) + free_burst(32) + \
        double_free(0, DF_SIZED)
    s["invalid-frees"] = malloc(size(100)) + \
        invalid_free(0, INTERIOR, 5) + invalid_free(0, SLACK, 7) + \
        invalid_free(0, GUARD_AFTER, 9) + invalid_free(0, GUARD_BEFORE, 4000) + \
        invalid_free(0, INTERIOR | SIZED_FREE, 50) + \
        invalid_free(0, GUARD_AFTER | SIZED_FREE, 0) + verify(0)
    s["invalid-free-of-a-page-block"] = malloc(top(4096)) + \
        invalid_free(0, SLACK, 1) + invalid_free(0, INTERIOR, 4094) + \
        verify(0)
    s["stale-use"] = malloc(small(200)) + malloc(size(3333)) + free(0) + \
        free(0) + stale(0) + stale(1, True, size(4000)) + stale(0, True)
    s["wrong-size"] = malloc(small(40)) + malloc(size(2500)) + \
        aligned(8, size(300)) + wrong_size(0) + wrong_size(0, True) + \
        wrong_size(1) + wrong_size(2, True) + verify(0) + verify(1) + \
        verify(2)
    # More live blocks than slots: the rest come from the slabs and get no
    # injection (the selectors pick among guarded blocks only).
    s["pool-full"] = b"".join(burst(32, small(16 + k)) for k in range(9)) + \
        b"".join(overflow(17 * k, k) + access(19 * k, k, 8, True)
                 for k in range(12)) + \
        free_burst(32) + free_burst(32) + malloc(small(8)) + \
        overflow(255, 3)
    s["calloc-realloc-aligned"] = calloc(3, size(333)) + realloc(0, size(2000)) + \
        realloc(0, small(10)) + overflow(0, 1) + \
        b"".join(aligned(k, size(100 * k + 1)) for k in range(13)) + \
        b"".join(overflow(k + 1, k) for k in range(13)) + \
        b"".join(free(1, ALIGNED_SIZED) for _ in range(13))
    s["valid-accesses"] = malloc(edge(3)) + malloc(top(4096)) + \
        malloc(small(1)) + b"".join(
            access(b, off, wd, wr) for b in range(3)
            for off in (0, 15, 4095) for wd in (1, 2, 4, 8)
            for wr in (True, False)) + verify(0) + verify(1) + verify(2)
    s["collect-between"] = malloc(small(64)) + collect(1) + \
        malloc(small(64)) + free(0) + collect(0) + use_after_free(0, 4090) + \
        overflow(0, 3) + collect(1) + double_free(0)
    return s


if __name__ == "__main__":
    write("guard_fuzz", guard_seeds())
