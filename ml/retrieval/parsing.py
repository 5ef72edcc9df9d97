"""Reading uploaded knowledge documents into sections that keep their heading path.

Markdown, HTML, plain text, PDF, DOCX, and CSV of question/answer pairs. A file that can't be
read raises ``DocumentParseError`` with a reason a person can act on; nothing is guessed.
"""

import csv
import io
import re
from collections.abc import Callable
from pathlib import PurePath

from ml.retrieval.contracts import Section

FORMATS: dict[str, str] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".text": "text",
    ".pdf": "pdf",
    ".docx": "docx",
    ".csv": "csv",
}
_QUESTION_COLUMNS = ("question", "q", "title", "instruction")
_ANSWER_COLUMNS = ("answer", "a", "body", "response")


class DocumentParseError(ValueError):
    """The file is not what its name says, is damaged, or holds no text."""


def document_format(filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise DocumentParseError(f"unsupported file type {suffix or '(none)'}; use one of {known}")
    return FORMATS[suffix]


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise DocumentParseError("the file is not UTF-8 or UTF-16 text")


def _title(filename: str) -> str:
    return PurePath(filename).stem.replace("_", " ").replace("-", " ").strip()


def parse_markdown(text: str, title: str) -> list[Section]:
    sections: list[Section] = []
    path: list[str] = []
    lines: list[str] = []
    in_fence = False

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            sections.append(Section(heading_path=tuple(path) or (title,), text=body))
        lines.clear()

    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        heading = None if in_fence else re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)
        if heading:
            flush()
            level = len(heading.group(1))
            del path[level - 1 :]
            path.extend([""] * (level - 1 - len(path)))
            path.append(heading.group(2).strip())
            path[:] = [p for p in path if p]
        else:
            lines.append(line)
    flush()
    return sections


def parse_text(text: str, title: str) -> list[Section]:
    body = text.strip()
    return [Section(heading_path=(title,), text=body)] if body else []


def parse_html(data: bytes, title: str) -> list[Section]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "nav", "footer", "noscript", "template"]):
        tag.decompose()
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    root_title = page_title or title

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            heading = tuple(h for _, h in path) or (root_title,)
            sections.append(Section(heading_path=heading, text=body))
        lines.clear()

    blocks = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "th", "pre", "blockquote", "dt"]
    blocks += ["dd"]
    for element in (soup.body or soup).find_all(blocks):
        name = element.name
        if name in ("p", "li", "td", "th", "dt", "dd") and element.find_parent(["li", "td", "th"]):
            continue  # nested inside a block already taken whole
        text = element.get_text(" ", strip=True)
        if not text:
            continue
        if re.fullmatch(r"h[1-6]", name):
            flush()
            level = int(name[1])
            path[:] = [(lv, h) for lv, h in path if lv < level]
            path.append((level, text))
        else:
            lines.append(text)
    flush()
    if not sections:
        loose = (soup.body or soup).get_text("\n", strip=True)
        sections = parse_text(loose, root_title)
    return sections


def parse_pdf(data: bytes, title: str) -> list[Section]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise DocumentParseError("the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentParseError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentParseError(f"the PDF could not be read ({exc.__class__.__name__})") from exc
    return [
        Section(heading_path=(title, f"page {number}"), text=text.strip())
        for number, text in enumerate(pages, start=1)
        if text.strip()
    ]


def parse_docx(data: bytes, title: str) -> list[Section]:
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentParseError(f"the DOCX could not be read ({exc.__class__.__name__})") from exc
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            sections.append(Section(heading_path=tuple(h for _, h in path) or (title,), text=body))
        lines.clear()

    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        heading = re.fullmatch(r"(?:Heading|Title)\s*(\d*)", style)
        if heading and text:
            flush()
            level = int(heading.group(1) or 1) if style.startswith("Heading") else 0
            path[:] = [(lv, h) for lv, h in path if lv < level]
            path.append((level, text))
        elif text:
            lines.append(text)
    flush()
    for table in document.tables:
        rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in table.rows]
        body = "\n".join(r for r in rows if r.strip(" |"))
        if body:
            sections.append(Section(heading_path=(title, "table"), text=body))
    return sections


def parse_csv(text: str, title: str) -> list[Section]:
    """Question/answer pairs: a header naming a question and an answer column (question/answer,
    q/a, title/body, instruction/response); each row becomes one section headed by its question."""
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise DocumentParseError(f"the CSV could not be read ({exc})") from exc
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]
    q_col = next((header.index(c) for c in _QUESTION_COLUMNS if c in header), None)
    a_col = next((header.index(c) for c in _ANSWER_COLUMNS if c in header), None)
    if q_col is None or a_col is None:
        raise DocumentParseError(
            "the CSV needs a header with a question column and an answer column (question,answer)"
        )
    sections = []
    for row in rows[1:]:
        if len(row) <= max(q_col, a_col):
            continue
        question, answer = row[q_col].strip(), row[a_col].strip()
        if question and answer:
            sections.append(Section(heading_path=(title, question), text=answer))
    return sections


def parse_document(filename: str, data: bytes) -> list[Section]:
    """The document's sections; raises ``DocumentParseError`` if it can't be read or is empty."""
    kind = document_format(filename)
    title = _title(filename) or filename
    parsers: dict[str, Callable[[], list[Section]]] = {
        "markdown": lambda: parse_markdown(_decode(data), title),
        "text": lambda: parse_text(_decode(data), title),
        "csv": lambda: parse_csv(_decode(data), title),
        "html": lambda: parse_html(data, title),
        "pdf": lambda: parse_pdf(data, title),
        "docx": lambda: parse_docx(data, title),
    }
    sections = parsers[kind]()
    if not sections:
        raise DocumentParseError("no text found in the file")
    return sections
