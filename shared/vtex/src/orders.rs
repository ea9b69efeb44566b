//! Placement, fulfill and cancel DTOs (CONTRACT.md §5.2-§5.4).
