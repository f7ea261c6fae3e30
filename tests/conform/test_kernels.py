import struct

import pytest

from lrulab.conform import kernels


def bzimage(tmp_path, release: str):
    """A file with just the setup header fields bzimage_release reads."""
    img = bytearray(0x4000)
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x20E, 0x1000)
    text = f"{release} (debian-kernel@lists.debian.org) #1 SMP\0".encode()
    img[0x1200:0x1200 + len(text)] = text
    p = tmp_path / "vmlinuz"
    p.write_bytes(bytes(img))
    return p


def test_release_is_read_from_the_bzimage_header(tmp_path):
    assert kernels.bzimage_release(bzimage(tmp_path, "6.12.117+deb12-amd64")) == \
        "6.12.117+deb12-amd64"


def test_a_file_without_a_setup_header_is_not_a_bzimage(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(b"not a kernel" * 100)
    with pytest.raises(kernels.UnknownKernel, match="not a bzImage"):
        kernels.bzimage_release(p)


def test_a_612_release_does_not_pass_for_61():
    """The series is the first two release fields: 6.12.x is not a 6.1 kernel."""
    assert kernels.spec_for_release("6.12.117+deb12-amd64").name == "debian-6.12.117"
    assert kernels.spec_for_release("6.1.0-56-amd64").name == "debian-6.1"
    assert not kernels.spec("debian-6.1").matches("6.12.117+deb12-amd64")


def test_unknown_kernel_names_the_choices():
    with pytest.raises(kernels.UnknownKernel, match="debian-6.12.117"):
        kernels.spec("debian-7.0")
    with pytest.raises(kernels.UnknownKernel, match="rules only for"):
        kernels.spec_for_release("5.10.0-30-amd64")


def test_every_kernel_is_compared_with_a_preset_the_model_has():
    """Each kernel's point of history is a preset of the model: debian-6.12.117 (6.12 plus the
    backports Debian carries) with no extra --patch."""
    from lrulab.kernel.config import PRESETS

    assert kernels.spec("debian-6.12.117").model.resolve(PRESETS) == ("debian-6.12.117", {})
    assert kernels.spec("debian-6.1").model.resolve(PRESETS) == ("linux-6.1", {})


def test_model_point_takes_the_first_preset_the_model_knows():
    point = kernels.ModelPoint(("new", "old"), {"flag": True})
    assert point.resolve({"old"}) == ("old", {"flag": True})
    assert point.resolve({"new", "old"}) == ("new", {"flag": True})
    with pytest.raises(kernels.UnknownKernel):
        point.resolve({"linux-6.1"})
