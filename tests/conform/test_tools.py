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
