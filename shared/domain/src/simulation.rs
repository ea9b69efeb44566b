//! The fulfillment simulation engine (CONTRACT.md §5.1).
