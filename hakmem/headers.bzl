"""cc_headers: the header files of C++ libraries, as plain files.

For tests that compile against hakmem's public headers with a compiler
other than Bazel's (gcc -std=c99, clang++ -fsyntax-only), so that they can
use //capi:hakmem's header without it being exported as a file.
"""

def _cc_headers_impl(ctx):
    hdrs = [
        h
        for dep in ctx.attr.deps
        for h in dep[CcInfo].compilation_context.headers.to_list()
        if any([h.short_path.startswith(p) for p in ctx.attr.prefixes])
    ]
    return [DefaultInfo(
        files = depset(hdrs),
        runfiles = ctx.runfiles(files = hdrs),
    )]

cc_headers = rule(
    implementation = _cc_headers_impl,
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        # Keep only headers whose workspace-relative path starts with one
        # of these.
        "prefixes": attr.string_list(mandatory = True),
    },
)
