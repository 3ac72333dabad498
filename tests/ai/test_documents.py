"""Reading documents under DATA_DIR, and refusing the ones that cannot be used."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aijobs.ai import documents
from aijobs.ai.documents import (
    load_document,
    resolve_document_path,
    resolve_job_document_path,
    seed_data_dir,
    validate_input_text,
)
from aijobs.errors import InvalidInput
from aijobs.jobs.errors import PermanentJobError

from .pdfs import blank_pdf, encrypted_pdf, text_pdf


def refusal(data_dir: Path, relative: str) -> str:
    """Return the reason load_document gives for refusing `relative`."""
    with pytest.raises(PermanentJobError) as caught:
        load_document(data_dir, relative)

    assert str(data_dir) not in caught.value.reason
    return caught.value.reason


# Reading


def test_a_text_file_is_read_as_its_text(data_dir: Path) -> None:
    (data_dir / "notes.txt").write_text("Première ligne.\nSecond line.\n", encoding="utf-8")

    assert load_document(data_dir, "notes.txt") == "Première ligne.\nSecond line.\n"


def test_a_markdown_file_in_a_subfolder_is_read_with_its_markup(data_dir: Path) -> None:
    (data_dir / "reports").mkdir()
    (data_dir / "reports" / "q1.md").write_text("# Q1\n\n- revenue up\n", encoding="utf-8")

    assert load_document(data_dir, "reports/q1.md") == "# Q1\n\n- revenue up\n"


def test_the_suffix_is_matched_without_case(data_dir: Path) -> None:
    (data_dir / "README.MD").write_text("Upper case suffix.", encoding="utf-8")

    assert load_document(data_dir, "README.MD") == "Upper case suffix."


def test_a_utf8_byte_order_mark_is_dropped(data_dir: Path) -> None:
    (data_dir / "bom.txt").write_bytes(b"\xef\xbb\xbfWith a BOM.")

    assert load_document(data_dir, "bom.txt") == "With a BOM."


def test_a_pdf_yields_the_text_of_every_page_in_order(data_dir: Path) -> None:
    pages = [["Quarterly report (draft)", "Revenue grew."], ["Costs fell on page two."]]
    (data_dir / "report.pdf").write_bytes(text_pdf(pages))

    text = load_document(data_dir, "report.pdf")

    assert text.index("Quarterly report (draft)") < text.index("Revenue grew.")
    assert text.index("Revenue grew.") < text.index("Costs fell on page two.")


def test_a_pdf_encrypted_only_against_editing_is_read(data_dir: Path) -> None:
    plain = text_pdf([["Readable by anyone."]])
    (data_dir / "locked.pdf").write_bytes(
        encrypted_pdf(plain, user_password="", owner_password="owner-secret")
    )

    assert "Readable by anyone." in load_document(data_dir, "locked.pdf")


def test_a_stray_invalid_byte_in_a_long_utf8_file_becomes_a_replacement_character(
    data_dir: Path,
) -> None:
    body = "A long and otherwise clean line of text. " * 20
    (data_dir / "stray.txt").write_bytes(body.encode() + b"\xff" + b" The end.")

    text = load_document(data_dir, "stray.txt")

    assert text.count("\ufffd") == 1
    assert text.endswith("The end.")


# Refusing paths, at submit and at run time


@pytest.mark.parametrize("relative", ["../secret.txt", "a/../../secret.txt", "a/../b.txt"])
def test_a_path_with_dot_dot_is_refused_at_submit_and_at_run_time(
    data_dir: Path, relative: str
) -> None:
    with pytest.raises(InvalidInput) as at_submit:
        resolve_document_path(data_dir, relative)
    with pytest.raises(PermanentJobError) as at_run:
        resolve_job_document_path(data_dir, relative)

    assert at_submit.value.field == "input_file_path"
    assert "'..'" in at_submit.value.detail
    assert "'..'" in at_run.value.reason


@pytest.mark.parametrize("relative", ["/etc/passwd", "\\\\server\\share\\x.txt", "C:\\x.txt"])
def test_an_absolute_path_is_refused(data_dir: Path, relative: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve_document_path(data_dir, relative)

    assert "relative to DATA_DIR" in caught.value.detail
    assert "relative to DATA_DIR" in refusal(data_dir, relative)


def test_an_absolute_path_into_data_dir_itself_is_refused_too(data_dir: Path) -> None:
    (data_dir / "inside.txt").write_text("Inside.", encoding="utf-8")

    with pytest.raises(InvalidInput):
        resolve_document_path(data_dir, str(data_dir / "inside.txt"))


def test_a_symlink_pointing_out_of_data_dir_is_refused(data_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("Host secrets.", encoding="utf-8")
    (data_dir / "link.txt").symlink_to(outside)

    with pytest.raises(InvalidInput) as caught:
        resolve_document_path(data_dir, "link.txt")

    assert "outside DATA_DIR" in caught.value.detail
    assert "outside DATA_DIR" in refusal(data_dir, "link.txt")


def test_a_symlinked_folder_pointing_out_of_data_dir_is_refused(
    data_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.txt").write_text("Not yours.", encoding="utf-8")
    (data_dir / "shared").symlink_to(tmp_path / "elsewhere")

    assert "outside DATA_DIR" in refusal(data_dir, "shared/x.txt")


def test_a_symlink_that_stays_inside_data_dir_is_followed(data_dir: Path) -> None:
    (data_dir / "real.txt").write_text("The real file.", encoding="utf-8")
    (data_dir / "alias.txt").symlink_to(data_dir / "real.txt")

    assert resolve_document_path(data_dir, "alias.txt") == (data_dir / "real.txt").resolve()
    assert load_document(data_dir, "alias.txt") == "The real file."


def test_a_data_dir_that_is_itself_a_symlink_still_holds_its_files(tmp_path: Path) -> None:
    (tmp_path / "real-data").mkdir()
    (tmp_path / "real-data" / "a.txt").write_text("Behind a symlinked DATA_DIR.", encoding="utf-8")
    (tmp_path / "data-link").symlink_to(tmp_path / "real-data")

    assert load_document(tmp_path / "data-link", "a.txt") == "Behind a symlinked DATA_DIR."


def test_a_missing_file_passes_at_submit_and_fails_at_run_time(data_dir: Path) -> None:
    path = resolve_document_path(data_dir, "later/q3.pdf")

    assert path == data_dir.resolve() / "later" / "q3.pdf"
    assert (
        refusal(data_dir, "later/q3.pdf") == "input file 'later/q3.pdf' does not exist in DATA_DIR"
    )


@pytest.mark.parametrize("relative", ["", "   ", ".", "./"])
def test_a_path_naming_nothing_or_data_dir_itself_is_refused(data_dir: Path, relative: str) -> None:
    with pytest.raises(InvalidInput):
        resolve_document_path(data_dir, relative)


def test_a_path_with_a_nul_character_is_refused(data_dir: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve_document_path(data_dir, "a\x00.txt")

    assert "NUL" in caught.value.detail


# Refusing files


def test_a_directory_is_refused(data_dir: Path) -> None:
    (data_dir / "folder.txt").mkdir()

    assert "is a directory" in refusal(data_dir, "folder.txt")


def test_a_file_of_another_type_is_refused_with_the_types_that_work(data_dir: Path) -> None:
    (data_dir / "slides.docx").write_bytes(b"PK\x03\x04")

    assert "unsupported type (.docx); use .txt, .md or .pdf" in refusal(data_dir, "slides.docx")


def test_a_fifo_is_refused_instead_of_blocking_the_worker(data_dir: Path) -> None:
    os.mkfifo(data_dir / "pipe.txt")

    assert "not a regular file" in refusal(data_dir, "pipe.txt")


def test_an_empty_file_is_refused(data_dir: Path) -> None:
    (data_dir / "empty.md").write_bytes(b"")

    assert refusal(data_dir, "empty.md") == "input file 'empty.md' is empty"


def test_a_file_of_only_whitespace_is_refused(data_dir: Path) -> None:
    (data_dir / "blank.txt").write_text(" \n\t\n", encoding="utf-8")

    assert "contains no text" in refusal(data_dir, "blank.txt")


def test_a_file_over_the_size_limit_is_refused(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "MAX_FILE_BYTES", 1024)
    (data_dir / "big.txt").write_text("x" * 2048, encoding="utf-8")

    assert refusal(data_dir, "big.txt") == (
        "input file 'big.txt' is 2,048 bytes, over the limit of 1,024 bytes"
    )


def test_text_over_the_length_limit_is_refused(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "MAX_TEXT_CHARS", 100)
    (data_dir / "long.pdf").write_bytes(text_pdf([["word " * 30], ["more " * 30]]))

    assert "characters of text, over the limit" in refusal(data_dir, "long.pdf")


def test_a_file_in_another_encoding_is_refused_as_not_utf8(data_dir: Path) -> None:
    latin1 = "Les élèves ont étudié la forêt près du château à Noël. " * 5
    (data_dir / "latin1.txt").write_bytes(latin1.encode("latin-1"))

    assert "is not UTF-8 text" in refusal(data_dir, "latin1.txt")


def test_a_binary_file_named_txt_is_refused(data_dir: Path) -> None:
    (data_dir / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

    assert "is a binary file" in refusal(data_dir, "image.txt")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file whatever its mode")
def test_an_unreadable_file_is_refused(data_dir: Path) -> None:
    path = data_dir / "private.txt"
    path.write_text("Private.", encoding="utf-8")
    path.chmod(0)

    assert "cannot be read (Permission denied)" in refusal(data_dir, "private.txt")


def test_a_pdf_with_a_password_is_refused_as_encrypted(data_dir: Path) -> None:
    locked = encrypted_pdf(text_pdf([["Top secret."]]), user_password="pw", owner_password="o")
    (data_dir / "secret.pdf").write_bytes(locked)

    assert "is encrypted with a password" in refusal(data_dir, "secret.pdf")


def test_a_pdf_without_text_is_refused_as_needing_ocr(data_dir: Path) -> None:
    (data_dir / "scan.pdf").write_bytes(blank_pdf(pages=2))

    assert "has no extractable text" in refusal(data_dir, "scan.pdf")


def test_a_pdf_over_the_page_limit_is_refused(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "MAX_PDF_PAGES", 2)
    (data_dir / "thick.pdf").write_bytes(text_pdf([["One."], ["Two."], ["Three."]]))

    assert "has 3 pages, over the limit of 2" in refusal(data_dir, "thick.pdf")


def test_a_file_that_is_not_really_a_pdf_is_refused(data_dir: Path) -> None:
    (data_dir / "fake.pdf").write_text("This is plain text wearing a PDF suffix.", encoding="utf-8")

    assert refusal(data_dir, "fake.pdf") == "input file 'fake.pdf' is not a readable PDF"


def test_a_truncated_pdf_is_refused(data_dir: Path) -> None:
    whole = text_pdf([["Cut short."]])
    (data_dir / "cut.pdf").write_bytes(whole[: len(whole) // 3])

    assert "is not a readable PDF" in refusal(data_dir, "cut.pdf")


# input_text


def test_input_text_within_the_limit_is_accepted_as_is() -> None:
    assert validate_input_text("  Some text.  ") == "  Some text.  "


def test_empty_input_text_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_input_text(" \n ")

    assert caught.value.field == "input_text"


def test_input_text_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "MAX_INPUT_TEXT_CHARS", 10)

    with pytest.raises(InvalidInput) as caught:
        validate_input_text("x" * 11)

    assert "over the limit of 10" in caught.value.detail


# Samples


def test_a_missing_data_dir_is_created_and_seeded_with_readable_samples(tmp_path: Path) -> None:
    data_dir = tmp_path / "var" / "data"

    copied = seed_data_dir(data_dir)

    names = sorted(path.name for path in data_dir.iterdir())
    assert copied == len(names) >= 2
    for name in names:
        text = load_document(data_dir, name)
        assert 1000 < len(text) < 10_000


def test_an_empty_data_dir_is_seeded(data_dir: Path) -> None:
    assert seed_data_dir(data_dir) >= 2


def test_a_data_dir_with_files_is_left_alone(data_dir: Path) -> None:
    (data_dir / "mine.txt").write_text("My own file.", encoding="utf-8")

    assert seed_data_dir(data_dir) == 0
    assert [path.name for path in data_dir.iterdir()] == ["mine.txt"]


def test_seeding_twice_copies_nothing_the_second_time(data_dir: Path) -> None:
    seed_data_dir(data_dir)
    before = {path.name: path.read_bytes() for path in data_dir.iterdir()}

    assert seed_data_dir(data_dir) == 0
    assert {path.name: path.read_bytes() for path in data_dir.iterdir()} == before
