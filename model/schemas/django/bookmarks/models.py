"""Open edX's Bookmark (openedx/core/djangoapps/bookmarks/models), the columns fksim needs.

`course_key` and `usage_key` are opaque_keys' CourseKeyField / UsageKeyField in Open edX:
CharField subclasses, the same varchar(255) columns. `created` / `modified` are
model_utils' TimeStampedModel fields (DateTimeFields). The FK to auth_user is kept here so the
DDL has it; Open edX dropped it (db_constraint=False): `--fk off=bookmarks_bookmark.user_id`.
"""
from django.conf import settings
from django.db import models


class Bookmark(models.Model):
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    course_key = models.CharField(max_length=255, db_index=True)
    usage_key = models.CharField(max_length=255, db_index=True)

    class Meta:
        unique_together = ("user", "usage_key")
