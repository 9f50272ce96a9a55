"""Tests of tools/bench_runner.py without running any benchmark: parsing the
benchmarks' reports, catching runs served by the wrong allocator, the
tables, the targets and the chart."""

import json
import tempfile
import unittest
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from unittest import mock

from tools import bench_runner as runner

LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
MIMALLOC = "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2"
HAKMEM_SO = "/tmp/bench/libhakmem.so"


def report(malloc_from=LIBC, served="absent", value="2.5e+07"):
    return (f"larson threads=2\nresult larson {value} ops/s\n"
            f"peak_rss_kib 7000\nfinal_rss_kib 5000\nminor_faults 1200\n"
            f"malloc_from {malloc_from}\nhakmem_blocks_served {served}\n")


def program_report(malloc_from=LIBC, served="absent", processes=0,
                   program="git"):
    """What bench/git_gc prints: about the program it ran, not itself."""
    return (f"result git_gc 2.5 s\nresult git_gc_cpu 3.5 s\n"
            f"peak_rss_kib 60000\nfinal_rss_kib absent\nminor_faults 9\n"
            f"measured_program {program}\nmalloc_from {malloc_from}\n"
            f"hakmem_processes {processes}\n"
            f"hakmem_blocks_served {served}\n")


def row(label, unit, target, values):
    case = runner.Case(label, "larson", (), target=target)
    return runner.Row(label, unit, values, case)


class ParseRunTest(unittest.TestCase):

    def test_reads_every_line(self):
        run = runner.parse_run(report(HAKMEM_SO, "80182"))
        self.assertEqual(run.results, {"larson": (2.5e7, "ops/s")})
        self.assertEqual(run.peak_rss_kib, 7000)
        self.assertEqual(run.final_rss_kib, 5000)
        self.assertEqual(run.minor_faults, 1200)
        self.assertEqual(run.malloc_from, HAKMEM_SO)
        self.assertEqual(run.hakmem_blocks_served, 80182)

    def test_absent_hakmem_is_none(self):
        self.assertIsNone(runner.parse_run(report()).hakmem_blocks_served)

    def test_a_program_that_has_exited_has_no_final_rss(self):
        run = runner.parse_run(program_report(HAKMEM_SO, "5000", 8))
        self.assertIsNone(run.final_rss_kib)
        self.assertEqual(run.measured_program, "git")
        self.assertEqual(run.hakmem_processes, 8)
        self.assertEqual(run.results["git_gc_cpu"], (3.5, "s"))


class BundleTest(unittest.TestCase):
    """--pack copies everything a run needs; --from finds it again."""

    def test_pack_then_unpack(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            system_lib = tmp / "libmimalloc.so.2"
            system_lib.write_text("mimalloc")
            bundle = tmp / "bundle"

            def fake_snapshot(allocators, into):
                (into / "larson").write_text("larson")
                (into / "hakmem").mkdir()
                (into / "hakmem" / "libhakmem.so").write_text("hakmem")
                return ({"larson": into / "larson"},
                        {"glibc": None,
                         "hakmem": str(into / "hakmem" / "libhakmem.so"),
                         "mimalloc": str(system_lib)})

            with mock.patch.object(runner, "snapshot", fake_snapshot):
                runner.pack(["glibc", "hakmem", "mimalloc"], bundle, "abc123")
            system_lib.unlink()  # the bundle must not point back at it

            revision, binaries, libraries = runner.unpack(
                bundle, ["glibc", "mimalloc"])
            self.assertEqual(revision, "abc123")
            self.assertEqual(binaries["larson"].read_text(), "larson")
            self.assertIsNone(libraries["glibc"])
            self.assertEqual(Path(libraries["mimalloc"]).read_text(),
                             "mimalloc")
            self.assertEqual(set(libraries), {"glibc", "mimalloc"})
            with self.assertRaises(SystemExit):
                runner.unpack(bundle, ["jemalloc"])
            with self.assertRaises(SystemExit):  # not into a full folder
                runner.pack(["glibc"], bundle, "abc123")
            manifest = json.loads((bundle / "bundle.json").read_text())
            self.assertTrue(all(not Path(p).is_absolute() for p in
                                manifest["libraries"].values() if p))


class CheckAllocatorTest(unittest.TestCase):

    def check(self, allocator, library, text):
        runner.check_allocator(allocator, library, runner.parse_run(text))

    def test_accepts_runs_served_as_labelled(self):
        self.check("glibc", None, report())
        self.check("mimalloc", MIMALLOC, report(MIMALLOC))

    def test_hakmem_must_be_loaded(self):
        with self.assertRaisesRegex(runner.WrongAllocator, "absent"):
            self.check("hakmem", HAKMEM_SO, report(HAKMEM_SO))

    def test_hakmem_must_have_served_blocks(self):
        with self.assertRaisesRegex(runner.WrongAllocator, "0 blocks"):
            self.check("hakmem", HAKMEM_SO, report(HAKMEM_SO, "0"))

    def test_hakmem_must_not_serve_other_labels(self):
        with self.assertRaisesRegex(runner.WrongAllocator, "hakmem loaded"):
            self.check("glibc", None, report(LIBC, "10"))

    def test_a_program_case_needs_a_report_about_the_program(self):
        check = runner.check_allocator
        check("glibc", None, runner.parse_run(program_report()), "git")
        check("hakmem", HAKMEM_SO,
              runner.parse_run(program_report(HAKMEM_SO, "5000", 8)), "git")
        # The wrapper's own report proves nothing about git.
        with self.assertRaisesRegex(runner.WrongAllocator, "itself"):
            check("glibc", None, runner.parse_run(report()), "git")
        with self.assertRaisesRegex(runner.WrongAllocator, "not on git"):
            check("glibc", None,
                  runner.parse_run(program_report(program="sqlite3")), "git")
        with self.assertRaisesRegex(runner.WrongAllocator, "no process"):
            check("hakmem", HAKMEM_SO,
                  runner.parse_run(program_report(HAKMEM_SO, "5000", 0)),
                  "git")
        # Nor the other way round: a benchmark's case takes no report about
        # another program.
        with self.assertRaisesRegex(runner.WrongAllocator, "does not"):
            check("glibc", None, runner.parse_run(program_report()))

    def test_malloc_must_come_from_the_preloaded_library(self):
        with self.assertRaisesRegex(runner.WrongAllocator, "libc.so.6"):
            self.check("mimalloc", MIMALLOC, report(LIBC))
        with self.assertRaisesRegex(runner.WrongAllocator, "mimalloc"):
            self.check("glibc", None, report(MIMALLOC))


class ProfilesTest(unittest.TestCase):

    def test_every_case_runs_a_benchmark_the_runner_builds(self):
        for name, profile in runner.profiles(4).items():
            for case in profile.cases:
                self.assertIn(case.binary, runner.BENCH_BINARIES,
                              f"{name}: {case.label}")
                self.assertIn(case.target,
                              (None, "time", "throughput", "best_time"))

    def test_peer_runs_every_shape_of_the_suite(self):
        peer = runner.profiles(4)["peer"]
        self.assertEqual(
            [c.binary for c in peer.cases],
            ["sh6bench", "rptest", "xmalloc_test", "thread_generations",
             "glibc_thread", "glibc_simple", "cfrac", "malloc_large",
             "git_gc"])
        self.assertEqual(len({c.label for c in peer.cases}),
                         len(peer.cases))
        git = peer.cases[-1]
        self.assertEqual(git.program, "git")
        self.assertTrue(all(c.program is None for c in peer.cases[:-1]))


class TablesTest(unittest.TestCase):

    def test_metric_labels(self):
        larson = runner.larson(2)
        self.assertEqual(runner.metric_label(larson, "larson"), "larson 2T")
        self.assertEqual(runner.metric_label(larson, "larson_by_cpu_time"),
                         "larson 2T by_cpu_time")
        tiny = runner.Case("bench_tiny", "bench_tiny", ())
        self.assertEqual(runner.metric_label(tiny, "lifo_8B"),
                         "bench_tiny lifo_8B")

    def test_markdown_columns_line_up(self):
        table = runner.markdown_table(["a", "bb"], [["long label", "1"]])
        lines = table.splitlines()
        self.assertEqual(len({len(line) for line in lines}), 1)
        self.assertEqual(lines[1], "|------------|---:|")

    def test_medians_and_ratios(self):
        speed = row("larson 2T", "ops/s", "throughput", {
            "mimalloc": [2e7, 4e7, 3e7], "hakmem": [3e7, 3e7, 3e7]})
        medians = runner.medians_table([speed], ["hakmem", "mimalloc"])
        self.assertIn("30.00 ±0%", medians)
        self.assertIn("30.00 ±33%", medians)
        ratios = runner.ratio_table([speed], ["hakmem"], ["mimalloc"])
        self.assertIn("1.00x", ratios)

    def test_no_final_rss_row_for_a_program_that_has_exited(self):
        git = runner.Case("git gc", "git_gc", (), program="git")
        larson = runner.larson(2)
        profile = runner.Profile("", 1, (larson, git))
        with_final = runner.parse_run(report())
        without = runner.parse_run(program_report())
        runs = {"larson 2T": {"glibc": [with_final]},
                "git gc": {"glibc": [without]}}
        self.assertEqual(
            [r.label for r in runner.rss_rows(profile, runs, "peak_rss_kib")],
            ["larson 2T", "git gc"])
        self.assertEqual(
            [r.label for r in runner.rss_rows(profile, runs, "final_rss_kib")],
            ["larson 2T"])
        self.assertEqual(runner.format_kib(None), "n/a")

    def test_ratios_pair_runs_of_one_round(self):
        # hakmem is half as fast in two rounds of three; the load changed
        # from round to round, which the medians' ratio (1.0) mixes in and
        # the paired ratio does not.
        speed = row("larson", "ops/s", None, {
            "mimalloc": [4e7, 1e7, 2e7], "hakmem": [2e7, 0.5e7, 3e7]})
        self.assertEqual(speed.ratio("hakmem", "mimalloc"), 0.5)


class TargetsTest(unittest.TestCase):

    def test_time_throughput_and_rss_targets(self):
        tiny = row("tiny", "ns/pair", "time", {
            "hakmem": [5.0], "mimalloc": [4.0], "glibc": [10.0]})
        larson = row("larson", "ops/s", "throughput", {
            "hakmem": [3e7], "mimalloc": [2e7], "glibc": [1e7]})
        rss = row("larson", "MiB", None, {
            "hakmem": [13.0], "mimalloc": [10.0], "glibc": [9.0]})
        checks = runner.target_lines(runner.Profile("", 1, ()),
                                     [tiny, larson], [rss],
                                     ["glibc", "hakmem", "mimalloc"])
        self.assertEqual([met for met, _ in checks], [False, True, False])
        self.assertIn("1.25x mimalloc's time", checks[0][1])
        self.assertIn("1.30x", checks[2][1])

    def test_issue_14_drops_glibc_and_holds_large_to_the_best_peer(self):
        # Faster than mimalloc but slower than glibc: met for issue 14,
        # missed for issue 4.
        simple = row("simple", "ns/pair", "time", {
            "hakmem": [9.0], "mimalloc": [10.0], "glibc": [8.0]})
        large = row("large", "s", "best_time", {
            "hakmem": [1.1], "mimalloc": [3.0], "glibc": [1.0],
            "tcmalloc": [0.8], "hakmem-nodetect": [0.1]})
        allocators = ["glibc", "hakmem", "hakmem-nodetect", "mimalloc",
                      "tcmalloc"]
        issue_4 = runner.Profile("", 1, ())
        self.assertEqual([met for met, _ in runner.target_lines(
            issue_4, [simple], [], allocators)], [False])
        peer = runner.profiles(4)["peer"]
        self.assertEqual(peer.targets_of, "issue 14")
        checks = runner.target_lines(peer, [simple, large], [], allocators)
        # large: 1.375x tcmalloc's (hakmem-nodetect is no peer): missed.
        self.assertEqual([met for met, _ in checks], [True, False])
        self.assertIn("1.38x the best peer's (tcmalloc", checks[1][1])
        large.values["hakmem"] = [0.9]
        self.assertEqual([met for met, _ in runner.target_lines(
            peer, [large], [], allocators)], [True])
        self.assertEqual(
            [c.target for c in peer.cases if c.binary == "malloc_large"],
            ["best_time"])

    def test_no_targets_without_hakmem_and_mimalloc(self):
        self.assertEqual(runner.target_lines(
            runner.Profile("", 1, ()), [], [], ["glibc", "hakmem"]), [])


class ChartTest(unittest.TestCase):

    def test_bars_and_lines_are_well_formed_svg(self):
        allocators = ["hakmem", "mimalloc"]
        for name in ("quick", "threads", "peer"):
            profile = runner.profiles(4)[name]
            speed = [runner.Row(c.label, "ops/s",
                                {"hakmem": [2e7], "mimalloc": [1e7]}, c,
                                c.binary)
                     for c in profile.cases]
            rss = [runner.Row(c.label, "MiB",
                              {"hakmem": [5.0], "mimalloc": [4.0]}, c)
                   for c in profile.cases]
            svg = runner.chart(name, profile, speed, rss, allocators,
                               "mimalloc", "2 CPUs")
            root = ElementTree.fromstring(svg)
            self.assertTrue(root.tag.endswith("svg"))
            self.assertIn("hakmem", svg)


if __name__ == "__main__":
    unittest.main()
