import pytest

from lrulab.conform import tools


def test_missing_qemu_names_the_package(monkeypatch):
    monkeypatch.delenv("LRULAB_QEMU", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(tools.ToolError, match="apt-get install qemu-system-x86"):
        tools.find_qemu()


def test_missing_kernel_image_is_a_one_line_error(tmp_path):
    with pytest.raises(tools.ToolError, match="does not exist"):
        tools.find_kernel(str(tmp_path / "vmlinuz"))


def test_no_cached_kernel_without_fetch_says_how_to_set_up(monkeypatch, tmp_path):
    monkeypatch.setenv("LRULAB_CACHE", str(tmp_path))
    monkeypatch.delenv("LRULAB_KERNEL", raising=False)
    with pytest.raises(tools.ToolError, match="conform --setup"):
        tools.find_kernel(None, fetch=False)


def test_missing_gcc_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setenv("LRULAB_CACHE", str(tmp_path))
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(tools.ToolError, match="apt-get install gcc"):
        tools.build_probe()


def test_kernel_image_is_used_as_given(tmp_path):
    img = tmp_path / "vmlinuz"
    img.write_bytes(b"x")
    assert tools.find_kernel(str(img)).image == img


def test_cached_612_image_is_not_taken_for_61(monkeypatch, tmp_path):
    """Regression: a glob linux-image-6.1* matched linux-image-6.12...; the release decides."""
    monkeypatch.setenv("LRULAB_CACHE", str(tmp_path))
    monkeypatch.delenv("LRULAB_KERNEL", raising=False)
    d = tmp_path / "kernel" / "linux-image-6.12.117+deb12-amd64"
    d.mkdir(parents=True)
    (d / "vmlinuz").write_bytes(b"x")
    (d / "release").write_text("6.12.117+deb12-amd64\n")
    (d / "version").write_text("linux-image-6.12.117+deb12-amd64 6.12.117-1~deb12u1\n")
    with pytest.raises(tools.ToolError, match="no cached debian-6.1 kernel"):
        tools.find_kernel(None, fetch=False, name="debian-6.1")
    k = tools.find_kernel(None, fetch=False, name="debian-6.12.117")
    assert k.release == "6.12.117+deb12-amd64" and k.vmlinux is None
    (d / "vmlinux").write_bytes(b"x")
    assert tools.find_kernel(None, fetch=False, name="debian-6.12.117").vmlinux == d / "vmlinux"
