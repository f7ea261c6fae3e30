"""Find, fetch and cache what a conformance run needs.

Everything lives under ``$LRULAB_CACHE`` (default ``~/.cache/lrulab``):

- ``kernel/<package>/vmlinuz``, ``.../version`` and ``.../release``: a Debian kernel image
  (see kernels.py: 6.1 and 6.12.117), fetched with ``apt-get download`` and unpacked with
  ``dpkg-deb``; ``.../vmlinux``: the DWARF of its ``-dbg`` package (relocations stripped), read
  by drgn;
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

from .kernels import DEFAULT_KERNELS, KernelSpec, UnknownKernel, bzimage_release, spec

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
    version: str        # e.g. "linux-image-6.1.0-56-amd64 6.1.192-2", or the path when given
    release: str = "?"  # from the bzImage header, e.g. "6.1.0-56-amd64"
    vmlinux: Path | None = None  # DWARF for drgn (the -dbg package's vmlinux), when fetched


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


def _apt_update_once() -> None:
    if os.geteuid() == 0 and shutil.which("apt-get"):
        _run(["apt-get", "update"])           # fresh machine: no package lists yet


def _kernel_package(spec: KernelSpec) -> tuple[str, str]:
    """(package, version) of `spec`'s kernel image: its fixed package, or (6.1) the one
    linux-image-amd64 depends on."""
    if not shutil.which("apt-cache"):
        raise ToolError("apt-cache not found: pass --kernel-image PATH")
    if spec.package is None:
        pat = re.compile(r"Depends:\s*(linux-image-" + re.escape(spec.series) + r"\.\S+-amd64)\b")
        r = _run(["apt-cache", "depends", KERNEL_META_PACKAGE])
        m = pat.search(r.stdout)
        if not m:
            _apt_update_once()
            r = _run(["apt-cache", "depends", KERNEL_META_PACKAGE])
            m = pat.search(r.stdout)
        if r.returncode != 0 or not m:
            raise ToolError(f"apt does not know {KERNEL_META_PACKAGE}: run `apt-get update` "
                            "(or pass --kernel-image PATH)")
        pkg = m.group(1)
    else:
        pkg = spec.package
    r = _run(["apt-cache", "policy", pkg])
    v = re.search(r"Candidate:\s*(\S+)", r.stdout)
    if not v or v.group(1) == "(none)":
        _apt_update_once()
        r = _run(["apt-cache", "policy", pkg])
        v = re.search(r"Candidate:\s*(\S+)", r.stdout)
    if not v or v.group(1) == "(none)":
        raise ToolError(f"apt does not know {pkg}: run `apt-get update` (Debian 12 with "
                        "bookworm-security), or pass --kernel-image PATH")
    return pkg, v.group(1)


def _cached(spec: KernelSpec) -> list[Path]:
    """Cached images of `spec`'s series, the most recently fetched last.  The release in the
    image header decides (a name glob like linux-image-6.1* also matches 6.12)."""
    found = [p for p in (cache_dir() / "kernel").glob("linux-image-*/vmlinuz")
             if spec.matches(_release_of(p))]
    return sorted(found, key=lambda p: (p.parent / "version").stat().st_mtime
                  if (p.parent / "version").exists() else 0.0)


def _release_of(image: Path) -> str:
    cached = image.parent / "release"
    if cached.exists():
        return cached.read_text().strip()
    try:
        return bzimage_release(image)
    except (OSError, UnknownKernel):
        return "?"


def _kernel_at(image: Path) -> Kernel:
    d = image.parent
    version = (d / "version").read_text().strip() if (d / "version").exists() else str(image)
    vmlinux = d / "vmlinux"
    return Kernel(image, version, _release_of(image), vmlinux if vmlinux.exists() else None)


def find_kernel(image: str | None = None, fetch: bool = True,
                name: str = DEFAULT_KERNELS[0]) -> Kernel:
    """The kernel to boot: `image` if given, else the cached Debian image of kernel `name`,
    else fetch it."""
    if image:
        p = Path(image)
        if not p.is_file():
            raise ToolError(f"kernel image {image} does not exist")
        try:
            release = bzimage_release(p)
        except (OSError, UnknownKernel):
            release = "?"
        vmlinux = os.environ.get("LRULAB_VMLINUX")
        return Kernel(p, str(p), release, Path(vmlinux) if vmlinux else None)
    env = os.environ.get("LRULAB_KERNEL")
    if env:
        return find_kernel(env)
    try:
        sp = spec(name)
    except UnknownKernel as e:
        raise ToolError(str(e)) from None
    cached = _cached(sp)
    if cached:
        return _kernel_at(cached[-1])
    if not fetch:
        raise ToolError(f"no cached {name} kernel: run `lrulab conform --setup`")
    return fetch_kernel(sp)


def _apt_download(pkg: str, work: Path) -> Path:
    for tool, apt in (("apt-get", "apt"), ("dpkg-deb", "dpkg")):
        if not shutil.which(tool):
            raise ToolError(f"{tool} not found: install {apt}, or pass --kernel-image PATH")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    r = _run(["apt-get", "download", pkg], cwd=work)
    debs = list(work.glob("*.deb"))
    if r.returncode != 0 or not debs:
        msg = (r.stderr.strip().splitlines() or ["?"])[-1]
        raise ToolError(f"`apt-get download {pkg}` failed ({msg}); run `apt-get update` first")
    return debs[0]


def fetch_kernel(sp: KernelSpec | None = None) -> Kernel:
    sp = sp or spec(DEFAULT_KERNELS[0])
    pkg, version = _kernel_package(sp)
    dest = cache_dir() / "kernel" / pkg
    if (dest / "vmlinuz").exists():
        (dest / "version").touch()   # most recently fetched: used by find_kernel
        return _kernel_at(dest / "vmlinuz")
    work = cache_dir() / "kernel" / f".download-{pkg}"
    deb = _apt_download(pkg, work)
    r = _run(["dpkg-deb", "-x", str(deb), str(work / "x")])
    images = list((work / "x" / "boot").glob("vmlinuz-*"))
    if r.returncode != 0 or not images:
        raise ToolError(f"could not unpack {deb.name} with dpkg-deb -x")
    release = bzimage_release(images[0])
    if not sp.matches(release):
        raise ToolError(f"{pkg} holds kernel {release}, not a {sp.series} kernel")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(images[0], dest / "vmlinuz")
    (dest / "release").write_text(release + "\n")
    (dest / "version").write_text(f"{pkg} {version}\n")
    shutil.rmtree(work, ignore_errors=True)
    return _kernel_at(dest / "vmlinuz")


def fetch_vmlinux(kernel: Kernel) -> Kernel:
    """Fetch the kernel's `-dbg` package, keep only its vmlinux (DWARF for drgn) with the
    relocation sections removed (half the size, loads as fast), next to the image."""
    dest = kernel.image.parent / "vmlinux"
    if dest.exists():
        return _kernel_at(kernel.image)
    pkg = kernel.version.split()[0]
    if not pkg.startswith("linux-image-"):
        raise ToolError(f"{kernel.image}: no Debian package known; set LRULAB_VMLINUX")
    for tool, apt in (("objcopy", "binutils"), ("tar", "tar")):
        if not shutil.which(tool):
            raise ToolError(f"{tool} not found: install it with `apt-get install {apt}`")
    work = cache_dir() / "kernel" / f".download-{pkg}-dbg"
    deb = _apt_download(f"{pkg}-dbg", work)
    member = f"./usr/lib/debug/boot/vmlinux-{kernel.release}"
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
    # the vmlinux is among the first members: stop there (--occurrence) instead of
    # decompressing every module's debug info (9 s instead of about a minute)
    r = subprocess.run(["tar", "-x", "--occurrence=1", "-C", str(work), member],
                       stdin=tar.stdout, capture_output=True, text=True, check=False)
    tar.stdout.close()
    tar.wait()                    # dpkg-deb ends on a broken pipe: expected
    full = work / member
    if r.returncode != 0 or not full.exists():
        raise ToolError(f"{deb.name} has no {member[1:]}")
    tmp = dest.with_suffix(".tmp")
    r = _run(["objcopy", "--remove-section=.rela.*", str(full), str(tmp)])
    if r.returncode != 0:
        raise ToolError(f"objcopy --remove-section=.rela.* {full} failed")
    tmp.replace(dest)
    shutil.rmtree(work, ignore_errors=True)
    return _kernel_at(kernel.image)


def find_tools(kernel_image: str | None = None, fetch: bool = True,
               name: str = DEFAULT_KERNELS[0]) -> Tools:
    return Tools(find_qemu(), find_kernel(kernel_image, fetch=fetch, name=name), build_probe())


def setup(install: bool = True, names: tuple[str, ...] = DEFAULT_KERNELS,
          debug: bool = True) -> list[Tools]:
    """Install the apt packages (when root and `install`), fetch each kernel (and, with
    `debug`, its vmlinux for drgn), build the probe."""
    missing = [p for p, exe in (("qemu-system-x86", "qemu-system-x86_64"), ("gcc", "gcc"),
                                ("binutils", "objcopy"))
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
    kernels = []
    for name in names:
        kernel = fetch_kernel(spec(name))
        if debug:
            kernel = fetch_vmlinux(kernel)
        kernels.append(kernel)
    probe = build_probe()
    return [Tools(find_qemu(), k, probe) for k in kernels]
