import io

import pytest

from ml.retrieval.chunking import chunk_id_for, chunk_sections, split_text
from ml.retrieval.parsing import DocumentParseError, parse_document


def test_markdown_keeps_heading_path() -> None:
    text = "# Plans\nIntro.\n## Fees\nThe monthly fee is $5.\n### Waivers\nStudents pay nothing.\n"
    sections = parse_document("pricing.md", text.encode())
    assert [(s.heading_path, s.text) for s in sections] == [
        (("Plans",), "Intro."),
        (("Plans", "Fees"), "The monthly fee is $5."),
        (("Plans", "Fees", "Waivers"), "Students pay nothing."),
    ]


def test_html_headings_and_scripts() -> None:
    html = (
        b"<html><head><title>Help</title><script>x=1</script></head><body><h1>Returns</h1>"
        b"<p>Within 30 days.</p><h2>Refunds</h2><ul><li>To the card.</li></ul></body></html>"
    )
    sections = parse_document("help.html", html)
    assert [(s.heading_path, s.text) for s in sections] == [
        (("Returns",), "Within 30 days."),
        (("Returns", "Refunds"), "To the card."),
    ]


def test_csv_question_answer_pairs() -> None:
    data = b"question,answer\nHow do I reset my password?,Use the reset link.\n,skipped\n"
    sections = parse_document("faq.csv", data)
    assert [(s.heading_path, s.text) for s in sections] == [
        (("faq", "How do I reset my password?"), "Use the reset link.")
    ]


def test_csv_without_columns_is_refused() -> None:
    with pytest.raises(DocumentParseError, match="question column"):
        parse_document("faq.csv", b"a,b\n1,2\n")


def test_broken_pdf_is_reported() -> None:
    with pytest.raises(DocumentParseError, match="PDF"):
        parse_document("manual.pdf", b"%PDF-1.4 this is not really a pdf")


def test_docx_headings() -> None:
    import docx

    document = docx.Document()
    document.add_heading("Shipping", level=1)
    document.add_paragraph("We ship worldwide.")
    buffer = io.BytesIO()
    document.save(buffer)
    sections = parse_document("ship.docx", buffer.getvalue())
    assert [(s.heading_path, s.text) for s in sections] == [(("Shipping",), "We ship worldwide.")]


def test_unsupported_type() -> None:
    with pytest.raises(DocumentParseError, match=r"unsupported file type \.exe"):
        parse_document("virus.exe", b"MZ")


def test_chunks_are_bounded_and_stable() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(200))
    pieces = split_text(text, 300)
    assert all(len(p) <= 300 for p in pieces)
    assert " ".join(pieces).split() == text.split()
    from ml.retrieval.contracts import Section

    chunks = chunk_sections([Section(("Doc",), text)], doc_id="article:1", max_chars=300)
    assert chunks[0].chunk_id == chunk_id_for("article:1", 0)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert chunks[1].indexed_text.startswith("Doc\n")
