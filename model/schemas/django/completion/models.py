"""openedx/completion's BlockCompletion (completion/models.py), the columns fksim needs.

completion removed the FK constraint to auth_user (db_constraint=False), keeping the index.
`context_key` is a LearningContextKeyField stored in the column `course_key`, `block_key` a
UsageKeyField (CharField subclasses); `created` / `modified` come from TimeStampedModel.
"""
from django.conf import settings
from django.db import models


class BlockCompletion(models.Model):
    id = models.BigAutoField(primary_key=True)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, db_constraint=False, on_delete=models.CASCADE)
    context_key = models.CharField(max_length=255, db_index=True, db_column="course_key")
    block_key = models.CharField(max_length=255, db_column="block_key")
    block_type = models.CharField(max_length=64)
    completion = models.FloatField()

    class Meta:
        unique_together = (("context_key", "block_key", "user"),)
        index_together = (("context_key", "block_type", "user"), ("user", "context_key", "modified"))
