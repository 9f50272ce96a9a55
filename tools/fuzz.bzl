"""cc_fuzzer: a libFuzzer binary `name` plus `name_test`, a short smoke run
of the same harness that `bazel test //...` executes.

Needs clang (the whole repo builds with clang, see .bazelrc). Plain builds
instrument only the harness; --config=fuzz instruments all code
(-fsanitize=fuzzer-no-link + ASan) for real fuzzing:
    bazel run --config=fuzz //fuzz:ops_fuzz -- -max_total_time=60
or a campaign that grows the corpus: tools/fuzz_campaign.sh ops_fuzz.

`corpus` names a directory of the package holding checked-in inputs (e.g.
"corpus/ops_fuzz"). The smoke test runs each of them first, as
libFuzzer's read-only -seed_inputs (nothing is written into the source
tree or the runfiles), then `runs` mutations with -seed=1.

`variants` adds a smoke test `name_<variant>_test` per entry, the same run
with the entry's environment (e.g. {"start": {"GUARD_FUZZ_ALIGN": "start"}}
for a process-wide mode the harness reads at startup).
"""

def cc_fuzzer(name, srcs, deps = [], runs = 2000, corpus = None, tags = [], variants = {}, **kwargs):
    native.cc_library(
        name = name + "_harness",
        testonly = True,
        srcs = srcs,
        deps = deps,
        copts = ["-fsanitize=fuzzer"],
        alwayslink = True,
        tags = tags + ["fuzz"],
        **kwargs
    )
    native.cc_binary(
        name = name,
        testonly = True,
        deps = [":" + name + "_harness"],
        linkopts = ["-fsanitize=fuzzer"],
        tags = tags + ["fuzz"],
    )
    seeds = native.glob([corpus + "/*"]) if corpus else []
    seed_args = []
    if seeds:
        # The list goes through a file ("@file"): a corpus can outgrow the
        # limit on one command-line argument.
        native.genrule(
            name = name + "_seed_list",
            testonly = True,
            srcs = seeds,
            outs = [name + "_seed_inputs.txt"],
            cmd = "printf '%s' \"$(SRCS)\" | tr ' ' ',' > $@",
            tags = tags + ["fuzz"],
        )
        seed_args = ["-seed_inputs=@$(rootpath :%s_seed_list)" % name]
    test_attrs = dict(
        # Medium: the whole corpus under a sanitizer takes up to 40 s on
        # two busy cores, close to small's 60 s.
        size = "medium",
        deps = [":" + name + "_harness"],
        data = seeds + ([":" + name + "_seed_list"] if seeds else []),
        linkopts = ["-fsanitize=fuzzer"],
        args = ["-runs=%d" % runs, "-seed=1"] + seed_args,
        tags = tags + ["fuzz"],
    )
    native.cc_test(name = name + "_test", **test_attrs)
    for variant, env in variants.items():
        native.cc_test(name = "%s_%s_test" % (name, variant), env = env, **test_attrs)
