"""`lrulab conform` input handling (no QEMU needed: every case fails before the guest boots)."""

from pathlib import Path

import pytest

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios" / "conformance"


def one_line_error(status, out, err):
    assert status == 2
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lrulab conform: "), err
    return lines[0]


def test_missing_file(run_cli):
    msg = one_line_error(*run_cli("does-not-exist.yaml"))
    assert "does-not-exist.yaml: no such file or directory" in msg


def test_no_files(run_cli):
    assert "no scenario files" in one_line_error(*run_cli())


def test_bad_scenario_gives_file_and_line(run_cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nkernel: {variant: linux-6.1}\nmemcgs: [A]\n"
                   "setup:\n  - frobnicate: A\n")
    msg = one_line_error(*run_cli(bad))
    assert "bad.yaml:" in msg


def test_single_scenario_61_cannot_express_is_refused_with_reason(run_cli):
    msg = one_line_error(*run_cli("--kernel", "debian-6.1", SCENARIOS / "05-mthp-orders.yaml"))
    assert "not applicable to debian-6.1" in msg and "Linux 6.1 has no mTHP" in msg


def test_unknown_kernel_names_the_choices(run_cli):
    msg = one_line_error(*run_cli("--kernel", "debian-5.10",
                                  SCENARIOS / "02-full-unmap-leaves-queue.yaml"))
    assert "debian-5.10" in msg and "debian-6.12.117" in msg


def test_bad_patch_syntax(run_cli):
    msg = one_line_error(*run_cli("--patch", "reparent_split_queue",
                                  SCENARIOS / "02-full-unmap-leaves-queue.yaml"))
    assert "NAME=true" in msg


def test_unknown_variant(run_cli):
    msg = one_line_error(*run_cli("--variant", "linux-9.9",
                                  SCENARIOS / "02-full-unmap-leaves-queue.yaml"))
    assert "linux-9.9" in msg


def test_unknown_option_is_a_usage_error(run_cli):
    status, _out, err = run_cli("--frob")
    assert status == 2 and "Traceback" not in err


def test_a_guest_cache_boots_each_kernel_run_once(monkeypatch, tmp_path):
    """One kernel run (same image, same guest script) serves several models: the second
    comparison reuses it; --keep always boots but fills the cache."""
    from types import SimpleNamespace as NS

    from lrulab.conform import command
    from lrulab.conform.qemu import GuestRun, OpObservation

    boots = []

    def fake_boot(path, tools, gplan, compare_state, timeout):
        boots.append(path.name)
        work = tmp_path / f"w{len(boots)}"
        work.mkdir()
        ops = {g.index: OpObservation(g.index) for g in gplan.ops}
        return GuestRun("6.1.0-56-amd64", ops, 1.0, work), {}, work

    kernel = NS(image=tmp_path / "vmlinuz", release="6.1.0-56-amd64", vmlinux=None, version="x")
    monkeypatch.setattr(command, "find_tools", lambda image, name: NS(kernel=kernel))
    monkeypatch.setattr(command, "_boot", fake_boot)
    f = SCENARIOS / "02-full-unmap-leaves-queue.yaml"
    cache = command.GuestCache()
    kw = dict(kernel_image=None, patches={}, timeout=1, kernel="debian-6.1", state=False)
    kept = command.conform_one(f, variant=None, keep=True, guests=cache, **kw)
    a = command.conform_one(f, variant=None, keep=False, guests=cache, **kw)
    b = command.conform_one(f, variant="v1", keep=False, guests=cache, **kw)
    assert boots == ["02-full-unmap-leaves-queue.yaml"] and len(cache) == 1
    assert (a.variant, b.variant) == ("linux-6.1", "v1")
    assert kept.workdir and Path(kept.workdir).exists()    # a reuse does not remove it
    command.conform_one(f, variant=None, keep=False, guests=None, **kw)
    assert len(boots) == 2                                  # no cache: a boot per call


def test_kernel_takes_the_point_names_of_the_builds_and_comma_lists():
    """--kernel NAME (section 5): the point of history a real kernel is names it too, and a
    comma-separated list is several kernels (no guest boots: real_kernels only)."""
    from lrulab.conform.command import BadInput, real_kernels
    assert real_kernels(("debian-6.1.192",)) == ("debian-6.1",)
    assert real_kernels(("debian-6.1.192,debian-6.12.117", "debian-6.1")) == (
        "debian-6.1", "debian-6.12.117")
    for bad in (("7.2",), (" , ",)):
        try:
            real_kernels(bad)
        except BadInput as e:
            assert "--kernel" in str(e) and "debian-6.1" in str(e)
        else:
            raise AssertionError(bad)


def test_preset_is_an_alias_of_variant_and_takes_points(run_cli):
    msg = one_line_error(*run_cli("--preset", "linux-9.9",
                                  SCENARIOS / "02-full-unmap-leaves-queue.yaml"))
    assert "--variant linux-9.9: unknown kernel" in msg and "series-v5" in msg
    msg = one_line_error(*run_cli("--kernel", "6.12",
                                  SCENARIOS / "02-full-unmap-leaves-queue.yaml"))
    assert "--kernel 6.12: unknown" in msg and "debian-6.12.117" in msg


def test_a_guest_whose_kernel_dies_before_init_is_booted_once_more(monkeypatch, tmp_path):
    """A TCG boot flake (the kernel dies before the probe's HELLO) costs one more boot, which
    the result states; a second failure, or a failure after HELLO, is the error."""
    from types import SimpleNamespace as NS

    from lrulab.conform import command
    from lrulab.conform.qemu import GuestError, GuestRun

    calls = []

    def fake(tools, script, workdir, nodes, boot, timeout, on_pause):
        calls.append(workdir)
        (workdir / "console.log").write_text("Oops: int3\n")
        if len(calls) == 1:
            raise GuestError("guest stopped before the end of the scenario", started=False)
        return GuestRun("6.1.0", {}, 1.0, workdir)

    monkeypatch.setattr(command, "run_guest", fake)
    plan = NS(script="", nodes=1, boot=[], lrus=())
    guest, _, workdir = command._boot(tmp_path / "s.yaml", None, plan, False, 10)
    assert len(calls) == 2 and "booted twice" in guest.boot_retry
    assert (workdir / "console.failed-boot.log").exists()

    def fails_after_hello(*a, **k):
        raise GuestError("guest: op 3: worker died", started=True)

    monkeypatch.setattr(command, "run_guest", fails_after_hello)
    with pytest.raises(GuestError, match="worker died"):
        command._boot(tmp_path / "s.yaml", None, plan, False, 10)


def test_a_failed_guest_in_a_run_of_several_is_reported_and_the_rest_still_run(
        monkeypatch, tmp_path):
    """One guest that times out must not cost the other comparisons of the run: they are
    reported, the failed one says why, and the status is 2 (not a verdict)."""
    import json

    from lrulab.conform import command
    from lrulab.conform.qemu import GuestError

    def fake_one(p, kernel, **kw):
        if p.name.startswith("02") and kernel == "debian-6.12.117":
            raise GuestError("QEMU did not finish within 300 s (see console.log)")
        raise command.NotApplicable("not this one")

    monkeypatch.setattr(command, "conform_one", fake_one)
    files = (str(SCENARIOS / "02-full-unmap-leaves-queue.yaml"),)
    out, errs = [], []

    def echo(s="", err=False):
        (errs if err else out).append(s)

    status = command.run(files, as_json=True, echo=echo)
    data = json.loads(out[-1])
    assert status == 2 and data["guests_failed"] == 1
    assert [(s["kernel_name"], s["status"]) for s in data["scenarios"]] == [
        ("debian-6.1", "skipped"), ("debian-6.12.117", "guest-failed")]
    assert len(errs) == 1 and "did not finish" in errs[0] and "debian-6.12.117" in errs[0]

    def fails_alone(p, kernel, **kw):
        raise GuestError("QEMU did not finish")
    monkeypatch.setattr(command, "conform_one", fails_alone)
    errs.clear()
    status = command.run(files, kernels=("debian-6.1",), echo=echo)
    assert status == 2 and errs == ["lrulab conform: QEMU did not finish"]
