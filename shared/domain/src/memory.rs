//! In-memory adapters of every port, for domain unit tests.
