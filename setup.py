"""
Builds the one compiled module, ``adapters.upbit.units_parser`` (the Upbit orderbook fast path, Cython).

It is compiled against the NautilusTrader it runs with (``cimport`` of its ``.pxd`` files and C headers, so
the build requires the same pinned ``nautilus_trader``). The build is optional: without a C compiler the
package installs without it and the Upbit data client takes the pure-Python path, which gives the same data.
"""

from __future__ import annotations

import os

from setuptools import Extension
from setuptools import setup


def _extensions() -> list[Extension]:
    try:
        import nautilus_trader
        from Cython.Build import cythonize
    except ImportError as e:  # pragma: no cover - the build requirements provide both
        print(f"arb-plugin: not compiling adapters.upbit.units_parser ({e}); the pure-Python path is used")
        return []
    site = os.path.dirname(os.path.dirname(nautilus_trader.__file__))
    includes = os.path.join(site, "nautilus_trader", "core", "includes")
    extension = Extension(
        "adapters.upbit.units_parser",
        ["adapters/upbit/units_parser.pyx"],
        include_dirs=[includes],
        # the NautilusTrader it is compiled against: refused at import by any other (its C layouts may differ)
        define_macros=[("ARB_NAUTILUS_VERSION", f'"{nautilus_trader.__version__}"')],
        extra_compile_args=["-O2", "-g0", "-Wno-unused-function"],
    )
    extensions = cythonize(
        [extension],
        include_path=[site],
        compiler_directives={"language_level": 3},
        quiet=True,
    )
    for compiled in extensions:
        compiled.optional = True  # no compiler: install anyway, the pure-Python path is used (cythonize drops it)
    return extensions


setup(ext_modules=_extensions())
