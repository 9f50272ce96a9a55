#!/usr/bin/env python3
"""Runs hakmem's benchmarks side by side with other allocators.

The benchmarks (bench/larson, bench/bench_tiny, bench/random_mixed,
bench/thread_generations, and the shapes of mimalloc-bench's suite:
bench/sh6bench, rptest, xmalloc_test, glibc_thread, glibc_simple, cfrac,
malloc_large) call plain malloc/free, so one binary measures every
allocator: glibc as is, the others loaded with LD_PRELOAD. bench/git_gc
times a real program, `git gc --aggressive` of a generated repository,
with the allocator preloaded into git. For each case of a profile the allocators
take turns, A B C A B C ..., for --repeats rounds; the table shows each
median (with the spread of the repeats) and the ratios to mimalloc and
glibc, then peak RSS, final RSS (once every block is freed: what each
allocator keeps of its own accord), and how hakmem stands against the
targets of the profile's issue (4, or 14 for `peer`). A ratio is the
median over rounds of the ratio of two runs of the same round: seconds
apart, they see the same load on the machine. A chart (SVG), the tables
(Markdown) and the raw runs (JSON) are written to --out (default
build/bench/).

Every run must prove its allocator: the benchmarks print which library
their malloc comes from and, when hakmem is loaded, how many blocks hakmem
served. A run labelled hakmem that hakmem did not serve, or one labelled
otherwise that hakmem did, stops the runner with an error. A case that
measures another program (git_gc: git) must say that its proof is about
that program, and under hakmem that the program's processes reported
hakmem's statistics.

  tools/bench_runner.py quick                 # ~1-2 minutes
  tools/bench_runner.py tput --repeats=7
  tools/bench_runner.py threads --max-threads=8
  tools/bench_runner.py quick --allocators=hakmem,mimalloc --no-build
  tools/bench_runner.py quick --allocators=hakmem,hakmem-nodetect,mimalloc
                          # what memory-error detection costs
  tools/bench_runner.py --pack=build/bundle --allocators=...
  tools/bench_runner.py threads --from=build/bundle --max-threads=16
                          # build here, run on another machine (no Bazel
                          # there): the bundle holds the benchmarks, every
                          # allocator's library and the revision

Python 3 standard library only.
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_chart  # noqa: E402  (beside this file)

REPO = Path(__file__).resolve().parent.parent
SYSTEM_LIBS = "/usr/lib/x86_64-linux-gnu/"


@dataclass(frozen=True)
class Allocator:
    # The library to LD_PRELOAD (None: the program's own glibc malloc); for
    # a hakmem build, relative to the bazel-bin of `bazel_flags`.
    library: Optional[str]
    bazel_flags: Optional[Tuple[str, ...]] = None

    @property
    def is_hakmem(self) -> bool:
        return self.bazel_flags is not None


HAKMEM_LIBRARY = "libhakmem.so"
OPT = ("-c", "opt")
ALLOCATORS: Dict[str, Allocator] = {
    "glibc": Allocator(None),
    "hakmem": Allocator(HAKMEM_LIBRARY, OPT),
    "mimalloc": Allocator(SYSTEM_LIBS + "libmimalloc.so.2"),
    "jemalloc": Allocator(SYSTEM_LIBS + "libjemalloc.so.2"),
    "tcmalloc": Allocator(SYSTEM_LIBS + "libtcmalloc_minimal.so.4"),
    # Memory-error detection compiled out, to measure what it costs; only
    # when asked for with --allocators.
    "hakmem-nodetect": Allocator(HAKMEM_LIBRARY,
                                 OPT + ("--config=nodetect",)),
}
DEFAULT_ALLOCATORS = ("glibc", "hakmem", "mimalloc", "jemalloc", "tcmalloc")
BENCH_BINARIES = ("larson", "bench_tiny", "random_mixed", "thread_generations",
                  "sh6bench", "rptest", "xmalloc_test", "glibc_thread",
                  "glibc_simple", "cfrac", "malloc_large", "git_gc")
HAKMEM = "hakmem"


# ----------------------------------------------------------------- profiles

@dataclass(frozen=True)
class Case:
    label: str
    binary: str
    args: Tuple[str, ...]
    # The `result` names to report (None: all the binary prints).
    metrics: Optional[Tuple[str, ...]] = None
    # Which target the case's speed is held to, if any: "time" (at most
    # mimalloc's; below glibc's too where the profile says so),
    # "throughput" (at least mimalloc's) or "best_time" (at most mimalloc's
    # and 1.2x the best other allocator's). Peak RSS is held to 1.2x
    # mimalloc's on every case.
    target: Optional[str] = None
    # The x value of a sweep (thread count).
    x: Optional[int] = None
    # The program the case measures when it is not the binary itself
    # (bench/git_gc starts git): its runs must name it (`measured_program`),
    # and under hakmem its processes must have reported hakmem's statistics
    # (`hakmem_processes`).
    program: Optional[str] = None


@dataclass(frozen=True)
class Profile:
    description: str
    repeats: int
    cases: Tuple[Case, ...]
    sweep: bool = False
    show_faults: bool = False
    # The issue whose targets the cases are held to, and whether a "time"
    # target also asks for less than glibc's (issue 4's does, issue 14's
    # does not).
    targets_of: str = "issue 4"
    below_glibc: bool = True


def larson(threads: int, label: Optional[str] = None, target=None, x=None,
           **params) -> Case:
    params = {"threads": threads, **params}
    return Case(label or f"larson {threads}T", "larson",
                tuple(f"--{k}={v}" for k, v in params.items()),
                target=target, x=x)


def profiles(max_threads: int) -> Dict[str, Profile]:
    sweep = list(range(1, max_threads + 1)) if max_threads <= 8 else sorted(
        {1 << i for i in range(max_threads.bit_length())} | {max_threads})
    return {
        "quick": Profile(
            "every benchmark, small: a first look in about a minute",
            repeats=5,
            cases=(
                larson(2, chunks=5000, rounds=10, replacements=1000000,
                       target="throughput"),
                Case("bench_tiny", "bench_tiny", ("--pairs=5000000",),
                     metrics=("lifo_mean", "random_mean"), target="time"),
                Case("random_mixed", "random_mixed", ("--ops=20000000",),
                     target="throughput"),
            )),
        "tput": Profile(
            "throughput: larson as mimalloc-bench runs it (2 threads, "
            "8-1000 B) and with upstream hakmem's 8-128 B, every tiny size, "
            "random_mixed at two working sets",
            repeats=5,
            cases=(
                larson(2, chunks=5000, rounds=10, replacements=2000000,
                       target="throughput"),
                larson(2, "larson 2T 8-128B", min=8, max=128, chunks=1024,
                       rounds=10, replacements=2000000, target="throughput"),
                Case("bench_tiny", "bench_tiny",
                     ("--sizes=8,16,24,32,40,48,56,64", "--pairs=10000000"),
                     target="time"),
                Case("random_mixed ws8192", "random_mixed",
                     ("--slots=8192", "--ops=50000000"), target="throughput"),
                Case("random_mixed ws400", "random_mixed",
                     ("--slots=400", "--ops=50000000"), target="throughput"),
            )),
        "pf": Profile(
            "page faults and RSS: large live sets that churn across the "
            "tiny and pool tiers, so allocators must map, reuse and return "
            "pages; random_mixed both touching one byte per block (RSS: "
            "the pages the allocator itself touches) and filling every block",
            repeats=3,
            show_faults=True,
            cases=(
                larson(2, "larson 2T 8B-8KiB", min=8, max=8192, chunks=10000,
                       rounds=10, replacements=200000, target="throughput"),
                larson(2, "larson 2T 1-64KiB", min=1024, max=65536,
                       chunks=2000, rounds=10, replacements=50000,
                       target="throughput"),
                Case("random_mixed 1-64KiB", "random_mixed",
                     ("--slots=4096", "--ops=5000000", "--min=1024",
                      "--max=65536")),
                Case("random_mixed 1-64KiB filled", "random_mixed",
                     ("--slots=4096", "--ops=1000000", "--min=1024",
                      "--max=65536", "--fill=1")),
            )),
        "peer": Profile(
            "the shapes of mimalloc-bench's suite, each written from its "
            "description (bench/*.cc say how), and a real program: "
            "sh6bench, rptest, xmalloc-test, mstress (thread_generations: "
            "generations of threads that come and go), glibc's "
            "bench-malloc-thread and -simple, cfrac, malloc-large, and "
            "`git gc --aggressive` of a generated repository",
            repeats=3,
            targets_of="issue 14",
            below_glibc=False,
            cases=(
                Case("sh6bench 2T", "sh6bench",
                     ("--threads=2", "--passes=5000"), target="time"),
                Case("rptest 2T", "rptest",
                     ("--threads=2", "--loops=40000"), target="throughput"),
                Case("xmalloc_test 2T", "xmalloc_test",
                     ("--workers=1", "--batches=5000"), target="throughput"),
                Case("thread_generations 2T", "thread_generations",
                     ("--threads=2", "--generations=400",
                      "--checkpoints=100,400"), target="throughput"),
                Case("glibc_thread 2T", "glibc_thread",
                     ("--threads=2", "--iterations=40000000"),
                     target="throughput"),
                Case("glibc_simple", "glibc_simple", ("--pairs=2000000",),
                     metrics=("glibc_simple",), target="time"),
                Case("cfrac", "cfrac", ("--iterations=1000000",),
                     target="time"),
                Case("malloc_large", "malloc_large", ("--replacements=400",),
                     target="best_time"),
                Case("git gc --aggressive", "git_gc",
                     ("--commits=5000", "--files=200"),
                     metrics=("git_gc", "git_gc_cpu"), target="time",
                     program="git"),
            )),
        "threads": Profile(
            f"larson 8-1000 B over 1..{max_threads} threads",
            repeats=3,
            sweep=True,
            cases=tuple(
                larson(t, chunks=2000, rounds=10, replacements=200000,
                       target="throughput" if t == 2 else None, x=t)
                for t in sweep)),
    }


# ------------------------------------------------------------------ running

class WrongAllocator(Exception):
    """A run did not go through the allocator it was labelled with."""


@dataclass
class Run:
    results: Dict[str, Tuple[float, str]] = field(default_factory=dict)
    peak_rss_kib: int = 0
    # None when the binary reports none (a program that has exited).
    final_rss_kib: Optional[int] = 0
    minor_faults: int = 0
    malloc_from: str = ""
    hakmem_blocks_served: Optional[int] = None
    measured_program: str = ""
    hakmem_processes: Optional[int] = None
    seconds: float = 0.0


def parse_run(stdout: str) -> Run:
    """Reads the lines that bench/report.h describes."""
    run = Run()
    for line in stdout.splitlines():
        words = line.split()
        if not words:
            continue
        key, values = words[0], words[1:]
        if key == "result" and len(values) == 3:
            run.results[values[0]] = (float(values[1]), values[2])
        elif key == "peak_rss_kib":
            run.peak_rss_kib = int(values[0])
        elif key == "final_rss_kib":
            run.final_rss_kib = (None if values[0] == "absent"
                                 else int(values[0]))
        elif key == "minor_faults":
            run.minor_faults = int(values[0])
        elif key == "malloc_from":
            run.malloc_from = values[0]
        elif key == "hakmem_blocks_served" and values[0] != "absent":
            run.hakmem_blocks_served = int(values[0])
        elif key == "measured_program":
            run.measured_program = values[0]
        elif key == "hakmem_processes":
            run.hakmem_processes = int(values[0])
    return run


def check_allocator(allocator: str, library: Optional[str], run: Run,
                    program: Optional[str] = None) -> None:
    """Raises WrongAllocator unless `run` was served by `allocator`; with
    `program`, unless the proof is about that program (see Case.program)."""
    if program is not None:
        if run.measured_program != program:
            raise WrongAllocator(
                f"run labelled {allocator} reports on "
                f"{run.measured_program or 'itself'}, not on {program}")
        if ALLOCATORS[allocator].is_hakmem and not run.hakmem_processes:
            raise WrongAllocator(
                f"run labelled {allocator}: no process of {program} "
                f"reported hakmem's statistics")
    elif run.measured_program:
        raise WrongAllocator(
            f"run labelled {allocator} reports on {run.measured_program}, "
            f"which its case does not measure")
    if ALLOCATORS[allocator].is_hakmem:
        if not run.hakmem_blocks_served:
            stats = ("absent" if run.hakmem_blocks_served is None
                     else "reports 0 blocks served")
            raise WrongAllocator(
                f"run labelled {allocator} was not served by hakmem: "
                f"hak_stats_get {stats}, malloc from {run.malloc_from}")
    elif run.hakmem_blocks_served is not None:
        raise WrongAllocator(f"run labelled {allocator} has hakmem loaded")
    if library is None:
        served_by_libc = Path(run.malloc_from).name.startswith("libc.so")
        if not served_by_libc:
            raise WrongAllocator(
                f"run labelled {allocator} took malloc from {run.malloc_from}")
    elif os.path.realpath(run.malloc_from) != os.path.realpath(library):
        raise WrongAllocator(
            f"run labelled {allocator} took malloc from {run.malloc_from}, "
            f"not {library}")


def run_once(binary: Path, case: Case, allocator: str,
             library: Optional[str], timeout: float) -> Run:
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if library:
        env["LD_PRELOAD"] = library
    start = time.monotonic()
    proc = subprocess.run([str(binary), *case.args], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f"{case.label} under {allocator} exited with {proc.returncode}:\n"
            + "\n".join(proc.stderr.splitlines()[-20:]))
    run = parse_run(proc.stdout)
    run.seconds = seconds
    if not run.results:
        raise RuntimeError(f"{case.label} under {allocator} printed no result")
    check_allocator(allocator, library, run, case.program)
    return run


def build(allocators: Sequence[str]) -> None:
    """Builds the benchmarks, and each hakmem variant asked for, with -c opt
    (and the variant's flags)."""
    builds = {OPT: [f"//bench:{b}" for b in BENCH_BINARIES]}
    for allocator in allocators:
        flags = ALLOCATORS[allocator].bazel_flags
        if flags is not None:
            builds.setdefault(flags, []).append("//:libhakmem.so")
    for flags, targets in builds.items():
        print(f"building {' '.join(targets)} ({' '.join(flags)})",
              file=sys.stderr)
        subprocess.run(["bazel", "build", *flags, *targets], cwd=REPO,
                       check=True)


def bazel_bin(flags: Sequence[str]) -> Path:
    out = subprocess.run(["bazel", "info", *flags, "bazel-bin"],
                         cwd=REPO, check=True, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return Path(out.stdout.strip())


def snapshot(allocators: Sequence[str], into: Path):
    """Copies the built binaries and hakmem libraries to `into`, so that
    builds made while the benchmarks run cannot change what they measure.
    Returns ({binary: path}, {allocator: library or None})."""
    binaries = {}
    bench_dir = bazel_bin(OPT) / "bench"
    for name in BENCH_BINARIES:
        binaries[name] = into / name
        shutil.copy2(bench_dir / name, binaries[name])
    libraries = {}
    for allocator in allocators:
        spec = ALLOCATORS[allocator]
        library = spec.library
        if spec.is_hakmem:
            # One folder per variant: the preloaded file keeps its name.
            folder = into / allocator
            folder.mkdir()
            library = str(folder / Path(spec.library).name)
            shutil.copy2(bazel_bin(spec.bazel_flags) / spec.library, library)
        elif library is not None and not Path(library).exists():
            sys.exit(f"bench_runner: {allocator}: {library} is missing "
                     f"(tools/setup.sh installs it)")
        libraries[allocator] = library
    return binaries, libraries


BUNDLE_MANIFEST = "bundle.json"


def pack(allocators: Sequence[str], into: Path, revision: str) -> None:
    """A self-contained bundle in `into` for --from: the snapshot, plus a
    copy of every other allocator's library (one folder each, so that a
    library keeps its file name) and a manifest."""
    if into.exists() and any(into.iterdir()):
        sys.exit(f"bench_runner: --pack needs an empty folder; {into} is not")
    into.mkdir(parents=True, exist_ok=True)
    binaries, libraries = snapshot(allocators, into)
    for allocator, library in libraries.items():
        if library is not None and not ALLOCATORS[allocator].is_hakmem:
            folder = into / allocator
            folder.mkdir()
            libraries[allocator] = str(folder / Path(library).name)
            shutil.copy2(library, libraries[allocator])
    relative = lambda p: None if p is None else str(Path(p).relative_to(into))
    (into / BUNDLE_MANIFEST).write_text(json.dumps({
        "revision": revision,
        "binaries": {n: relative(p) for n, p in binaries.items()},
        "libraries": {a: relative(p) for a, p in libraries.items()},
    }, indent=1))
    print(f"bundle: {into}", file=sys.stderr)


def unpack(bundle: Path, allocators: Sequence[str]):
    """What --pack wrote: (revision, binaries, libraries) with absolute
    paths."""
    manifest = json.loads((bundle / BUNDLE_MANIFEST).read_text())
    missing = [a for a in allocators if a not in manifest["libraries"]]
    if missing:
        sys.exit(f"bench_runner: the bundle in {bundle} has no {missing}")
    absolute = lambda p: None if p is None else str(bundle.resolve() / p)
    binaries = {n: Path(absolute(p))
                for n, p in manifest["binaries"].items()}
    libraries = {a: absolute(manifest["libraries"][a]) for a in allocators}
    return manifest["revision"], binaries, libraries


def run_profile(profile: Profile, allocators: Sequence[str],
                binaries: Dict[str, Path],
                libraries: Dict[str, Optional[str]], repeats: int,
                timeout: float) -> Dict[str, Dict[str, List[Run]]]:
    """runs[case label][allocator] = the repeats, allocators taking turns."""
    runs = {case.label: {a: [] for a in allocators} for case in profile.cases}
    total = len(profile.cases) * repeats * len(allocators)
    done = 0
    width = len(str(total))
    for case in profile.cases:
        for repeat in range(repeats):
            for allocator in allocators:
                run = run_once(binaries[case.binary], case, allocator,
                               libraries[allocator], timeout)
                runs[case.label][allocator].append(run)
                done += 1
                name = next(n for n in run.results
                            if case.metrics is None or n in case.metrics)
                value, unit = run.results[name]
                print(f"[{done:{width}}/{total}] {case.label:<22} "
                      f"{allocator:<9} repeat {repeat + 1}/{repeats}  "
                      f"{name} {format_value(value, unit)} "
                      f"{display_unit(unit)}"
                      f"  rss peak {run.peak_rss_kib / 1024:.1f}"
                      f" final {format_kib(run.final_rss_kib)} MiB"
                      f"  ({run.seconds:.1f} s)", file=sys.stderr, flush=True)
    return runs


# ------------------------------------------------------------------- tables

def format_kib(kib: Optional[int]) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f}"


def display_unit(unit: str) -> str:
    return "M ops/s" if unit == "ops/s" else unit


def format_value(value: float, unit: str) -> str:
    if unit == "ops/s":
        return f"{value / 1e6:.2f}"
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def higher_is_better(unit: str) -> bool:
    return unit == "ops/s"


@dataclass
class Row:
    label: str
    unit: str
    # allocator -> one value per repeat
    values: Dict[str, List[float]]
    case: Case
    metric: str = ""

    def median(self, allocator: str) -> Optional[float]:
        values = self.values.get(allocator)
        return statistics.median(values) if values else None

    def ratio(self, allocator: str, reference: str) -> float:
        """The median over rounds of allocator / reference within a round.
        Runs of one round are seconds apart, so a change of load on the
        machine moves both: pairing cancels most of it, which a ratio of
        the two medians would not."""
        return statistics.median(
            a / r for a, r in zip(self.values[allocator],
                                  self.values[reference]))

    def spread(self, allocator: str) -> float:
        """Half the range of the repeats, relative to the median."""
        values = self.values[allocator]
        median = statistics.median(values)
        return (max(values) - min(values)) / 2 / median if median else 0.0


def metric_label(case: Case, metric: str) -> str:
    """"larson 2T" for larson's main result, "larson 2T by_cpu_time" for
    larson_by_cpu_time, "bench_tiny lifo_8B" for lifo_8B."""
    if metric == case.binary:
        return case.label
    prefix = case.binary + "_"
    if metric.startswith(prefix):
        metric = metric[len(prefix):]
    return f"{case.label} {metric}"


def speed_rows(profile: Profile, runs) -> List[Row]:
    rows = []
    for case in profile.cases:
        by_allocator = runs[case.label]
        first = next(iter(by_allocator.values()))[0]
        names = [n for n in first.results
                 if case.metrics is None or n in case.metrics]
        for name in names:
            unit = first.results[name][1]
            rows.append(Row(metric_label(case, name), unit, {
                a: [r.results[name][0] for r in rs]
                for a, rs in by_allocator.items()}, case, name))
    return rows


def rss_rows(profile: Profile, runs, kib: str) -> List[Row]:
    """RSS in MiB from the Run field `kib` (peak_rss_kib, final_rss_kib);
    no row for a case whose runs report none."""
    return [Row(case.label, "MiB", {
        a: [getattr(r, kib) / 1024 for r in rs]
        for a, rs in runs[case.label].items()}, case)
        for case in profile.cases
        if all(getattr(r, kib) is not None
               for rs in runs[case.label].values() for r in rs)]


def fault_rows(profile: Profile, runs) -> List[Row]:
    return [Row(case.label, "k faults", {
        a: [r.minor_faults / 1000 for r in rs]
        for a, rs in runs[case.label].items()}, case)
        for case in profile.cases]


def markdown_table(header: Sequence[str],
                   lines: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in column)
              for column in zip(header, *lines)]

    def fmt(cells):
        return "| " + " | ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    rule = "|" + "|".join("-" * (w + 1) + (":" if i else "-")
                          for i, w in enumerate(widths)) + "|"
    return "\n".join([fmt(header), rule] + [fmt(line) for line in lines])


def medians_table(rows: Sequence[Row], allocators: Sequence[str]) -> str:
    lines = []
    for row in rows:
        arrow = "↑" if higher_is_better(row.unit) else "↓"
        cells = [row.label, f"{display_unit(row.unit)} {arrow}"]
        for a in allocators:
            cells.append(f"{format_value(row.median(a), row.unit)} "
                         f"±{row.spread(a) * 100:.0f}%")
        lines.append(cells)
    return markdown_table(["benchmark", "unit", *allocators], lines)


def ratio_table(rows: Sequence[Row], allocators: Sequence[str],
                references: Sequence[str]) -> str:
    """Each allocator's paired ratio (Row.ratio) to each reference, in the
    row's unit."""
    lines = []
    for row in rows:
        cells = [row.label]
        for a in allocators:
            cells.append(" / ".join(
                f"{row.ratio(a, ref):.2f}x"
                for ref in references))
        lines.append(cells)
    return markdown_table(
        [f"ratio to {' / '.join(references)}", *allocators], lines)


# ------------------------------------------------------------------ targets

def target_lines(profile: Profile, speed: Sequence[Row], rss: Sequence[Row],
                 allocators: Sequence[str]) -> List[Tuple[bool, str]]:
    """(met, description) for each target of the profile's issue these runs
    check."""
    if HAKMEM not in allocators or "mimalloc" not in allocators:
        return []
    peers = [a for a in allocators if not a.startswith(HAKMEM)]
    checks = []
    for row in speed:
        if row.case.target is None:
            continue
        vs_mi = row.ratio(HAKMEM, "mimalloc")
        if row.case.target == "best_time":
            best = min(peers, key=row.median)
            vs_best = row.ratio(HAKMEM, best)
            met = vs_mi <= 1.0 and vs_best <= 1.2
            text = (f"{row.label}: {vs_mi:.2f}x mimalloc's time (target <= "
                    f"1.00x), {vs_best:.2f}x the best peer's ({best}; "
                    f"target <= 1.20x)")
        elif row.case.target == "time":
            met = vs_mi <= 1.0
            text = (f"{row.label}: {vs_mi:.2f}x mimalloc's time "
                    f"(target <= 1.00x")
            if profile.below_glibc and "glibc" in allocators:
                vs_glibc = row.ratio(HAKMEM, "glibc")
                met = met and vs_glibc < 1.0
                text += f"), {vs_glibc:.2f}x glibc's (target < 1.00x)"
            else:
                text += ")"
        else:
            met = vs_mi >= 1.0
            text = (f"{row.label}: {vs_mi:.2f}x mimalloc's throughput "
                    f"(target >= 1.00x)")
        checks.append((met, text))
    for row in rss:
        vs_mi = row.ratio(HAKMEM, "mimalloc")
        checks.append((vs_mi <= 1.2, f"{row.label}: peak RSS {vs_mi:.2f}x "
                                     f"mimalloc's (target <= 1.20x)"))
    return checks


# -------------------------------------------------------------------- chart

def chart(profile_name: str, profile: Profile, speed: Sequence[Row],
          rss: Sequence[Row], allocators: Sequence[str], reference: str,
          machine: str) -> str:
    def relative(row: Row, a: str) -> float:
        ratio = row.ratio(a, reference)
        return ratio if higher_is_better(row.unit) else 1 / ratio

    panels = []
    if profile.sweep:
        # Wall-clock throughput only: the CPU-time variant assumes a CPU per
        # thread, which a sweep past the machine's CPUs does not have.
        rows = [row for row in speed if row.metric == row.case.binary]
        panels.append(bench_chart.LinePanel(
            "larson throughput by thread count", "median of the repeats",
            "threads", "M ops/s",
            {a: [(row.case.x, row.median(a) / 1e6) for row in rows]
             for a in allocators}))
    else:
        panels.append(bench_chart.BarPanel(
            f"speed relative to {reference} (higher is better)",
            "throughput / " + reference + "'s, or " + reference +
            "'s time / time; median over rounds of the ratio within a round",
            [(row.label, {a: relative(row, a) for a in allocators})
             for row in speed]))
    panels.append(bench_chart.BarPanel(
        f"peak RSS relative to {reference} (lower is better)",
        "VmHWM at exit; median over rounds of the ratio within a round",
        [(row.label, {a: row.ratio(a, reference)
                      for a in allocators}) for row in rss]))
    return bench_chart.render(f"hakmem benchmarks: {profile_name}",
                              allocators, panels, machine)


# --------------------------------------------------------------------- main

def load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def source_revision() -> str:
    """The commit measured, '+changes' when the work tree differs from it."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                             text=True, capture_output=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO,
                               text=True, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    return rev.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def machine_summary() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model}"


def report_text(name: str, profile: Profile, header: str, runs,
                speed: Sequence[Row], rss: Sequence[Row],
                allocators: Sequence[str], references: Sequence[str]) -> str:
    """The Markdown report: speed, peak and final RSS, faults (pf),
    targets."""
    final_rss = rss_rows(profile, runs, "final_rss_kib")
    sections = [
        f"## {name}: {profile.description}",
        header,
        medians_table(speed, allocators),
        ratio_table(speed, allocators, references),
        "Peak RSS (MiB):",
        medians_table(rss, allocators),
        ratio_table(rss, allocators, references),
        "Final RSS (MiB), once every block is freed:",
        medians_table(final_rss, allocators),
        ratio_table(final_rss, allocators, references),
    ]
    if profile.show_faults:
        sections += ["Minor page faults (thousands):",
                     medians_table(fault_rows(profile, runs), allocators)]
    targets = target_lines(profile, speed, rss, allocators)
    if targets:
        met = sum(ok for ok, _ in targets)
        sections.append(
            f"Targets ({profile.targets_of}), hakmem:\n" + "\n".join(
                f"- {'met   ' if ok else 'MISSED'} {text}"
                for ok, text in targets)
            + f"\n\n{met} met, {len(targets) - met} missed")
    return "\n\n".join(sections) + "\n"


def write_outputs(out: Path, name: str, report: str, svg: str, raw) -> None:
    out.mkdir(parents=True, exist_ok=True)
    paths = {kind: out / f"{name}.{ext}" for kind, ext in
             (("chart", "svg"), ("tables", "md"), ("raw runs", "json"))}
    paths["chart"].write_text(svg)
    paths["tables"].write_text(report)
    paths["raw runs"].write_text(json.dumps(raw, indent=1))
    for kind, path in paths.items():
        print(f"{kind}: {path}")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    known_profiles = profiles(4)
    parser.add_argument(
        "profile", nargs="?", default="quick", choices=list(known_profiles),
        help="; ".join(f"{name}: {p.description}"
                       for name, p in known_profiles.items()))
    parser.add_argument("--allocators", default=",".join(DEFAULT_ALLOCATORS),
                        help="comma-separated, from: " + ", ".join(ALLOCATORS))
    parser.add_argument("--repeats", type=int,
                        help="rounds of runs (default: the profile's)")
    parser.add_argument("--max-threads", type=int,
                        default=max(4, 2 * (os.cpu_count() or 1)),
                        help="top of the threads sweep")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds one run may take")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench",
                        help="folder for the chart, tables and raw runs")
    parser.add_argument("--no-build", action="store_true",
                        help="use what is in bazel-bin (-c opt) as it is")
    parser.add_argument("--pack", type=Path, metavar="DIR",
                        help="build, copy the benchmarks and the "
                        "allocators' libraries into DIR, and stop")
    parser.add_argument("--from", type=Path, metavar="DIR", dest="bundle",
                        help="run what --pack put into DIR (no build)")
    args = parser.parse_args(argv)

    allocators = [a for a in args.allocators.split(",") if a]
    unknown = [a for a in allocators if a not in ALLOCATORS]
    if unknown or not allocators:
        parser.error(f"unknown allocators {unknown}; "
                     f"known: {list(ALLOCATORS)}")
    profile = profiles(args.max_threads)[args.profile]
    repeats = args.repeats or profile.repeats
    reference = "mimalloc" if "mimalloc" in allocators else allocators[0]
    references = ([r for r in ("mimalloc", "glibc") if r in allocators]
                  or [reference])

    revision = source_revision()  # before the build: what it builds
    if args.pack:
        build(allocators)
        pack(allocators, args.pack, revision)
        return 0
    if args.bundle:
        revision, bundled_binaries, bundled_libraries = unpack(args.bundle,
                                                              allocators)
    elif not args.no_build:
        build(allocators)
    machine = machine_summary()
    load_at_start = load_average()
    print(f"profile {args.profile}: {profile.description}; "
          f"{repeats} repeats; {machine}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="hakmem-bench-") as tmp:
        if args.bundle:
            binaries, libraries = bundled_binaries, bundled_libraries
        else:
            binaries, libraries = snapshot(allocators, Path(tmp))
        try:
            runs = run_profile(profile, allocators, binaries, libraries,
                               repeats, args.timeout)
        except WrongAllocator as e:
            print(f"bench_runner: WRONG ALLOCATOR: {e}", file=sys.stderr)
            return 1
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print(f"bench_runner: {e}", file=sys.stderr)
            return 1

    speed = speed_rows(profile, runs)
    rss = rss_rows(profile, runs, "peak_rss_kib")
    header = (f"hakmem {revision}; {machine}; median of {repeats} "
              f"repeats (± half their range), ratios paired by round; "
              f"{datetime.datetime.now():%Y-%m-%d %H:%M}; load average "
              f"{load_at_start} before, {load_average()} after (other work "
              f"on the machine makes the numbers noisy)")
    report = report_text(args.profile, profile, header, runs, speed, rss,
                         allocators, references)
    print("\n" + report)
    write_outputs(args.out, args.profile, report,
                  chart(args.profile, profile, speed, rss, allocators,
                        reference, machine),
                  {"profile": args.profile, "machine": machine,
                   "repeats": repeats,
                   "cases": [asdict(c) for c in profile.cases],
                   "runs": {label: {a: [asdict(r) for r in rs]
                                    for a, rs in by.items()}
                            for label, by in runs.items()}})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
