"""A workspace's knowledge: articles with versions and an audit trail, uploaded documents, the
chunks that are indexed, and the entities and relations of its knowledge graph."""

from django.conf import settings
from django.db import models

from apps.accounts.models import Workspace


class Article(models.Model):
    class Kind(models.TextChoices):
        FAQ = "faq", "FAQ"
        DOCUMENT = "document", "Document"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="articles")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FAQ)
    title = models.CharField(max_length=300)  # the question, for an FAQ
    body = models.TextField()  # the answer, or the document (Markdown)
    source_url = models.URLField(max_length=500, blank=True)
    # Names of the workspace's intents this article answers: when the bot routes a question of
    # one of them to the knowledge base, it answers from these articles first.
    intents = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["workspace", "status"])]

    def __str__(self) -> str:
        return self.title

    @property
    def doc_key(self) -> str:
        return f"article:{self.pk}"


class ArticleVersion(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Article.Status.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["article", "version"], name="article_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class KnowledgeAudit(models.Model):
    """Who changed what in the knowledge base (kept after the object is deleted)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40)  # article.create, article.publish, entity.delete...
    object_type = models.CharField(max_length=20)
    object_id = models.BigIntegerField()
    summary = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_id}"


class Document(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        INDEXED = "indexed", "Indexed"
        FAILED = "failed", "Failed"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="documents")
    filename = models.CharField(max_length=255)
    format = models.CharField(max_length=16)
    content = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    source_url = models.URLField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    error = models.CharField(max_length=500, blank=True)
    chunk_count = models.PositiveIntegerField(default=0)
    # Personal data found in the file, by type (counts only): the operator is warned.
    pii_counts = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.filename

    @property
    def doc_key(self) -> str:
        return f"document:{self.pk}"


class KnowledgeChunk(models.Model):
    """A chunk as indexed (text redacted), so a full re-index needs no re-parsing."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    chunk_id = models.CharField(max_length=36)
    doc_key = models.CharField(max_length=40)
    article = models.ForeignKey(Article, null=True, on_delete=models.CASCADE, related_name="chunks")
    document = models.ForeignKey(
        Document, null=True, on_delete=models.CASCADE, related_name="chunks"
    )
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=300, blank=True)
    text = models.TextField()
    heading_path = models.JSONField(default=list)
    source = models.CharField(max_length=500, blank=True)
    entity_keys = models.JSONField(default=list)

    class Meta:
        ordering = ["doc_key", "position"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "chunk_id"], name="chunk_unique_id")
        ]
        indexes = [models.Index(fields=["workspace", "doc_key"])]

    def __str__(self) -> str:
        return f"{self.doc_key}#{self.position}"


class Entity(models.Model):
    class Origin(models.TextChoices):
        CURATED = "curated", "Operator"
        NER = "ner", "Named entity"
        NOUN_PHRASE = "noun_phrase", "Noun phrase"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="entities")
    key = models.CharField(max_length=130)  # the graph's node id
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=40, default="thing")
    aliases = models.JSONField(default=list, blank=True)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.CURATED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="entity_unique_key")
        ]

    def __str__(self) -> str:
        return self.name


class Relation(models.Model):
    class Origin(models.TextChoices):
        CURATED = "curated", "Operator"
        COOCCURRENCE = "cooccurrence", "Co-occurrence"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    head = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="+")
    tail = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="+")
    relation = models.CharField(max_length=60, default="related_to")
    weight = models.FloatField(default=1.0)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.CURATED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["head", "tail", "relation", "origin"], name="relation_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.head_id} -{self.relation}-> {self.tail_id}"


class KnowledgeState(models.Model):
    """Per workspace: a counter that changes with every index or graph change (search caches
    key on it) and the last graph build's figures."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField(default=0)
    graph_built_at = models.DateTimeField(null=True, blank=True)
    graph_stats = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"knowledge state of workspace {self.workspace_id} (v{self.version})"


class AnswerVariable(models.Model):
    """A value the workspace's answers refer to by name, written ``{{Customer Support Phone
    Number}}`` in an article (help-centre exports carry such slots): filled in when an answer is
    shown to a customer. ``key`` is the name without case, spaces or underscores, so
    ``{{live_chat}}`` and ``{{Live Chat}}`` are one variable."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="answer_variables"
    )
    name = models.CharField(max_length=100)
    key = models.CharField(max_length=100)
    value = models.CharField(max_length=500, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="answer_variable_unique_key")
        ]

    def __str__(self) -> str:
        return self.name
