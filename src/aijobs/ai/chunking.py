"""Cut text into sentences and into chunks a model can take in one request.

Nothing here downloads a tokenizer: token counts are estimated from the
characters and words of the text, erring on the high side, which is the safe
side when the count decides whether a chunk fits a model's context window.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

#: Characters of ASCII text per token: the usual figure for English under BPE.
ASCII_CHARS_PER_TOKEN = 4.0

#: Characters per token of other alphabetic scripts (accented Latin, Cyrillic,
#: Greek, Arabic…), which BPE vocabularies cut into shorter pieces.
OTHER_CHARS_PER_TOKEN = 2.0

#: Tokens per whitespace-separated word, the other common rule of thumb.
TOKENS_PER_WORD = 4 / 3

#: Fewest tokens a chunk may hold: a one-character word is estimated at 2.
MIN_CHUNK_TOKENS = 2

#: Characters of the scripts written without spaces (kana, CJK ideographs,
#: Hangul), where one character is about one token; a regex class body.
WIDE_CHARACTERS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
_WIDE_CHAR = re.compile(f"[{WIDE_CHARACTERS}]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")

# A sentence ends at a terminator and any closing quotes or brackets, followed
# by whitespace; the CJK full stops need no space after them.
_SENTENCE_END = re.compile(
    r"""[.!?\u2026\u203c\u2047-\u2049\u0964\u061f\u06d4]+["'\u201d\u2019\u00bb)\]]*\s+"""
    r"""|[\u3002\uff01\uff1f\uff61]+[\u300d\u300f\u201d\u2019\uff09)]*\s*"""
)
_TERMINATOR = re.compile(
    r"[.!?\u2026\u203c\u2047-\u2049\u0964\u061f\u06d4\u3002\uff01\uff1f\uff61]"
)

# A line that starts a block of its own: a heading, list item, quote or table row.
_BLOCK_START = re.compile(r"[ \t]*(?:#{1,6}|[-*+•>|]|\d{1,3}[.)])[ \t]")
_HEADING = re.compile(r"[ \t]*#{1,6}[ \t]")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")

# Words before a full stop that do not end a sentence ("Dr. Smith", "e.g. this").
_ABBREVIATIONS = frozenset(
    {"dr", "mr", "mrs", "ms", "prof", "sr", "jr", "st", "vs", "e.g", "i.e", "fig", "no", "cf"}
)
_INITIALS = re.compile(r"(?:[^\W\d_]\.)*[^\W\d_]")


def estimate_tokens(text: str) -> int:
    """Estimate how many tokens a BPE tokenizer would make of `text`.

    Two estimates are made and the larger kept: characters, weighted by
    script (4 per token for ASCII, 2 for other alphabets, 1 for CJK and kana),
    and words times 4/3. Real counts for English prose land within about 15%
    below the result; overestimating only makes chunks a little smaller.
    """
    if not text:
        return 0

    if text.isascii():
        by_chars = len(text) / ASCII_CHARS_PER_TOKEN
    else:
        wide = len(text) - len(_WIDE_CHAR.sub("", text))
        ascii_chars = len(_NON_ASCII.sub("", text))
        other = len(text) - ascii_chars - wide
        by_chars = ascii_chars / ASCII_CHARS_PER_TOKEN + other / OTHER_CHARS_PER_TOKEN + wide
    by_words = len(text.split()) * TOKENS_PER_WORD

    return max(1, math.ceil(max(by_chars, by_words)))


def split_sentences(text: str) -> list[str]:
    """Split `text` into sentences, each with its whitespace collapsed.

    Paragraphs (blank lines), headings and list items always end a sentence.
    A paragraph with no sentence terminator at all is split at its line ends,
    so verse, transcripts and bullet lists without full stops still come
    apart. A full stop followed by a lowercase letter, or after a known
    abbreviation or an initial, does not end a sentence.
    """
    sentences: list[str] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        sentences.extend(_paragraph_sentences(paragraph))

    return [sentence for sentence in sentences if sentence]


def split_into_chunks(text: str, max_tokens: int) -> list[str]:
    """Cut `text` into chunks of at most `max_tokens` estimated tokens.

    Chunks break between paragraphs where they can, else between sentences,
    else between words; a single word longer than a chunk is cut by
    characters. Every word of the text is kept, in order: joining the chunks
    with spaces gives back the same sequence of non-space characters.
    `max_tokens` must be at least `MIN_CHUNK_TOKENS`, the estimate of one
    character, so that every piece can fit somewhere.
    """
    if max_tokens < MIN_CHUNK_TOKENS:
        raise ValueError(f"max_tokens must be at least {MIN_CHUNK_TOKENS}")

    if estimate_tokens(text) <= max_tokens:
        return [text.strip()] if text.strip() else []

    paragraphs = [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
    return _pack(_fitting_pieces(paragraphs, max_tokens), max_tokens, separator="\n\n")


def _paragraph_sentences(paragraph: str) -> Iterator[str]:
    """Yield the sentences of one paragraph, some of them empty."""
    if not _TERMINATOR.search(paragraph):
        for line in paragraph.splitlines():
            yield " ".join(line.split())
        return

    for block in _blocks(paragraph):
        yield from _split_block(block)


def _blocks(paragraph: str) -> Iterator[str]:
    """Yield the runs of lines of `paragraph` that belong together."""
    current: list[str] = []
    for line in paragraph.splitlines():
        starts_block = _BLOCK_START.match(line) is not None
        if current and (starts_block or _HEADING.match(current[-1])):
            yield " ".join(current)
            current = []

        current.append(line)

    if current:
        yield " ".join(current)


def _split_block(block: str) -> Iterator[str]:
    """Yield the sentences of one block of text."""
    start = 0
    for match in _SENTENCE_END.finditer(block):
        if _continues(block, match):
            continue

        yield " ".join(block[start : match.end()].split())
        start = match.end()

    yield " ".join(block[start:].split())


def _continues(block: str, match: re.Match[str]) -> bool:
    """Tell whether the terminator at `match` is inside a sentence, not its end."""
    following = block[match.end() : match.end() + 1]
    if following.islower():
        return True

    if not match.group().startswith("."):
        return False

    before = block[max(0, match.start() - 12) : match.start()].split()
    word = before[-1].lower() if before else ""
    return word in _ABBREVIATIONS or _INITIALS.fullmatch(word) is not None


def _fitting_pieces(paragraphs: list[str], max_tokens: int) -> Iterator[str]:
    """Yield the paragraphs, cutting any that is too big into pieces that fit."""
    for paragraph in paragraphs:
        if estimate_tokens(paragraph) <= max_tokens:
            yield paragraph
            continue

        sentences = _paragraph_sentences(paragraph)
        yield from _pack(_fitting_sentences(sentences, max_tokens), max_tokens, separator=" ")


def _fitting_sentences(sentences: Iterator[str], max_tokens: int) -> Iterator[str]:
    """Yield the sentences, cutting any that is too big by words, then characters."""
    for sentence in sentences:
        if not sentence:
            continue

        if estimate_tokens(sentence) <= max_tokens:
            yield sentence
            continue

        yield from _pack(_fitting_words(sentence.split(), max_tokens), max_tokens, separator=" ")


def _fitting_words(words: list[str], max_tokens: int) -> Iterator[str]:
    """Yield the words, cutting any word that alone exceeds `max_tokens`."""
    for word in words:
        if estimate_tokens(word) <= max_tokens:
            yield word
            continue

        # Cut proportionally and shrink until the piece fits: the script, and so
        # the characters per token, may change along the word.
        step = max(1, len(word) * max_tokens // estimate_tokens(word))
        start = 0
        while start < len(word):
            piece = word[start : start + step]
            while len(piece) > 1 and (cost := estimate_tokens(piece)) > max_tokens:
                piece = piece[: max(1, len(piece) * max_tokens // cost)]

            yield piece
            start += len(piece)


def _pack(pieces: Iterator[str], max_tokens: int, *, separator: str) -> list[str]:
    """Join consecutive pieces greedily into chunks that stay within `max_tokens`.

    A chunk's cost is the sum of its pieces' estimates plus one per separator,
    which bounds the estimate of the joined text, so chunks are never re-counted.
    """
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for piece in pieces:
        cost = estimate_tokens(piece)
        if current and used + 1 + cost > max_tokens:
            chunks.append(separator.join(current))
            current, used = [], 0

        used += cost + (1 if current else 0)
        current.append(piece)

    if current:
        chunks.append(separator.join(current))

    return chunks
