"""Storage: the bottom layer. SQLAlchemy Core tables on SQLite or PostgreSQL
(``engine``), the database the hub holds (``database``), the hot path's mailbox stores
(``mailbox``), the few dialect differences (``sql``) and the migrations (``schema``)."""
