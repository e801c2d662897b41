"""Open edX's StudentModule (lms/djangoapps/courseware/models), the columns fksim needs.

Its FK to auth_user has had db_constraint=False for years (the model the FK removals copy), so
the DDL has the index on student_id and no constraint. `module_state_key` is a UsageKeyField
stored in the column `module_id`; `course_id` a CourseKeyField (both CharField subclasses).
Open edX's primary key is an unsigned BIGINT AUTO_INCREMENT of its own field class; here
Django's BigAutoField (signed).
"""
from django.conf import settings
from django.db import models


class StudentModule(models.Model):
    id = models.BigAutoField(primary_key=True)
    module_type = models.CharField(max_length=32, default="problem", db_index=True)
    module_state_key = models.CharField(max_length=255, db_column="module_id")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, db_constraint=False, db_index=True, on_delete=models.CASCADE)
    course_id = models.CharField(max_length=255, db_index=True)
    state = models.TextField(null=True, blank=True)
    grade = models.FloatField(null=True, blank=True, db_index=True)
    max_grade = models.FloatField(null=True, blank=True)
    done = models.CharField(max_length=8, default="na")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    modified = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        unique_together = (("student", "module_state_key", "course_id"),)
