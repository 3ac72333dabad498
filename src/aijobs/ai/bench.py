"""Measure the local summariser's throughput on synthetic documents.

Run it with `uv run python -m aijobs.ai.bench`. The documents are made from a
fixed word list by a seeded generator, so every run reads the same text.
"""

from __future__ import annotations

import random
import time

from aijobs.ai.local_summarizer import summarize

#: Sizes of the documents measured, in bytes.
SIZES = (1_000_000, 10_000_000)

#: Runs per size; the best one is reported, as the least disturbed by noise.
RUNS = 3

SEED = 20_260_101

_VOCABULARY = (
    "the a of to and in that for on with as by at from this which its their an be was were "
    "is are has had have will would can could may should more most other some such many "
    "report team quarter revenue growth cost customer market product service system data "
    "model worker queue job retry failure latency throughput release plan budget risk "
    "decision meeting review policy contract supplier invoice shipment warehouse region "
    "engineer manager analyst board council city river harbour bridge school library "
    "hospital farm harvest weather rainfall drought energy grid battery solar wind turbine "
    "network server database cache index backup outage incident recovery migration upgrade "
    "increased reduced delayed approved rejected proposed measured expected reported agreed "
    "quickly slowly carefully mostly largely partly early late again still already often "
    "new old large small local national early final annual monthly weekly daily critical "
    "stable uncertain strong weak higher lower faster slower better worse first second"
)
_WORDS = _VOCABULARY.split()


def make_document(size: int, *, seed: int = SEED) -> str:
    """Return a deterministic document of about `size` bytes of English-like prose."""
    rng = random.Random(seed)
    paragraphs: list[str] = []
    length = 0
    while length < size:
        sentences = []
        for _ in range(rng.randint(3, 8)):
            words = rng.choices(_WORDS, k=rng.randint(6, 28))
            sentences.append(" ".join(words).capitalize() + rng.choice(".....!?"))

        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        length += len(paragraph) + 2

    return "\n\n".join(paragraphs)


def measure(text: str, *, runs: int = RUNS) -> float:
    """Return the best throughput of the local summariser on `text`, in MB/s."""
    timings: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        summarize(text)
        timings.append(time.perf_counter() - started)

    # perf_counter never reads the same twice around real work; max() guards anyway.
    return len(text.encode()) / 1_000_000 / max(min(timings), 1e-9)


def main() -> None:
    """Print the local summariser's throughput for each document size."""
    for size in SIZES:
        text = make_document(size)
        throughput = measure(text)
        megabytes = len(text.encode()) / 1_000_000
        seconds = megabytes / throughput
        print(f"{megabytes:5.1f} MB: {throughput:6.2f} MB/s ({seconds:.2f} s, best of {RUNS})")


if __name__ == "__main__":
    main()
