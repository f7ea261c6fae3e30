"""kernel/history.py: commit records are well formed and points follow from them."""

import re
from pathlib import Path

import pytest

from lrulab.kernel import history as h
from lrulab.kernel.config import FLAGS, PRESETS, ConfigError, make_config

SRC = Path(h.__file__).resolve().parents[1]

HEX12 = re.compile(r"^[0-9a-f]{12}$")
MSGID = re.compile(r"^[^<>\s@]+@[^<>\s@]+$")


def test_commit_ids_are_12_hex_and_message_ids_have_no_brackets():
    for c in h.COMMITS:
        assert c.commit is None or HEX12.match(c.commit), c
        assert c.msgid is None or MSGID.match(c.msgid), c
        assert c.fixes == () or all(HEX12.match(f) for f in c.fixes), c


def test_every_record_has_its_fields():
    for c in h.COMMITS:
        assert c.flag and c.subject and c.author and c.change and c.source, c
        assert c.functions and all(": " in f for f in c.functions), c
        assert c.release is not None or c.posted, c
        assert c.commit or c.msgid or not c.verified, f"{c.flag}: no id but verified"
        assert c.verified or c.missing, f"{c.flag}: unverified without saying what is missing"


def test_releases_are_ordered_and_commits_are_in_merge_order():
    keys = [h.version_key(name) for name, _ in h.RELEASES]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    dates = [d for _, d in h.RELEASES if d]
    assert dates == sorted(dates)
    merged = [h.version_key(c.release) for c in h.COMMITS if c.release and h.is_mainline(c.release)]
    assert merged == sorted(merged)


def test_release_and_series_names_are_known():
    names = {n for n, _ in h.RELEASES}
    for c in h.COMMITS:
        for r in (c.release, c.reverted_in):
            assert r is None or r in names or h.is_mainline(r), c
        assert all(v in h.SERIES for v in c.posted), c
        assert all(b in h.DISTRO for b in c.backports), c
    for s in h.SERIES.values():
        assert s["base"] in names
    for d in h.DISTRO.values():
        assert d["base"] in names


def test_every_flag_is_a_record_and_a_line_of_the_model():
    """config.FLAGS is the modelled records; each is tested at a line of the model
    (k.cfg.patch.<flag>) and every flag the model tests has a record."""
    assert set(FLAGS) == {c.flag for c in h.COMMITS if c.modelled}
    used = set()
    for f in SRC.rglob("*.py"):
        used |= set(re.findall(r"\bpatch\.([a-z_0-9]+)", f.read_text()))
    assert used == set(FLAGS)


def test_config_assembles_no_flag_set_by_hand():
    """Presets are points of history: config.py names no flag (so it cannot mix them)."""
    text = (SRC / "kernel" / "config.py").read_text()
    assert [f for f in FLAGS if re.search(rf"\b{f}\b", text)] == []


def test_every_preset_is_the_point_it_names():
    assert list(PRESETS) == list(h.ALIASES)
    for name, (_, flags) in PRESETS.items():
        assert flags == h.flags_at(h.ALIASES[name]), name


def test_no_point_mixes_code_that_never_coexisted():
    """A point is one release plus its listed series patches or backports, nothing else."""
    for p in h.points():
        series = p in h.SERIES
        expect = {c for c in h.COMMITS
                  if (h._in_mainline(c, h.base(p)) and not (series and c.posted))
                  or p in c.posted or p in c.backports}
        assert set(h.commits_at(p)) == expect, p
    for name, (_, flags) in PRESETS.items():
        assert h.coexisted(flags) is not None, name


def test_flags_follow_their_commits_order():
    """Along the line of history a flag changes only where one of its records comes in, and
    then to that record's value."""
    line = h.lineage("7.3-rc")
    for a, b in zip(line, line[1:], strict=False):
        fa, fb = h.flags_at(a), h.flags_at(b)
        came = {c.flag: c.value for c, on in h.steps(a, b) if on}
        for flag in FLAGS:
            if fa[flag] != fb[flag]:
                assert flag in came and came[flag] == fb[flag], (a, b, flag)


def test_steps_turn_one_point_into_the_other():
    for a, b in [("6.12", "7.2"), ("series-v5", "debian-6.12.117"), ("7.2", "series-v3"),
                 ("debian-6.1.192", "7.3-rc")]:
        present = h.commits_at(a)
        for c, on in h.steps(a, b):
            present = present + [c] if on else [x for x in present if x is not c]
        assert h.flags_of(present) == h.flags_at(b), (a, b)


def test_lineage_puts_series_between_base_and_merge_and_builds_after_their_base():
    line = h.lineage("7.2")
    assert line.index("7.1") < line.index("series-v1") < line.index("series-v5") < \
        line.index("7.2")
    assert h.lineage("debian-6.12.117")[-2:] == ["6.12", "debian-6.12.117"]
    assert h.path("series-v5", "debian-6.12.117")[-2:] == ["6.12", "debian-6.12.117"]
    assert h.path("6.12", "6.13") == ["6.12", "6.13"]


def test_points_before_the_model_are_refused():
    assert h.MODEL_FROM == "5.4" and not h.in_model("4.19") and h.in_model("5.4")
    with pytest.raises(ConfigError, match="predates the model.*choose 5.4 or later"):
        make_config("4.19")
    assert make_config("6.6").patch.shrinker_nonslab   # any release in scope resolves


def test_a_commit_is_present_from_its_release_on_unless_reverted():
    mainline = [p for p in h.points() if h.is_mainline(p)]
    for c in h.COMMITS:
        if not (c.release and h.is_mainline(c.release)):
            continue
        for p in mainline:
            present = c in h.commits_at(p)
            after = h.version_key(p) >= h.version_key(c.release)
            alive = c.reverted_in is None or h.version_key(p) < h.version_key(c.reverted_in)
            assert present == (after and alive), (c.flag, c.release, p)


def test_flags_at_takes_the_latest_commit_of_a_flag():
    # SHRINKER_NONSLAB: set in 5.4, dropped for 7.2
    assert not h.flags_at("4.19")["shrinker_nonslab"]
    assert h.flags_at("5.4")["shrinker_nonslab"] and h.flags_at("7.1")["shrinker_nonslab"]
    assert not h.flags_at("7.2")["shrinker_nonslab"]
    # objcgs first from their introduction until fb56fdf8b9a2 (audit A2)
    assert h.flags_at("6.12")["objcg_reparent_first"]
    assert not h.flags_at("6.13")["objcg_reparent_first"]


def test_per_sublist_lock_never_coexists_with_objcg_first_offline():
    """Audit A2: 6.13 changed both; no point has the new lock layout with the old order."""
    for p in h.points():
        f = h.flags_at(p)
        assert not (f["list_lru_per_sublist_lock"] and f["objcg_reparent_first"]), p


def test_series_point_is_its_base_plus_its_own_patches():
    v3, v5 = h.flags_at("series-v3"), h.flags_at("series-v5")
    base = h.flags_at(h.SERIES["series-v5"]["base"])
    assert v3["thp_list_lru"] and not base["thp_list_lru"]
    assert not v3["isolate_flags_before_isolate"] and v5["isolate_flags_before_isolate"]
    assert v5["shrinker_nonslab"], "the NONSLAB drop came after v5 (B2)"
    assert not v5["count_shrink_empty"], "Lance Yang's SHRINK_EMPTY patch is not in the series"


def test_distro_point_is_its_base_plus_backports():
    deb = h.flags_at("debian-6.12.117")
    assert deb["migrate_requeue_dst"] and not h.flags_at("6.12")["migrate_requeue_dst"]
    assert {k: v for k, v in deb.items() if k != "migrate_requeue_dst"} == \
        {k: v for k, v in h.flags_at("6.12").items() if k != "migrate_requeue_dst"}


def test_aliases_map_to_points_and_name_todays_presets():
    for alias, point in h.ALIASES.items():
        assert point in h.points()
        assert h.resolve(alias) == point
        assert alias in PRESETS


def test_every_derived_point_coexisted_with_itself():
    for p in h.points():
        assert h.coexisted(h.flags_at(p)) is not None


def test_unknown_point_names_the_choices():
    with pytest.raises(KeyError, match="choose one of: linux-6.1, v0, .*4.19"):
        h.resolve("v9")


def test_differences_compare_a_preset_with_its_point():
    six12 = h.flags_at("6.12")
    assert h.differences(six12, "6.12") == {}
    flipped = dict(six12, list_lru_per_sublist_lock=not six12["list_lru_per_sublist_lock"])
    assert h.differences(flipped, "6.12") == {
        "list_lru_per_sublist_lock": (not six12["list_lru_per_sublist_lock"],
                                      six12["list_lru_per_sublist_lock"])}
    rows = h.preset_differences({"v0": flipped, "not-aliased": flipped})
    assert rows == [("v0", "6.12", "list_lru_per_sublist_lock",
                     flipped["list_lru_per_sublist_lock"], six12["list_lru_per_sublist_lock"])]


def test_every_flag_text_names_its_commit_author_and_release():
    for name, (text, where) in FLAGS.items():
        on = next(c for c in h.records(name) if c.value)
        ident = on.commit or (f"Message-ID {on.msgid}" if on.msgid else "id not seen")
        assert ident in text and on.author in text and on.seen in text, name
        assert where == ", ".join(on.functions), name


def test_path_from_a_release_that_is_no_point_does_not_step_back():
    # 6.5 changed nothing modelled: it stands where 6.4 stands, so the way to 7.2 goes forward
    assert "6.5" not in h.points() and "6.4" in h.points()
    nxt = next(q for q in h.points() if h.is_mainline(q)
               and h.version_key(q) > h.version_key("6.5"))
    p = h.path("6.5", "7.2")
    assert p[0] == "6.5" and p[1] == nxt and "6.4" not in p
    assert h.path("7.2", "6.5")[-2:] == [nxt, "6.5"]
    assert h.steps("6.5", "7.2") == h.steps("6.4", "7.2")


def test_docs_history_tables_are_generated_from_the_records():
    """docs/history.md's Points, Flags and Commits tables are what scripts/history_tables.py
    makes of history.py: run it after changing a record."""
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, str(root / "scripts" / "history_tables.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, "docs/history.md is stale: python scripts/history_tables.py"
