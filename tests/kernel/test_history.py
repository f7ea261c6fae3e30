"""kernel/history.py: commit records are well formed and points follow from them."""

import re

import pytest

from lrulab.kernel import history as h
from lrulab.kernel.config import FLAGS, PRESETS

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


def test_every_flag_of_config_is_a_commit():
    modelled = {c.flag for c in h.COMMITS if c.modelled}
    assert modelled == set(FLAGS)


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


def test_every_derived_point_coexisted():
    for p in h.points():
        assert h.coexisted(h.flags_at(p)) is not None


def test_unknown_point_names_the_choices():
    with pytest.raises(KeyError, match="choose one of: 4.19"):
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
