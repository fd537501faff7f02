"""Server-rendered pages (Chinese first). Thin: they call the same selectors and actions as the API."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from casework import selectors
from casework.errors import NotFound


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "home.html",
        {
            "cases": selectors.case_list(request.user, limit=50),
            "queues": selectors.queues_for(request.user),
            "my_tasks": selectors.my_tasks(request.user, limit=50),
        },
    )


@login_required
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        case = selectors.case_detail(request.user, case_id)
        events = selectors.case_events(request.user, case_id, limit=500)
    except NotFound:
        raise Http404 from None
    return render(request, "case.html", {"case": case, "events": events, "clocks": selectors.case_clocks(case)})
