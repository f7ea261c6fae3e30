"""Every modelled kernel function names its kernel source in its docstring."""

import importlib
import inspect
import pkgutil

import lrulab.kernel

SOURCES = ("mm/", "include/", "kernel/", "fs/", "init/", "Model helper")
NOT_KERNEL = {"lrulab.kernel.config", "lrulab.kernel.history", "lrulab.kernel.sched"}


def kernel_functions():
    for info in pkgutil.iter_modules(lrulab.kernel.__path__):
        mod = importlib.import_module(f"lrulab.kernel.{info.name}")
        if mod.__name__ in NOT_KERNEL:
            continue
        for name, fn in vars(mod).items():
            if inspect.isfunction(fn) and fn.__module__ == mod.__name__:
                if name.startswith("_") and not name.startswith("__"):
                    continue  # private helpers of the model, not kernel functions
                yield mod.__name__, name, fn


def test_kernel_functions_name_their_source():
    missing = [f"{m}.{n}" for m, n, fn in kernel_functions()
               if not any(s in (fn.__doc__ or "") for s in SOURCES)]
    assert not missing, missing
