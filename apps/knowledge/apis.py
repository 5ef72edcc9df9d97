"""REST API of the knowledge base, under /api/v1/workspaces/<slug>/knowledge/. Views validate,
call one service or selector, and serialize."""

from dataclasses import asdict

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.apis import WorkspaceScopedView
from apps.accounts.models import User
from apps.accounts.roles import Capability
from apps.core.pagination import PAGE_PARAMETERS, DefaultPagination, paginated
from apps.knowledge import selectors, serializers
from apps.knowledge.services import articles, documents, graph, search, variables

READ = Capability.KNOWLEDGE_READ
MANAGE = Capability.KNOWLEDGE_MANAGE


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)  # the permission admits members only
    return user


class ArticleListApi(WorkspaceScopedView):
    capabilities = {"GET": READ, "POST": MANAGE}

    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses=paginated(serializers.ArticleOutput),
        operation_id="v1_workspaces_knowledge_articles_list",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        rows = selectors.article_list(
            workspace=self.workspace,
            search=request.query_params.get("search", "")[:200],
            status=request.query_params.get("status", ""),
        )
        paginator = DefaultPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(serializers.ArticleOutput(page, many=True).data)

    @extend_schema(
        request=serializers.ArticleCreateInput, responses={201: serializers.ArticleOutput}
    )
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = serializers.ArticleCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        article = articles.article_create(
            workspace=self.workspace,
            author=_user(request),
            **data.validated_data,
        )
        return Response(serializers.ArticleOutput(article).data, status=status.HTTP_201_CREATED)


class ArticleDetailApi(WorkspaceScopedView):
    capabilities = {"GET": READ, "PATCH": MANAGE, "DELETE": MANAGE}

    @extend_schema(responses=serializers.ArticleOutput)
    def get(self, request: Request, workspace_slug: str, article_id: int) -> Response:
        article = selectors.article_get(workspace=self.workspace, article_id=article_id)
        body = serializers.ArticleOutput(article).data
        body["versions"] = serializers.ArticleVersionOutput(
            selectors.article_versions(article=article), many=True
        ).data
        body["audit"] = serializers.AuditOutput(
            selectors.article_audit(article=article), many=True
        ).data
        return Response(body)

    @extend_schema(request=serializers.ArticleUpdateInput, responses=serializers.ArticleOutput)
    def patch(self, request: Request, workspace_slug: str, article_id: int) -> Response:
        data = serializers.ArticleUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        article = selectors.article_get(workspace=self.workspace, article_id=article_id)
        article = articles.article_update(
            article=article,
            actor=_user(request),
            data=data.validated_data,
        )
        return Response(serializers.ArticleOutput(article).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, workspace_slug: str, article_id: int) -> Response:
        article = selectors.article_get(workspace=self.workspace, article_id=article_id)
        articles.article_delete(article=article, actor=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ArticlePublishApi(WorkspaceScopedView):
    capabilities = {"POST": MANAGE, "DELETE": MANAGE}

    @extend_schema(request=None, responses=serializers.ArticleOutput, summary="Publish")
    def post(self, request: Request, workspace_slug: str, article_id: int) -> Response:
        article = selectors.article_get(workspace=self.workspace, article_id=article_id)
        article = articles.article_publish(article=article, actor=_user(request))
        return Response(serializers.ArticleOutput(article).data)

    @extend_schema(responses=serializers.ArticleOutput, summary="Unpublish (back to draft)")
    def delete(self, request: Request, workspace_slug: str, article_id: int) -> Response:
        article = selectors.article_get(workspace=self.workspace, article_id=article_id)
        article = articles.article_unpublish(article=article, actor=_user(request))
        return Response(serializers.ArticleOutput(article).data)


class DocumentListApi(WorkspaceScopedView):
    capabilities = {"GET": READ, "POST": MANAGE}
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses=paginated(serializers.DocumentOutput),
        operation_id="v1_workspaces_knowledge_documents_list",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        rows = selectors.document_list(workspace=self.workspace)
        paginator = DefaultPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(serializers.DocumentOutput(page, many=True).data)

    @extend_schema(
        request=serializers.DocumentUploadInput, responses={201: serializers.DocumentOutput}
    )
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = serializers.DocumentUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        document = documents.document_upload(
            workspace=self.workspace,
            uploader=_user(request),
            upload=data.validated_data["file"],
            source_url=data.validated_data["source_url"],
        )
        document.refresh_from_db()
        return Response(serializers.DocumentOutput(document).data, status=status.HTTP_201_CREATED)


class DocumentDetailApi(WorkspaceScopedView):
    capabilities = {"GET": READ, "DELETE": MANAGE}

    @extend_schema(responses=serializers.DocumentOutput)
    def get(self, request: Request, workspace_slug: str, document_id: int) -> Response:
        document = selectors.document_get(workspace=self.workspace, document_id=document_id)
        return Response(serializers.DocumentOutput(document).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, workspace_slug: str, document_id: int) -> Response:
        document = selectors.document_get(workspace=self.workspace, document_id=document_id)
        documents.document_delete(document=document, actor=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class HitTestApi(WorkspaceScopedView):
    capabilities = {"POST": READ}

    @extend_schema(
        request=serializers.HitTestInput,
        responses=inline_serializer(
            "HitTestOutput", {"results": serializers.PassageOutput(many=True)}
        ),
        summary="What retrieval returns for a question, with each channel's score and reasons",
    )
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = serializers.HitTestInput(data=request.data)
        data.is_valid(raise_exception=True)
        passages = search.knowledge_retrieve(workspace=self.workspace, **data.validated_data)
        return Response({"results": [asdict(p) for p in passages]})


class ReindexApi(WorkspaceScopedView):
    capabilities = {"POST": MANAGE}

    @extend_schema(request=None, responses={202: None}, summary="Rebuild index and graph")
    def post(self, request: Request, workspace_slug: str) -> Response:
        from apps.knowledge.tasks import knowledge_graph_build_task, knowledge_reindex_task

        workspace_id = self.workspace.pk
        knowledge_graph_build_task.delay(workspace_id)
        knowledge_reindex_task.delay(workspace_id)
        return Response({"queued": True}, status=status.HTTP_202_ACCEPTED)


class AnswerVariableListApi(WorkspaceScopedView):
    """The workspace's answer variables: ``{{Name}}`` in an answer shows the value."""

    capabilities = {"GET": READ, "POST": MANAGE}

    @extend_schema(
        responses=serializers.AnswerVariableListOutput,
        operation_id="v1_workspaces_knowledge_variables_list",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        rows = selectors.answer_variable_list(workspace=self.workspace)
        return Response({"results": serializers.AnswerVariableOutput(rows, many=True).data})

    @extend_schema(
        request=serializers.AnswerVariableCreateInput,
        responses={201: serializers.AnswerVariableOutput},
    )
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = serializers.AnswerVariableCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        variable = variables.answer_variable_create(
            workspace=self.workspace, actor=_user(request), **data.validated_data
        )
        return Response(
            serializers.AnswerVariableOutput(variable).data, status=status.HTTP_201_CREATED
        )


class AnswerVariableDetailApi(WorkspaceScopedView):
    capabilities = {"GET": READ, "PATCH": MANAGE, "DELETE": MANAGE}

    @extend_schema(responses=serializers.AnswerVariableOutput)
    def get(self, request: Request, workspace_slug: str, variable_id: int) -> Response:
        variable = selectors.answer_variable_get(workspace=self.workspace, variable_id=variable_id)
        return Response(serializers.AnswerVariableOutput(variable).data)

    @extend_schema(
        request=serializers.AnswerVariableUpdateInput,
        responses=serializers.AnswerVariableOutput,
    )
    def patch(self, request: Request, workspace_slug: str, variable_id: int) -> Response:
        data = serializers.AnswerVariableUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        variable = selectors.answer_variable_get(workspace=self.workspace, variable_id=variable_id)
        variable = variables.answer_variable_update(
            variable=variable, actor=_user(request), data=data.validated_data
        )
        return Response(serializers.AnswerVariableOutput(variable).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, workspace_slug: str, variable_id: int) -> Response:
        variable = selectors.answer_variable_get(workspace=self.workspace, variable_id=variable_id)
        variables.answer_variable_delete(variable=variable, actor=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UnfilledVariableListApi(WorkspaceScopedView):
    capabilities = {"GET": READ}

    @extend_schema(
        responses=serializers.UnfilledVariableListOutput,
        summary="Variables that published knowledge uses without a value, with their articles",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        rows = selectors.answer_variables_unfilled(workspace=self.workspace)
        return Response(
            {
                "results": serializers.UnfilledVariableOutput(
                    [asdict(r) for r in rows], many=True
                ).data
            }
        )


class EntityListApi(WorkspaceScopedView):
    capabilities = {"GET": READ, "POST": MANAGE}

    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses=paginated(serializers.EntityOutput),
        operation_id="v1_workspaces_knowledge_entities_list",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        rows = selectors.entity_list(
            workspace=self.workspace,
            search=request.query_params.get("search", "")[:200],
            origin=request.query_params.get("origin", ""),
        )
        paginator = DefaultPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(serializers.EntityOutput(page, many=True).data)

    @extend_schema(request=serializers.EntityInput, responses={201: serializers.EntityOutput})
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = serializers.EntityInput(data=request.data)
        data.is_valid(raise_exception=True)
        entity = graph.entity_create(
            workspace=self.workspace,
            actor=_user(request),
            **data.validated_data,
        )
        return Response(serializers.EntityOutput(entity).data, status=status.HTTP_201_CREATED)


class EntityDetailApi(WorkspaceScopedView):
    capabilities = {"GET": READ, "PATCH": MANAGE, "DELETE": MANAGE}

    @extend_schema(responses=serializers.EntityOutput)
    def get(self, request: Request, workspace_slug: str, entity_id: int) -> Response:
        entity = selectors.entity_get(workspace=self.workspace, entity_id=entity_id)
        body = serializers.EntityOutput(entity).data
        body["neighbourhood"] = graph.entity_neighbourhood(entity=entity)
        body["relations"] = serializers.RelationOutput(
            selectors.relation_list(workspace=self.workspace, entity_id=entity.pk), many=True
        ).data
        return Response(body)

    @extend_schema(request=serializers.EntityUpdateInput, responses=serializers.EntityOutput)
    def patch(self, request: Request, workspace_slug: str, entity_id: int) -> Response:
        data = serializers.EntityUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        entity = selectors.entity_get(workspace=self.workspace, entity_id=entity_id)
        entity = graph.entity_update(entity=entity, actor=_user(request), data=data.validated_data)
        return Response(serializers.EntityOutput(entity).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, workspace_slug: str, entity_id: int) -> Response:
        entity = selectors.entity_get(workspace=self.workspace, entity_id=entity_id)
        graph.entity_delete(entity=entity, actor=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RelationListApi(WorkspaceScopedView):
    capabilities = {"GET": READ, "POST": MANAGE}

    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses=paginated(serializers.RelationOutput),
        operation_id="v1_workspaces_knowledge_relations_list",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        rows = selectors.relation_list(workspace=self.workspace)
        paginator = DefaultPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(serializers.RelationOutput(page, many=True).data)

    @extend_schema(request=serializers.RelationInput, responses={201: serializers.RelationOutput})
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = serializers.RelationInput(data=request.data)
        data.is_valid(raise_exception=True)
        relation = graph.relation_create(
            workspace=self.workspace,
            actor=_user(request),
            **data.validated_data,
        )
        return Response(serializers.RelationOutput(relation).data, status=status.HTTP_201_CREATED)


class RelationDetailApi(WorkspaceScopedView):
    capabilities = {"GET": READ, "DELETE": MANAGE}

    @extend_schema(responses=serializers.RelationOutput)
    def get(self, request: Request, workspace_slug: str, relation_id: int) -> Response:
        relation = selectors.relation_get(workspace=self.workspace, relation_id=relation_id)
        return Response(serializers.RelationOutput(relation).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, workspace_slug: str, relation_id: int) -> Response:
        relation = selectors.relation_get(workspace=self.workspace, relation_id=relation_id)
        graph.relation_delete(relation=relation, actor=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
