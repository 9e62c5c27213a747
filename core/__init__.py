"""The ground floor every app stands on: errors, audited saves, COPY writes, lookups, pagination,
logs, HTTP and CSV helpers, roles, money and task presets. It imports no app of the project."""
