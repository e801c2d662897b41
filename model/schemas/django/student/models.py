"""Open edX's CourseEnrollment (common/djangoapps/student/models), the columns fksim needs.

Open edX declares `course_id` as opaque_keys' CourseKeyField, a CharField subclass: the same
varchar(255) column. The FK to auth_user is kept here (db_constraint defaults to True) so the
generated DDL has the constraint; Open edX dropped it (db_constraint=False), which
`fksim ... --fk off=student_courseenrollment.user_id` models.
"""
from django.conf import settings
from django.db import models


class CourseEnrollment(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    course_id = models.CharField(max_length=255, db_index=True)
    created = models.DateTimeField(auto_now_add=True, null=True, db_index=True)
    is_active = models.BooleanField(default=True)
    mode = models.CharField(default="audit", max_length=100)

    class Meta:
        unique_together = (("user", "course_id"),)
        ordering = ("user", "course_id")
