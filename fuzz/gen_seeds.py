#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the three fuzzers into corpus/<name>/.

Each seed is a short, meaningful scenario in the fuzzers' input encoding
(documented in valid_ops.h, arena_ops.h, error_injection.h, size_model.h
and cross_thread_fuzz.cc): one per operation kind, tier and injected error, so
that the smoke tests start from every path and campaigns mutate from there.

    fuzz/gen_seeds.py            # (re)writes corpus/*/seed-*
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# --- sizes (size_model.h: DecodeSize) ---------------------------------------


def cls_size(cls):
    if cls < 8:
        return 16 * (cls + 1)
    j = cls - 8
    base = 128 << (j // 4)
    return base + (j % 4 + 1) * (base // 4)


def edge(cls, delta=0):
    """Class `cls`'s block size + delta (delta in -2..2)."""
    assert -2 <= delta <= 2
    if cls < 20:
        return bytes([0, cls, delta + 2])
    return bytes([8, cls - 20, delta + 2])


def tiny(size):
    """A size that is exactly some class edge (tiny or pool)."""
    for c in range(52):
        if cls_size(c) == size:
            return edge(c)
    raise ValueError(size)


SPECIAL = [0, 1, 8, 15, 16, 17, 127, 128, 129, 1023, 1024, 1025, 4095, 4096,
           4097, 65535, 65536, 65537, 262143, 262144, 262145, 262144 + 4096,
           1 << 20, (1 << 20) + 1, 4 << 20]


def special(size):
    return bytes([13, SPECIAL.index(size)])


def large(pages_above_pool, delta=0, up_to_4mib=False):
    r = pages_above_pool - 1 + (0x8000 if up_to_4mib else 0)
    return bytes([14]) + struct.pack("<H", r) + bytes([delta + 2])


# --- valid operations (valid_ops.h) ------------------------------------------

def malloc(size):
    return bytes([0]) + size


def calloc(count, size):
    return bytes([1, count]) + size


def realloc(sel, size):
    return bytes([2, sel]) + size


def aligned(log2, size):
    return bytes([3, log2]) + size


FREE, SIZED, ALIGNED_SIZED, REALLOC0 = range(4)


def free(sel, api=FREE, variant=0):
    return bytes([4, sel, api]) + struct.pack("<H", variant)


def verify(sel):
    return bytes([5, sel])


def alloc_burst(count, size):
    return bytes([6, count - 1]) + size


NEWEST, OLDEST, EVERY_OTHER = range(3)


def free_burst(count, order=NEWEST):
    return bytes([7, count - 1, order])


def failure(which):
    return bytes([8, which])


def collect(force):
    return bytes([9, force])


def align_byte(log2):
    """DecodeAlignment's byte for 2^log2 (up to 1 MiB)."""
    if log2 <= 12:
        return log2
    return next(b for b in range(192, 256) if b % 21 == log2)


# --- arena operations (arena_ops.h): opcodes 140 + op -----------------------

ARENA = 140


def heap_create(slot):
    """(Re-)creates the arena in `slot` (destroying the one there)."""
    return bytes([ARENA + 0, slot])


def heap_malloc(slot, size):
    return bytes([ARENA + 1, slot]) + size


def heap_aligned(slot, log2, size):
    return bytes([ARENA + 2, slot, align_byte(log2)]) + size


def heap_free(sel):
    """hak_heap_free of arena block `sel` (index among the arena blocks)."""
    return bytes([ARENA + 3, sel])


def heap_destroy(slot):
    return bytes([ARENA + 4, slot])


def heap_burst(slot, count, size):
    return bytes([ARENA + 5, slot, count - 1]) + size


HEAP_FREE, REMOTE = 0, 1  # free burst mode bit 0
NEWEST_FIRST, OLDEST_FIRST = 0, 2  # and bit 1


def heap_free_burst(slot, count, mode=HEAP_FREE | NEWEST_FIRST):
    return bytes([ARENA + 6, slot, count - 1, mode])


def heap_failure(slot, which):
    return bytes([ARENA + 7, slot, which])


def arena_block_free(sel, api=FREE, variant=0):
    """Ordinary free (hak_free, sized, aligned sized, realloc(p, 0)) of
    arena block `sel`."""
    return bytes([ARENA + 8, sel, api]) + struct.pack("<H", variant)


# --- injections (error_injection.h), as double_free_fuzz opcodes ------------

INJ = 160
APIS = range(6)  # free, sized, aligned sized, realloc(p,0), realloc, usable


def double_free(freed_sel=0, api=FREE):
    return bytes([INJ + 0, freed_sel, api])


def interior(sel, offset, api=FREE):
    return bytes([INJ + 1, sel]) + struct.pack("<I", offset) + bytes([api])


def foreign(source, offset=0, api=FREE):
    return bytes([INJ + 2, source]) + struct.pack("<I", offset) + bytes([api])


def stale_use(freed_sel, use, size):
    return bytes([INJ + 3, freed_sel, use]) + size


def wrong_size(sel, size, align_log2=None):
    a = 1 if align_log2 is None else 2 * align_log2
    return bytes([INJ + 4, sel, a]) + size


def corrupt(freed_sel, mode, value=0x1234567890ABCDEF):
    return bytes([INJ + 5, freed_sel, mode]) + struct.pack("<Q", value)


# --- arena injections (error_injection.h): double_free_fuzz opcodes 232 + k --

AINJ = 232
OWN = 3  # heap_double_free target: the block's own arena


def heap_double_free(freed_sel=0, target=OWN):
    return bytes([AINJ + 0, freed_sel, target])


def heap_free_live(sel, target, offset=0):
    """hak_heap_free(arena `target`, block `sel` + offset): offset 0 is the
    block's start, else a pointer 1 + offset % (usable - 1) into it."""
    return bytes([AINJ + 1, sel, target]) + struct.pack("<I", offset)


def heap_free_foreign(source, offset, target=0):
    return bytes([AINJ + 2, source]) + struct.pack("<I", offset) + \
        bytes([target])


def heap_corrupt(freed_sel, mode, value=0x1234567890ABCDEF):
    return bytes([AINJ + 3, freed_sel, mode]) + struct.pack("<Q", value)


def write(name, seeds):
    """Writes seeds[label] to corpus/<name>/seed-<label>, or to
    regress-<label> for labels "regress-*" (hand-made regression inputs).
    Other files there (campaign inputs, kept crash inputs) are left alone."""
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith(("seed-", "regress-")):
            os.remove(os.path.join(d, f))
    for label, data in seeds.items():
        fname = label if label.startswith("regress-") else "seed-" + label
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)
    print(f"{name}: {len(seeds)} seeds")


def ops_seeds():
    s = {}
    s["malloc-every-tiny-class"] = b"".join(
        malloc(edge(c, d)) for c in range(20) for d in (-1, 0, 1)) + \
        free_burst(60, OLDEST)
    s["malloc-every-pool-class"] = b"".join(
        malloc(edge(c, d)) for c in range(20, 52) for d in (0, 1)) + \
        free_burst(64, EVERY_OTHER)
    s["special-sizes"] = b"".join(malloc(special(x)) for x in SPECIAL) + \
        b"".join(free(0, api) for api in range(4) for _ in range(6))
    s["large-sizes"] = malloc(large(1)) + malloc(large(1, -2)) + \
        malloc(large(200, 2, True)) + calloc(3, large(7)) + \
        free(1, SIZED, 7) + free(0, SIZED, 0) + free(0, FREE) + \
        free(0, REALLOC0)
    s["calloc"] = calloc(0, tiny(16)) + calloc(3, edge(10)) + \
        calloc(15, edge(40)) + calloc(1, special(0)) + calloc(255, tiny(16))
    s["realloc-grow-across-tiers"] = malloc(tiny(16)) + \
        realloc(0, tiny(32)) + realloc(0, edge(19)) + realloc(0, edge(19, 1)) + \
        realloc(0, edge(51)) + realloc(0, edge(51, 1)) + \
        realloc(0, large(100)) + realloc(0, large(400, 0, True))
    s["realloc-shrink-across-tiers"] = malloc(large(300, 0, True)) + \
        realloc(0, large(200)) + realloc(0, large(150)) + \
        realloc(0, special(262144)) + realloc(0, edge(30)) + \
        realloc(0, edge(5)) + realloc(0, special(0)) + realloc(255, edge(3))
    s["realloc-same-class"] = malloc(edge(12, -2)) + realloc(0, edge(12)) + \
        realloc(0, edge(12, -1)) + free(0, SIZED, 0)
    s["aligned-every-power"] = b"".join(
        aligned(k, edge(3)) for k in range(13)) + \
        aligned(200, edge(3)) + aligned(212, special(1)) + \
        b"".join(free(0, ALIGNED_SIZED) for _ in range(15))
    s["aligned-big"] = aligned(12, edge(51)) + aligned(11, edge(51, 1)) + \
        aligned(8, large(3)) + realloc(0, edge(40)) + \
        free(0, ALIGNED_SIZED) + free(0, SIZED, 3) + free(0)
    s["sized-free-variants"] = b"".join(
        malloc(edge(c)) for c in (0, 7, 8, 19, 20, 35, 51)) + \
        malloc(large(50)) + b"".join(
            free(0, SIZED, v) for v in (1, 7, 300, 9999, 65535, 2, 3, 4))
    s["burst-spill-tiny"] = alloc_burst(64, tiny(64)) + \
        alloc_burst(64, tiny(64)) + free_burst(64, OLDEST) + \
        free_burst(64, NEWEST) + alloc_burst(64, tiny(64))
    s["burst-spill-pool"] = alloc_burst(40, edge(45)) + \
        free_burst(30, EVERY_OTHER) + alloc_burst(20, edge(45)) + \
        collect(0) + free_burst(64, OLDEST)
    s["failure-contract"] = b"".join(failure(w) for w in range(6))
    s["collect"] = alloc_burst(30, edge(2)) + free_burst(29) + collect(0) + \
        alloc_burst(10, edge(30)) + free_burst(10) + collect(1) + \
        malloc(large(2)) + free(0) + collect(1)
    s["verify-rewrite"] = malloc(edge(9)) + malloc(large(5)) + verify(0) + \
        verify(1) + realloc(1, edge(9, 2)) + verify(0) + verify(1)
    # Arenas.
    s["arena-every-tier"] = b"".join(
        heap_malloc(0, edge(c, d)) for c in range(0, 52, 3) for d in (0, 1)) + \
        heap_malloc(0, large(1)) + heap_malloc(0, large(300, 1, True)) + \
        heap_malloc(0, special(0)) + \
        b"".join(heap_free(k) for k in range(0, 30, 4)) + \
        heap_malloc(0, edge(3)) + heap_destroy(0) + malloc(edge(3)) + \
        heap_malloc(0, edge(3))
    s["arena-aligned"] = b"".join(
        heap_aligned(1, k, edge(3)) for k in range(0, 21, 2)) + \
        heap_aligned(1, 12, edge(51)) + heap_aligned(1, 6, large(2)) + \
        heap_aligned(1, 4, special(1)) + \
        b"".join(arena_block_free(0, ALIGNED_SIZED) for _ in range(4)) + \
        heap_free(0) + heap_free(1) + heap_destroy(1)
    s["arena-three-heaps-interleaved"] = heap_create(0) + heap_create(1) + \
        heap_create(2) + b"".join(
            heap_malloc(a, edge(5 + 7 * a)) + malloc(edge(5 + 7 * a)) +
            heap_malloc(a, edge(30 + a))
            for _ in range(6) for a in range(3)) + \
        heap_destroy(1) + heap_create(1) + heap_burst(1, 20, edge(12)) + \
        alloc_burst(20, edge(12)) + heap_create(2) + free_burst(10) + \
        heap_burst(0, 10, edge(33))
    s["arena-remote-frees-reused"] = heap_burst(0, 64, tiny(64)) + \
        heap_free_burst(0, 32, REMOTE | OLDEST_FIRST) + \
        heap_burst(0, 48, tiny(64)) + heap_free_burst(0, 20, HEAP_FREE) + \
        heap_burst(0, 30, tiny(64)) + heap_destroy(0)
    s["arena-destroy-then-reuse"] = heap_burst(0, 64, edge(10)) + \
        heap_burst(0, 8, large(3)) + heap_destroy(0) + \
        alloc_burst(64, edge(10)) + malloc(large(3)) + malloc(large(3)) + \
        heap_burst(1, 64, edge(10)) + heap_burst(1, 2, large(3)) + \
        collect(1) + verify(0) + heap_destroy(1) + collect(1) + \
        heap_burst(2, 64, edge(10))
    s["arena-ordinary-frees"] = heap_malloc(0, edge(7)) + \
        heap_malloc(0, edge(25)) + heap_malloc(0, large(6)) + \
        heap_aligned(0, 8, edge(9)) + heap_malloc(0, edge(40)) + \
        arena_block_free(0, SIZED, 3) + arena_block_free(0, ALIGNED_SIZED) + \
        arena_block_free(0, REALLOC0) + arena_block_free(0, SIZED, 9999) + \
        arena_block_free(0) + free_burst(5) + realloc(0, edge(8)) + \
        heap_malloc(0, edge(7))
    s["arena-recreate-with-live-blocks"] = heap_burst(0, 10, edge(20)) + \
        heap_create(0) + heap_burst(0, 10, edge(20)) + heap_create(0) + \
        heap_burst(0, 10, large(1)) + heap_create(0) + heap_free_burst(0, 5)
    s["arena-failure-contract"] = b"".join(
        heap_failure(a, w) for a in range(3) for w in range(5))
    return s


def double_free_seeds():
    s = {}
    # A witness (another live block of the class in the slab) makes the
    # expected report exact: DOUBLE_FREE with tier and class.
    for api in range(4):
        s[f"double-free-tiny-in-cache-api{api}"] = \
            alloc_burst(3, tiny(64)) + free_burst(1) + double_free(0, api)
    s["double-free-pool-in-cache"] = alloc_burst(3, edge(25)) + \
        free_burst(1) + double_free(0, SIZED)
    s["double-free-after-spill-to-span"] = alloc_burst(32, tiny(1024)) + \
        free_burst(16, OLDEST) + double_free(8) + double_free(15) + \
        double_free(0)
    s["double-free-late"] = alloc_burst(8, tiny(48)) + free(0) + \
        alloc_burst(20, edge(30)) + free_burst(20) + double_free(20)
    s["double-free-large"] = malloc(large(10)) + free(0) + double_free(0) + \
        double_free(0, SIZED) + malloc(large(1)) + double_free(1)
    s["double-free-after-span-release"] = alloc_burst(4, edge(40)) + \
        free_burst(4) + collect(1) + double_free(0) + double_free(3, REALLOC0)
    for api in APIS:
        s[f"interior-tiny-api{api}"] = malloc(edge(6)) + \
            interior(0, 16, api) + interior(0, 1, api)
    s["interior-pool-and-large"] = malloc(edge(33)) + malloc(large(4)) + \
        interior(0, 4096) + interior(1, 12345, SIZED) + \
        interior(1, 4096, 4) + interior(0, 99, 5)
    for source in range(6):
        s[f"foreign-source{source}"] = b"".join(
            foreign(source, 0x10203 * (api + 1), api) for api in APIS)
    s["stale-realloc-usable"] = alloc_burst(3, tiny(32)) + free_burst(1) + \
        stale_use(0, 0, edge(5)) + stale_use(0, 1, edge(5)) + \
        malloc(large(9)) + free(0) + stale_use(0, 0, large(20)) + \
        stale_use(0, 1, edge(3))
    s["wrong-size"] = malloc(edge(4)) + wrong_size(0, edge(5)) + \
        wrong_size(0, edge(3)) + wrong_size(0, edge(4), 6) + \
        malloc(large(30)) + wrong_size(0, large(1)) + \
        wrong_size(0, large(200)) + wrong_size(0, edge(4))
    s["wrong-size-aligned"] = aligned(10, edge(2)) + wrong_size(0, edge(2)) + \
        wrong_size(0, tiny(1024), 10)
    for mode in range(5):
        s[f"corrupt-tiny-mode{mode}"] = alloc_burst(3, tiny(64)) + \
            free_burst(1) + corrupt(0, mode) + double_free(0)
    s["corrupt-pool-spilled"] = alloc_burst(10, edge(28)) + \
        free_burst(6, OLDEST) + corrupt(2, 0) + corrupt(0, 2)
    # Regressions (finding 1 in README.md): a corrupted block found while
    # TakeBlocks splits a span's free list stays in the thread cache.
    split = alloc_burst(61, edge(16)) + free_burst(44, NEWEST)
    s["regress-split-corrupt-key-reported-twice"] = split + corrupt(3, 0)
    s["regress-split-corrupt-key-left-in-cache"] = split + corrupt(4, 0)
    s["regress-split-corrupt-link-handed-out"] = split + corrupt(3, 3)
    s["mixed"] = malloc(edge(1)) + malloc(edge(21)) + malloc(large(2)) + \
        free(1) + double_free(0) + interior(0, 8) + foreign(0) + \
        stale_use(0, 1, edge(1)) + wrong_size(1, edge(9)) + free(0) + \
        double_free(0, ALIGNED_SIZED)
    # Arenas. A freed slab block of a live arena: exactly DOUBLE_FREE,
    # whether freed again by hak_heap_free or hak_free.
    for name, size in (("tiny", tiny(64)), ("pool", edge(25))):
        s[f"arena-double-heap-free-{name}"] = heap_burst(0, 3, size) + \
            heap_free(2) + heap_double_free(0) + double_free(0) + \
            heap_double_free(0, 1)
    for api in range(4):
        s[f"arena-remote-free-then-double-free-api{api}"] = \
            heap_burst(0, 3, tiny(48)) + arena_block_free(1, api) + \
            heap_double_free(0) + double_free(0, api)
    s["arena-double-free-large"] = heap_malloc(0, large(12)) + \
        heap_free(0) + heap_double_free(0) + double_free(0) + \
        heap_malloc(1, large(40)) + heap_double_free(1, 1)
    s["arena-block-into-other-heap"] = heap_malloc(0, edge(4)) + \
        heap_malloc(0, edge(30)) + heap_malloc(0, large(2)) + \
        heap_free_live(0, 1) + heap_free_live(1, 2) + heap_free_live(2, 1) + \
        heap_free(0) + heap_free(0) + heap_free(0)
    s["arena-ordinary-block-into-heap"] = malloc(edge(4)) + \
        malloc(edge(44)) + malloc(large(8)) + aligned(10, edge(3)) + \
        heap_free_live(0, 0) + heap_free_live(1, 1) + heap_free_live(2, 2) + \
        heap_free_live(3, 0)
    s["arena-interior"] = heap_malloc(0, edge(10)) + \
        heap_malloc(0, large(5)) + heap_free_live(0, 0, 5) + \
        heap_free_live(1, 0, 4096) + heap_free_live(0, 1, 16) + \
        interior(0, 32) + interior(1, 8192, 4) + interior(0, 1, 5) + \
        wrong_size(0, edge(11))
    s["arena-foreign"] = b"".join(
        heap_free_foreign(src, 0x10203 * (src + 1), src % 3)
        for src in range(6))
    s["arena-destroyed-blocks-freed"] = heap_burst(0, 6, edge(15)) + \
        heap_destroy(0) + double_free(0) + double_free(1, SIZED) + \
        stale_use(2, 1, edge(1)) + heap_double_free(3, 1) + \
        heap_malloc(1, large(7)) + heap_destroy(1) + double_free(0) + \
        heap_double_free(0, 2)
    s["arena-stale-use"] = heap_burst(2, 3, tiny(96)) + heap_free(1) + \
        stale_use(0, 0, edge(5)) + stale_use(0, 1, edge(5)) + \
        arena_block_free(0) + stale_use(0, 1, edge(5))
    for mode in range(5):
        s[f"arena-corrupt-mode{mode}"] = heap_burst(0, 3, tiny(64)) + \
            heap_free(2) + heap_corrupt(0, mode) + heap_double_free(0) + \
            heap_burst(0, 4, tiny(64))
    s["arena-corrupt-deep-in-list"] = heap_burst(1, 40, edge(27)) + \
        heap_free_burst(1, 30, HEAP_FREE | OLDEST_FIRST) + \
        heap_corrupt(5, 3) + heap_double_free(10) + heap_destroy(1) + \
        heap_burst(1, 40, edge(27))
    return s


def cross_thread_seeds():
    # Steps: [opcode % 8, slot, args]. 0-2 valid op, 3 hand-over, 4 free by,
    # 5 producer/consumer, 6 restart, 7 injection (opcode % 6 as above).
    def valid(slot, op):
        return bytes([0, slot]) + op

    def hand(slot, sel):
        return bytes([3, slot, sel])

    def free_by(slot, sel, api=FREE, variant=0):
        return bytes([4, slot, sel, api]) + struct.pack("<H", variant)

    def prodcons(producer, consumer, count, size):
        return bytes([5, producer, consumer, count - 1]) + size

    def restart(slot):
        return bytes([6, slot])

    def inject(slot, injection):
        return bytes([7, slot]) + bytes([injection[0] - INJ]) + injection[1:]

    s = {}
    s["remote-free"] = bytes([0]) + valid(0, alloc_burst(8, tiny(32))) + \
        b"".join(free_by(1, 0) for _ in range(8))
    s["owner-then-other-double-free"] = bytes([0]) + \
        valid(0, alloc_burst(3, tiny(64))) + valid(0, free_burst(1)) + \
        inject(1, double_free(0))
    s["other-then-owner-double-free"] = bytes([0]) + \
        valid(0, alloc_burst(3, tiny(64))) + free_by(1, 0) + \
        inject(0, double_free(0))
    s["two-other-threads-double-free"] = bytes([1]) + \
        valid(0, alloc_burst(3, edge(22))) + free_by(1, 0) + \
        inject(2, double_free(0, SIZED))
    s["same-thread-double-free"] = bytes([1]) + \
        valid(2, alloc_burst(2, edge(7))) + valid(2, free_burst(1)) + \
        inject(2, double_free(0))
    s["large-cross-thread-double-free"] = bytes([0]) + \
        valid(0, malloc(large(20))) + free_by(1, 0) + \
        inject(0, double_free(0))
    s["hand-over-chain"] = bytes([2]) + valid(0, malloc(edge(14))) + \
        valid(0, malloc(large(3))) + hand(1, 0) + hand(2, 0) + hand(3, 1) + \
        hand(1, 1) + valid(1, realloc(0, edge(30))) + free_by(3, 0) + \
        free_by(2, 0)
    s["producer-consumer"] = bytes([1]) + \
        prodcons(0, 1, 64, tiny(48)) + prodcons(1, 2, 64, tiny(48)) + \
        prodcons(2, 0, 40, edge(24)) + prodcons(0, 2, 20, large(1))
    s["exit-with-live-blocks"] = bytes([0]) + \
        valid(0, alloc_burst(20, tiny(96))) + restart(0) + \
        b"".join(free_by(1, 0) for _ in range(10)) + \
        valid(0, alloc_burst(30, tiny(96))) + restart(1)
    s["double-free-after-owner-exit"] = bytes([0]) + \
        valid(0, alloc_burst(4, tiny(128))) + valid(0, free_burst(1)) + \
        restart(0) + inject(1, double_free(0)) + inject(0, double_free(0))
    s["adopt-abandoned-span"] = bytes([1]) + \
        valid(0, alloc_burst(50, tiny(256))) + restart(0) + \
        b"".join(free_by(2, 0) for _ in range(25)) + \
        valid(1, alloc_burst(50, tiny(256))) + restart(2) + \
        valid(2, free_burst(64))
    s["cross-thread-interior-and-wrong-size"] = bytes([0]) + \
        valid(0, malloc(edge(10))) + valid(0, malloc(large(7))) + \
        inject(1, interior(0, 20)) + inject(1, interior(1, 5000, 4)) + \
        inject(1, wrong_size(0, edge(11))) + inject(0, foreign(0)) + \
        inject(1, foreign(2, 7, 5))
    s["cross-thread-stale-use"] = bytes([0]) + \
        valid(0, alloc_burst(3, tiny(80))) + free_by(1, 0) + \
        inject(1, stale_use(0, 0, edge(2))) + \
        inject(0, stale_use(0, 1, edge(2)))
    s["arena-remote-frees"] = bytes([0]) + \
        valid(0, heap_burst(0, 20, tiny(64))) + \
        b"".join(free_by(1, k) for k in range(10)) + \
        valid(0, heap_burst(0, 20, tiny(64))) + valid(0, heap_destroy(0))
    s["arena-hand-over-and-exit"] = bytes([1]) + \
        valid(0, heap_malloc(0, edge(14))) + \
        valid(0, heap_malloc(0, large(2))) + hand(1, 0) + hand(2, 1) + \
        valid(1, heap_malloc(0, edge(14))) + valid(1, heap_free(0)) + \
        restart(0) + valid(1, heap_malloc(0, edge(14))) + \
        inject(2, double_free(0)) + inject(2, double_free(1)) + \
        valid(1, heap_free(0))
    s["arena-per-thread"] = bytes([2]) + b"".join(
        valid(t, heap_burst(t % 3, 10, edge(5 + t))) for t in range(4)) + \
        b"".join(free_by((t + 1) % 4, 0) for t in range(8)) + \
        valid(2, heap_create(2)) + restart(1) + restart(3)
    s["collect-per-thread"] = bytes([1]) + \
        valid(0, alloc_burst(30, edge(27))) + valid(1, collect(1)) + \
        free_by(1, 0) + free_by(1, 0) + valid(0, collect(1)) + \
        valid(2, collect(0)) + restart(0) + valid(1, collect(1))
    return s


if __name__ == "__main__":
    write("ops_fuzz", ops_seeds())
    write("double_free_fuzz", double_free_seeds())
    write("cross_thread_fuzz", cross_thread_seeds())
