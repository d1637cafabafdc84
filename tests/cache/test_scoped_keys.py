"""Store-level session ids and Redis keys per (collection, session): one to one, no user text."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from contextual_avatar.cache import scoped_session, session_key, session_tag, split_scoped
from contextual_avatar.pipeline import check_collection
from contextual_avatar.retrieval import check_collection_name

collections = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,63}", fullmatch=True)
sessions = st.text(min_size=1, max_size=40) | st.sampled_from(
    ["\0default\0x", "\0", "\0museum\0", "x\0y", "*", "a:b", "{x}"]
)
KINDS = ("entries", "meta", "history", "turns", "collection")


@given(st.lists(st.tuples(collections | st.just("default"), sessions), min_size=2, max_size=8))
def test_scoping_is_one_to_one_and_inverted_by_split(pairs) -> None:
    ids = {pair: scoped_session(*pair) for pair in set(pairs)}
    assert len(set(ids.values())) == len(ids)
    for pair, scoped in ids.items():
        assert split_scoped(scoped) == pair


@given(st.lists(st.tuples(collections | st.just("default"), sessions), min_size=2, max_size=8))
def test_keys_of_different_pairs_never_collide(pairs) -> None:
    for kind in KINDS:
        keys = {pair: session_key("p", scoped_session(*pair), kind) for pair in set(pairs)}
        assert len(set(keys.values())) == len(keys)


@given(collections, sessions)
def test_a_key_names_the_collection_and_hashes_the_session(collection, session) -> None:
    key = session_key("p", scoped_session(collection, session), "entries")
    tags = re.findall(r"\{([0-9a-f]{32})\}", key)
    assert tags == [session_tag(session)], "the session (alone) is the hash tag"
    if collection == "default" and not session.startswith("\0"):
        assert key == f"p:{{{session_tag(session)}}}:entries", "keys before collections"
    else:
        assert key == f"p:c:{collection}:{{{session_tag(session)}}}:entries"


@given(st.text(max_size=40))
def test_raw_strings_a_host_passes_map_to_distinct_keys(raw) -> None:
    scoped = {scoped_session(c, s) for c in ("default", "a") for s in ("x", "\0y")}
    if raw and raw not in scoped:
        key = session_key("p", raw, "meta")
        assert key not in {session_key("p", s, "meta") for s in scoped}


@given(st.text(max_size=80))
def test_the_engine_and_the_folders_agree_on_valid_names(name) -> None:
    def ok(check) -> bool:  # type: ignore[no-untyped-def]
        try:
            check(name)
        except ValueError:
            return False
        return True

    assert ok(check_collection) == ok(check_collection_name)
