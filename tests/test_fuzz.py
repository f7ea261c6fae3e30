"""The fuzzer in the suite (a fixed budget, about 60 s, derandomized): every generated input
ends without an uncaught exception, within its time limit, and a refusal is exit 2 with one
line naming file:line of the file given; the output probes lose no user file.
The long run is benchmarks/fuzz_inputs.py."""

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests import fuzzing as fz

FUZZ = settings(derandomize=True, deadline=None, database=None, phases=[Phase.generate],
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    return fz.Harness(str(tmp_path_factory.mktemp("fuzz")))


def _clean(h: fz.Harness, before: int) -> None:
    s = h.stats
    assert s.inputs > before
    assert not s.failures(), s.failures()[:3]


def test_fuzz_scenario_grammar_contract(harness):
    before = harness.stats.inputs

    @settings(FUZZ, max_examples=100)
    @given(fz.yaml_text(fz.scenario_doc()))
    def go(text):
        harness.scenario(text)
    go()
    _clean(harness, before)


def test_fuzz_assert_grammar_contract(harness):
    """asserts (every predicate, hostile values), 'after:', kernel.point, reclaim's by:."""
    before = harness.stats.inputs

    @settings(FUZZ, max_examples=60)
    @given(fz.yaml_text(fz.assert_scenario_doc()))
    def go(text):
        harness.scenario(text)
    go()
    _clean(harness, before)


def test_fuzz_command_lines_contract(harness):
    """--check/--ignore/--strict/--first/--format/--kernel, bugs, bisect (short walks, small
    timeouts), sweep --show with odd seeds, variants --diff with odd names, simulate and
    conform --kernel (refused before boot): an exit 2 names the file:line or the option."""
    before = harness.stats.inputs

    @settings(FUZZ, max_examples=90)
    @given(fz.command_line())
    def go(line):
        harness.command(line)
    go()
    _clean(harness, before)


def test_fuzz_workload_grammar_contract(harness):
    before = harness.stats.inputs

    @settings(FUZZ, max_examples=60)
    @given(fz.yaml_text(fz.workload_doc()))
    def go(text):
        harness.workload(text)
    go()
    _clean(harness, before)


def test_fuzz_trace_grammar_contract(harness):
    before = harness.stats.inputs

    @settings(FUZZ, max_examples=130)
    @given(fz.trace_text(harness.base_trace))
    def go(text):
        harness.trace(text)
    go()
    _clean(harness, before)


def test_fuzz_mutated_files_contract(harness):
    before = harness.stats.inputs

    @settings(FUZZ, max_examples=80)
    @given(fz.mutated_file())
    def go(kind_data):
        kind, data = kind_data
        (harness.scenario if kind == "scenario" else harness.workload)(data)
    go()
    _clean(harness, before)


def test_output_probes_lose_no_user_file(harness):
    probes = fz.output_probes(harness)
    assert len(probes) >= 18
    assert [name for name, kept in probes if not kept] == []
    assert not harness.stats.tracebacks
