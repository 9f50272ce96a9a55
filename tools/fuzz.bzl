"""cc_fuzzer: a libFuzzer binary `name` plus `name_test`, a short smoke run
of the same harness that `bazel test //...` executes.

Needs clang (the whole repo builds with clang, see .bazelrc). Plain builds
instrument only the harness; --config=fuzz instruments all code
(-fsanitize=fuzzer-no-link + ASan) for real fuzzing:
    bazel run --config=fuzz //fuzz:tiny_fuzz -- -max_total_time=60
"""

def cc_fuzzer(name, srcs, deps = [], runs = 2000, tags = [], **kwargs):
    native.cc_library(
        name = name + "_harness",
        testonly = True,
        srcs = srcs,
        deps = deps,
        copts = ["-fsanitize=fuzzer"],
        alwayslink = True,
        **kwargs
    )
    native.cc_binary(
        name = name,
        testonly = True,
        deps = [":" + name + "_harness"],
        linkopts = ["-fsanitize=fuzzer"],
        tags = tags + ["fuzz"],
    )
    native.cc_test(
        name = name + "_test",
        size = "small",
        deps = [":" + name + "_harness"],
        linkopts = ["-fsanitize=fuzzer"],
        args = ["-runs=%d" % runs, "-seed=1"],
        tags = tags + ["fuzz"],
    )
