"""Build of the optional C extension ``hadamrnn._kernels`` and the package list (the rest is in pyproject.toml).

The extension is optional in both directions:

* ``HADAMRNN_NO_EXTENSION=1 pip install .`` does not build it;
* if the compiler is missing or fails, the install still succeeds with a warning.

Either way ``hadamrnn.native.is_available()`` is then False and the layers use the pure-torch
reference path.

No ``-march`` flag: the AVX2 kernels carry ``__attribute__((target("avx2,fma")))`` and are chosen
at run time, so one build runs on every x86-64 CPU. ``-ffp-contract=off`` stops the compiler from
fusing multiply-adds on its own, which keeps the AVX2 and portable kernels bit-identical.
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, ExecError, PlatformError

# What a missing or failing compiler raises (CompileError and LinkError are CCompilerErrors).
BUILD_ERRORS = (CCompilerError, ExecError, PlatformError, OSError)

SOURCES = ["module.c", "parallel.c", "kernels_portable.c", "kernels_avx2.c"]
HEADERS = ["kernels.h", "kernel_template.h", "parallel.h"]
NATIVE_DIR = os.path.join("hadamrnn", "_native")


def _extension_disabled() -> bool:
    return os.environ.get("HADAMRNN_NO_EXTENSION", "").strip().lower() not in ("", "0", "false", "no")


class OptionalBuildExt(build_ext):
    """Build the extension with GCC/clang flags, and warn instead of failing when it cannot build."""

    def build_extensions(self) -> None:
        if self.compiler.compiler_type == "unix":
            for extension in self.extensions:
                extension.extra_compile_args = ["-std=gnu11", "-O3", "-ffp-contract=off", "-pthread"]
                extension.extra_link_args = ["-pthread", "-ldl"]  # dlsym finds the OpenMP runtime
        super().build_extensions()

    def run(self) -> None:
        try:
            super().run()
        except BUILD_ERRORS as error:  # e.g. no compiler at all: fall back to pure torch
            self._warn(error)

    def build_extension(self, extension: Extension) -> None:
        try:
            super().build_extension(extension)
        except BUILD_ERRORS as error:
            self._warn(error)

    @staticmethod
    def _warn(error: Exception) -> None:
        print(
            "WARNING: hadamrnn's C extension could not be built; hadamrnn will use its pure-torch "
            f"reference kernels instead ({type(error).__name__}: {error})",
            file=sys.stderr,
        )


extensions = []
if not _extension_disabled():
    extensions.append(
        Extension(
            "hadamrnn._kernels",
            sources=[os.path.join(NATIVE_DIR, name) for name in SOURCES],
            depends=[os.path.join(NATIVE_DIR, name) for name in HEADERS],
            optional=True,  # lets an editable install go on without the built file
        )
    )

setup(
    # theory/ is installed under the project's own name: a top-level "theory" package would clash
    # with other projects'. From a source checkout, `python -m theory` still runs the same code.
    packages=find_packages(include=["hadamrnn", "hadamrnn.*"]) + ["hadamrnn_theory"],
    package_dir={"hadamrnn_theory": "theory"},
    ext_modules=extensions,
    cmdclass={"build_ext": OptionalBuildExt},
    # The C sources are build inputs (they are in the sdist), not files to install.
    exclude_package_data={"hadamrnn": ["_native/*"]},
)
