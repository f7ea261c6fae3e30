def pytest_configure(config):
    config.addinivalue_line(
        "markers", "qemu: boots real Linux kernels under QEMU (needs `lrulab conform --setup`)")
