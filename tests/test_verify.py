"""Post-processing of generated answers: markers, sentences, support. Tiny string cases."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answering.cite import Evidence
from assistant.answering.claims import Claim, Passage, overlap, parse, verify
from index.embedding import HashEmbedder

HASH = HashEmbedder()


def hash_similarity(claims, sentences):
    return HASH.embed(claims) @ HASH.embed(sentences).T


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Beck said no [1].", [Claim("Beck said no.", (1,))]),
        ("Beck said no. [1]", [Claim("Beck said no.", (1,))]),
        ("A is true [1, 2].", [Claim("A is true.", (1, 2))]),
        ("A is true [1][2].", [Claim("A is true.", (1, 2))]),
        ("A is true [1-3].", [Claim("A is true.", (1, 2, 3))]),
        ("A [2]. B [1].", [Claim("A.", (2,)), Claim("B.", (1,))]),
        ("A [1]. B. [7]", [Claim("A.", (1,)), Claim("B.", (7,))]),
        ("No markers here. None at all.", [Claim("No markers here.", ()), Claim("None at all.", ())]),
        ("  ", []),
        ("Dr. Smith agreed [1].", [Claim("Dr. Smith agreed.", (1,))]),
        ("Capt. Jeff said so [2]. He left [1].", [Claim("Capt. Jeff said so.", (2,)), Claim("He left.", (1,))]),
        # What real models write instead of [n].
        ("A is true (1).", [Claim("A is true.", (1,))]),
        ("A is true (Source 2).", [Claim("A is true.", (2,))]),
        ("A is true [Source 2, Source 3].", [Claim("A is true.", (2, 3))]),
        ("A is true, according to Source 1.", [Claim("A is true, according to.", (1,))]),
        ("A is true (Sources 1 and 2).", [Claim("A is true.", (1, 2))]),
        ("A is true 【1】.", [Claim("A is true.", (1,))]),
        ("A is true【1】【3】", [Claim("A is true", (1, 3))]),
        ("It happened in (1979) and 2001 [1].", [Claim("It happened in (1979) and 2001.", (1,))]),
    ],
)
def test_parse(text, expected):
    assert parse(text) == expected


def test_overlap_counts_content_words_of_the_claim():
    assert overlap("The LAPD works with Homeland Security", "LAPD will not work with Homeland Security") == 1.0
    assert overlap("The LAPD has officers", "Nothing in common here") == 0.0
    assert overlap("the of and", "anything") == 0.0


SOURCE = "We are not going to work in conjunction with Homeland Security on deportation efforts."
OTHER = "In 1979, a special order was mandated by then-chief Daryl Gates."
PASSAGE = Passage(
    1,
    "a.txt",
    f"{SOURCE} {OTHER}",
    (
        Evidence("a.txt", 0, len(SOURCE), SOURCE, 0.0),
        Evidence("a.txt", len(SOURCE) + 1, len(SOURCE) + 1 + len(OTHER), OTHER, 0.0),
    ),
)


def test_a_supported_claim_is_kept_with_the_exact_supporting_sentence():
    out = verify(
        [Claim("The LAPD will not work with Homeland Security on deportation efforts.", (1,))],
        [PASSAGE],
        hash_similarity,
    )
    assert [s for s, _ in out.kept] == ["The LAPD will not work with Homeland Security on deportation efforts."]
    ev = out.kept[0][1][0]
    assert (ev.start, ev.end, ev.quote) == (0, len(SOURCE), SOURCE)


def test_a_number_the_source_does_not_state_is_never_supported():
    out = verify(
        [Claim("The LAPD has 50,000 officers working on deportation efforts.", (1,))], [PASSAGE], hash_similarity
    )
    assert out.kept == [] and out.reasons == ["not supported by the sources it cites"]
    ok = verify([Claim("A special order was mandated in 1979 by Daryl Gates.", (1,))], [PASSAGE], hash_similarity)
    assert ok.kept and ok.kept[0][1][0].quote == OTHER


def test_an_uncited_claim_and_an_out_of_range_number_are_dropped():
    out = verify(
        [Claim("Homeland Security deportation efforts.", ()), Claim("Deportation efforts.", (7,))],
        [PASSAGE],
        hash_similarity,
    )
    assert out.kept == [] and out.out_of_range == [7]
    assert out.reasons == ["cites no source", "cites no source"]


def test_a_draft_that_cites_nothing_is_checked_against_every_source():
    unrelated = Passage(
        2, "b.txt", "Cafeteria hours are posted.", (Evidence("b.txt", 0, 27, "Cafeteria hours are posted.", 0.0),)
    )
    out = verify(
        [
            Claim("The LAPD will not work with Homeland Security on deportation efforts.", ()),
            Claim("Pizza is good.", ()),
        ],
        [unrelated, PASSAGE],
        hash_similarity,
    )
    assert [(s, [e.source for e in ev]) for s, ev in out.kept] == [
        ("The LAPD will not work with Homeland Security on deportation efforts.", ["a.txt"])
    ]
    assert out.dropped == ["Pizza is good."] and out.reasons == ["cites no source, and no source supports it"]


def test_a_claim_citing_the_wrong_source_is_dropped_even_if_another_would_support_it():
    unrelated = Passage(
        2, "b.txt", "Cafeteria hours are posted.", (Evidence("b.txt", 0, 27, "Cafeteria hours are posted.", 0.0),)
    )
    out = verify(
        [Claim("The LAPD will not work with Homeland Security on deportation efforts.", (2,))],
        [PASSAGE, unrelated],
        hash_similarity,
    )
    assert out.kept == [] and out.dropped


def test_similarity_matrix_shape_is_claims_by_sentences():
    sims = hash_similarity(["a b", "c"], ["a", "b", "c"])
    assert sims.shape == (2, 3) and np.isclose(sims[1, 2], 1.0)
