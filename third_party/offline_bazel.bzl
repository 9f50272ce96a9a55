"""Local stand-ins for repositories that Bazel 4.2's built-in WORKSPACE
suffix would otherwise download (this machine has no network).

  @rules_cc, @rules_java  @bazel_tools loads .../cc:defs.bzl and
                          .../java:defs.bzl while resolving toolchains; these
                          stubs forward to the native rules. (Debian's
                          bazel-rules-cc 0.0.4 needs Bazel >= 5: unusable.)
  @remote_coverage_tools  implicit dependency of every *_test rule; only
                          `bazel coverage` runs it (unsupported offline).
"""

_FORWARDERS = {
    "rules_cc": ("cc", [
        "cc_binary", "cc_import", "cc_library", "cc_proto_library", "cc_test",
        "cc_toolchain", "cc_toolchain_suite", "fdo_prefetch_hints",
        "fdo_profile", "objc_import", "objc_library",
    ]),
    "rules_java": ("java", [
        "java_binary", "java_import", "java_library", "java_lite_proto_library",
        "java_plugin", "java_proto_library", "java_runtime", "java_test",
        "java_toolchain",
    ]),
}

def _forwarding_rules_impl(rctx):
    pkg, rules = _FORWARDERS[rctx.name]
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    rctx.file("BUILD.bazel", "")
    rctx.file(pkg + "/BUILD.bazel", 'exports_files(["defs.bzl"])\n')
    rctx.file(pkg + "/defs.bzl", "".join([
        "def %s(**kwargs):\n    native.%s(**kwargs)\n\n" % (r, r)
        for r in rules
    ]))

_forwarding_rules = repository_rule(implementation = _forwarding_rules_impl)

def _coverage_stub_impl(rctx):
    rctx.file("WORKSPACE", 'workspace(name = "remote_coverage_tools")\n')
    rctx.file(
        "stub.sh",
        "#!/bin/sh\necho 'bazel coverage is not available offline' >&2\nexit 1\n",
        executable = True,
    )
    rctx.file("BUILD.bazel", """\
package(default_visibility = ["//visibility:public"])

sh_binary(name = "coverage_report_generator", srcs = ["stub.sh"])

sh_binary(name = "lcov_merger", srcs = ["stub.sh"])
""")

_coverage_stub = repository_rule(implementation = _coverage_stub_impl)

def offline_bazel_repos():
    _forwarding_rules(name = "rules_cc")
    _forwarding_rules(name = "rules_java")
    _coverage_stub(name = "remote_coverage_tools")
