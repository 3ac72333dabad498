"""The local extractive summariser."""

# ruff: noqa: RUF001 - French, Japanese and Russian text is the point of these tests.

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from aijobs.ai.bench import make_document
from aijobs.ai.chunking import split_sentences
from aijobs.ai.local_summarizer import summarize

REPORT = """\
The water cooperative delivered more drinking water this quarter than in any quarter before.
Demand for drinking water peaked in August, when the reservoir fell to its lowest level.
The reservoir recovered in September, and the cooperative never had to ask members to save water.
My neighbour's cat likes to sleep on the warm roof of the garage.
Pumping the water from the river to the reservoir cost more because electricity prices rose.
The cooperative repaired fewer leaks in its water network than last year.
Water quality met every legal limit in the plant and in the network.
"""

FRENCH = """\
Le conseil municipal s'est réuni mardi soir pour examiner le budget de la ville.
La construction du nouveau pont sur la rivière a été approuvée par le conseil.
Les travaux du pont commenceront au printemps et dureront deux ans.
Certains habitants s'inquiètent du bruit pendant les travaux du pont.
Le maire a promis des réunions publiques sur le pont chaque trimestre.
La boulangerie de la place vend un excellent pain aux noix.
"""

JAPANESE = (
    "市の議会は新しい橋の建設を承認した。橋の工事は春に始まり、二年間続く予定だ。"
    "住民の一部は橋の工事の騒音を心配している。市長は橋について毎月説明会を開くと約束した。"
    "駅前のパン屋は美味しいパンを売っている。"
)

RUSSIAN = """\
Городской совет утвердил строительство нового моста через реку.
Строительство моста начнётся весной и продлится два года.
Жители беспокоятся о шуме во время строительства моста.
Мэр пообещал ежемесячные встречи с жителями о строительстве моста.
В булочной на площади продают вкусный хлеб.
"""


def normalised(text: str) -> str:
    return " ".join(text.split())


def assert_made_of_input_sentences(summary: str, text: str) -> None:
    """Assert that `summary` is a run of whole sentences of `text`, in their order."""
    sentences = [normalised(s) for s in split_sentences(text)]
    remaining = normalised(summary)
    position = 0
    while remaining:
        match = next(
            (i for i in range(position, len(sentences)) if remaining.startswith(sentences[i])),
            None,
        )
        assert match is not None, f"not a sentence of the input: {remaining[:80]!r}"
        remaining = remaining[len(sentences[match]) :].lstrip()
        position = match + 1


def assert_words_in_order(words: list[str], text_words: list[str]) -> None:
    """Assert that `words` appear in `text_words` in the same order."""
    remaining = iter(text_words)
    assert all(word in remaining for word in words)


def test_the_summary_is_made_of_the_inputs_own_sentences_and_is_shorter() -> None:
    summary = summarize(REPORT)

    assert_made_of_input_sentences(summary, REPORT)
    assert len(summary) < len(REPORT)


def test_the_off_topic_sentence_is_left_out_and_the_central_ones_kept() -> None:
    summary = summarize(REPORT, max_sentences=3)

    assert "cat" not in summary
    assert len(split_sentences(summary)) == 3
    assert summary.lower().count("water") >= 3


def test_the_same_text_always_gives_the_same_summary() -> None:
    assert summarize(REPORT) == summarize(REPORT)


def test_the_summary_does_not_depend_on_the_hash_seed_of_the_process() -> None:
    code = (
        "import sys; from aijobs.ai.local_summarizer import summarize; "
        "print(summarize(sys.stdin.read(), max_sentences=2))"
    )

    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            input=REPORT + FRENCH,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }

    assert len(outputs) == 1


def test_the_number_of_sentences_kept_grows_with_the_text_up_to_seven() -> None:
    short = " ".join(f"Point {n} is about the harbour budget." for n in range(10))
    long = " ".join(f"Point {n} is about the harbour budget." for n in range(200))

    assert len(split_sentences(summarize(short))) == 2
    assert len(split_sentences(summarize(long))) == 7


def test_asking_for_more_sentences_than_the_text_has_keeps_one_out() -> None:
    summary = summarize("One sentence here. Another one there. A third one.", max_sentences=10)

    assert len(split_sentences(summary)) == 2


def test_repeated_sentences_are_not_repeated_in_the_summary() -> None:
    text = "The bridge opens in May. " * 20 + "The harbour closes in June. The river floods."

    summary = summarize(text, max_sentences=3)

    assert summary.count("The bridge opens in May.") == 1


def test_lines_without_punctuation_are_summarised_line_by_line() -> None:
    lines = [
        "harbour budget review for the harbour board",
        "harbour board approves the harbour budget",
        "the weather was nice",
        "harbour budget grows by five percent",
        "lunch was sandwiches",
    ]
    text = "\n".join(lines)

    summary = summarize(text, max_sentences=2)

    assert summary in {f"{a} {b}" for a in lines for b in lines if a != b}
    assert "weather" not in summary
    assert "lunch" not in summary


def test_one_long_run_without_punctuation_is_cut_into_segments_of_its_words() -> None:
    words = make_document(20_000).replace(".", "").replace("!", "").replace("?", "").split()
    text = " ".join(words)

    summary = summarize(text)

    assert 0 < len(summary) < len(text) / 2
    assert summary.split()[0] in words


@pytest.mark.parametrize("text", [FRENCH, JAPANESE, RUSSIAN], ids=["french", "japanese", "russian"])
def test_other_languages_are_summarised_from_their_own_sentences(text: str) -> None:
    summary = summarize(text, max_sentences=2)

    assert_made_of_input_sentences(summary, text)
    assert len(split_sentences(summary)) == 2
    assert len(summary) < len(text)


@pytest.mark.parametrize(
    ("text", "off_topic"),
    [(FRENCH, "boulangerie"), (JAPANESE, "パン屋"), (RUSSIAN, "булочной")],
    ids=["french", "japanese", "russian"],
)
def test_other_languages_leave_out_the_off_topic_sentence(text: str, off_topic: str) -> None:
    assert off_topic not in summarize(text, max_sentences=2)


def test_a_one_sentence_input_is_cut_to_its_first_half() -> None:
    sentence = (
        "The board approved the budget for the new bridge over the river after a long debate."
    )

    summary = summarize(sentence)

    assert summary == "The board approved the budget for the new…"
    assert len(summary) < len(sentence)


def test_one_huge_sentence_gives_a_short_summary_of_its_own_words() -> None:
    sentence = " and ".join(f"clause {n} of the agreement" for n in range(500)) + "."

    summary = summarize(sentence)

    assert len(summary) < len(sentence) / 4
    assert_words_in_order(summary.split(), sentence.split())


def test_a_single_word_is_its_own_summary() -> None:
    assert summarize("Hello") == "Hello"


def test_a_single_japanese_sentence_is_cut_by_characters() -> None:
    assert summarize("市の議会は新しい橋の建設を承認した") == "市の議会は新しい…"


@pytest.mark.parametrize("text", ["", "   \n\t  "])
def test_empty_input_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="no text"):
        summarize(text)


def test_a_one_megabyte_document_is_summarised_well_under_a_second() -> None:
    text = make_document(1_000_000)

    # Best of two, so that one stall of a busy machine does not fail the test.
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        summary = summarize(text)
        timings.append(time.perf_counter() - started)

    assert min(timings) < 1.0
    assert_made_of_input_sentences(summary, text)
