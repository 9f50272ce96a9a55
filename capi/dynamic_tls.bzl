"""dynamic_tls_library: a shared library built with HAKMEM_DYNAMIC_TLS=1.

The thread cache's TLS model is fixed when each translation unit of the
runtime is compiled (hakmem/platform/tls.h), so a library that can be
loaded with dlopen needs the whole runtime compiled again with the macro.
This rule builds `library` (a cc_binary with linkshared) in a configuration
that adds -DHAKMEM_DYNAMIC_TLS=1 to every C and C++ compile, and gives the
result its own name in this package (as bench/opt_binary.bzl does for
-c opt).
"""

def _dynamic_tls_transition_impl(settings, attr):
    return {
        "//command_line_option:copt": settings["//command_line_option:copt"] +
                                      ["-DHAKMEM_DYNAMIC_TLS=1"],
    }

_dynamic_tls_transition = transition(
    implementation = _dynamic_tls_transition_impl,
    inputs = ["//command_line_option:copt"],
    outputs = ["//command_line_option:copt"],
)

def _dynamic_tls_library_impl(ctx):
    built = ctx.attr.library[0][DefaultInfo].files.to_list()
    libs = [f for f in built if f.extension == "so"]
    if len(libs) != 1:
        fail("expected one .so from %s, got %s" % (ctx.attr.library, built))
    out = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.symlink(output = out, target_file = libs[0])
    return [DefaultInfo(
        files = depset([out]),
        runfiles = ctx.runfiles(files = [out, libs[0]]),
    )]

dynamic_tls_library = rule(
    implementation = _dynamic_tls_library_impl,
    attrs = {
        "library": attr.label(
            cfg = _dynamic_tls_transition,
            mandatory = True,
        ),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
)
