"""A local extractive summariser: picks the sentences most like the whole text.

Each sentence becomes a TF-IDF vector over its terms (a "document" for IDF is
one sentence, so words found in most sentences, like "the" or "и", weigh
little in any language without a stop-word list). A sentence's score is its
cosine similarity to the sum of the *other* sentences' vectors, damped for
very short sentences: a sentence ranks high when it says what the rest of the
text keeps saying. The best sentences are returned in their original order.
It is deterministic, needs no network and no model, and runs in time linear
in the length of the text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from itertools import chain, pairwise

from aijobs.ai.chunking import WIDE_CHARACTERS, split_sentences

#: Share of the sentences kept when the caller does not say how many.
DEFAULT_RATIO = 0.2

#: Most sentences kept when the caller does not say how many.
DEFAULT_MAX_SENTENCES = 7

#: Longest segment, in characters, before it is cut by length: text without
#: punctuation would otherwise be one "sentence" as long as the document.
MAX_SEGMENT_CHARS = 600

#: Words per piece when a long segment is cut by length.
SEGMENT_WORDS = 40

#: Characters per piece when a long segment has no spaces (Chinese, Japanese).
SEGMENT_CHARS = 150

#: Sentences with fewer terms than this have their score scaled down, so that
#: a heading made of two key words does not beat a sentence that says something.
SHORT_SENTENCE_TERMS = 6

#: Words a one-sentence input keeps (at most half of them) as its summary.
SINGLE_SENTENCE_WORDS = 40

_WIDE_RUN = re.compile(f"[{WIDE_CHARACTERS}]+")
_WORD = re.compile(r"[^\W\d_]{2,}")
_ELLIPSIS = "…"


def summarize(text: str, *, max_sentences: int | None = None) -> str:
    """Return the most representative sentences of `text`, in their order.

    The summary is shorter than the text unless the text is a single word.
    It keeps `max_sentences` sentences, or by default a fifth of them, at
    least one and at most `DEFAULT_MAX_SENTENCES`. Raises ValueError when the
    text has nothing in it but whitespace.
    """
    segments = list(_segments(text))
    if not segments:
        raise ValueError("there is no text to summarise")

    if len(segments) == 1:
        return _shorten(segments[0])

    wanted = max_sentences or round(len(segments) * DEFAULT_RATIO)
    if max_sentences is None:
        wanted = min(wanted, DEFAULT_MAX_SENTENCES)
    # Keep at least one sentence out, so the summary is shorter than the text.
    keep = max(1, min(wanted, len(segments) - 1))

    chosen = _best(segments, keep)
    return " ".join(segments[index] for index in sorted(chosen))


def _segments(text: str) -> Iterator[str]:
    """Yield the sentences of `text`, cutting any that is too long by length."""
    for sentence in split_sentences(text):
        if len(sentence) <= MAX_SEGMENT_CHARS:
            yield sentence
            continue

        words = sentence.split()
        if len(words) > len(sentence) // SEGMENT_CHARS:
            for start in range(0, len(words), SEGMENT_WORDS):
                yield " ".join(words[start : start + SEGMENT_WORDS])
        else:
            for start in range(0, len(sentence), SEGMENT_CHARS):
                if piece := sentence[start : start + SEGMENT_CHARS].strip():
                    yield piece


def _shorten(sentence: str) -> str:
    """Return the first half of a lone sentence (at most a few dozen words).

    A single word is its own summary; a sentence of Chinese or Japanese, one
    "word" to `split`, is cut by characters instead.
    """
    words = sentence.split()
    if len(words) >= 2:
        kept = min(len(words) // 2, SINGLE_SENTENCE_WORDS)
        return " ".join(words[:kept]) + _ELLIPSIS

    if _WIDE_RUN.search(sentence) and len(sentence) >= 3:
        kept = min(len(sentence) // 2, SEGMENT_CHARS)
        return sentence[:kept] + _ELLIPSIS

    return sentence


def _terms(sentence: str) -> list[str]:
    """Return the terms of one sentence: words, and character pairs of CJK runs."""
    lowered = sentence.lower()
    if _WIDE_RUN.search(lowered) is None:
        return _WORD.findall(lowered)

    # Scripts without spaces have no words to find; character bigrams are the
    # usual stand-in and work without a dictionary.
    terms = _WORD.findall(_WIDE_RUN.sub(" ", lowered))
    for run in _WIDE_RUN.findall(lowered):
        if len(run) == 1:
            terms.append(run)
        else:
            terms.extend(a + b for a, b in pairwise(run))

    return terms


def _best(segments: list[str], keep: int) -> list[int]:
    """Return the indexes of the `keep` segments closest to the text's centroid."""
    terms = [_terms(segment) for segment in segments]
    counts = [Counter(sentence_terms) for sentence_terms in terms]
    document_frequency = Counter(chain.from_iterable(counts))
    total = Counter(chain.from_iterable(terms))
    sentences = len(segments)
    idf = {term: math.log(1 + sentences / df) for term, df in document_frequency.items()}

    # The centroid's weight of a term is idf * total count; a sentence's weight
    # is idf * its count, so their product per term is count * weight[term].
    weight = {term: idf[term] * idf[term] * total[term] for term in idf}

    scored: list[tuple[float, int]] = []
    for index, count in enumerate(counts):
        scored.append((-_score(count, idf, weight), index))
    scored.sort()

    chosen: list[int] = []
    seen: set[str] = set()
    for _, index in scored:
        # Repeated boilerplate would otherwise fill the summary with copies.
        key = segments[index].lower()
        if key in seen:
            continue

        seen.add(key)
        chosen.append(index)
        if len(chosen) == keep:
            break

    return chosen


def _score(count: Counter[str], idf: dict[str, float], weight: dict[str, float]) -> float:
    """Return a sentence's cosine similarity to the centroid of the other sentences.

    Up to a factor, the centroid's norm, which barely changes from one sentence
    to the next in any text long enough to need a summary.
    """
    if not count:
        return 0.0

    dot = 0.0
    norm = 0.0
    for term, n in count.items():
        dot += n * weight[term]
        norm += (n * idf[term]) ** 2

    # Compare with the centroid of the *other* sentences: otherwise the words
    # only this sentence uses would make it look central to itself.
    similarity = (dot - norm) / math.sqrt(norm)
    terms = len(count)
    if terms < SHORT_SENTENCE_TERMS:
        similarity *= terms / SHORT_SENTENCE_TERMS

    return similarity
