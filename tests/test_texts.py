"""The on-disk text cache that citation checks read: used while the file is unchanged,
ignored as soon as its size or mtime changes, harmless when broken."""

from __future__ import annotations

import os

from index.texts import TextCache


def saved(tmp_path):
    """A file and a cache holding its text."""
    f = tmp_path / "page.html"
    f.write_text("<p>Hello</p>")
    cache = TextCache(tmp_path / "texts")
    cache.put("page.html", f.stat(), "Hello")
    return f, cache


def test_a_saved_text_comes_back_while_the_file_is_unchanged(tmp_path):
    f, cache = saved(tmp_path)
    assert cache.get("page.html", f.stat()) == "Hello"
    assert cache.get("other.html", f.stat()) is None


def test_a_changed_file_is_not_served_from_the_cache(tmp_path):
    f, cache = saved(tmp_path)
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # touched
    assert cache.get("page.html", f.stat()) is None
    f.write_text("<p>Hello, world</p>")  # edited: new size too
    assert cache.get("page.html", f.stat()) is None


def test_a_broken_cache_file_is_a_miss_not_an_error(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("x")
    cache = TextCache(tmp_path / "texts")
    cache.put("a.txt", f.stat(), "x")
    (next((tmp_path / "texts").iterdir())).write_text("{not json")
    assert cache.get("a.txt", f.stat()) is None
    cache.drop("a.txt")
    cache.drop("a.txt")  # dropping twice is fine
    assert list((tmp_path / "texts").iterdir()) == []


def test_an_unwritable_cache_is_ignored(tmp_path):
    blocker = tmp_path / "texts"
    blocker.write_text("a file where the folder should be")
    f = tmp_path / "a.txt"
    f.write_text("x")
    TextCache(blocker).put("a.txt", f.stat(), "x")  # no error
    assert TextCache(blocker).get("a.txt", f.stat()) is None
