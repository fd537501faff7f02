"""Response headers every page and API answer carries, whoever wrote the view (the rest of
the security headers are Django's own SecurityMiddleware's and XFrameOptionsMiddleware's).

Static files never reach these: WhiteNoise, earlier in the chain, answers them itself (they are
public, named by content, and meant to be cached)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

Handler = Callable[[HttpRequest], HttpResponse]


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every answer the application writes. Pages and API answers
    carry personal data (a member's concern, a constituent's name, who handled what); a shared
    proxy must not keep them and a browser must not write them to disk, where the next person
    at a shared office computer could read them from its cache or its Back button. Answers for
    nobody in particular (the sign-in page, the API schema) cost nothing to fetch again, so the
    rule has no exceptions to get wrong."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        patch_cache_control(response, no_store=True)
        return response


class ContentSecurityPolicyMiddleware:
    """`Content-Security-Policy` (settings.CONTENT_SECURITY_POLICY) on every answer the
    application writes. Should someone slip markup into a page (a title, a note), the browser
    still runs no script and loads nothing that is not this site's. The pages keep no inline
    script, style or event handler (a test reads every template for them), so the policy needs
    no 'unsafe-inline' anywhere, the admin and the API docs included. A view that sets its own
    policy keeps it."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Content-Security-Policy", self.policy)
        return response
