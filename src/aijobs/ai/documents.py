"""Find, check and read the documents a job names under DATA_DIR.

Paths are checked twice: at submit, where a bad path is the client's mistake
(`InvalidInput`, a 400), and again when the job runs, where the same mistake,
or a file that went missing meanwhile, fails the job for good
(`PermanentJobError`, no retries). Messages name files as the client wrote
them, relative to DATA_DIR, never by their absolute path on the host.
"""

from __future__ import annotations

import io
import stat
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import structlog

from aijobs.errors import InvalidInput
from aijobs.jobs.errors import PermanentJobError

if TYPE_CHECKING:
    from pypdf import PdfReader

#: Largest document read, in bytes (20 MiB).
MAX_FILE_BYTES = 20 * 1024 * 1024

#: Most characters of text a document may yield once extracted.
MAX_TEXT_CHARS = 5_000_000

#: Most pages a PDF may have.
MAX_PDF_PAGES = 500

#: Most characters of `input_text` a job may carry in its row.
MAX_INPUT_TEXT_CHARS = 1_000_000

#: Longest `input_file_path`, in characters.
MAX_PATH_CHARS = 1024

#: Share of undecodable bytes a text file may have before it is refused as not
#: UTF-8; below it, the bad bytes become U+FFFD and the rest is summarised.
MAX_BAD_BYTE_RATIO = 0.01

#: File types a document may have, by suffix, compared without case.
SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf")

_SAMPLES_PACKAGE = "aijobs.ai"
_SAMPLES_DIR = "samples"

logger = structlog.get_logger(__name__)


class _Refused(Exception):
    """A path or file is refused; the reason is safe to show to the client."""


def resolve_document_path(data_dir: Path, relative: str) -> Path:
    """Return the absolute path `relative` names inside `data_dir`, at submit.

    Raises InvalidInput("input_file_path", …) for an absolute path, a `..`
    part, or a path whose real location (after symlinks) is outside
    `data_dir`. Whether the file exists is not checked here.
    """
    try:
        return _resolve(data_dir, relative)
    except _Refused as exc:
        raise InvalidInput("input_file_path", str(exc)) from None


def resolve_job_document_path(data_dir: Path, relative: str) -> Path:
    """Return the absolute path `relative` names, as a running job checks it.

    The same rules as `resolve_document_path`, raising PermanentJobError.
    """
    try:
        return _resolve(data_dir, relative)
    except _Refused as exc:
        raise PermanentJobError(f"input file {relative!r} {exc}") from None


def validate_input_text(text: str) -> str:
    """Return `text` if a job may carry it as `input_text`, else raise InvalidInput."""
    if not text.strip():
        raise InvalidInput("input_text", "is empty")

    if len(text) > MAX_INPUT_TEXT_CHARS:
        raise InvalidInput(
            "input_text",
            f"has {len(text):,} characters, over the limit of {MAX_INPUT_TEXT_CHARS:,}; "
            "put long documents in a file under DATA_DIR and send input_file_path",
        )

    return text


def load_document(data_dir: Path, relative: str) -> str:
    """Return the text of the `.txt`, `.md` or `.pdf` file `relative` names.

    Raises PermanentJobError, with a message naming the file as given, for
    every reason the file cannot be used: a refused path, a missing file, a
    directory, a wrong type, an empty, oversized, unreadable, encrypted or
    text-less file. It blocks on disk and, for PDFs, on CPU: call it from a
    thread when on an event loop.
    """
    try:
        # The file is then opened by its resolved path: a symlink swapped in
        # between could still redirect the read. DATA_DIR belongs to the
        # operator, not to clients, so that window is accepted.
        path = _resolve(data_dir, relative)
        data = _read_file(path)
        if path.suffix.lower() == ".pdf":
            text = _pdf_text(data, relative)
        else:
            text = _decode_text(data, relative)
        _check_text(text, relative)
    except _Refused as exc:
        raise PermanentJobError(f"input file {relative!r} {exc}") from None

    return text


def seed_data_dir(data_dir: Path) -> int:
    """Copy the sample documents into `data_dir` if it is missing or empty.

    Returns how many files were copied. A file that appeared meanwhile (two
    processes seeding at once) is left alone and not counted.
    """
    if data_dir.is_dir() and any(data_dir.iterdir()):
        return 0

    data_dir.mkdir(parents=True, exist_ok=True)
    samples = resources.files(_SAMPLES_PACKAGE).joinpath(_SAMPLES_DIR)
    copied = 0
    for sample in sorted(samples.iterdir(), key=lambda item: item.name):
        if not sample.is_file() or not sample.name.lower().endswith(SUPPORTED_SUFFIXES):
            continue

        try:
            with (data_dir / sample.name).open("xb") as target:
                target.write(sample.read_bytes())
        except FileExistsError:
            continue
        copied += 1

    logger.info("data dir seeded", data_dir=str(data_dir), copied=copied)
    return copied


def _resolve(data_dir: Path, relative: str) -> Path:
    """Return the real path of `relative` inside `data_dir`, or raise _Refused."""
    if not relative or not relative.strip():
        raise _Refused("is empty")

    if len(relative) > MAX_PATH_CHARS:
        raise _Refused(f"is longer than {MAX_PATH_CHARS} characters")

    if "\x00" in relative:
        raise _Refused("contains a NUL character")

    # Backslashes and drive letters count too, so that a Windows style path is
    # refused the same way on every host.
    if relative.startswith(("/", "\\")) or (relative[0].isalpha() and relative[1:2] == ":"):
        raise _Refused("must be relative to DATA_DIR, not absolute")

    if ".." in PurePosixPath(relative.replace("\\", "/")).parts:
        raise _Refused("must not contain '..'")

    # Resolve both sides, so a symlink anywhere (DATA_DIR itself included) is
    # judged by where it really points.
    root = data_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise _Refused("points outside DATA_DIR")

    if path == root:
        raise _Refused("must name a file inside DATA_DIR")

    return path


def _read_file(path: Path) -> bytes:
    """Return the bytes of the regular file at `path`, within the size limit."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise _Refused("does not exist in DATA_DIR") from None
    except OSError as exc:
        raise _Refused(f"cannot be read ({exc.strerror or 'I/O error'})") from None

    if stat.S_ISDIR(info.st_mode):
        raise _Refused("is a directory, not a file")

    # A FIFO or device would block the worker or never end.
    if not stat.S_ISREG(info.st_mode):
        raise _Refused("is not a regular file")

    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        kind = path.suffix or "no extension"
        raise _Refused(f"has an unsupported type ({kind}); use .txt, .md or .pdf")

    if info.st_size == 0:
        raise _Refused("is empty")

    if info.st_size > MAX_FILE_BYTES:
        raise _Refused(f"is {_size(info.st_size)}, over the limit of {_size(MAX_FILE_BYTES)}")

    try:
        with path.open("rb") as file:
            # Read one byte more than allowed, in case the file grew since stat.
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _Refused(f"cannot be read ({exc.strerror or 'I/O error'})") from None

    if len(data) > MAX_FILE_BYTES:
        raise _Refused(f"is over the limit of {_size(MAX_FILE_BYTES)}")

    return data


def _decode_text(data: bytes, relative: str) -> str:
    """Return `data` decoded as UTF-8, tolerating a few bad bytes."""
    if b"\x00" in data[:8192]:
        raise _Refused("is a binary file, not text")

    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("utf-8-sig", errors="replace")

    # A stray byte in a UTF-8 file is tolerated; a file in another encoding,
    # where every accented letter would turn into U+FFFD, is not.
    bad = text.count("\ufffd")
    if bad > max(1, int(len(data) * MAX_BAD_BYTE_RATIO)):
        raise _Refused("is not UTF-8 text; save it as UTF-8 and submit it again")

    logger.warning("document has invalid UTF-8", file=relative, replaced=bad)
    return text


def _pdf_text(data: bytes, relative: str) -> str:
    """Return the text of the PDF in `data`, page after page."""
    # Imported here: pypdf takes a third of a second to import and only PDF
    # jobs need it.
    from pypdf import PdfReader

    # pypdf parses untrusted bytes and can fail in many ways besides its own
    # errors; any failure to parse means the file is not a PDF we can read.
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _decrypt_without_password(reader):
            raise _Refused("is encrypted with a password; remove the password and submit again")
        pages = len(reader.pages)
    except _Refused:
        raise
    except Exception as exc:
        logger.warning("pdf not readable", file=relative, error=type(exc).__name__)
        raise _Refused("is not a readable PDF") from None

    if pages > MAX_PDF_PAGES:
        raise _Refused(f"has {pages:,} pages, over the limit of {MAX_PDF_PAGES:,}")

    texts: list[str] = []
    length = 0
    for number, page in enumerate(reader.pages, start=1):
        try:
            page_text = page.extract_text() or ""
        except Exception as exc:
            # One damaged page should not sink a long report; say so and go on.
            logger.warning("pdf page skipped", file=relative, page=number, error=type(exc).__name__)
            continue

        texts.append(page_text)
        length += len(page_text)
        if length > MAX_TEXT_CHARS:
            break

    text = "\n\n".join(texts)
    if not text.strip():
        raise _Refused("has no extractable text (a scan needs OCR first)")

    return text


def _decrypt_without_password(reader: PdfReader) -> bool:
    """Try the empty password, which opens PDFs that only restrict editing."""
    from pypdf import PasswordType
    from pypdf.errors import DependencyError

    try:
        return reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except DependencyError:
        # AES needs the optional `cryptography` package; without it the file
        # cannot be opened, which to the user is the same as a password.
        return False


def _check_text(text: str, relative: str) -> None:
    """Refuse extracted text that is empty or too long."""
    if not text.strip():
        raise _Refused("contains no text")

    if len(text) > MAX_TEXT_CHARS:
        raise _Refused(f"has more than {MAX_TEXT_CHARS:,} characters of text, over the limit")

    logger.debug("document loaded", file=relative, chars=len(text))


def _size(size: int) -> str:
    """Format a byte count for a message: in MiB, or in bytes below one MiB."""
    if size < 1024 * 1024:
        return f"{size:,} bytes"

    return f"{size / (1024 * 1024):.1f} MiB"
