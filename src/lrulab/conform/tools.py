"""Find, fetch and cache what a conformance run needs.

Everything lives under ``$LRULAB_CACHE`` (default ``~/.cache/lrulab``):

- ``kernel/<package>/vmlinuz`` and ``.../version``: the Debian kernel image, fetched with
  ``apt-get download linux-image-6.1.*-amd64`` and unpacked with ``dpkg-deb``;
- ``probe/<sha256 of probe.c>/probe``: the guest program, built with ``gcc -static``.

QEMU comes from the ``qemu-system-x86`` apt package; the harness does not need busybox or
``cpio`` (the initramfs is written in Python). ``setup(install=True)`` installs the apt packages.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PROBE_SOURCE = Path(__file__).with_name("probe") / "probe.c"
KERNEL_META_PACKAGE = "linux-image-amd64"
APT_PACKAGES = ("qemu-system-x86", "gcc", "libc6-dev")


class ToolError(Exception):
    """Something the harness needs is missing; str() is a one-line fix-it message."""


def cache_dir() -> Path:
    root = os.environ.get("LRULAB_CACHE") or os.path.join(Path.home(), ".cache", "lrulab")
    return Path(root)


@dataclass(frozen=True)
class Kernel:
    image: Path
    version: str  # e.g. "linux-image-6.1.0-56-amd64 6.1.192-2", or the path when given by hand


@dataclass(frozen=True)
class Tools:
    qemu: str
    kernel: Kernel
    probe: Path


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


def find_qemu() -> str:
    qemu = os.environ.get("LRULAB_QEMU") or shutil.which("qemu-system-x86_64")
    if not qemu:
        raise ToolError(
            "qemu-system-x86_64 not found: install it with `apt-get install qemu-system-x86` "
            "(or run `lrulab conform --setup`)"
        )
    return qemu


def build_probe() -> Path:
    """Compile probe.c with `gcc -static`; cached by the source's hash."""
    src = PROBE_SOURCE.read_bytes()
    digest = hashlib.sha256(src).hexdigest()[:16]
    out = cache_dir() / "probe" / digest / "probe"
    if out.exists():
        return out
    gcc = os.environ.get("CC") or shutil.which("gcc")
    if not gcc:
        raise ToolError("gcc not found: install it with `apt-get install gcc libc6-dev`")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    r = _run([gcc, "-static", "-O2", "-Wall", "-o", str(tmp), str(PROBE_SOURCE)])
    if r.returncode != 0:
        first = (r.stderr.strip().splitlines() or ["?"])[-1]
        if "cannot find -lc" in r.stderr:
            raise ToolError("static libc missing: install it with `apt-get install libc6-dev`")
        raise ToolError(f"building the probe with gcc -static failed: {first}")
    tmp.replace(out)
    return out


def _kernel_package() -> tuple[str, str]:
    """(package, version) of the 6.1 kernel image that linux-image-amd64 depends on."""
    if not shutil.which("apt-cache"):
        raise ToolError("apt-cache not found: pass --kernel-image PATH to a 6.1 vmlinuz")
    r = _run(["apt-cache", "depends", KERNEL_META_PACKAGE])
    m = re.search(r"Depends:\s*(linux-image-6\.1\.\S+-amd64)\b", r.stdout)
    if not m and os.geteuid() == 0 and shutil.which("apt-get"):
        _run(["apt-get", "update"])           # fresh machine: no package lists yet
        r = _run(["apt-cache", "depends", KERNEL_META_PACKAGE])
        m = re.search(r"Depends:\s*(linux-image-6\.1\.\S+-amd64)\b", r.stdout)
    if r.returncode != 0 or not m:
        raise ToolError(
            f"apt does not know {KERNEL_META_PACKAGE}: run `apt-get update` "
            "(or pass --kernel-image PATH)"
        )
    pkg = m.group(1)
    r = _run(["apt-cache", "policy", pkg])
    v = re.search(r"Candidate:\s*(\S+)", r.stdout)
    return pkg, v.group(1) if v else "?"


def _cached_kernels() -> list[Path]:
    """Cached images, the most recently fetched last."""
    found = (cache_dir() / "kernel").glob("linux-image-6.1*/vmlinuz")
    return sorted(found, key=lambda p: (p.parent / "version").stat().st_mtime
                  if (p.parent / "version").exists() else 0.0)


def find_kernel(image: str | None = None, fetch: bool = True) -> Kernel:
    """The kernel to boot: `image` if given, else the cached Debian 6.1 image, else fetch it."""
    if image:
        p = Path(image)
        if not p.is_file():
            raise ToolError(f"kernel image {image} does not exist")
        return Kernel(p, str(p))
    env = os.environ.get("LRULAB_KERNEL")
    if env:
        return find_kernel(env)
    cached = _cached_kernels()
    if cached:
        k = cached[-1]
        return Kernel(k, (k.parent / "version").read_text().strip())
    if not fetch:
        raise ToolError("no cached 6.1 kernel: run `lrulab conform --setup`")
    return fetch_kernel()


def fetch_kernel() -> Kernel:
    pkg, version = _kernel_package()
    dest = cache_dir() / "kernel" / pkg
    if (dest / "vmlinuz").exists():
        (dest / "version").touch()   # most recently fetched: used by find_kernel
        return Kernel(dest / "vmlinuz", (dest / "version").read_text().strip())
    for tool, apt in (("apt-get", "apt"), ("dpkg-deb", "dpkg")):
        if not shutil.which(tool):
            raise ToolError(f"{tool} not found: install {apt}, or pass --kernel-image PATH")
    work = cache_dir() / "kernel" / ".download"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    r = _run(["apt-get", "download", pkg], cwd=work)
    debs = list(work.glob("*.deb"))
    if r.returncode != 0 or not debs:
        msg = (r.stderr.strip().splitlines() or ["?"])[-1]
        raise ToolError(f"`apt-get download {pkg}` failed ({msg}); run `apt-get update` first")
    r = _run(["dpkg-deb", "-x", str(debs[0]), str(work / "x")])
    images = list((work / "x" / "boot").glob("vmlinuz-*"))
    if r.returncode != 0 or not images:
        raise ToolError(f"could not unpack {debs[0].name} with dpkg-deb -x")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(images[0], dest / "vmlinuz")
    (dest / "version").write_text(f"{pkg} {version}\n")
    shutil.rmtree(work, ignore_errors=True)
    return Kernel(dest / "vmlinuz", f"{pkg} {version}")


def find_tools(kernel_image: str | None = None, fetch: bool = True) -> Tools:
    return Tools(find_qemu(), find_kernel(kernel_image, fetch=fetch), build_probe())


def setup(install: bool = True) -> Tools:
    """Install the apt packages (when root and `install`), fetch the kernel, build the probe."""
    missing = [p for p, exe in (("qemu-system-x86", "qemu-system-x86_64"), ("gcc", "gcc"))
               if not shutil.which(exe)]
    if not Path("/usr/lib/x86_64-linux-gnu/libc.a").exists():
        missing.append("libc6-dev")
    if missing and install:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            pkgs = " ".join(missing)
            raise ToolError(f"missing {pkgs}: run `apt-get install {pkgs}`")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *missing],
                           capture_output=True, text=True, env=env, check=False)
        if r.returncode != 0:
            subprocess.run(["apt-get", "update"], capture_output=True, env=env, check=False)
            r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *missing],
                               capture_output=True, text=True, env=env, check=False)
        if r.returncode != 0:
            raise ToolError(f"`apt-get install {' '.join(missing)}` failed")
    kernel = fetch_kernel()       # the image linux-image-amd64 depends on today
    return Tools(find_qemu(), kernel, build_probe())
