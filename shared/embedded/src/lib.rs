//! Embedded SQLite adapter.
