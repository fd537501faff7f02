"""gunicorn's settings, read from this file wherever gunicorn starts in this folder (the
Procfile's web process, .ci/contract)."""

# A request line longer than gunicorn's 4 KB default was answered by gunicorn itself: 414 with
# an HTML page, outside the API's one JSON error shape and its documented codes. 0 lets gunicorn
# read up to 1 MB (its own ceiling, like the body's MINQING_MAX_BODY_BYTES) and the API answers
# what is too long in a URL itself: a cursor or a query over its limit is a 400 in the error shape.
limit_request_line = 0
