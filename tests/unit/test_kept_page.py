"""A kept page, compressed once in parts and strung together with each reader's token."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.compression import KeptPage

page_parts = st.lists(st.text(max_size=3000), min_size=1, max_size=5)
tokens = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-_", max_size=120)


@given(parts=page_parts, token=tokens)
def test_the_gzip_stream_is_the_page_with_the_token_between_its_parts(parts, token):
    page = KeptPage(parts)
    expected = token.join(parts).encode()
    packed = page.gzip(token)
    assert gzip.decompress(packed) == expected  # checks the CRC and the length too
    # As a browser reads it: one stream, nothing after its end.
    reader = zlib.decompressobj(wbits=31)
    assert reader.decompress(packed) == expected
    assert reader.eof and not reader.unused_data


def test_readers_get_their_own_token_from_the_parts_compressed_once():
    page = KeptPage(["<p>" + "lesson text " * 400, "</form>" + "more text " * 300, "</html>"])
    first, second = page.gzip("token-one"), page.gzip("token-two")
    kept = page._deflated_parts
    assert gzip.decompress(first).decode().count("token-one") == 2
    assert "token-one" not in gzip.decompress(second).decode()
    assert page._deflated_parts is kept  # not compressed again
    assert len(first) < len(page.text("token-one").encode()) / 5


def test_a_page_of_one_part_is_also_kept_in_brotli_and_a_page_of_several_is_not():
    alone = KeptPage(["<p>the same for every reader</p>" * 50])
    assert brotli.decompress(alone.brotli()) == alone.text("").encode()
    assert alone.brotli() is alone.brotli()
    with pytest.raises(ValueError, match="one part"):
        KeptPage(["a", "b"]).brotli()


@given(parts=page_parts, filler=st.text(min_size=600, max_size=5000))
def test_a_text_longer_than_the_small_window_still_goes_between_the_parts(parts, filler):
    # The reader's text is deflated with the smallest window; a long one compresses less, right.
    assert gzip.decompress(KeptPage(parts).gzip(filler)) == filler.join(parts).encode()
