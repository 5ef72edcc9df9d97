from typing import Any

from rest_framework import serializers

from apps.knowledge.models import (
    AnswerVariable,
    Article,
    ArticleVersion,
    Document,
    Entity,
    KnowledgeAudit,
    Relation,
)
from apps.knowledge.services.articles import MAX_INTENTS
from ml.retrieval.contracts import CHANNELS


class ArticleOutput(serializers.ModelSerializer[Article]):
    class Meta:
        model = Article
        fields = [
            "id",
            "kind",
            "title",
            "body",
            "source_url",
            "intents",
            "status",
            "version",
            "created_at",
            "updated_at",
            "published_at",
        ]


class ArticleCreateInput(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=300)
    body = serializers.CharField(max_length=100_000)
    kind = serializers.ChoiceField(choices=Article.Kind.choices, default=Article.Kind.FAQ)
    source_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    intents = serializers.ListField(
        child=serializers.CharField(max_length=100),
        max_length=MAX_INTENTS,
        required=False,
        default=list,
    )
    publish = serializers.BooleanField(default=False)


class ArticleUpdateInput(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=300, required=False)
    body = serializers.CharField(max_length=100_000, required=False)
    kind = serializers.ChoiceField(choices=Article.Kind.choices, required=False)
    source_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    intents = serializers.ListField(
        child=serializers.CharField(max_length=100), max_length=MAX_INTENTS, required=False
    )


class ArticleVersionOutput(serializers.ModelSerializer[ArticleVersion]):
    author = serializers.CharField(source="author.username", default=None)

    class Meta:
        model = ArticleVersion
        fields = ["version", "title", "body", "status", "author", "created_at"]


class AuditOutput(serializers.ModelSerializer[KnowledgeAudit]):
    actor = serializers.CharField(source="actor.username", default=None)

    class Meta:
        model = KnowledgeAudit
        fields = ["action", "actor", "summary", "created_at"]


class DocumentOutput(serializers.ModelSerializer[Document]):
    class Meta:
        model = Document
        fields = [
            "id",
            "filename",
            "format",
            "size",
            "source_url",
            "status",
            "progress",
            "error",
            "chunk_count",
            "pii_counts",
            "created_at",
            "updated_at",
        ]


class DocumentUploadInput(serializers.Serializer[Any]):
    file = serializers.FileField()
    source_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")


class EntityOutput(serializers.ModelSerializer[Entity]):
    class Meta:
        model = Entity
        fields = ["id", "key", "name", "kind", "aliases", "origin"]


class EntityInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    kind = serializers.CharField(max_length=40, required=False, default="thing")
    aliases = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, max_length=50
    )


class EntityUpdateInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, required=False)
    kind = serializers.CharField(max_length=40, required=False)
    aliases = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, max_length=50
    )


class RelationOutput(serializers.ModelSerializer[Relation]):
    head = EntityOutput()
    tail = EntityOutput()

    class Meta:
        model = Relation
        fields = ["id", "head", "tail", "relation", "weight", "origin"]


class RelationInput(serializers.Serializer[Any]):
    # Bounded: an id past the database's 64-bit integers is an error, not a crash.
    head_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    tail_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    relation = serializers.CharField(max_length=60, required=False, default="related_to")


class HitTestInput(serializers.Serializer[Any]):
    query = serializers.CharField(max_length=2000)
    k = serializers.IntegerField(min_value=1, max_value=20, default=5)
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=list(CHANNELS)),
        required=False,
        default=list(CHANNELS),
        min_length=1,
    )
    context = serializers.ListField(  # type: ignore[assignment]
        child=serializers.CharField(max_length=2000), required=False, default=list, max_length=20
    )
    # As the bot asks: the articles that answer this intent come first.
    intent = serializers.CharField(max_length=100, required=False, allow_null=True, default=None)


class ChannelHitOutput(serializers.Serializer[Any]):
    channel = serializers.CharField()
    rank = serializers.IntegerField()
    score = serializers.FloatField()
    reasons = serializers.ListField(child=serializers.CharField())


class PassageOutput(serializers.Serializer[Any]):
    chunk_id = serializers.CharField()
    doc_id = serializers.CharField()
    title = serializers.CharField()
    text = serializers.CharField()
    heading_path = serializers.ListField(child=serializers.CharField())
    source = serializers.CharField()  # type: ignore[assignment]
    score = serializers.FloatField()
    channels = ChannelHitOutput(many=True)
    injection_flagged = serializers.BooleanField()
    injection_rules = serializers.ListField(child=serializers.CharField())


class AnswerVariableOutput(serializers.ModelSerializer[AnswerVariable]):
    class Meta:
        model = AnswerVariable
        fields = ["id", "name", "key", "value", "updated_at"]


class AnswerVariableListOutput(serializers.Serializer[Any]):
    results = AnswerVariableOutput(many=True)


class AnswerVariableCreateInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    value = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class AnswerVariableUpdateInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100, required=False)
    value = serializers.CharField(max_length=500, required=False, allow_blank=True)


class _ArticleRef(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    title = serializers.CharField()


class _DocumentRef(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    filename = serializers.CharField()


class UnfilledVariableOutput(serializers.Serializer[Any]):
    name = serializers.CharField()
    key = serializers.CharField()
    uses = serializers.IntegerField(help_text="Published articles and documents that use it.")
    articles = _ArticleRef(many=True)
    documents = _DocumentRef(many=True)


class UnfilledVariableListOutput(serializers.Serializer[Any]):
    results = UnfilledVariableOutput(many=True)
