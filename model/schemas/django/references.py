"""Prints the logical references Django knows, as TOML: every ForeignKey / OneToOneField of the
installed models (from each model's `_meta`), whether Django's DDL declares a constraint for it
(`db_constraint`) or not. fksim reads the file beside a schema file (`--schema`) and counts
orphans over the references the DDL does not declare (`db_constraint=False`).

Run by regenerate.sh as `python manage.py shell -c "import references; references.main()"`.
"""
from django.apps import apps


def main():
    print("# The references Django's models declare (ForeignKey / OneToOneField), from each model's")
    print("# _meta: written by model/schemas/django/regenerate.sh (references.py); do not edit.")
    print("# db_constraint = false: Django's DDL declares no constraint, the relation is the")
    print("# application's own.")
    rows = []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        for field in meta.get_fields(include_hidden=True):
            if not (field.concrete and field.is_relation and (field.many_to_one or field.one_to_one)):
                continue
            target = field.target_field
            rows.append((
                meta.db_table,
                field.column,
                target.model._meta.db_table,
                target.column,
                bool(field.db_constraint),
                field.remote_field.on_delete.__name__,
            ))
    for table, column, parent, parent_column, constraint, on_delete in sorted(rows):
        print()
        print("[[reference]]")
        print(f'table = "{table}"')
        print(f'column = "{column}"')
        print(f'parent_table = "{parent}"')
        print(f'parent_column = "{parent_column}"')
        print(f"db_constraint = {'true' if constraint else 'false'}")
        print(f'on_delete = "{on_delete}"')
