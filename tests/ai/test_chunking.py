"""Token estimates, sentence splitting and chunking."""

# ruff: noqa: RUF001 - Chinese, Japanese and Russian text is the point of these tests.

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aijobs.ai.chunking import estimate_tokens, split_into_chunks, split_sentences


def non_space(text: str) -> str:
    """Return the characters of `text` that are not whitespace, in order."""
    return "".join(text.split())


# estimate_tokens


def test_no_text_is_no_tokens() -> None:
    assert estimate_tokens("") == 0


def test_english_with_short_words_counts_four_thirds_of_a_token_per_word() -> None:
    text = "It is a bit odd, but we do it so. " * 30

    assert estimate_tokens(text) == 10 * 30 * 4 / 3


def test_english_with_long_words_counts_a_token_per_four_characters() -> None:
    text = "Extraordinary circumstances necessitated comprehensive reconsideration. " * 10

    assert estimate_tokens(text) == len(text) / 4


def test_chinese_and_japanese_count_about_one_token_per_character() -> None:
    assert estimate_tokens("東京の天気は晴れです") == 10


def test_cyrillic_counts_more_tokens_than_ascii_of_the_same_length() -> None:
    assert estimate_tokens("Это первое предложение") > estimate_tokens("This first sentence!!")


def test_a_longer_text_never_counts_fewer_tokens() -> None:
    text = "Growth was strong. " * 50

    counts = [estimate_tokens(text[:end]) for end in range(0, len(text), 37)]

    assert counts == sorted(counts)


# split_sentences


def test_sentences_end_at_terminators_but_not_after_abbreviations_or_initials() -> None:
    text = "Dr. Smith met J. R. Jones, e.g. at noon. They agreed! Did it work? Yes."

    assert split_sentences(text) == [
        "Dr. Smith met J. R. Jones, e.g. at noon.",
        "They agreed!",
        "Did it work?",
        "Yes.",
    ]


def test_a_full_stop_followed_by_a_lowercase_word_does_not_end_a_sentence() -> None:
    assert split_sentences("Approx. three in ten vs. four. Next one.") == [
        "Approx. three in ten vs. four.",
        "Next one.",
    ]


def test_headings_list_items_and_table_rows_are_sentences_of_their_own() -> None:
    text = "# Report\nRevenue grew.\n\n- first point\n- second point\n| a | b |\n| 1 | 2 |"

    assert split_sentences(text) == [
        "# Report",
        "Revenue grew.",
        "- first point",
        "- second point",
        "| a | b |",
        "| 1 | 2 |",
    ]


def test_wrapped_lines_of_a_paragraph_join_into_one_sentence() -> None:
    text = "This sentence is wrapped\nacross two lines. And this\none too."

    assert split_sentences(text) == [
        "This sentence is wrapped across two lines.",
        "And this one too.",
    ]


def test_a_paragraph_without_punctuation_is_split_at_its_line_ends() -> None:
    text = "first line of a poem\nsecond line of it\n\nanother stanza"

    assert split_sentences(text) == ["first line of a poem", "second line of it", "another stanza"]


def test_japanese_sentences_end_at_the_ideographic_full_stop() -> None:
    assert split_sentences("今日は晴れです。明日は雨でしょう！本当？") == [
        "今日は晴れです。",
        "明日は雨でしょう！",
        "本当？",
    ]


def test_russian_and_hindi_sentences_are_split() -> None:
    assert split_sentences("Это первое. Это второе! Вот.") == ["Это первое.", "Это второе!", "Вот."]
    assert split_sentences("यह पहला वाक्य है। यह दूसरा है।") == ["यह पहला वाक्य है।", "यह दूसरा है।"]


def test_a_closing_quote_stays_with_its_sentence() -> None:
    assert split_sentences('He said "stop." Then he left.') == ['He said "stop."', "Then he left."]


# split_into_chunks


def test_text_that_fits_is_one_chunk() -> None:
    assert split_into_chunks("  Short text.  ", 100) == ["Short text."]


def test_empty_text_is_no_chunks() -> None:
    assert split_into_chunks(" \n ", 100) == []


def test_max_tokens_below_what_one_character_costs_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        split_into_chunks("a b c", 1)


def test_chunks_break_between_paragraphs_when_paragraphs_fit() -> None:
    paragraphs = [f"Paragraph {n} has a handful of plain words in it." for n in range(6)]
    text = "\n\n".join(paragraphs)
    one = estimate_tokens(paragraphs[0])

    chunks = split_into_chunks(text, 2 * one + 1)

    assert chunks == ["\n\n".join(paragraphs[i : i + 2]) for i in range(0, 6, 2)]


def test_a_paragraph_too_big_for_a_chunk_breaks_between_sentences() -> None:
    sentences = [f"Sentence number {n} says something short." for n in range(20)]
    text = " ".join(sentences)

    chunks = split_into_chunks(text, 30)

    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.endswith(".")
        assert estimate_tokens(chunk) <= 30
    assert " ".join(chunks) == text


def test_one_huge_sentence_is_split_between_words() -> None:
    words = [f"word{n}" for n in range(2000)]
    text = " ".join(words)

    chunks = split_into_chunks(text, 100)

    assert len(chunks) > 10
    assert all(estimate_tokens(chunk) <= 100 for chunk in chunks)
    assert " ".join(chunks).split() == words


def test_one_huge_word_is_cut_by_characters() -> None:
    text = "x" * 10_000 + " then " + "語" * 500

    chunks = split_into_chunks(text, 50)

    assert all(estimate_tokens(chunk) <= 50 for chunk in chunks)
    assert non_space("".join(chunks)) == non_space(text)


def test_a_long_document_is_chunked_in_linear_time() -> None:
    text = "\n\n".join(f"Paragraph {n}. " + "Some words here. " * 40 for n in range(3000))

    chunks = split_into_chunks(text, 3000)

    assert non_space("".join(chunks)) == non_space(text)
    assert all(estimate_tokens(chunk) <= 3000 for chunk in chunks)


_texts = st.lists(
    st.one_of(
        st.text(
            alphabet=st.sampled_from(list("abcdeéжя語の .!?。\n")),
            min_size=0,
            max_size=60,
        ),
        st.sampled_from(["\n\n", "Dr. Smith. ", "x" * 300, "- item\n", "# Title\n"]),
    ),
    max_size=30,
).map("".join)


@settings(database=None, max_examples=200, deadline=None)
@given(text=_texts, max_tokens=st.integers(min_value=2, max_value=80))
def test_chunking_keeps_every_character_in_order_and_every_chunk_fits(
    text: str, max_tokens: int
) -> None:
    chunks = split_into_chunks(text, max_tokens)

    assert non_space("".join(chunks)) == non_space(text)
    assert all(chunk.strip() for chunk in chunks)
    assert all(estimate_tokens(chunk) <= max_tokens for chunk in chunks)


@settings(database=None, max_examples=200, deadline=None)
@given(text=_texts)
def test_sentence_splitting_keeps_every_character_in_order(text: str) -> None:
    assert non_space("".join(split_sentences(text))) == non_space(text)
