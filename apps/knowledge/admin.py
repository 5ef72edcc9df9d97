from django.contrib import admin

from apps.knowledge.models import Article, Document, Entity, KnowledgeAudit


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin[Article]):
    list_display = ["title", "workspace", "status", "intents", "version", "updated_at"]
    list_filter = ["status", "kind"]
    search_fields = ["title"]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin[Document]):
    list_display = ["filename", "workspace", "status", "chunk_count", "created_at"]
    exclude = ["content"]


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin[Entity]):
    list_display = ["name", "workspace", "kind", "origin"]
    list_filter = ["origin"]
    search_fields = ["name"]


@admin.register(KnowledgeAudit)
class KnowledgeAuditAdmin(admin.ModelAdmin[KnowledgeAudit]):
    list_display = ["action", "workspace", "actor", "summary", "created_at"]
