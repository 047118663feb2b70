"""What a piece of code wrote to the database, from Django's captured
queries (django.test.utils.CaptureQueriesContext)."""

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def writes(captured, table: str | None = None) -> list[str]:
    """The statements that wrote, or only those that wrote to ``table``."""
    found = []
    for query in captured.captured_queries:
        sql = query["sql"].lstrip()
        if not sql.upper().startswith(WRITES):
            continue
        # The written table is the first quoted name of the statement
        # (INSERT INTO "t", UPDATE "t", DELETE FROM "t").
        if table is None or sql.split('"')[1:2] == [table]:
            found.append(sql)
    return found
