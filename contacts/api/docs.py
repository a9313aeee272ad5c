"""/api/schema/ and /api/docs/ answer OPTIONS and errors as the API's endpoints do.

drf-spectacular's views render whatever they answer with their own renderer: a 405 came back as
YAML from the schema, and OPTIONS on the docs page was a 500 (its HTML template fed DRF's metadata).
"""

from django.http import HttpResponse
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import status
from rest_framework.renderers import JSONRenderer


def allowed(view) -> HttpResponse:
    """204 with the URL's methods in `Allow`: what OPTIONS answers on every URL of the API."""
    response = HttpResponse(
        status=status.HTTP_204_NO_CONTENT, headers={"Allow": ", ".join(view.allowed_methods)}
    )
    del response["Content-Type"]
    return response


class _AnswersLikeTheAPI:
    def options(self, request, *args, **kwargs):
        return allowed(self)

    def handle_exception(self, exc):
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)


class SchemaView(_AnswersLikeTheAPI, SpectacularAPIView):
    pass


class DocsView(_AnswersLikeTheAPI, SpectacularSwaggerSplitView):
    pass
