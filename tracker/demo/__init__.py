"""The demo shop: a seeded generator of plain records and a loader into the database."""
