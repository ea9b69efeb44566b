//! Simulation request/response DTOs (CONTRACT.md §5.1).
