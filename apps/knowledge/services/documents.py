"""Uploaded documents: stored, then parsed, scanned for personal data, chunked and indexed in a
task. A file that fails is marked failed with the reason, and none of its chunks stay indexed."""

import logging

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from apps.accounts.models import User, Workspace
from apps.core.exceptions import ApplicationError
from apps.knowledge import hooks
from apps.knowledge.models import Document
from apps.knowledge.services.audit import audit_record
from apps.knowledge.services.indexing import source_remove, source_replace
from ml.retrieval.chunking import chunk_sections
from ml.retrieval.parsing import DocumentParseError, document_format, parse_document

logger = logging.getLogger(__name__)


@transaction.atomic
def document_upload(
    *, workspace: Workspace, uploader: User, upload: UploadedFile, source_url: str = ""
) -> Document:
    name = (upload.name or "").rsplit("/", 1)[-1]
    try:
        kind = document_format(name)
    except DocumentParseError as exc:
        raise ApplicationError(str(exc), code="unsupported_file") from exc
    limit = settings.KNOWLEDGE_UPLOAD_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ApplicationError(
            f"{name} is {upload.size} bytes; the limit is {limit} bytes.", code="file_too_large"
        )
    content = upload.read()
    if not content:
        raise ApplicationError(f"{name} is empty.", code="empty_file")
    document = Document.objects.create(
        workspace=workspace,
        filename=name[:255],
        format=kind,
        content=content,
        size=len(content),
        source_url=source_url,
        uploaded_by=uploader,
    )
    audit_record(
        workspace=workspace,
        actor=uploader,
        action="document.upload",
        object_type="document",
        object_id=document.pk,
        summary=document.filename,
    )
    transaction.on_commit(lambda: hooks.document_ingest_queue(document.pk))
    return document


def _progress(document_id: int, percent: int) -> None:
    Document.objects.filter(pk=document_id).update(progress=max(0, min(100, percent)))


def document_ingest(*, document_id: int) -> Document | None:
    """Parses, redacts and indexes the document. Safe to run twice (same chunk ids)."""
    document = Document.objects.select_related("workspace").filter(pk=document_id).first()
    if document is None:
        return None
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.PROCESSING, progress=5, error=""
    )
    try:
        sections = parse_document(document.filename, bytes(document.content))
        _progress(document.pk, 20)
        chunks = chunk_sections(
            sections,
            doc_id=document.doc_key,
            source=document.source_url or document.filename,
            title=document.filename,
        )
        pii = source_replace(
            workspace=document.workspace,
            doc_key=document.doc_key,
            chunks=chunks,
            document=document,
            progress=lambda p: _progress(document.pk, 20 + p * 75 // 100),
        )
    except DocumentParseError as exc:
        source_remove(workspace_id=document.workspace_id, doc_key=document.doc_key)
        Document.objects.filter(pk=document.pk).update(
            status=Document.Status.FAILED, error=str(exc)[:500], progress=100, chunk_count=0
        )
        logger.info("document failed id=%s reason=%s", document.pk, exc.__class__.__name__)
        return Document.objects.get(pk=document.pk)
    except Exception:
        source_remove(workspace_id=document.workspace_id, doc_key=document.doc_key)
        Document.objects.filter(pk=document.pk).update(
            status=Document.Status.FAILED,
            error="Indexing failed; try again or contact support.",
            progress=100,
        )
        raise
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.INDEXED, progress=100, chunk_count=len(chunks), pii_counts=pii
    )
    return Document.objects.get(pk=document.pk)


@transaction.atomic
def document_delete(*, document: Document, actor: User) -> None:
    workspace_id, doc_key = document.workspace_id, document.doc_key
    audit_record(
        workspace=document.workspace,
        actor=actor,
        action="document.delete",
        object_type="document",
        object_id=document.pk,
        summary=document.filename,
    )
    document.delete()
    transaction.on_commit(lambda: hooks.source_remove_queue(workspace_id, doc_key))
