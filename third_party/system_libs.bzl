"""Wraps Debian's libabsl-dev (20220623) as @com_google_absl with upstream-like labels.

Headers are found in /usr/include (a built-in include dir of the local C++
toolchain); each target links the matching shared libraries, whose own
DT_NEEDED entries pull in their dependencies.
"""

# package -> {target: [libs to -l]}
_ABSL = {
    "absl/base": {
        "core_headers": [],
        "base": ["absl_base", "absl_raw_logging_internal", "absl_spinlock_wait", "absl_log_severity"],
    },
    "absl/strings": {
        "strings": ["absl_strings", "absl_strings_internal", "absl_int128", "absl_throw_delegate"],
        "str_format": ["absl_str_format_internal", "absl_strings", "absl_int128"],
    },
    "absl/synchronization": {
        "synchronization": ["absl_synchronization", "absl_time", "absl_time_zone", "absl_base"],
    },
    "absl/time": {
        "time": ["absl_time", "absl_time_zone", "absl_civil_time"],
    },
    "absl/container": {
        "flat_hash_map": ["absl_raw_hash_set", "absl_hash", "absl_city", "absl_low_level_hash"],
        "flat_hash_set": ["absl_raw_hash_set", "absl_hash", "absl_city", "absl_low_level_hash"],
    },
    "absl/hash": {
        "hash": ["absl_hash", "absl_city", "absl_low_level_hash"],
    },
    "absl/random": {
        "random": ["absl_random_internal_pool_urbg", "absl_random_internal_randen",
                   "absl_random_internal_randen_hwaes", "absl_random_internal_randen_hwaes_impl",
                   "absl_random_internal_randen_slow", "absl_random_internal_platform",
                   "absl_random_internal_seed_material", "absl_random_seed_gen_exception"],
    },
}

def _system_absl_impl(rctx):
    rctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % rctx.name)
    for pkg, targets in _ABSL.items():
        body = ['package(default_visibility = ["//visibility:public"])\n']
        for name, libs in targets.items():
            body.append('cc_library(name = "%s", linkopts = [%s])\n' % (
                name,
                ", ".join(['"-l%s"' % lib for lib in libs]),
            ))
        rctx.file(pkg + "/BUILD.bazel", "\n".join(body))

system_absl = repository_rule(
    implementation = _system_absl_impl,
    local = True,
)
