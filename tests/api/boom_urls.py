"""The project's URLs plus views that fail unexpectedly, for the tests of the 500 answers
(tests/api/test_contract.py sets ROOT_URLCONF to this module)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import handler400, handler404, handler500
from config.urls import urlpatterns as project_urlpatterns

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]


class Boom(RuntimeError):
    pass


class BoomAPIView(APIView):
    def get(self, request: Request) -> Response:
        raise Boom("an API view failed")


def boom_view(request: HttpRequest) -> HttpResponse:
    raise Boom("a plain view failed")


urlpatterns = [
    path("api/v1/boom/", BoomAPIView.as_view()),
    path("api/v1/boom-plain/", boom_view),
    path("boom-page/", boom_view),
    *project_urlpatterns,
]
